/* The core clock as the code sees it: a chain of dependent integer adds
 * retires one per cycle on any x86-64 core, so adds per second is the
 * clock (best of 20 runs of 4e8 adds). /proc/cpuinfo on this VM reports a
 * nominal 2445 MHz whatever the host runs at; this measures the real one,
 * for peak-FLOP estimates (bench/conv_flops.py).
 *
 *   apf-cpu-clock */
#include <stdio.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void)
{
#if defined(__x86_64__)
    double best = 1e9;
    for (int r = 0; r < 20; r++) {
        unsigned long x = (unsigned long)r;
        double t = now_s();
        for (long i = 0; i < 100000000; i++)
            __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(x));
        t = now_s() - t;
        if (t < best)
            best = t;
    }
    printf("%.0f MHz\n", 4e8 / best / 1e6);
    return 0;
#else
    fprintf(stderr, "apf-cpu-clock: x86-64 only\n");
    return 1;
#endif
}
