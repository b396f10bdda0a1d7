/* Plugin search path: explicit lists, the build-tree rule, discovery. */
#include "helpers.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/loader.h"
#include "plugin/path.h"

static void test_explicit_list(void **state)
{
    sb_plugin_path p;
    char *s;

    (void)state;
    assert_int_equal(sb_plugin_path_init(&p, "/a::/b/c:"), 0);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.dirs[0], "/a");
    assert_string_equal(p.dirs[1], "/b/c");
    s = sb_plugin_path_string(&p);
    assert_string_equal(s, "/a:/b/c");
    free(s);
    sb_plugin_path_clear(&p);
}

/* Running from the build tree (as this test does): every build-tree plugin
 * directory, and the ref and refhv fixtures', but never the broken ones. */
static void test_build_tree(void **state)
{
    sb_plugin_path p;
    char *file = NULL;
    size_t i;

    (void)state;
    assert_int_equal(sb_plugin_path_init(&p, NULL), 0);
    assert_true(p.n >= 1);
    assert_non_null(strstr(p.dirs[p.n - 1], "/tests/plugins/reference"));
    for (i = 0; i < p.n; i++)
        assert_null(strstr(p.dirs[i], "broken"));
    assert_int_equal(sb_plugin_path_find(&file, &p, "ref"), 0);
    assert_non_null(strstr(file, "/tests/plugins/reference/ref.so"));
    free(file);
    /* ... and the hypervisor-owned-metadata fixtures' */
    assert_int_equal(sb_plugin_path_find(&file, &p, "refhv"), 0);
    assert_non_null(strstr(file, "/tests/plugins/refhv/refhv.so"));
    free(file);
    assert_int_equal(sb_plugin_path_find(&file, &p, "refhv-vbox"), 0);
    free(file);
    sb_plugin_path_clear(&p);
}

static void test_installed(void **state)
{
    sb_plugin_path p;

    (void)state;
    /* /bin/sh is not inside the build tree */
    assert_int_equal(sb_plugin_path_init_auto(&p, "/bin/sh", SB_BUILD_ROOT, "/opt/x/plugins"), 0);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.dirs[0], "/opt/x/plugins");
    sb_plugin_path_clear(&p);
    /* a sibling whose name merely starts like the build root is outside */
    assert_int_equal(sb_plugin_path_init_auto(&p, SB_BUILD_ROOT, SB_BUILD_ROOT "/tests", "/i"), 0);
    assert_string_equal(p.dirs[0], "/i");
    sb_plugin_path_clear(&p);
}

static void test_find_errors(void **state)
{
    sb_plugin_path p;
    char *file = (char *)1;

    (void)state;
    assert_int_equal(sb_plugin_path_init(&p, FIXTURE_DIR ":/nonexistent"), 0);
    check_error(sb_plugin_path_find(&file, &p, "ref"), SB_ERR_PLUGIN_LOAD, "no plugin 'ref'",
                "ref.so", FIXTURE_DIR ":/nonexistent");
    assert_null(file);
    check_error(sb_plugin_path_find(&file, &p, "../broken/fx_good"), SB_ERR_PLUGIN_LOAD,
                "invalid plugin name");
    assert_int_equal(sb_plugin_path_find(&file, &p, "fx_good"), 0);
    free(file);
    sb_plugin_path_clear(&p);
}

static void test_list_shadowing(void **state)
{
    char a[4096], b[4096], f[4200];
    sb_plugin_path p;
    char **files, spec[8300];
    size_t n;
    FILE *fp;

    (void)state;
    make_tmpdir(a, sizeof(a), "pa");
    make_tmpdir(b, sizeof(b), "pb");
    const char *names[][2] = {{a, "x.so"}, {a, "notes.txt"}, {b, "x.so"}, {b, "a.so"}};
    for (size_t i = 0; i < 4; i++) {
        snprintf(f, sizeof(f), "%s/%s", names[i][0], names[i][1]);
        assert_non_null(fp = fopen(f, "w"));
        fclose(fp);
    }
    snprintf(f, sizeof(f), "%s/dir.so", a);
    assert_int_equal(mkdir(f, 0700), 0);
    snprintf(spec, sizeof(spec), "%s:%s", a, b);
    assert_int_equal(sb_plugin_path_init(&p, spec), 0);
    assert_int_equal(sb_plugin_path_list(&files, &n, &p), 0);
    assert_int_equal(n, 2); /* a/x.so shadows b/x.so; not .txt, not dirs */
    snprintf(f, sizeof(f), "%s/x.so", a);
    assert_string_equal(files[0], f);
    snprintf(f, sizeof(f), "%s/a.so", b);
    assert_string_equal(files[1], f);
    sb_plugin_path_list_free(files, n);
    sb_plugin_path_clear(&p);
    rm_rf(a);
    rm_rf(b);
}

/* Loading by name checks the declared name against the file name. */
static void test_load_name(void **state)
{
    sb_plugin_registry *reg;
    const sb_loaded_plugin *p;
    sb_plugin_path path;

    (void)state;
    assert_int_equal(sb_registry_new(&reg), 0);
    assert_int_equal(sb_plugin_path_init(&path, FIXTURE_DIR ":" REF_DIR), 0);
    assert_int_equal(sb_registry_load_name(&p, reg, &path, "ref"), 0);
    assert_string_equal(p->name, "ref");
    /* fx_good.so declares "good" */
    check_error(sb_registry_load_name(&p, reg, &path, "fx_good"), SB_ERR_PLUGIN_LOAD,
                "declares the name 'good', expected 'fx_good'");
    assert_null(p);
    /* the refused file is not registered: "good" (no good.so on the path)
     * is not found, and fx_good is refused again, not taken as loaded */
    assert_int_equal(sb_registry_count(reg), 1);
    assert_null(sb_registry_find(reg, "good"));
    check_error(sb_registry_load_name(&p, reg, &path, "good"), SB_ERR_PLUGIN_LOAD,
                "no plugin 'good'");
    assert_null(p);
    check_error(sb_registry_load_name(&p, reg, &path, "fx_good"), SB_ERR_PLUGIN_LOAD,
                "declares the name 'good', expected 'fx_good'");
    assert_int_equal(sb_registry_count(reg), 1);
    sb_plugin_path_clear(&path);
    sb_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_explicit_list), cmocka_unit_test(test_build_tree),
        cmocka_unit_test(test_installed),     cmocka_unit_test(test_find_errors),
        cmocka_unit_test(test_list_shadowing), cmocka_unit_test(test_load_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
