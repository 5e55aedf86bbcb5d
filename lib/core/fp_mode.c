/* Denormal floats flushed to zero for the length of a libapf call.
 *
 * Why: a denormal (|x| < 1.2e-38) operand or result costs a microcode
 * assist of about a hundred cycles per instruction on Intel cores, and some
 * recognizers make them in ordinary use (mobileface's activations: its
 * forward pass runs 2.7x and forward + backward 2x faster on an Intel Xeon
 * with them flushed; AMD's cores pay a far smaller penalty, which fits the
 * same build's device time being lower on an AMD EPYC). Values that small carry no signal for
 * an embedding or for the sign of a gradient.
 *
 * How: every thread that does the call's arithmetic (the calling thread and
 * its OpenMP team, which oneDNN's kernels share) sets FTZ (denormal results
 * become zero) and DAZ (denormal inputs read as zero) in its MXCSR on entry
 * and puts its own two bits back on exit. A thread-local depth makes the
 * nested case (the probe calling its models) a counter, not a second save.
 * The caller's floating-point mode is therefore unchanged after any call.
 * Elsewhere than x86 this is a no-op. */
#ifdef _OPENMP /* the fuzz build (clang, no OpenMP) leaves it out */
#include <omp.h>
#endif
#if defined(__SSE2__)
#include <xmmintrin.h>
#define APF_HAVE_MXCSR 1
#endif

#include "internal.h"

#ifdef APF_HAVE_MXCSR
enum { FTZ_DAZ = 0x8040 }; /* MXCSR bit 15 (flush to zero), bit 6 (denormals are zero) */

static _Thread_local int depth;
static _Thread_local unsigned saved_bits;

static void enter_this_thread(void)
{
    if (depth++ == 0) {
        unsigned csr = _mm_getcsr();
        saved_bits = csr & FTZ_DAZ;
        _mm_setcsr(csr | FTZ_DAZ);
    }
}

static void leave_this_thread(void)
{
    /* a thread that joined the team only after the enter has nothing to undo */
    if (depth > 0 && --depth == 0)
        _mm_setcsr((_mm_getcsr() & ~(unsigned)FTZ_DAZ) | saved_bits);
}

/* Run on every thread of the team the call's parallel regions will use:
 * the caller sets its thread count first, and libgomp hands the same pool
 * threads to every region of one size from one thread. */
static void on_team(void (*fn)(void))
{
#ifdef _OPENMP
#pragma omp parallel
    fn();
#else
    fn();
#endif
}

void apf_flush_denormals_enter(void)
{
    on_team(enter_this_thread);
}

void apf_flush_denormals_leave(void)
{
    on_team(leave_this_thread);
}
#else
void apf_flush_denormals_enter(void)
{
}

void apf_flush_denormals_leave(void)
{
}
#endif
