/* How the programs' OpenMP threads wait between parallel regions.
 *
 * libgomp's idle threads spin for a long time (GOMP_SPINCOUNT, 300,000 by
 * default, 30 billion with OMP_WAIT_POLICY=active) before they sleep.
 * Beside busy neighbours, which a photo application always has, that
 * spinning takes the CPU the working thread needs: DI2-FGSM per face went
 * from 231 ms on a quiet machine to 1108 ms beside two busy processes;
 * with a spin count of 100,000 from 235 to 535 ms, with passive waiting
 * from 293 to 840 ms (docs/performance.md, apf-bench-probe --neighbours 2).
 *
 * libgomp reads these settings once, when it is loaded, so neither the
 * library nor main() can change them for the running process. A program
 * calls program_wait_policy(argv) first thing in main(): when the user has
 * set neither variable, it sets GOMP_SPINCOUNT=100000 and re-executes
 * itself, so the new value is read at load. A user's own setting is always
 * kept; APF_KEEP_WAIT_POLICY=1 turns the re-execution off. If the
 * re-execution fails, the program simply runs on with libgomp's default.
 */
#ifndef APF_WAIT_POLICY_H
#define APF_WAIT_POLICY_H

#include <stdlib.h>
#include <unistd.h>

#define PROGRAM_SPINCOUNT "100000"

static inline void program_wait_policy(char **argv)
{
    if (getenv("GOMP_SPINCOUNT") || getenv("OMP_WAIT_POLICY") || getenv("APF_KEEP_WAIT_POLICY"))
        return;
    if (setenv("GOMP_SPINCOUNT", PROGRAM_SPINCOUNT, 1))
        return;
    execv("/proc/self/exe", argv);
    /* not re-executed: run on as loaded (the variable set now is harmless) */
}

#endif
