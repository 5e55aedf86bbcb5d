/* A one-line progress bar with rate and ETA on stderr (only on a terminal). */
#ifndef APF_PROGRESS_H
#define APF_PROGRESS_H

typedef struct progress {
    int total, done, tty;
    double start;
} progress;

void progress_start(progress *p, int total);
/* Mark one item done and redraw; `what` is the item just finished. */
void progress_step(progress *p, const char *what);
/* Erase the bar before normal output, so lines do not interleave. */
void progress_clear(const progress *p);
void progress_end(progress *p);
double progress_elapsed(const progress *p);

#endif
