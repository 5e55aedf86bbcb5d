#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

void progress_start(progress *p, int total)
{
    p->total = total;
    p->done = 0;
    p->tty = isatty(2);
    p->start = now();
}

double progress_elapsed(const progress *p) { return now() - p->start; }

void progress_clear(const progress *p)
{
    if (p->tty)
        fputs("\r\033[K", stderr);
}

void progress_step(progress *p, const char *what)
{
    p->done++;
    if (!p->tty)
        return;
    double el = now() - p->start, per = p->done ? el / p->done : 0;
    int eta = (int)(per * (p->total - p->done) + 0.5);
    char bar[31];
    int fill = p->total ? 30 * p->done / p->total : 30;
    memset(bar, '=', (size_t)fill);
    memset(bar + fill, ' ', (size_t)(30 - fill));
    bar[30] = 0;
    fprintf(stderr, "\r\033[K[%s] %d/%d  %.2f s/photo  ETA %d:%02d  %.40s", bar, p->done, p->total, per,
            eta / 60, eta % 60, what ? what : "");
    fflush(stderr);
}

void progress_end(progress *p)
{
    if (p->tty)
        fputc('\n', stderr);
}
