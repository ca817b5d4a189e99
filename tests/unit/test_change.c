/* Unit tests for --change instructions: each allowed instruction, Docker's quoting, escapes and
 * variable expansion, exec and shell forms, and the errors (with the config left untouched). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "image/change.h"

/* Applies the changes (NULL-terminated varargs) to a copy of the JSON `start` and returns the
 * compact, key-sorted result, or NULL with *err set. */
static char *apply_v(const char *start, struct berr **err, va_list ap)
{
    const char *v[32];
    size_t n = 0;
    const char *s;
    while ((s = va_arg(ap, const char *)) != NULL && n < 31)
        v[n++] = s;
    v[n] = NULL;
    _cleanup_json_ json_t *cfg = json_loads(start, 0, NULL);
    assert_non_null(cfg);
    if (img_changes_apply(cfg, (char *const *)v, err) < 0)
        return NULL;
    return json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
}

static void expect(const char *start, const char *want, ...)
{
    struct berr *err = NULL;
    va_list ap;
    va_start(ap, want);
    _cleanup_free_ char *got = apply_v(start, &err, ap);
    va_end(ap);
    if (got == NULL)
        fail_msg("unexpected error: %s", err->msg);
    assert_string_equal(got, want);
}

static void expect_error(const char *want_msg, ...)
{
    static const char start[] = "{\"Env\":[\"A=1\"]}";
    struct berr *err = NULL;
    va_list ap;
    va_start(ap, want_msg);
    _cleanup_free_ char *got = apply_v(start, &err, ap);
    va_end(ap);
    if (got != NULL)
        fail_msg("expected an error containing \"%s\", got %s", want_msg, got);
    if (strstr(err->msg, want_msg) == NULL)
        fail_msg("error \"%s\" does not contain \"%s\"", err->msg, want_msg);
    berr_free(err);
}

static void test_cmd_entrypoint(void **state)
{
    expect("{}", "{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo \\\"$HOME\\\" && ls\"]}",
           "CMD echo \"$HOME\" && ls", NULL);
    expect("{}", "{\"Cmd\":[\"ls\",\"-l\"]}", "CMD [\"ls\", \"-l\"]", NULL);
    expect("{}", "{\"Cmd\":[]}", "cmd []", NULL);
    /* Not a JSON array of strings: the shell form, as Docker does. */
    expect("{}", "{\"Cmd\":[\"/bin/sh\",\"-c\",\"[1, 2]\"]}", "CMD [1, 2]", NULL);
    expect("{}", "{\"Cmd\":[\"/bin/sh\",\"-c\",\"[\\\"ls\\\"\"]}", "CMD [\"ls\"", NULL);
    expect("{}", "{\"Entrypoint\":[\"/app\",\"--x\"]}", "ENTRYPOINT [\"/app\",\"--x\"]", NULL);
    expect("{}", "{\"Entrypoint\":[\"/bin/sh\",\"-c\",\"exec app\"]}", "entrypoint exec app", NULL);
    /* A new entrypoint drops the inherited CMD unless a CMD came first. */
    expect("{\"Cmd\":[\"old\"]}", "{\"Entrypoint\":[\"e\"]}", "ENTRYPOINT [\"e\"]", NULL);
    expect("{\"Cmd\":[\"old\"]}", "{\"Cmd\":[\"new\"],\"Entrypoint\":[\"e\"]}", "CMD [\"new\"]",
           "ENTRYPOINT [\"e\"]", NULL);
    expect("{}", "{\"Cmd\":[\"new\"],\"Entrypoint\":[\"e\"]}", "ENTRYPOINT [\"e\"]",
           "CMD [\"new\"]", NULL);
}

static void test_env(void **state)
{
    expect("{}", "{\"Env\":[\"A=1\",\"B=two words\"]}", "ENV A=1 B=\"two words\"", NULL);
    /* The old form: the rest of the line is the value, quotes resolved. */
    expect("{}", "{\"Env\":[\"PATH=/a b\"]}", "ENV PATH /a b", NULL);
    expect("{}", "{\"Env\":[\"K=x y z\"]}", "ENV K  x \"y\" 'z'", NULL);
    /* Replacing keeps the position. */
    expect("{\"Env\":[\"A=1\",\"B=2\"]}", "{\"Env\":[\"A=9\",\"B=2\",\"C=3\"]}", "ENV A=9 C=3",
           NULL);
    /* Expansion sees the Env before the line, not the pairs of the same line. */
    expect("{\"Env\":[\"A=old\"]}", "{\"Env\":[\"A=new\",\"B=old\"]}", "ENV A=new B=$A", NULL);
    expect("{\"Env\":[\"A=old\"]}", "{\"Env\":[\"A=new\",\"B=new\"]}", "ENV A=new", "ENV B=${A}",
           NULL);
    expect("{}", "{\"Env\":[\"E=\"]}", "ENV E=", NULL);
    /* Escapes: outside quotes anything, inside double quotes only " $ and \. */
    expect("{}", "{\"Env\":[\"A=a b\",\"B=$x\",\"C=q\\\"q\",\"D=\\\\n\"]}",
           "ENV A=a\\ b B='$x' C=\"q\\\"q\" D=\"\\n\"", NULL);
    expect("{}", "{\"Env\":[\"A=$HOME\"]}", "ENV A=\\$HOME", NULL);
    expect("{}", "{\"Env\":[\"A=$\",\"B=$-\"]}", "ENV A=$ B=$-", NULL);
}

static void test_substitution_forms(void **state)
{
    const char *start = "{\"Env\":[\"SET=v\",\"EMPTY=\"]}";
    expect(start, "{\"Env\":[\"SET=v\",\"EMPTY=\",\"R=v|d|d|alt||\"]}",
           "ENV R=${SET:-d}|${UNSET:-d}|${EMPTY:-d}|${SET:+alt}|${UNSET:+alt}|${EMPTY:+alt}", NULL);
    expect(start, "{\"Env\":[\"SET=v\",\"EMPTY=\",\"R=||alt\"]}",
           "ENV R=${EMPTY-d}|${UNSET+x}|${EMPTY+alt}", NULL);
    expect(start, "{\"Env\":[\"SET=v\",\"EMPTY=\",\"R=x v y\"]}", "ENV R=\"x ${UNSET:-$SET} y\"",
           NULL);
    expect(start, "{\"Env\":[\"SET=v\",\"EMPTY=\",\"R=v\"]}", "ENV R=\"${SET:?must be set}\"",
           NULL);
    expect_error("UNSET: must be set", "ENV R=\"${UNSET:?must be set}\"", NULL);
    expect_error("is not allowed to be unset", "ENV R=${UNSET?}", NULL);
    expect_error("unsupported modifier (#)", "ENV R=${A#x}", NULL);
    expect_error("missing '}'", "ENV R=${A:-x", NULL);
    expect_error("bad substitution", "ENV R=${}", NULL);
}

static void test_label(void **state)
{
    expect("{}", "{\"Labels\":{\"a\":\"1\",\"com.x y\":\"two words\"}}",
           "LABEL a=1 \"com.x y\"=\"two words\"", NULL);
    expect("{\"Labels\":null}", "{\"Labels\":{\"k\":\"v w\"}}", "LABEL k v w", NULL);
    expect("{\"Labels\":{\"a\":\"0\",\"b\":\"2\"}}", "{\"Labels\":{\"a\":\"1\",\"b\":\"2\"}}",
           "LABEL a=1", NULL);
    expect("{\"Env\":[\"V=3\"]}", "{\"Env\":[\"V=3\"],\"Labels\":{\"ver\":\"3\"}}", "LABEL ver=$V",
           NULL);
}

static void test_expose_volume(void **state)
{
    expect("{}",
           "{\"ExposedPorts\":{\"53/udp\":{},\"80/tcp\":{},\"8000/tcp\":{},\"8001/tcp\":{},"
           "\"9/sctp\":{}}}",
           "EXPOSE 80 53/UDP 8000-8001/tcp 9/sctp", NULL);
    expect("{\"ExposedPorts\":{\"22/tcp\":{}}}", "{\"ExposedPorts\":{\"22/tcp\":{},\"80/tcp\":{}}}",
           "EXPOSE 80", NULL);
    expect("{}", "{\"Volumes\":{\"/a\":{},\"/b c\":{}}}", "VOLUME [\"/a\", \"/b c\"]", NULL);
    expect("{}", "{\"Volumes\":{\"/data\":{},\"/logs\":{}}}", "VOLUME /data /logs", NULL);
    expect("{\"Env\":[\"D=/d\"]}", "{\"Env\":[\"D=/d\"],\"Volumes\":{\"/d\":{}}}", "VOLUME $D",
           NULL);
    expect_error("invalid containerPort", "EXPOSE http", NULL);
    expect_error("invalid containerPort", "EXPOSE 70000", NULL);
    expect_error("invalid containerPort", "EXPOSE 0", NULL);
    expect_error("invalid protocol", "EXPOSE 80/icmp", NULL);
    expect_error("invalid range", "EXPOSE 90-80", NULL);
    expect_error("VOLUME specified can not be an empty string", "VOLUME [\"\"]", NULL);
    expect_error("VOLUME requires at least one argument", "VOLUME []", NULL);
}

static void test_user_workdir_stopsignal(void **state)
{
    expect("{}", "{\"User\":\"nobody:nogroup\"}", "USER nobody:nogroup", NULL);
    expect("{}", "{\"WorkingDir\":\"/srv\"}", "WORKDIR /srv", NULL);
    expect("{\"WorkingDir\":\"/srv\"}", "{\"WorkingDir\":\"/srv/app\"}", "WORKDIR app", NULL);
    expect("{}", "{\"WorkingDir\":\"/a/c\"}", "WORKDIR a/b/../c/.", NULL);
    expect("{}", "{\"WorkingDir\":\"/x/y\"}", "WORKDIR /x", "WORKDIR y", NULL);
    expect("{\"Env\":[\"W=/w\"]}", "{\"Env\":[\"W=/w\"],\"WorkingDir\":\"/w\"}", "WORKDIR $W",
           NULL);
    expect("{}", "{\"StopSignal\":\"SIGUSR1\"}", "STOPSIGNAL SIGUSR1", NULL);
    expect("{}", "{\"StopSignal\":\"term\"}", "STOPSIGNAL term", NULL);
    expect("{}", "{\"StopSignal\":\"9\"}", "STOPSIGNAL 9", NULL);
    expect("{}", "{\"StopSignal\":\"SIGRTMIN+3\"}", "STOPSIGNAL SIGRTMIN+3", NULL);
    expect_error("Invalid signal: SIGFOO", "STOPSIGNAL SIGFOO", NULL);
    expect_error("Invalid signal: 0", "STOPSIGNAL 0", NULL);
    expect_error("USER requires exactly one argument", "USER", NULL);
    expect_error("WORKDIR requires exactly one argument", "WORKDIR   ", NULL);
}

static void test_onbuild(void **state)
{
    expect("{}", "{\"OnBuild\":[\"RUN echo hi\",\"copy . /app\"]}", "ONBUILD RUN echo hi",
           "ONBUILD copy . /app", NULL);
    expect_error("Chaining ONBUILD", "ONBUILD ONBUILD RUN x", NULL);
    expect_error("FROM isn't allowed as an ONBUILD trigger", "ONBUILD from x", NULL);
    expect_error("unknown instruction: BOGUS", "ONBUILD bogus x", NULL);
}

static void test_lines(void **state)
{
    /* Comments and blank lines are skipped; a trailing backslash continues the line. */
    expect("{}", "{\"Env\":[\"A=1\",\"B=2\"]}", "# comment", "", "ENV A=1 \\", "  B=2", NULL);
    expect("{}", "{\"User\":\"u\",\"WorkingDir\":\"/w\"}", "USER u\nWORKDIR /w", NULL);
    expect("{\"Cmd\":[\"x\"]}", "{\"Cmd\":[\"x\"]}", NULL);
}

static void test_errors_leave_config_alone(void **state)
{
    expect_error("from is not a valid change command", "FROM busybox", NULL);
    expect_error("run is not a valid change command", "ENV X=1", "RUN true", NULL);
    expect_error("ENV names can not be blank", "ENV =x", NULL);
    expect_error("ENV must have two arguments", "ENV ONLYKEY", NULL);
    expect_error("can't find = in \"b\"", "ENV a=1 b", NULL);
    expect_error("matching double-quote", "ENV a=\"x", NULL);
    expect_error("matching single-quote", "LABEL a='x", NULL);
    expect_error("CMD requires at least one argument", "CMD", NULL);
    expect_error("LABEL requires at least one argument", "LABEL", NULL);

    _cleanup_json_ json_t *cfg = json_loads("{\"User\":\"root\",\"Env\":[\"A=1\"]}", 0, NULL);
    const char *changes[] = {"USER nobody", "ENV A=2", "EXPOSE nope", NULL};
    struct berr *err = NULL;
    assert_int_equal(img_changes_apply(cfg, (char *const *)changes, &err), -1);
    berr_free(err);
    _cleanup_free_ char *after = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(after, "{\"Env\":[\"A=1\"],\"User\":\"root\"}");

    err = NULL;
    _cleanup_json_ json_t *not_obj = json_array();
    assert_int_equal(img_changes_apply(not_obj, NULL, &err), -1);
    berr_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmd_entrypoint),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_substitution_forms),
        cmocka_unit_test(test_label),
        cmocka_unit_test(test_expose_volume),
        cmocka_unit_test(test_user_workdir_stopsignal),
        cmocka_unit_test(test_onbuild),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_errors_leave_config_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
