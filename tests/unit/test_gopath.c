/* Go's path rules (src/common/gopath.c), against answers Go's path and path/filepath give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/gopath.h"

static void check(char *got, const char *want)
{
    assert_string_equal(got, want);
    free(got);
}

static void clean(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"", "."},
        {".", "."},
        {"/", "/"},
        {"//", "/"},
        {"abc", "abc"},
        {"a/b/c", "a/b/c"},
        {"abc/", "abc"},
        {"/abc/", "/abc"},
        {"a//b", "a/b"},
        {"a/./b", "a/b"},
        {"./a", "a"},
        {"a/.", "a"},
        {"a/b/..", "a"},
        {"a/..", "."},
        {"..", ".."},
        {"../..", "../.."},
        {"../a/..", ".."},
        {"a/../..", ".."},
        {"/..", "/"},
        {"/../a", "/a"},
        {"/a/../..", "/"},
        {"a/b/../../c", "c"},
        {"/a/./b/../c//", "/a/c"},
        {"abc/def/../../..", ".."},
        {"../../a/b/../c", "../../a/c"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check(go_clean(cases[i][0]), cases[i][1]);
}

static void base_dir_join(void **state)
{
    (void)state;
    check(go_base(""), ".");
    check(go_base("/"), "/");
    check(go_base("///"), "/");
    check(go_base("a/b/"), "b");
    check(go_base("/a"), "a");
    check(go_dir(""), ".");
    check(go_dir("a"), ".");
    check(go_dir("/a"), "/");
    check(go_dir("a/b/c"), "a/b");
    check(go_dir("/a/b/"), "/a/b");
    check(go_join("", "b"), "b");
    check(go_join("a", ""), "a");
    check(go_join("a/", "../b"), "b");
    check(go_join("/x", "y/./z"), "/x/y/z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean),
        cmocka_unit_test(base_dir_join),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
