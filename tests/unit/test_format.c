/* Unit tests for cli/format and cli/human: Go template output and error messages (the
 * expected texts come from the docker 28 CLI running the same templates, e.g. through
 * `docker context ls --format`), tabwriter layout, docker's table/json modes, Go-style JSON,
 * and go-units sizes and durations (go-units' own test tables). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/format.h"
#include "common/human.h"
#include "common/cleanup.h"

static const char data_text[] =
    "{\"Name\":\"default\",\"Current\":true,\"Size\":4261574,\"Ratio\":1.5,"
    "\"Tags\":[\"a\",\"b\"],\"Labels\":{\"z\":\"1\",\"a\":\"2\"},\"Nil\":null,\"Empty\":[],"
    "\"Obj\":{\"Host\":\"unix:///x\",\"N\":3}}";

static json_t *data(void)
{
    json_error_t je;
    json_t *d = json_loads(data_text, 0, &je);
    assert_non_null(d);
    return d;
}

/* Renders text on the test data; returns the output or "ERR: message" (a new string). */
static char *render(const char *text, unsigned flags)
{
    struct berr *err = NULL;
    struct cli_template *t = cli_template_parse(text, &err);
    char *out = NULL;
    if (t) {
        json_t *d = data();
        out = cli_template_render(t, d, flags, &err);
        json_decref(d);
        cli_template_free(t);
    }
    if (out == NULL) {
        assert_non_null(err);
        out = NULL;
        if (asprintf(&out, "ERR: %s", err->msg) < 0)
            abort();
    }
    berr_free(err);
    return out;
}

static void check(const char *text, unsigned flags, const char *expect)
{
    char *out = render(text, flags);
    if (strcmp(out, expect) != 0)
        fail_msg("template %s\n  gave   [%s]\n  wanted [%s]", text, out, expect);
    free(out);
}

static void test_template_output(void **state)
{
    static const struct {
        const char *tmpl, *out;
    } cases[] = {
        {"{{.Name}}", "default"},
        {"plain text", "plain text"},
        {"{{.Size}} {{.Ratio}} {{.Current}}", "4261574 1.5 true"},
        {"{{.Tags}} {{.Labels}} {{.Empty}}", "[a b] map[a:2 z:1] []"},
        {"{{.Nil}}", "<no value>"},
        {"{{.Obj.Host}} {{.Obj.N}}", "unix:///x 3"},
        {"{{json .Labels}} {{json .Name}} {{json .Nil}}",
         "{\"z\":\"1\",\"a\":\"2\"} \"default\" null"},
        {"{{join .Tags \",\"}}", "a,b"},
        {"{{index .Labels \"a\"}}|{{index .Labels \"nope\"}}|", "2||"},
        {"{{index .Obj \"nope\"}}", "<no value>"},
        {"{{index .Tags 1}} {{index .Name 1}}", "b 101"},
        {"{{len .Tags}} {{len .Name}} {{len .Labels}}", "2 7 2"},
        {"{{range .Tags}}<{{.}}>{{end}}", "<a><b>"},
        {"{{range $i, $e := .Tags}}{{$i}}{{$e}}{{end}}", "0a1b"},
        {"{{range $e := .Tags}}{{$e}}{{end}}", "ab"},
        {"{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", "a=2;z=1;"},
        {"{{range .Empty}}x{{else}}none{{end}}{{range .Nil}}x{{else}}nil{{end}}", "nonenil"},
        {"{{with .Obj}}{{.Host}}{{end}}{{with .Empty}}x{{else}}-{{end}}", "unix:///x-"},
        {"{{if and .Current (eq .Name \"default\")}}y{{end}}", "y"},
        {"{{if .Nil}}a{{else if eq .Name \"x\"}}b{{else if .Current}}c{{else}}d{{end}}", "c"},
        {"{{and 1 0 2}} {{or 0 \"\" \"x\"}} {{not .Nil}}", "0 x true"},
        {"{{eq .Size 4261574}} {{ne .Name \"x\"}} {{lt 1 2}} {{ge \"b\" \"a\"}} {{eq 1 2 1}}",
         "true true true true true"},
        {"{{printf \"%-10s|%5s|\" .Name \"ab\"}}", "default   |   ab|"},
        {"{{printf \"%05.1f %x %X %q %v %t %d %+d %03d\" .Ratio 255 \"hi\" .Name .Tags .Current "
         "-4 5 7}}",
         "001.5 ff 6869 \"default\" [a b] true -4 +5 007"},
        {"{{printf \"%d %s\"}}", "%!d(MISSING) %!s(MISSING)"},
        {"{{printf \"%d\" 1 2}}", "1%!(EXTRA int=2)"},
        {"{{printf \"%s|%d\" 5 .Name}}", "%!s(int=5)|%!d(string=default)"},
        {"{{printf \"%!\"}} {{printf \"100%%\"}}", "%!!(MISSING) 100%"},
        {"{{.Name | printf \"%s!\"}}", "default!"},
        {"{{(index .Tags 0) | upper}}", "A"},
        {"{{upper .Name}} {{lower \"ABC\"}} {{title \"hello wORLD foo-bar\"}}",
         "DEFAULT abc Hello WORLD Foo-Bar"},
        {"{{split \"a,b,c\" \",\"}} {{len (split \"a,b\" \"\")}}", "[a b c] 3"},
        {"{{pad .Name 2 3}}|{{truncate .Name 3}}|{{truncate .Name 30}}",
         "  default   |def|default"},
        {"[{{pad \"\" 2 3}}]", "[]"},
        {"{{print .Name 1 2 \"a\" \"b\" 3}}", "default1 2ab3"},
        {"{{println .Name 1}}", "default 1\n"},
        {"{{1.5}} {{1e6}} {{100000.0}} {{1234567.0}} {{0.00001}} {{-3}} {{0x10}} {{1_000}}",
         "1.5 1e+06 100000 1.234567e+06 1e-05 -3 16 1000"},
        {"{{\"a\\tb\\u00e9\\x41\"}} {{`r\\aw`}}", "a\tb\xc3\xa9"
                                                  "A r\\aw"},
        {"a {{- .Name -}} b", "adefaultb"},
        {"x {{- /* note */ -}} y{{/* */}}", "xy"},
        {"{{$n := .Name}}{{$n}}-{{$.Name}}", "default-default"},
        {"{{range .Tags}}{{$.Name}}{{end}}", "defaultdefault"},
        {"{{with $x := .Obj}}{{$x.N}}{{end}}", "3"},
        {"{{.}}", "map[Current:true Empty:[] Labels:map[a:2 z:1] Name:default Nil:<nil> Obj:map["
                  "Host:unix:///x N:3] Ratio:1.5 Size:4261574 Tags:[a b]]"},
        {"{{.Name |}}", "default"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
        check(cases[k].tmpl, 0, cases[k].out);
    check("{{.Missing}} {{.Missing.Deeper}}", CLI_TMPL_MISSING_OK, "<no value> <no value>");
}

static void test_template_errors(void **state)
{
    static const struct {
        const char *tmpl, *err;
    } cases[] = {
        {"{{if}}x{{end}}", "template: :1: missing value for if"},
        {"{{if .Current}}", "template: :1: unexpected EOF"},
        {"{{range .Tags}}{{else}}{{else}}{{end}}", "template: :1: expected end; found {{else}}"},
        {"{{end}}", "template: :1: unexpected {{end}}"},
        {"{{else}}", "template: :1: unexpected {{else}}"},
        {"{{.Name !}}", "template: :1: unexpected \"!\" in operand"},
        {"{{\"abc}}", "template: :1: unterminated quoted string"},
        {"{{`abc}}", "template: :1: unterminated raw quoted string"},
        {"{{}}", "template: :1: missing value for command"},
        {"{{.Name | \"x\"}}", "template: :1: non executable command in pipeline stage 2"},
        {"{{$x}}", "template: :1: undefined variable \"$x\""},
        {"{{with $x := .Name}}{{$x}}{{end}}{{$x}}", "template: :1: undefined variable \"$x\""},
        {"{{(.Name}}", "template: :1: unclosed left paren"},
        {"{{.Name)}}", "template: :1: unexpected right paren"},
        {"{{foo .Name}}", "template: :1: function \"foo\" not defined"},
        {"{{.Name", "template: :1: unclosed action"},
        {"a {{-.Name}}", "template: :1: bad number syntax: \"-.N\""},
        {"line1\n{{.Name}}\n{{bad}}", "template: :3: function \"bad\" not defined"},
        {"{{/* open", "template: :1: unclosed comment"},
        {"{{template \"x\"}}", "template: :1: {{template}} is not supported"},
        /* evaluation */
        {"{{join .Name}}",
         "template: :1:2: executing \"\" at <join>: wrong number of args for join: want 2 got 1"},
        {"{{join .Name \",\"}}", "template: :1:7: executing \"\" at <.Name>: wrong type for value; "
                                 "expected []string; got string"},
        {"{{.Name | join}}",
         "template: :1:10: executing \"\" at <join>: wrong number of args for join: want 2 got 1"},
        {"{{range .Name}}{{end}}",
         "template: :1:8: executing \"\" at <.Name>: range can't iterate over default"},
        {"{{.Name.Foo}}", "template: :1:7: executing \"\" at <.Name.Foo>: can't evaluate field Foo "
                          "in type string"},
        {"{{nil}}", "template: :1:2: executing \"\" at <nil>: nil is not a command"},
        {"{{upper .Current}}", "template: :1:8: executing \"\" at <.Current>: wrong type for "
                               "value; expected string; got bool"},
        {"{{eq 1 1.0}}", "template: :1:2: executing \"\" at <eq 1 1.0>: error calling eq: "
                         "incompatible types for comparison"},
        {"{{and 1 0 2}} {{or 0 \"\" \"x\"}} {{and}}", "template: :1:32: executing \"\" at <and>: "
                                                      "wrong number of args for and: want at "
                                                      "least 1 got 0"},
        {"{{len 3}}",
         "template: :1:2: executing \"\" at <len 3>: error calling len: len of type int"},
        {"{{index .Name 10}}", "template: :1:2: executing \"\" at <index .Name 10>: error calling "
                               "index: index out of range: 10"},
        {"{{.Name \"x\"}}", "template: :1:2: executing \"\" at <.Name>: Name has arguments but "
                            "cannot be invoked as function"},
        {"{{.Foo}}",
         "template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type object"},
        {"x\n  {{.Nil.X}}", "template: :2:8: executing \"\" at <.Nil.X>: nil pointer evaluating "
                            "interface {}.X"},
    };
    char deep[1024] = "{{";
    for (int k = 0; k < 150; k++)
        strcat(deep, "(");
    strcat(deep, "1}}");
    check(deep, 0, "ERR: template: :1: nesting deeper than 100 levels");
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        char expect[512];
        snprintf(expect, sizeof(expect), "ERR: %s", cases[k].err);
        check(cases[k].tmpl, 0, expect);
    }
}

static void test_tabwriter(void **state)
{
    static const struct {
        const char *in;
        int minwidth, padding;
        const char *out;
    } cases[] = {
        {"Client:\n Version:\t0.1.0\n OS/Arch:\tlinux/amd64\n", 20, 1,
         "Client:\n Version:           0.1.0\n OS/Arch:           linux/amd64\n"},
        {"a\tb\nlonger-cell\tc\nno tabs\nx\ty\n", 0, 1,
         "a           b\nlonger-cell c\nno tabs\nx y\n"},
        {"\xc3\xa9\tx\nab\ty\n", 0, 1, "\xc3\xa9  x\nab y\n"},
        {"a\tb\tc\nlong\t\tz\n", 0, 1, "a    b c\nlong   z\n"},
        {"no newline\tat end", 10, 3, "no newline   at end"},
        {"", 10, 3, ""},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        char *out = cli_tabwrite(cases[k].in, cases[k].minwidth, 1, cases[k].padding);
        assert_string_equal(out, cases[k].out);
        free(out);
    }
}

static char *format_rows(const char *format, const char *dflt, const char *header, const char *rows,
                         unsigned flags, struct berr **err)
{
    json_error_t je;
    json_t *h = header ? json_loads(header, 0, &je) : NULL;
    json_t *r = json_loads(rows, 0, &je);
    assert_non_null(r);
    struct cli_format *f = cli_format_new(format, dflt, h, flags, err);
    json_decref(h);
    char *out = NULL;
    if (f) {
        size_t k;
        json_t *row;
        int ok = 0;
        json_array_foreach(r, k, row)
        {
            if (ok == 0)
                ok = cli_format_add(f, row, err);
        }
        if (ok == 0) {
            size_t len;
            FILE *m = open_memstream(&out, &len);
            cli_format_write(f, m);
            fclose(m);
        }
        cli_format_free(f);
    }
    json_decref(r);
    return out;
}

static const char context_header[] = "{\"Name\":\"NAME\",\"Description\":\"DESCRIPTION\","
                                     "\"DockerEndpoint\":\"DOCKER ENDPOINT\",\"Error\":\"ERROR\"}";
static const char context_rows[] =
    "[{\"Current\":true,\"Description\":\"Current DOCKER_HOST based configuration\","
    "\"DockerEndpoint\":\"unix:///var/run/docker.sock\",\"Error\":\"\",\"Name\":\"default\"}]";
static const char context_default[] = "table {{.Name}}{{if .Current}} *{{end}}\\t{{.Description}}"
                                      "\\t{{.DockerEndpoint}}\\t{{.Error}}";

/* Expected outputs are `docker context ls --format ...` on docker 28. */
static void test_docker_formats(void **state)
{
    static const struct {
        const char *format, *out;
    } cases[] = {
        {NULL,
         "NAME        DESCRIPTION                               DOCKER ENDPOINT               "
         "ERROR\ndefault *   Current DOCKER_HOST based configuration   "
         "unix:///var/run/docker.sock   \n"},
        {"table", "NAME        DESCRIPTION                               DOCKER ENDPOINT          "
                  "     ERROR\ndefault *   Current DOCKER_HOST based configuration   "
                  "unix:///var/run/docker.sock   \n"},
        {"table {{.Name}}\\t{{.Description}}",
         "NAME      DESCRIPTION\ndefault   Current DOCKER_HOST based configuration\n"},
        {"table {{.Name}}\\t{{.Current}}\\t{{.Error}}",
         "NAME      <no value>   ERROR\ndefault   true         \n"},
        {"table {{.Name}}|{{.Current}}", "NAME|<no value>\ndefault|true\n"},
        {"table {{upper .Name}}\\t{{json .Current}}\\t{{.Name | printf \"%-3s\"}}",
         "NAME      \nDEFAULT   true      default\n"},
        {"{{.Name}}\\t{{.Current}}", "default\ttrue\n"},
        {"table {{.Name}}\\n{{.Current}}", "NAME\n<no value>\ndefault\ntrue\n"},
        {"  table {{.Name}}", "table default\n"},
        {"tablex {{.Name}}", "x NAME\nx default\n"},
        {"json", "{\"Current\":true,\"Description\":\"Current DOCKER_HOST based configuration\","
                 "\"DockerEndpoint\":\"unix:///var/run/docker.sock\",\"Error\":\"\",\"Name\":"
                 "\"default\"}\n"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct berr *err = NULL;
        char *out =
            format_rows(cases[k].format, context_default, context_header, context_rows, 0, &err);
        if (out == NULL)
            fail_msg("%s: %s", cases[k].format, err->msg);
        if (strcmp(out, cases[k].out) != 0)
            fail_msg("format %s\n  gave   [%s]\n  wanted [%s]", cases[k].format, out, cases[k].out);
        free(out);
    }
}

static void test_docker_images_table(void **state)
{
    static const char header[] = "{\"Repository\":\"REPOSITORY\",\"Tag\":\"TAG\",\"ID\":\"IMAGE "
                                 "ID\",\"CreatedSince\":\"CREATED\",\"Size\":\"SIZE\"}";
    static const char dflt[] =
        "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";
    struct berr *err = NULL;
    char *out = format_rows(NULL, dflt, header,
                            "[{\"Repository\":\"busybox\",\"Tag\":\"latest\",\"ID\":\"a416a98b71e2"
                            "\",\"CreatedSince\":\"2 months ago\",\"Size\":\"4.26MB\"}]",
                            0, &err);
    assert_string_equal(out, "REPOSITORY   TAG       IMAGE ID       CREATED        SIZE\n"
                             "busybox      latest    a416a98b71e2   2 months ago   4.26MB\n");
    free(out);
    /* no rows: the header alone */
    out = format_rows("", dflt, header, "[]", 0, &err);
    assert_string_equal(out, "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n");
    free(out);
    /* a row that fails prints nothing at all */
    out = format_rows("table {{.ID}}\\t{{.Foo}}", dflt, header,
                      "[{\"ID\":\"a\"},{\"ID\":\"b\",\"Foo\":1}]", 0, &err);
    assert_null(out);
    assert_string_equal(err->msg, "template parsing error: template: :1:10: executing \"\" at "
                                  "<.Foo>: can't evaluate field Foo in type object");
    berr_free(err);
    err = NULL;
    out = format_rows("{{.ID", dflt, header, "[]", 0, &err);
    assert_null(out);
    assert_string_equal(err->msg, "template parsing error: template: :1: unclosed action");
    berr_free(err);
}

static void test_json_encode(void **state)
{
    json_error_t je;
    json_t *v = json_loads("{\"a\":\"<&>\",\"b\":[1,2.5,1e21,1e-7,0.000001,100.0,-0.5],"
                           "\"c\":{},\"d\":[],\"e\":null,\"f\":\"l\\nb\\u2028\\u0001\\\"\","
                           "\"g\":true}",
                           0, &je);
    assert_non_null(v);
    char *s = cli_json_encode(v, NULL, false);
    assert_string_equal(s, "{\"a\":\"<&>\",\"b\":[1,2.5,1e+21,1e-7,0.000001,100,-0.5],\"c\":{},"
                           "\"d\":[],\"e\":null,\"f\":\"l\\nb\\u2028\\u0001\\\"\",\"g\":true}");
    free(s);
    s = cli_json_encode(json_object_get(v, "a"), NULL, true);
    assert_string_equal(s, "\"\\u003c\\u0026\\u003e\"");
    free(s);
    json_t *small = json_loads("{\"Id\":\"x\",\"L\":[1,{\"k\":[]}],\"E\":{}}", 0, &je);
    s = cli_json_encode(small, "    ", true);
    assert_string_equal(s, "{\n    \"Id\": \"x\",\n    \"L\": [\n        1,\n        {\n"
                           "            \"k\": []\n        }\n    ],\n    \"E\": {}\n}");
    free(s);
    json_decref(small);
    json_decref(v);
}

/* ---- human.c ---- */

static void test_sizes(void **state)
{
    static const struct {
        double in;
        int prec;
        const char *out;
    } sizes[] = {
        {1000, 4, "1kB"},         {1024, 4, "1.024kB"},   {1000000, 4, "1MB"},
        {1048576, 4, "1.049MB"},  {2e6, 4, "2MB"},        {3.42e9, 4, "3.42GB"},
        {5.372e12, 4, "5.372TB"}, {2.22e15, 4, "2.22PB"}, {1e28, 4, "1e+04YB"},
        {4261574, 3, "4.26MB"},   {0, 3, "0B"},           {999, 3, "999B"},
        {1200, 3, "1.2kB"},       {999999, 3, "1e+03kB"},
    };
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        char *s = human_size(sizes[k].in, sizes[k].prec);
        assert_string_equal(s, sizes[k].out);
        free(s);
    }
    static const struct {
        double in;
        const char *out;
    } bytes[] = {
        {1024, "1KiB"},
        {1048576, "1MiB"},
        {2 * 1048576.0, "2MiB"},
        {3.42 * 1073741824.0, "3.42GiB"},
        {5.372 * 1099511627776.0, "5.372TiB"},
        {2.22 * 1125899906842624.0, "2.22PiB"},
        {1125899906842624.0 * 1125899906842624.0, "1.049e+06YiB"},
        {1536 * 1024, "1.5MiB"},
    };
    for (size_t k = 0; k < sizeof(bytes) / sizeof(bytes[0]); k++) {
        char *s = human_bytes(bytes[k].in);
        assert_string_equal(s, bytes[k].out);
        free(s);
    }
}

#define SEC   INT64_C(1000000000)
#define MIN   (60 * SEC)
#define HOUR  (60 * MIN)
#define DAY   (24 * HOUR)
#define WEEK  (7 * DAY)
#define MONTH (30 * DAY)
#define YEAR  (365 * DAY)

static void test_durations(void **state)
{
    static const struct {
        int64_t d;
        const char *out;
    } cases[] = {
        {450 * SEC / 1000, "Less than a second"},
        {1 * SEC, "1 second"},
        {45 * SEC, "45 seconds"},
        {59 * SEC, "59 seconds"},
        {60 * SEC, "About a minute"},
        {3 * MIN, "3 minutes"},
        {35 * MIN + 40 * SEC, "35 minutes"},
        {59 * MIN, "59 minutes"},
        {1 * HOUR, "About an hour"},
        {1 * HOUR + 29 * MIN, "About an hour"},
        {1 * HOUR + 31 * MIN, "2 hours"},
        {3 * HOUR + 29 * MIN, "3 hours"},
        {3 * HOUR + 31 * MIN, "4 hours"},
        {24 * HOUR, "24 hours"},
        {1 * DAY + 12 * HOUR, "36 hours"},
        {2 * DAY, "2 days"},
        {13 * DAY + 5 * HOUR, "13 days"},
        {2 * WEEK, "2 weeks"},
        {2 * WEEK + 4 * DAY, "2 weeks"},
        {1 * MONTH, "4 weeks"},
        {1 * MONTH + 2 * WEEK, "6 weeks"},
        {2 * MONTH, "2 months"},
        {5 * MONTH + 2 * WEEK, "5 months"},
        {24 * MONTH, "24 months"},
        {24 * MONTH + 2 * WEEK, "2 years"},
        {3 * YEAR + 2 * MONTH, "3 years"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        char *s = human_duration(cases[k].d);
        assert_string_equal(s, cases[k].out);
        free(s);
    }
    struct timespec then = {1000, 0}, now = {1000 + 2 * 3600, 5};
    char *s = human_since(&then, &now);
    assert_string_equal(s, "2 hours ago");
    free(s);

    static const struct {
        int64_t d;
        const char *out;
    } go[] = {
        {0, "0s"},
        {45 * SEC, "45s"},
        {90 * SEC, "1m30s"},
        {HOUR, "1h0m0s"},
        {HOUR + 2 * MIN + 3 * SEC + SEC / 2, "1h2m3.5s"},
        {1500 * 1000, "1.5ms"},
        {250 * 1000 * 1000, "250ms"},
        {1500, "1.5\xc2\xb5s"},
        {999, "999ns"},
        {-90 * SEC, "-1m30s"},
    };
    for (size_t k = 0; k < sizeof(go) / sizeof(go[0]); k++) {
        s = human_go_duration(go[k].d);
        assert_string_equal(s, go[k].out);
        free(s);
    }
}

static void test_parse_size(void **state)
{
    static const struct {
        const char *in;
        bool binary;
        int64_t out; /* -1: error */
    } cases[] = {
        {"32", false, 32},
        {"32b", false, 32},
        {"32B", false, 32},
        {"32k", false, 32000},
        {"32K", false, 32000},
        {"32kb", false, 32000},
        {"32Mb", false, 32000000},
        {"32Gb", false, INT64_C(32000000000)},
        {"32Pb", false, INT64_C(32000000000000000)},
        {"32.5kB", false, 32500},
        {"32.5 kB", false, 32500},
        {"32.5 B", false, 32},
        {"0.3 K", false, 300},
        {"32k", true, 32768},
        {"32Kib", true, 32768},
        {"32KIB", true, 32768},
        {"10m", true, 10485760},
        {"1g", true, 1073741824},
        {"512k", true, 524288},
        {"32PB", true, INT64_C(36028797018963968)},
        {"32.3", true, 32},
        {"", false, -1},
        {"hello", false, -1},
        {"-32", false, -1},
        {".3kB", false, -1},
        {" 32 ", false, -1},
        {"32m b", true, -1},
        {"32bm", true, -1},
        {"1.2.3", false, -1},
        {"99999999999P", true, -1},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        int64_t v = 0;
        struct berr *err = NULL;
        int r = human_parse_size(cases[k].in, cases[k].binary, &v, &err);
        if (cases[k].out < 0) {
            if (r == 0)
                fail_msg("\"%s\" parsed as %lld", cases[k].in, (long long)v);
            assert_non_null(strstr(err->msg, "invalid size"));
        } else {
            if (r < 0)
                fail_msg("\"%s\": %s", cases[k].in, err->msg);
            assert_true(v == cases[k].out);
        }
        berr_free(err);
    }
}

static void test_times(void **state)
{
    static const struct {
        const char *in;
        time_t sec;
        long nsec;
    } good[] = {
        {"2024-01-02T03:04:05Z", 1704164645, 0},
        {"2024-01-02T03:04:05.5Z", 1704164645, 500000000},
        {"2024-01-02T03:04:05.123456789Z", 1704164645, 123456789},
        {"2024-01-02T03:04:05.1234567891Z", 1704164645, 123456789},
        {"2024-01-02T04:04:05+01:00", 1704164645, 0},
        {"2024-01-01T22:04:05-05:00", 1704164645, 0},
        {"1970-01-01T00:00:00Z", 0, 0},
        {"2024-02-29T00:00:00Z", 1709164800, 0},
        {"1969-12-31T23:59:59Z", -1, 0},
    };
    for (size_t k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
        struct timespec ts;
        struct berr *err = NULL;
        if (human_parse_time(good[k].in, &ts, &err) < 0)
            fail_msg("%s: %s", good[k].in, err->msg);
        assert_true(ts.tv_sec == good[k].sec);
        assert_int_equal(ts.tv_nsec, good[k].nsec);
    }
    static const char *const bad[] = {
        "2024-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-01-02 03:04:05Z",
        "2024-01-02T03:04:05",
        "2024-01-02T03:04:05.Z",
        "2024-01-02T24:00:00Z",
        "2024-01-02T03:04:05+1:00",
        "yesterday",
        "",
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        struct timespec ts;
        struct berr *err = NULL;
        if (human_parse_time(bad[k], &ts, &err) == 0)
            fail_msg("\"%s\" parsed", bad[k]);
        assert_non_null(strstr(err->msg, bad[k]));
        berr_free(err);
    }

    struct timespec t = {1704164645, 500000000}, whole = {1704164645, 0};
    char *s = human_format_time(&t, true, false);
    assert_string_equal(s, "2024-01-02T03:04:05.5Z");
    free(s);
    s = human_format_time(&t, false, false);
    assert_string_equal(s, "2024-01-02T03:04:05Z");
    free(s);
    setenv("TZ", "CET-1", 1);
    tzset();
    s = human_format_time(&t, true, true);
    assert_string_equal(s, "2024-01-02T04:04:05.5+01:00");
    free(s);
    s = human_time_string(&t);
    assert_string_equal(s, "2024-01-02 04:04:05.5 +0100 CET");
    free(s);
    setenv("TZ", "UTC0", 1);
    tzset();
    s = human_format_time(&whole, false, true);
    assert_string_equal(s, "2024-01-02T03:04:05Z");
    free(s);
    s = human_time_string(&whole);
    assert_string_equal(s, "2024-01-02 03:04:05 +0000 UTC");
    free(s);
}

static void test_progress(void **state)
{
    static const struct {
        int64_t cur, total;
        int width;
        int64_t elapsed;
        const char *out;
    } cases[] = {
        {0, 0, 120, -1, ""},
        {1234567, 0, 120, -1, " 1.235MB"},
        {1234567, 45600000, 80, -1, " 1.235MB/45.6MB"},
        {1234567, 45600000, 80, 3 * SEC, " 1.235MB/45.6MB 1m47s"},
        {1234567, 45600000, 40, 3 * SEC, " 1.235MB/45.6MB"},
        {1234567, 45600000, 120, -1,
         "[=>                                                 ]  1.235MB/45.6MB"},
        {22800000, 45600000, 120, 2 * SEC,
         "[=========================>                         ]   22.8MB/45.6MB 1s"},
        {45600000, 45600000, 120, 2 * SEC,
         "[==================================================>]   45.6MB/45.6MB"},
        {50000000, 45600000, 120, -1,
         "[==================================================>]     50MB"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        char *s = human_progress(cases[k].cur, cases[k].total, cases[k].width, cases[k].elapsed);
        if (strcmp(s, cases[k].out) != 0)
            fail_msg("case %zu: [%s] wanted [%s]", k, s, cases[k].out);
        free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_output),
        cmocka_unit_test(test_template_errors),
        cmocka_unit_test(test_tabwriter),
        cmocka_unit_test(test_docker_formats),
        cmocka_unit_test(test_docker_images_table),
        cmocka_unit_test(test_json_encode),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
