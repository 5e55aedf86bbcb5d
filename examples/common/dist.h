/* Data-parallel training across processes: a thin layer over MPI that
 * apf-train speaks, so the training code reads the same with and without
 * MPI. Built with Open MPI (meson -Dmpi=enabled, or auto when libopenmpi-dev
 * is installed) it runs under `mpirun -np N`; built without, it is one
 * process of rank 0 and every collective is a no-op.
 *
 * Every collective must be called by every rank in the same order. A rank
 * that fails calls dist_abort(), which ends the whole job (MPI_Abort) rather
 * than leaving the others waiting in a collective; a rank that dies
 * (killed, crashed) is noticed by mpirun, which ends the job the same way. */
#ifndef APF_DIST_H
#define APF_DIST_H

#include <stddef.h>

/* Start: MPI_Init when built with MPI. Returns 0, or -1 (after a message)
 * when launched by mpirun with several ranks but built without MPI. */
int dist_init(int *argc, char ***argv, const char *program);
int dist_rank(void);
int dist_size(void);
/* In-place sums over the ranks. */
void dist_sum_floats(float *v, size_t n);
void dist_sum_doubles(double *v, size_t n);
/* Rank 0's bytes to every rank. */
void dist_broadcast(void *buf, size_t bytes);
/* Each rank holds rows [first[r], first[r] + count[r]) of `rows` (row_bytes
 * each) filled for its own r; afterwards every rank holds every row. */
void dist_share_rows(void *rows, size_t row_bytes, const int *first, const int *count);
/* Rank 0's file at `path` on every rank: returns `path` on rank 0, else a
 * copy in a private temporary folder written into `local` (NULL when rank
 * 0 has no such file, on every rank). */
const char *dist_share_file(const char *path, char *local, size_t cap);
/* End the whole job with this exit status (never returns). */
void dist_abort(int status) __attribute__((noreturn));
void dist_finalize(void);

/* The rows [*lo, *lo + *n) of a batch of `batch` rows that this rank takes. */
static inline void dist_shard(int batch, int *lo, int *n)
{
    int r = dist_rank(), s = dist_size();
    *lo = (int)((long long)batch * r / s);
    *n = (int)((long long)batch * (r + 1) / s) - *lo;
}

#endif
