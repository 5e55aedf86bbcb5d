/* Runs one Check suite chosen at build time. CK_NOFORK: libgomp is not
 * fork-safe once a oneDNN primitive ran (../shared/notes/toolchain.md). */
#include <check.h>
#include <stdlib.h>

Suite *SUITE_FN(void);

int main(void)
{
    SRunner *r = srunner_create(SUITE_FN());
    srunner_set_fork_status(r, CK_NOFORK);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
