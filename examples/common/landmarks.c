/* LFW's labelled landmarks and the detection that is the labelled person
 * (landmarks.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "landmarks.h"

int nearest(const apf_face *f, int n, const float ref[5][2])
{
    if (n <= 0)
        return -1;
    if (!ref)
        return 0;
    int best = -1;
    double bd = 1e30;
    for (int i = 0; i < n; i++) {
        double d = hypot(f[i].landmarks[0][0] - ref[0][0], f[i].landmarks[0][1] - ref[0][1]) +
                   hypot(f[i].landmarks[1][0] - ref[1][0], f[i].landmarks[1][1] - ref[1][1]);
        if (d < bd)
            bd = d, best = i;
    }
    double iod = hypot(ref[1][0] - ref[0][0], ref[1][1] - ref[0][1]);
    return bd < iod ? best : -1; /* both eyes within half an eye distance on average */
}

lm_entry *read_landmarks(const char *file, int *n)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        perror(file);
        exit(1);
    }
    int cap = 2048;
    lm_entry *v = malloc(cap * sizeof *v);
    char line[2048];
    *n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        lm_entry *e = &v[*n];
        if (sscanf(line, "%511s %f %f %f %f %f %f %f %f %f %f", e->path, &e->l[0][0], &e->l[0][1],
                   &e->l[1][0], &e->l[1][1], &e->l[2][0], &e->l[2][1], &e->l[3][0], &e->l[3][1],
                   &e->l[4][0], &e->l[4][1]) == 11 && ++*n == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
    }
    fclose(f);
    return v;
}

const float (*find_lm(const lm_entry *v, int n, const char *photo))[2]
{
    size_t pl = strlen(photo);
    for (int i = 0; i < n; i++) {
        size_t l = strlen(v[i].path);
        if (l < pl && !strcmp(photo + pl - l, v[i].path) && photo[pl - l - 1] == '/')
            return v[i].l;
    }
    return NULL;
}
