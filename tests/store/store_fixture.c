/* The temporary state directory every store test runs in
 * (store_helpers.h). */
#include "store_helpers.h"

char *test_dir;

int store_dir_setup(void **state)
{
    (void)state;
    test_dir = make_tmpdir();
    return test_dir ? 0 : -1;
}

int store_dir_teardown(void **state)
{
    (void)state;
    if (test_dir)
        rm_rf(test_dir);
    free(test_dir);
    test_dir = NULL;
    return 0;
}
