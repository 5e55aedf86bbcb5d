/* Graph validation: every node's inputs, attributes, output shape and
 * tensor sizes, before any plan is made from it (plan.c runs graphs, ops.c
 * holds the element-wise ops oneDNN does not do). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

#define MAX_SIDE 16384
#define MAX_CH 65536

static int conv_out(int in, int k, int s, int d, int p0, int p1)
{
    int keff = (k - 1) * d + 1;
    if (in + p0 + p1 < keff)
        return -1;
    return (in + p0 + p1 - keff) / s + 1;
}

static int in_range(int v, int lo, int hi)
{
    return v >= lo && v <= hi;
}

static apf_status node_check(const graph *g, int j)
{
    const gnode *n = &g->nodes[j];
    int nin = (n->op == OP_ADD || n->op == OP_CONCAT) ? 2 : (n->op == OP_INPUT ? 0 : 1);
    for (int k = 0; k < 2; k++) {
        if (k < nin) {
            if (n->in[k] < 0 || n->in[k] >= j)
                return apf_fail(APF_E_FORMAT, "model: node %d input %d out of order", j, k);
        } else if (n->in[k] != -1) {
            return apf_fail(APF_E_FORMAT, "model: node %d has a stray input", j);
        }
    }
    if (!in_range(n->h, 1, MAX_SIDE) || !in_range(n->w, 1, MAX_SIDE) || !in_range(n->c, 1, MAX_CH))
        return apf_fail(APF_E_FORMAT, "model: node %d shape %dx%dx%d out of range", j, n->h, n->w, n->c);
    if (j == 0) {
        if (n->op != OP_INPUT)
            return apf_fail(APF_E_FORMAT, "model: node 0 is not the input");
        /* an input may carry a stored tensor (the enhancer's universal perturbation) */
        size_t hwc = (size_t)n->h * n->w * n->c;
        if ((n->tn[0] != 0 && n->tn[0] != hwc) || n->tn[1] != 0)
            return apf_fail(APF_E_FORMAT, "model: stored input has %zu values, expected %zu", n->tn[0], hwc);
        if (n->tn[0] && apf_has_nonfinite(n->t[0], n->tn[0]))
            return apf_fail(APF_E_NUMERIC, "model: stored input is not finite");
        return APF_OK;
    }
    /* a second input has no input of its own to read a shape from */
    if (n->op == OP_INPUT)
        return apf_fail(APF_E_FORMAT, "model: node %d is a second input", j);
    const gnode *x = &g->nodes[n->in[0]];
    const int *a = n->a;
    size_t need0 = 0, need1 = 0;
    int eh = x->h, ew = x->w, ec = x->c;
    switch (n->op) {
    case OP_CONV:
    case OP_MAXPOOL:
    case OP_AVGPOOL: {
        int conv = n->op == OP_CONV;
        int dh = conv ? a[A_DH] : 1, dw = conv ? a[A_DW] : 1;
        if (!in_range(a[A_KH], 1, 64) || !in_range(a[A_KW], 1, 64) || !in_range(a[A_SH], 1, 16) ||
            !in_range(a[A_SW], 1, 16) || !in_range(dh, 1, 16) || !in_range(dw, 1, 16))
            return apf_fail(APF_E_FORMAT, "model: node %d kernel/stride out of range", j);
        for (int k = A_PT; k <= A_PR; k++)
            if (!in_range(a[k], 0, 64))
                return apf_fail(APF_E_FORMAT, "model: node %d padding out of range", j);
        eh = conv_out(x->h, a[A_KH], a[A_SH], dh, a[A_PT], a[A_PB]);
        ew = conv_out(x->w, a[A_KW], a[A_SW], dw, a[A_PL], a[A_PR]);
        if (conv) {
            int gr = a[A_GROUPS];
            ec = a[A_COUT];
            if (gr < 1 || x->c % gr || !in_range(ec, 1, MAX_CH) || ec % gr)
                return apf_fail(APF_E_FORMAT, "model: node %d bad groups", j);
            need0 = (size_t)ec * a[A_KH] * a[A_KW] * (x->c / gr);
            need1 = (size_t)ec;
        } else if (a[A_PT] >= a[A_KH] || a[A_PB] >= a[A_KH] || a[A_PL] >= a[A_KW] || a[A_PR] >= a[A_KW]) {
            return apf_fail(APF_E_FORMAT, "model: node %d pool padding exceeds kernel", j);
        }
        break;
    }
    case OP_PRELU:
        need0 = (size_t)x->c;
        break;
    case OP_SCALE_SHIFT:
        need0 = need1 = (size_t)x->c;
        break;
    case OP_CLIP:
        if (!(n->f[0] <= n->f[1]) || isnan(n->f[0]) || isnan(n->f[1]))
            return apf_fail(APF_E_FORMAT, "model: node %d clip bounds invalid", j);
        break;
    case OP_ADD: {
        const gnode *y = &g->nodes[n->in[1]];
        if (x->h != y->h || x->w != y->w || x->c != y->c)
            return apf_fail(APF_E_FORMAT, "model: node %d adds different shapes", j);
        break;
    }
    case OP_GAP:
        eh = ew = 1;
        break;
    case OP_FC:
        eh = ew = 1;
        ec = a[A_COUT];
        if (!in_range(ec, 1, MAX_CH))
            return apf_fail(APF_E_FORMAT, "model: node %d bad output width", j);
        need0 = (size_t)ec * x->h * x->w * x->c;
        need1 = (size_t)ec;
        break;
    case OP_UPSAMPLE:
        if (!in_range(a[A_KH], 1, 16) || !in_range(a[A_KW], 1, 16))
            return apf_fail(APF_E_FORMAT, "model: node %d upsampling factor out of range", j);
        eh = x->h * a[A_KH];
        ew = x->w * a[A_KW];
        break;
    case OP_CONCAT: {
        const gnode *y = &g->nodes[n->in[1]];
        if (x->h != y->h || x->w != y->w)
            return apf_fail(APF_E_FORMAT, "model: node %d concatenates different sizes", j);
        ec = x->c + y->c;
        break;
    }
    case OP_PAD:
        for (int k = A_PT; k <= A_PR; k++)
            if (!in_range(a[k], 0, 1024))
                return apf_fail(APF_E_FORMAT, "model: node %d padding out of range", j);
        if (!in_range(a[A_CPAD], 0, MAX_CH))
            return apf_fail(APF_E_FORMAT, "model: node %d channel padding out of range", j);
        eh = x->h + a[A_PT] + a[A_PB];
        ew = x->w + a[A_PL] + a[A_PR];
        ec = x->c + a[A_CPAD];
        break;
    default:
        return apf_fail(APF_E_UNSUPPORTED, "model: node %d has unknown op %d", j, n->op);
    }
    if (eh != n->h || ew != n->w || ec != n->c)
        return apf_fail(APF_E_FORMAT, "model: node %d stored shape %dx%dx%d, computed %dx%dx%d", j,
                        n->h, n->w, n->c, eh, ew, ec);
    if (n->tn[0] != need0 || n->tn[1] != need1)
        return apf_fail(APF_E_FORMAT, "model: node %d has %zu+%zu parameters, expected %zu+%zu", j,
                        n->tn[0], n->tn[1], need0, need1);
    for (int k = 0; k < 2; k++)
        if (n->tn[k] && apf_has_nonfinite(n->t[k], n->tn[k]))
            return apf_fail(APF_E_NUMERIC, "model: node %d has non-finite parameters", j);
    return APF_OK;
}

apf_status graph_finalize(graph *g)
{
    if (g->n < 2)
        return apf_fail(APF_E_FORMAT, "model: graph has no layers");
    int *uses = calloc((size_t)g->n, sizeof *uses);
    if (!uses)
        return apf_fail(APF_E_NOMEM, "model: out of memory");
    apf_status st = APF_OK;
    for (int j = 0; j < g->n && !st; j++) {
        st = node_check(g, j);
        g->nodes[j].fused_into = -1;
        for (int k = 0; k < 2 && !st; k++)
            if (g->nodes[j].in[k] >= 0)
                uses[g->nodes[j].in[k]]++;
    }
    /* A clip whose producer is a conv used only by it runs as that conv's
     * post-op: one pass over memory instead of two. */
    for (int j = 1; j < g->n && !st; j++) {
        gnode *n = &g->nodes[j];
        if (n->op == OP_CLIP && n->in[0] == j - 1 && g->nodes[j - 1].op == OP_CONV &&
            uses[j - 1] == 1)
            n->fused_into = n->in[0];
    }
    free(uses);
    return st;
}

void graph_free(graph *g)
{
    if (!g)
        return;
    for (int j = 0; j < g->n; j++) {
        free(g->nodes[j].t[0]);
        free(g->nodes[j].t[1]);
    }
    free(g->nodes);
    g->nodes = NULL;
    g->n = 0;
}
