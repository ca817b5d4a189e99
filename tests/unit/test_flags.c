/* Unit tests for cli/flags: pflag's parsing rules, docker's exact messages (captured from the
 * docker 28 CLI, which reports flag errors without a daemon), the help text layout (compared
 * with docker's own help for the same flag tables), and the command front end's exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/flags.h"
#include "common/cleanup.h"

#define FORMAT_USAGE                                                                               \
    "Format output using a custom template:\n'table':            Print output in table format "    \
    "with column headers (default)\n'table TEMPLATE':   Print output in table format using the "   \
    "given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print "      \
    "output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for "    \
    "more information about formatting output with templates"

/* docker image ls's flags */
static const struct cli_flag images_flags[] = {
    {"all", 'a', CLI_FLAG_BOOL, "Show all images (default hides intermediate images)"},
    {"digests", 0, CLI_FLAG_BOOL, "Show digests"},
    {"filter", 'f', CLI_FLAG_FILTER, "Filter output based on conditions provided"},
    {"format", 0, CLI_FLAG_STRING, FORMAT_USAGE},
    {"no-trunc", 0, CLI_FLAG_BOOL, "Don't truncate output"},
    {"quiet", 'q', CLI_FLAG_BOOL, "Only show image IDs"},
    {"tree", 0, CLI_FLAG_BOOL, "List multi-platform images as a tree (EXPERIMENTAL)"},
    {NULL},
};

static const struct cli_flag misc_flags[] = {
    {"human", 'H', CLI_FLAG_BOOL, "Print sizes and dates in human readable format", "true"},
    {"timeout", 't', CLI_FLAG_INT, "Seconds to wait", "10"},
    {"size", 0, CLI_FLAG_UINT64, "A size"},
    {"change", 'c', CLI_FLAG_LIST, "Apply Dockerfile instruction to the created image"},
    {"message", 'm', CLI_FLAG_STRING, "Set commit message", "none"},
    {"secret", 0, CLI_FLAG_STRING, "Not listed", NULL, NULL, true},
    {NULL},
};

/* Parses a space-separated command line; returns 0 or -1 with the message in *msg. */
static int parse_line(struct cli_flagset *fs, const char *line, bool interspersed, char **msg,
                      char *words[2])
{
    char *copy = strdup(line);
    char **argv = calloc(64, sizeof(char *));
    int argc = 0;
    for (char *w = strtok(copy, " "); w && argc < 63; w = strtok(NULL, " "))
        argv[argc++] = w;
    struct berr *err = NULL;
    int r = cli_flagset_parse(fs, argc, argv, interspersed, &err);
    *msg = r < 0 ? strdup(err->msg) : NULL;
    berr_free(err);
    words[0] = copy;
    words[1] = (char *)argv;
    return r;
}

static void free_words(char **words)
{
    free(words[0]);
    free(words[1]);
}

static void test_go_numbers(void **state)
{
    static const struct {
        const char *in;
        int ok;
        int64_t v;
        const char *why;
    } ints[] = {
        {"0", 1, 0, NULL},
        {"10", 1, 10, NULL},
        {"-3", 1, -3, NULL},
        {"+7", 1, 7, NULL},
        {"0x1f", 1, 31, NULL},
        {"0X1F", 1, 31, NULL},
        {"0o17", 1, 15, NULL},
        {"017", 1, 15, NULL},
        {"0b101", 1, 5, NULL},
        {"1_000", 1, 1000, NULL},
        {"0x_1f", 1, 31, NULL},
        {"9223372036854775807", 1, INT64_MAX, NULL},
        {"-9223372036854775808", 1, INT64_MIN, NULL},
        {"9223372036854775808", 0, 0, "value out of range"},
        {"99999999999999999999", 0, 0, "value out of range"},
        {"", 0, 0, "invalid syntax"},
        {"abc", 0, 0, "invalid syntax"},
        {"1_", 0, 0, "invalid syntax"},
        {"_1", 0, 0, "invalid syntax"},
        {"1__0", 0, 0, "invalid syntax"},
        {"08", 0, 0, "invalid syntax"},
        {"0x", 0, 0, "invalid syntax"},
        {"--1", 0, 0, "invalid syntax"},
        {"1.5", 0, 0, "invalid syntax"},
    };
    for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
        int64_t v = 0;
        const char *why = NULL;
        int r = cli_parse_go_int(ints[k].in, &v, &why);
        if (ints[k].ok) {
            assert_int_equal(r, 0);
            assert_true(v == ints[k].v);
        } else {
            assert_int_equal(r, -1);
            assert_string_equal(why, ints[k].why);
        }
    }
    uint64_t u;
    const char *why;
    assert_int_equal(cli_parse_go_uint("18446744073709551615", &u, &why), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(cli_parse_go_uint("18446744073709551616", &u, &why), -1);
    assert_string_equal(why, "value out of range");
    assert_int_equal(cli_parse_go_uint("-1", &u, &why), -1);
    assert_string_equal(why, "invalid syntax");

    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t k = 0; k < 6; k++) {
        bool b = false;
        assert_int_equal(cli_parse_go_bool(yes[k], &b), 0);
        assert_true(b);
        assert_int_equal(cli_parse_go_bool(no[k], &b), 0);
        assert_false(b);
    }
    bool b;
    assert_int_equal(cli_parse_go_bool("yes", &b), -1);
    assert_int_equal(cli_parse_go_bool("tRUE", &b), -1);
}

static void test_parse_forms(void **state)
{
    static const struct {
        const char *line;
        bool all, quiet;
        const char *format;
        const char *filters; /* joined by ';' */
        const char *args;    /* joined by ';' */
    } cases[] = {
        {"", false, false, "", "", ""},
        {"-a -q", true, true, "", "", ""},
        {"-aq", true, true, "", "", ""},
        {"-qa=false", false, true, "", "", ""},
        {"--all --quiet=false", true, false, "", "", ""},
        {"--all=0 -q=t", false, true, "", "", ""},
        {"--format x", false, false, "x", "", ""},
        {"--format=x=y", false, false, "x=y", "", ""},
        {"--format= busybox", false, false, "", "", "busybox"},
        {"--format -q", false, false, "-q", "", ""},
        {"-f a=1 --filter b=2 -fc=3 -f=d=4", false, false, "", "a=1;b=2;c=3;d=4", ""},
        {"-qf a=1", false, true, "", "a=1", ""},
        {"-qfa=1", false, true, "", "a=1", ""},
        {"--filter=", false, false, "", "", ""},
        {"busybox -q", false, true, "", "", "busybox"},
        {"a -q b --all c", true, true, "", "", "a;b;c"},
        {"-- -q --all", false, false, "", "", "-q;--all"},
        {"-q -- x", false, true, "", "", "x"},
        {"- -q", false, true, "", "", "-"},
        {"--format a --format b", false, false, "b", "", ""},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct cli_flagset *fs = cli_flagset_new(images_flags);
        char *msg = NULL, *words[2];
        int r = parse_line(fs, cases[k].line, true, &msg, words);
        if (r < 0)
            fail_msg("\"%s\": %s", cases[k].line, msg);
        assert_int_equal(cli_flagset_bool(fs, "all"), cases[k].all);
        assert_int_equal(cli_flagset_bool(fs, "quiet"), cases[k].quiet);
        assert_string_equal(cli_flagset_string(fs, "format"), cases[k].format);
        char joined[256] = "";
        for (char *const *f = cli_flagset_list(fs, "filter"); *f; f++)
            snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s",
                     *joined ? ";" : "", *f);
        assert_string_equal(joined, cases[k].filters);
        joined[0] = 0;
        char **args = cli_flagset_args(fs);
        for (int i = 0; i < cli_flagset_nargs(fs); i++)
            snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s",
                     *joined ? ";" : "", args[i]);
        assert_string_equal(joined, cases[k].args);
        assert_null(args[cli_flagset_nargs(fs)]);
        free_words(words);
        cli_flagset_free(fs);
    }
}

static void test_not_interspersed(void **state)
{
    struct cli_flagset *fs = cli_flagset_new(images_flags);
    char *msg, *words[2];
    assert_int_equal(parse_line(fs, "-q run --all -x", false, &msg, words), 0);
    assert_true(cli_flagset_bool(fs, "quiet"));
    assert_false(cli_flagset_bool(fs, "all"));
    assert_int_equal(cli_flagset_nargs(fs), 3);
    assert_string_equal(cli_flagset_args(fs)[1], "--all");
    free_words(words);
    cli_flagset_free(fs);
}

/* Every message here is what `docker images ...` (or stop/run for numbers) printed. */
static void test_parse_errors(void **state)
{
    static const struct {
        const char *line;
        const char *msg;
    } cases[] = {
        {"--badflag", "unknown flag: --badflag"},
        {"--badflag=3", "unknown flag: --badflag"},
        {"--fil x", "unknown flag: --fil"},
        {"-x", "unknown shorthand flag: 'x' in -x"},
        {"-qx", "unknown shorthand flag: 'x' in -x"},
        {"-qxy", "unknown shorthand flag: 'x' in -xy"},
        {"-q-", "unknown shorthand flag: '-' in --"},
        {"--filter", "flag needs an argument: --filter"},
        {"-f", "flag needs an argument: 'f' in -f"},
        {"-qf", "flag needs an argument: 'f' in -f"},
        {"--format", "flag needs an argument: --format"},
        {"--=x", "bad flag syntax: --=x"},
        {"---x", "bad flag syntax: ---x"},
        {"-q=maybe", "invalid argument \"maybe\" for \"-q, --quiet\" flag: strconv.ParseBool: "
                     "parsing \"maybe\": invalid syntax"},
        {"--all=maybe", "invalid argument \"maybe\" for \"-a, --all\" flag: strconv.ParseBool: "
                        "parsing \"maybe\": invalid syntax"},
        {"--filter bad", "invalid argument \"bad\" for \"-f, --filter\" flag: bad format of "
                         "filter (expected name=value)"},
        {"busybox --bad", "unknown flag: --bad"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct cli_flagset *fs = cli_flagset_new(images_flags);
        char *msg = NULL, *words[2];
        if (parse_line(fs, cases[k].line, true, &msg, words) == 0)
            fail_msg("\"%s\" parsed", cases[k].line);
        assert_string_equal(msg, cases[k].msg);
        free(msg);
        free_words(words);
        cli_flagset_free(fs);
    }
    static const struct {
        const char *line;
        const char *msg;
    } numbers[] = {
        {"-t abc", "invalid argument \"abc\" for \"-t, --timeout\" flag: strconv.ParseInt: "
                   "parsing \"abc\": invalid syntax"},
        {"-t 99999999999999999999",
         "invalid argument \"99999999999999999999\" for \"-t, --timeout\" flag: "
         "strconv.ParseInt: parsing \"99999999999999999999\": value out of range"},
        {"--size abc", "invalid argument \"abc\" for \"--size\" flag: strconv.ParseUint: parsing "
                       "\"abc\": invalid syntax"},
        {"--size=-1", "invalid argument \"-1\" for \"--size\" flag: strconv.ParseUint: parsing "
                      "\"-1\": invalid syntax"},
    };
    for (size_t k = 0; k < sizeof(numbers) / sizeof(numbers[0]); k++) {
        struct cli_flagset *fs = cli_flagset_new(misc_flags);
        char *msg = NULL, *words[2];
        assert_int_equal(parse_line(fs, numbers[k].line, true, &msg, words), -1);
        assert_string_equal(msg, numbers[k].msg);
        free(msg);
        free_words(words);
        cli_flagset_free(fs);
    }
}

static void test_defaults_and_changed(void **state)
{
    struct cli_flagset *fs = cli_flagset_new(misc_flags);
    assert_true(cli_flagset_bool(fs, "human"));
    assert_true(cli_flagset_int(fs, "timeout") == 10);
    assert_string_equal(cli_flagset_string(fs, "message"), "none");
    assert_false(cli_flagset_changed(fs, "timeout"));
    assert_null(cli_flagset_list(fs, "change")[0]);
    char *msg, *words[2];
    assert_int_equal(parse_line(fs, "-H=false -t 0x10 --size 1_000 -c a --change=b -c c -mhi x",
                                true, &msg, words),
                     0);
    assert_false(cli_flagset_bool(fs, "human"));
    assert_true(cli_flagset_changed(fs, "human"));
    assert_true(cli_flagset_int(fs, "timeout") == 16);
    assert_true(cli_flagset_uint64(fs, "size") == 1000);
    assert_string_equal(cli_flagset_string(fs, "message"), "hi");
    char *const *l = cli_flagset_list(fs, "change");
    assert_string_equal(l[0], "a");
    assert_string_equal(l[1], "b");
    assert_string_equal(l[2], "c");
    assert_null(l[3]);
    assert_false(cli_flagset_changed(fs, "secret"));
    free_words(words);
    /* the hidden flag and the implicit help still parse */
    assert_int_equal(parse_line(fs, "--secret s -h", true, &msg, words), 0);
    assert_string_equal(cli_flagset_string(fs, "secret"), "s");
    assert_true(cli_flagset_bool(fs, "help"));
    free_words(words);
    cli_flagset_free(fs);
}

/* docker image ls --help, Options section, as docker prints it on a non-terminal (79 cols) */
static const char images_options[] =
    "  -a, --all             Show all images (default hides intermediate images)\n"
    "      --digests         Show digests\n"
    "  -f, --filter filter   Filter output based on conditions provided\n"
    "      --format string   Format output using a custom template:\n"
    "                        'table':            Print output in table format\n"
    "                        with column headers (default)\n"
    "                        'table TEMPLATE':   Print output in table format\n"
    "                        using the given Go template\n"
    "                        'json':             Print in JSON format\n"
    "                        'TEMPLATE':         Print output using the given\n"
    "                        Go template.\n"
    "                        Refer to https://docs.docker.com/go/formatting/\n"
    "                        for more information about formatting output with\n"
    "                        templates\n"
    "      --no-trunc        Don't truncate output\n"
    "  -q, --quiet           Only show image IDs\n"
    "      --tree            List multi-platform images as a tree (EXPERIMENTAL)\n";

/* docker --help, Global Options (part), with its defaults */
static const struct cli_flag docker_globals[] = {
    {"config", 0, CLI_FLAG_STRING, "Location of client config files", "/root/.docker"},
    {"context", 'c', CLI_FLAG_STRING,
     "Name of the context to use to connect to the daemon (overrides DOCKER_HOST env var and "
     "default context set with \"docker context use\")"},
    {"debug", 'D', CLI_FLAG_BOOL, "Enable debug mode"},
    {"host", 'H', CLI_FLAG_LIST, "Daemon socket to connect to"},
    {"log-level", 'l', CLI_FLAG_STRING,
     "Set the logging level (\"debug\", \"info\", \"warn\", \"error\", \"fatal\")", "info"},
    {"tlscacert", 0, CLI_FLAG_STRING, "Trust certs signed only by this CA", "/root/.docker/ca.pem"},
    {"version", 'v', CLI_FLAG_BOOL, "Print version information and quit"},
    {NULL},
};

static const char docker_globals_usage[] =
    "      --config string      Location of client config files (default\n"
    "                           \"/root/.docker\")\n"
    "  -c, --context string     Name of the context to use to connect to the\n"
    "                           daemon (overrides DOCKER_HOST env var and\n"
    "                           default context set with \"docker context use\")\n"
    "  -D, --debug              Enable debug mode\n"
    "  -H, --host list          Daemon socket to connect to\n"
    "  -l, --log-level string   Set the logging level (\"debug\", \"info\",\n"
    "                           \"warn\", \"error\", \"fatal\") (default \"info\")\n"
    "      --tlscacert string   Trust certs signed only by this CA (default\n"
    "                           \"/root/.docker/ca.pem\")\n"
    "  -v, --version            Print version information and quit\n";

static void test_usage_text(void **state)
{
    char *u = cli_flags_usage(images_flags, 79);
    assert_string_equal(u, images_options);
    free(u);
    u = cli_flags_usage(docker_globals, 79);
    assert_string_equal(u, docker_globals_usage);
    free(u);
    u = cli_flags_usage(misc_flags, 0);
    assert_string_equal(u, "  -c, --change list      Apply Dockerfile instruction to the created "
                           "image\n"
                           "  -H, --human            Print sizes and dates in human readable "
                           "format (default true)\n"
                           "  -m, --message string   Set commit message (default \"none\")\n"
                           "      --size uint        A size\n"
                           "  -t, --timeout int      Seconds to wait (default 10)\n");
    free(u);
    u = cli_flags_usage(NULL, 79);
    assert_string_equal(u, "");
    free(u);
}

/* ---- the command front end ---- */

static int runs;
static int last_argc;

static int record_run(struct cli *cli, int argc, char **argv)
{
    runs++;
    last_argc = argc;
    assert_non_null(cli->flags);
    if (argc > 0 && strcmp(argv[0], "fail") == 0)
        return cli_fail(cli, berr_new(0, "no such image: %s", argv[0]));
    if (argc > 0 && strcmp(argv[0], "misuse") == 0)
        return cli_usage_error(cli, "--quiet and --format are mutually exclusive");
    fprintf(cli->out, "quiet=%d\n", cli_bool(cli, "quiet"));
    return 0;
}

static const char *const ls_aliases[] = {"list", NULL};

static const struct cli_command ls_cmd = {
    .name = "ls",
    .aliases = ls_aliases,
    .usage = "[OPTIONS] [REPOSITORY[:TAG]]",
    .short_desc = "List images",
    .flags = images_flags,
    .min_args = 0,
    .max_args = 1,
    .run = record_run,
};

struct result {
    int rc;
    char *out, *err;
};

static struct result exec_cmd(const struct cli_command *cmd, const char *path, const char *line)
{
    struct result res = {0};
    size_t olen = 0, elen = 0;
    struct cli cli = {.root = "/var/lib/berth", .config_dir = "/tmp/cfg"};
    cli.out = open_memstream(&res.out, &olen);
    cli.err = open_memstream(&res.err, &elen);
    char *copy = strdup(line);
    char *argv[32];
    int argc = 0;
    for (char *w = strtok(copy, " "); w && argc < 31; w = strtok(NULL, " "))
        argv[argc++] = w;
    argv[argc] = NULL;
    res.rc = cli_command_exec(&cli, cmd, path, "berth image ls, berth image list, berth images",
                              argc, argv);
    fclose(cli.out);
    fclose(cli.err);
    free(copy);
    assert_null(cli.flags);
    return res;
}

static void free_result(struct result *r)
{
    free(r->out);
    free(r->err);
}

static void test_exec_flag_error(void **state)
{
    runs = 0;
    struct result r = exec_cmd(&ls_cmd, "berth images", "--badflag");
    assert_int_equal(r.rc, 125);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "unknown flag: --badflag\n\nUsage:  berth images [OPTIONS] "
                               "[REPOSITORY[:TAG]]\n\nRun 'berth images --help' for more "
                               "information\n");
    assert_int_equal(runs, 0);
    free_result(&r);
    /* a flag error wins over --help, as in docker */
    r = exec_cmd(&ls_cmd, "berth images", "--help --bad");
    assert_int_equal(r.rc, 125);
    free_result(&r);
}

static void test_exec_arg_counts(void **state)
{
    struct {
        int min, max, given;
        const char *msg;
    } cases[] = {
        {0, 0, 1,
         "berth: 'berth x' accepts no arguments\n\nUsage:  berth x U\n\nRun 'berth x "
         "--help' for more information\n"},
        {2, 2, 1,
         "berth: 'berth x' requires 2 arguments\n\nUsage:  berth x U\n\nRun 'berth x "
         "--help' for more information\n"},
        {1, 1, 0,
         "berth: 'berth x' requires 1 argument\n\nUsage:  berth x U\n\nRun 'berth x "
         "--help' for more information\n"},
        {1, -1, 0,
         "berth: 'berth x' requires at least 1 argument\n\nUsage:  berth x U\n\nSee "
         "'berth x --help' for more information\n"},
        {0, 1, 2,
         "berth: 'berth x' requires at most 1 argument\n\nUsage:  berth x U\n\nRun "
         "'berth x --help' for more information\n"},
        {1, 2, 3,
         "berth: 'berth x' requires at least 1 and at most 2 arguments\n\nUsage:  "
         "berth x U\n\nRun 'berth x --help' for more information\n"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct cli_command cmd = {.name = "x",
                                  .usage = "U",
                                  .short_desc = "X",
                                  .min_args = cases[k].min,
                                  .max_args = cases[k].max,
                                  .run = record_run};
        const char *lines[] = {"", "a", "a b", "a b c"};
        runs = 0;
        struct result r = exec_cmd(&cmd, "berth x", lines[cases[k].given]);
        assert_int_equal(r.rc, 1);
        assert_string_equal(r.err, cases[k].msg);
        assert_int_equal(runs, 0);
        free_result(&r);
    }
}

static void test_exec_runs(void **state)
{
    runs = 0;
    struct result r = exec_cmd(&ls_cmd, "berth images", "busybox -q");
    assert_int_equal(r.rc, 0);
    assert_int_equal(runs, 1);
    assert_int_equal(last_argc, 1);
    assert_string_equal(r.out, "quiet=1\n");
    free_result(&r);

    r = exec_cmd(&ls_cmd, "berth images", "fail");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.err, "no such image: fail\n");
    free_result(&r);

    r = exec_cmd(&ls_cmd, "berth images", "misuse");
    assert_int_equal(r.rc, 125);
    assert_string_equal(r.err, "berth: --quiet and --format are mutually exclusive\n\nUsage:  "
                               "berth images [OPTIONS] [REPOSITORY[:TAG]]\n\nRun 'berth images "
                               "--help' for more information\n");
    free_result(&r);
}

static void test_exec_help(void **state)
{
    runs = 0;
    struct result r = exec_cmd(&ls_cmd, "berth images", "--help");
    assert_int_equal(r.rc, 0);
    assert_int_equal(runs, 0);
    const char *head = "Usage:  berth images [OPTIONS] [REPOSITORY[:TAG]]\n\nList images\n\n"
                       "Aliases:\n  berth image ls, berth image list, berth images\n\n"
                       "Options:\n";
    assert_memory_equal(r.out, head, strlen(head));
    free_result(&r);

    /* --help=false is no request for help; -h is its shorthand */
    r = exec_cmd(&ls_cmd, "berth images", "--help=false");
    assert_int_equal(runs, 1);
    free_result(&r);
    r = exec_cmd(&ls_cmd, "berth images", "-h");
    assert_int_equal(runs, 1);
    free_result(&r);

    char *h = cli_command_help(&ls_cmd, "berth image ls", NULL, 79);
    assert_memory_equal(h,
                        "Usage:  berth image ls [OPTIONS] [REPOSITORY[:TAG]]\n\nList images\n\n"
                        "Options:\n",
                        strlen("Usage:  berth image ls [OPTIONS] [REPOSITORY[:TAG]]\n\nList "
                               "images\n\nOptions:\n"));
    assert_string_equal(h + strlen(h) - strlen(images_options), images_options);
    free(h);

    /* no visible flags: no Options section (docker tag --help) */
    struct cli_command tag = {.name = "tag",
                              .usage = "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
                              .short_desc = "Create a tag TARGET_IMAGE that refers to "
                                            "SOURCE_IMAGE",
                              .min_args = 2,
                              .max_args = 2,
                              .run = record_run};
    h = cli_command_help(&tag, "berth tag", "berth image tag, berth tag", 79);
    assert_string_equal(h, "Usage:  berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\nCreate a "
                           "tag TARGET_IMAGE that refers to SOURCE_IMAGE\n\nAliases:\n  berth "
                           "image tag, berth tag\n");
    free(h);
}

static void test_config_file(void **state)
{
    struct cli cli = {.config_dir = "/home/u/.berth"};
    char *p = cli_config_file(&cli);
    assert_string_equal(p, "/home/u/.berth/config.json");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_numbers),
        cmocka_unit_test(test_parse_forms),
        cmocka_unit_test(test_not_interspersed),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_defaults_and_changed),
        cmocka_unit_test(test_usage_text),
        cmocka_unit_test(test_exec_flag_error),
        cmocka_unit_test(test_exec_arg_counts),
        cmocka_unit_test(test_exec_runs),
        cmocka_unit_test(test_exec_help),
        cmocka_unit_test(test_config_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
