/* Docker's filter value matching (src/common/filters.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "common/filters.h"

static void exact_values(void **state)
{
    (void)state;
    json_t *vals = json_pack("[s, s]", "none", "host");
    assert_true(filter_has(vals, "host"));
    assert_false(filter_has(vals, "hos"));
    assert_false(filter_has(vals, "hosts"));
    json_decref(vals);
    json_t *empty = json_array();
    assert_false(filter_has(empty, "host"));
    json_decref(empty);
}

static void regular_expressions(void **state)
{
    (void)state;
    /* unanchored, as Go's regexp.MatchString */
    assert_true(filter_regex("ho", "host"));
    assert_true(filter_regex("st$", "host"));
    assert_false(filter_regex("^st", "host"));
    assert_true(filter_regex("^/web-[0-9]+$", "/web-12"));
    assert_false(filter_regex("^/web-[0-9]+$", "/web-12a"));
    /* an invalid pattern matches nothing, not even itself */
    assert_false(filter_regex("[", "["));
    assert_false(filter_regex(NULL, "x"));
}

static void any_value(void **state)
{
    (void)state;
    json_t *vals = json_pack("[s, s]", "[", "^no");
    assert_true(filter_any_regex(vals, "none"));
    assert_true(filter_any_regex(vals, "[")); /* exact beats the invalid pattern */
    assert_false(filter_any_regex(vals, "host"));
    json_decref(vals);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_values),
        cmocka_unit_test(regular_expressions),
        cmocka_unit_test(any_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
