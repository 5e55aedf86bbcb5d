/* dist.h over Open MPI (APF_HAVE_MPI) or as a single process. */
#include "dist.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir_[64]; /* a rank's copies of rank 0's files (dist_share_file), made on first use */

#ifdef APF_HAVE_MPI
#include <mpi.h>

static int rank_, size_ = 1;

int dist_init(int *argc, char ***argv, const char *program)
{
    (void)program;
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    return 0;
}

int dist_rank(void) { return rank_; }
int dist_size(void) { return size_; }

/* MPI counts are ints: large buffers go in pieces of at most 256 Mi elements. */
#define PIECE ((size_t)1 << 28)

void dist_sum_floats(float *v, size_t n)
{
    for (size_t at = 0; size_ > 1 && at < n; at += PIECE)
        MPI_Allreduce(MPI_IN_PLACE, v + at, (int)(n - at < PIECE ? n - at : PIECE), MPI_FLOAT, MPI_SUM,
                      MPI_COMM_WORLD);
}

void dist_sum_doubles(double *v, size_t n)
{
    for (size_t at = 0; size_ > 1 && at < n; at += PIECE)
        MPI_Allreduce(MPI_IN_PLACE, v + at, (int)(n - at < PIECE ? n - at : PIECE), MPI_DOUBLE, MPI_SUM,
                      MPI_COMM_WORLD);
}

void dist_broadcast(void *buf, size_t bytes)
{
    for (size_t at = 0; size_ > 1 && at < bytes; at += PIECE)
        MPI_Bcast((char *)buf + at, (int)(bytes - at < PIECE ? bytes - at : PIECE), MPI_BYTE, 0, MPI_COMM_WORLD);
}

void dist_share_rows(void *rows, size_t row_bytes, const int *first, const int *count)
{
    /* one broadcast per rank: each rank's rows are contiguous and of any size */
    for (int r = 0; size_ > 1 && r < size_; r++) {
        char *p = (char *)rows + (size_t)first[r] * row_bytes;
        size_t bytes = (size_t)count[r] * row_bytes;
        for (size_t at = 0; at < bytes; at += PIECE)
            MPI_Bcast(p + at, (int)(bytes - at < PIECE ? bytes - at : PIECE), MPI_BYTE, r, MPI_COMM_WORLD);
    }
}

void dist_abort(int status)
{
    fflush(NULL);
    if (size_ > 1)
        MPI_Abort(MPI_COMM_WORLD, status);
    exit(status);
}

void dist_finalize(void)
{
    if (*tmpdir_) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir_);
        if (system(cmd) != 0)
            fprintf(stderr, "warning: could not remove %s\n", tmpdir_);
    }
    MPI_Finalize();
}

#else /* one process */

int dist_init(int *argc, char ***argv, const char *program)
{
    (void)argc, (void)argv;
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (n && atoi(n) > 1) {
        fprintf(stderr, "%s: started by mpirun with %s ranks, but built without MPI "
                        "(install libopenmpi-dev and reconfigure with -Dmpi=enabled)\n", program, n);
        return -1;
    }
    return 0;
}

int dist_rank(void) { return 0; }
int dist_size(void) { return 1; }
void dist_sum_floats(float *v, size_t n) { (void)v, (void)n; }
void dist_sum_doubles(double *v, size_t n) { (void)v, (void)n; }
void dist_broadcast(void *buf, size_t bytes) { (void)buf, (void)bytes; }
void dist_share_rows(void *rows, size_t row_bytes, const int *first, const int *count)
{
    (void)rows, (void)row_bytes, (void)first, (void)count;
}
void dist_abort(int status) { exit(status); }
void dist_finalize(void) {}
#endif

const char *dist_share_file(const char *path, char *local, size_t cap)
{
    long long size = -1;
    char *data = NULL;
    if (dist_rank() == 0) {
        FILE *f = fopen(path, "rb");
        if (f && !fseek(f, 0, SEEK_END) && (size = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
            data = malloc((size_t)size + 1);
            if (!data || fread(data, 1, (size_t)size, f) != (size_t)size)
                size = -1;
        } else {
            size = -1;
        }
        if (f)
            fclose(f);
    }
    dist_broadcast(&size, sizeof size);
    if (size < 0) {
        free(data);
        return NULL;
    }
    if (dist_rank() == 0) {
        dist_broadcast(data, (size_t)size);
        free(data);
        return path;
    }
    data = malloc((size_t)size + 1);
    if (!data)
        dist_abort(1);
    dist_broadcast(data, (size_t)size);
    if (!*tmpdir_) {
        snprintf(tmpdir_, sizeof tmpdir_, "/tmp/apf-rank-XXXXXX");
        if (!mkdtemp(tmpdir_))
            dist_abort(1);
    }
    const char *base = strrchr(path, '/');
    snprintf(local, cap, "%s/%s", tmpdir_, base ? base + 1 : path);
    FILE *f = fopen(local, "wb");
    if (!f || fwrite(data, 1, (size_t)size, f) != (size_t)size || fclose(f)) {
        fprintf(stderr, "rank %d: cannot write %s\n", dist_rank(), local);
        dist_abort(1);
    }
    free(data);
    return local;
}
