/* Flag parsing with pflag's rules and messages, the help text docker prints for a command, and
 * the per-command front end (help, flag and argument-count errors, then run). Values live in a
 * flagset, looked up by name, so a command's flag table stays static data that help can list
 * without running the command. */
#include "cli/flags.h"
#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct flag_value {
    const struct cli_flag *flag;
    bool changed;
    bool b;
    const char *s;
    int64_t i;
    uint64_t u;
    char **list; /* owned strv, NULL-terminated, never NULL */
};

struct cli_flagset {
    size_t n;
    struct flag_value *v;
    char **args; /* borrowed strings, NULL-terminated */
    int nargs;
};

static const struct cli_flag help_with_h = {"help", 'h',  CLI_FLAG_BOOL, "Print usage",
                                            NULL,   NULL, true};
static const struct cli_flag help_without_h = {"help", 0,    CLI_FLAG_BOOL, "Print usage",
                                               NULL,   NULL, true};

static FILE *xmemstream(char **buf, size_t *len)
{
    FILE *f = open_memstream(buf, len);
    if (f == NULL)
        abort();
    return f;
}

/* Close a memory stream and hand its buffer over. */
static char *memstream_done(FILE *f, char **buf)
{
    if (fclose(f) != 0)
        abort();
    return steal_ptr(buf);
}

/* ---- Go's number and string syntax ---- */

int cli_parse_go_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t k = 0; k < ARRAY_SIZE(yes); k++) {
        if (strcmp(s, yes[k]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(s, no[k]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* Magnitude of an unsigned Go integer literal with base prefix and '_' separators (base 0
 * rules: underscores only between digits, or between the prefix and a digit). */
static int parse_go_magnitude(const char *s, uint64_t *out, const char **why)
{
    int base = 10;
    const char *p = s;
    bool prefixed = false;
    if (p[0] == '0' && p[1] != 0) {
        char x = (char)(p[1] | 0x20);
        if (x == 'x' || x == 'o' || x == 'b') {
            base = x == 'x' ? 16 : x == 'o' ? 8 : 2;
            p += 2;
            prefixed = true;
        } else {
            base = 8;
            p += 1;
            prefixed = true; /* the leading 0 counts as a digit for the underscore rule */
        }
    }
    *why = "invalid syntax";
    if (*p == 0 && !(prefixed && base == 8))
        return -1;
    uint64_t v = 0;
    bool range = false;
    char prev = prefixed ? '0' : '^';
    for (; *p; p++) {
        if (*p == '_') {
            if (prev != '0')
                return -1;
            prev = '_';
            continue;
        }
        int d = digit_value(*p);
        if (d >= base)
            return -1;
        prev = '0';
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            range = true;
        else
            v = v * (uint64_t)base + (uint64_t)d;
    }
    if (prev == '_')
        return -1;
    if (range) {
        *why = "value out of range";
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_go_uint(const char *s, uint64_t *out, const char **why)
{
    if (*s == '+' || *s == '-') {
        *why = "invalid syntax";
        return -1;
    }
    return parse_go_magnitude(s, out, why);
}

int cli_parse_go_int(const char *s, int64_t *out, const char **why)
{
    bool neg = *s == '-';
    uint64_t mag;
    if (*s == '-' || *s == '+')
        s++;
    if (*s == '-' || *s == '+') {
        *why = "invalid syntax";
        return -1;
    }
    if (parse_go_magnitude(s, &mag, why) < 0)
        return -1;
    if (mag > (uint64_t)INT64_MAX + (neg ? 1 : 0)) {
        *why = "value out of range";
        return -1;
    }
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
}

/* strconv.Quote, enough for flag values and defaults: escapes quotes, backslashes and control
 * bytes; leaves UTF-8 as it is. Returns a new string. */
static char *go_quote(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = xmemstream(&buf, &len);
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(f, "\\x%02x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
    return memstream_done(f, &buf);
}

/* ---- flag sets ---- */

static const struct cli_flag *table_find(const struct cli_flag *table, const char *name)
{
    for (const struct cli_flag *f = table; f && f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

static bool table_has_shorthand(const struct cli_flag *table, char c)
{
    for (const struct cli_flag *f = table; f && f->name; f++)
        if (f->shorthand == c)
            return true;
    return false;
}

/* The "-q, --quiet" or "--all" that docker's value errors name a flag by. */
static char *flag_display(const struct cli_flag *f)
{
    if (f->shorthand)
        return xasprintf("-%c, --%s", f->shorthand, f->name);
    return xasprintf("--%s", f->name);
}

static int value_error(const struct cli_flag *f, const char *value, const char *why,
                       struct berr **err)
{
    _cleanup_free_ char *name = flag_display(f);
    _cleanup_free_ char *qvalue = go_quote(value);
    _cleanup_free_ char *qname = go_quote(name);
    return berr_set(err, 0, "invalid argument %s for %s flag: %s", qvalue, qname, why);
}

/* strconv's error text: "strconv.ParseInt: parsing "x": invalid syntax" */
static int strconv_error(const struct cli_flag *f, const char *value, const char *func,
                         const char *why, struct berr **err)
{
    _cleanup_free_ char *qvalue = go_quote(value);
    _cleanup_free_ char *msg = xasprintf("strconv.%s: parsing %s: %s", func, qvalue, why);
    return value_error(f, value, msg, err);
}

static int set_value(struct flag_value *v, const char *value, struct berr **err)
{
    const struct cli_flag *f = v->flag;
    const char *why = NULL;
    switch (f->type) {
    case CLI_FLAG_BOOL:
        if (cli_parse_go_bool(value, &v->b) < 0)
            return strconv_error(f, value, "ParseBool", "invalid syntax", err);
        break;
    case CLI_FLAG_STRING:
        v->s = value;
        break;
    case CLI_FLAG_FILTER:
        /* docker ignores an empty filter rather than rejecting it */
        if (*value == 0)
            break;
        if (strchr(value, '=') == NULL)
            return value_error(f, value, "bad format of filter (expected name=value)", err);
        strv_append(&v->list, value);
        break;
    case CLI_FLAG_LIST:
        strv_append(&v->list, value);
        break;
    case CLI_FLAG_INT:
        if (cli_parse_go_int(value, &v->i, &why) < 0)
            return strconv_error(f, value, "ParseInt", why, err);
        break;
    case CLI_FLAG_UINT64:
        if (cli_parse_go_uint(value, &v->u, &why) < 0)
            return strconv_error(f, value, "ParseUint", why, err);
        break;
    }
    return 0;
}

struct cli_flagset *cli_flagset_new(const struct cli_flag *table)
{
    size_t n = 0;
    while (table && table[n].name)
        n++;
    bool own_help = table_find(table, "help") != NULL;
    struct cli_flagset *fs = xzalloc(sizeof(*fs));
    fs->n = n + (own_help ? 0 : 1);
    fs->v = xcalloc(fs->n, sizeof(*fs->v));
    for (size_t k = 0; k < fs->n; k++) {
        struct flag_value *v = &fs->v[k];
        if (k < n)
            v->flag = &table[k];
        else
            v->flag = table_has_shorthand(table, 'h') ? &help_without_h : &help_with_h;
        v->s = "";
        v->list = xcalloc(1, sizeof(char *));
        if (v->flag->def) {
            _cleanup_berr_ struct berr *e = NULL;
            if (set_value(v, v->flag->def, &e) < 0) {
                fprintf(stderr, "berth: bad default of flag --%s: %s\n", v->flag->name, e->msg);
                abort();
            }
        }
    }
    fs->args = xcalloc(1, sizeof(char *));
    return fs;
}

void cli_flagset_free(struct cli_flagset *fs)
{
    if (fs == NULL)
        return;
    for (size_t k = 0; k < fs->n; k++)
        strv_free(fs->v[k].list);
    free(fs->v);
    free(fs->args);
    free(fs);
}

void cli_flagset_freep(struct cli_flagset **fs)
{
    cli_flagset_free(*fs);
    *fs = NULL;
}

static struct flag_value *find_long(struct cli_flagset *fs, const char *name, size_t len)
{
    for (size_t k = 0; k < fs->n; k++)
        if (strlen(fs->v[k].flag->name) == len && strncmp(fs->v[k].flag->name, name, len) == 0)
            return &fs->v[k];
    return NULL;
}

static struct flag_value *find_short(struct cli_flagset *fs, char c)
{
    for (size_t k = 0; k < fs->n; k++)
        if (fs->v[k].flag->shorthand == c)
            return &fs->v[k];
    return NULL;
}

static void add_arg(struct cli_flagset *fs, char *arg)
{
    fs->args = xreallocarray(fs->args, (size_t)fs->nargs + 2, sizeof(char *));
    fs->args[fs->nargs++] = arg;
    fs->args[fs->nargs] = NULL;
}

/* "--name", "--name=value" or "--name value"; returns how many extra words it used. */
static int parse_long(struct cli_flagset *fs, const char *arg, int nrest, char **rest,
                      struct berr **err)
{
    const char *name = arg + 2;
    if (*name == '-' || *name == '=')
        return berr_set(err, 0, "bad flag syntax: %s", arg);
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    struct flag_value *v = find_long(fs, name, len);
    if (v == NULL)
        return berr_set(err, 0, "unknown flag: --%.*s", (int)len, name);
    int used = 0;
    const char *value;
    if (eq) {
        value = eq + 1;
    } else if (v->flag->type == CLI_FLAG_BOOL) {
        value = "true";
    } else if (nrest > 0) {
        value = rest[0];
        used = 1;
    } else {
        return berr_set(err, 0, "flag needs an argument: %s", arg);
    }
    if (set_value(v, value, err) < 0)
        return -1;
    v->changed = true;
    return used;
}

/* "-abc", "-fvalue", "-f=value", "-f value"; returns how many extra words it used. */
static int parse_short(struct cli_flagset *fs, const char *arg, int nrest, char **rest,
                       struct berr **err)
{
    const char *p = arg + 1;
    while (*p) {
        struct flag_value *v = find_short(fs, *p);
        if (v == NULL)
            return berr_set(err, 0, "unknown shorthand flag: '%c' in -%s", *p, p);
        const char *value;
        int used = 0;
        const char *next = p + 1;
        if (p[1] == '=' && p[2] != 0) {
            value = p + 2;
            next = "";
        } else if (v->flag->type == CLI_FLAG_BOOL) {
            value = "true";
        } else if (p[1] != 0) {
            value = p + 1;
            next = "";
        } else if (nrest > 0) {
            value = rest[0];
            used = 1;
        } else {
            return berr_set(err, 0, "flag needs an argument: '%c' in -%s", *p, p);
        }
        if (set_value(v, value, err) < 0)
            return -1;
        v->changed = true;
        if (used)
            return used;
        p = next;
    }
    return 0;
}

int cli_flagset_parse(struct cli_flagset *fs, int argc, char **argv, bool interspersed,
                      struct berr **err)
{
    fs->nargs = 0;
    fs->args[0] = NULL;
    for (int k = 0; k < argc; k++) {
        char *a = argv[k];
        if (a[0] != '-' || a[1] == 0) {
            if (!interspersed) {
                for (; k < argc; k++)
                    add_arg(fs, argv[k]);
                break;
            }
            add_arg(fs, a);
            continue;
        }
        if (strcmp(a, "--") == 0) {
            for (k++; k < argc; k++)
                add_arg(fs, argv[k]);
            break;
        }
        int used = a[1] == '-' ? parse_long(fs, a, argc - k - 1, argv + k + 1, err)
                               : parse_short(fs, a, argc - k - 1, argv + k + 1, err);
        if (used < 0)
            return -1;
        k += used;
    }
    return 0;
}

int cli_flagset_nargs(const struct cli_flagset *fs)
{
    return fs->nargs;
}

char **cli_flagset_args(const struct cli_flagset *fs)
{
    return fs->args;
}

static const struct flag_value *lookup(const struct cli_flagset *fs, const char *name, int type)
{
    for (size_t k = 0; k < fs->n; k++) {
        const struct flag_value *v = &fs->v[k];
        if (strcmp(v->flag->name, name) != 0)
            continue;
        bool list_ok = type == CLI_FLAG_LIST && v->flag->type == CLI_FLAG_FILTER;
        if (type >= 0 && (int)v->flag->type != type && !list_ok)
            break;
        return v;
    }
    /* A typo in a command's flag name: fail loudly in the first test that reaches it. */
    fprintf(stderr, "berth: bug: no flag --%s of the asked type\n", name);
    abort();
}

bool cli_flagset_bool(const struct cli_flagset *fs, const char *name)
{
    return lookup(fs, name, CLI_FLAG_BOOL)->b;
}

const char *cli_flagset_string(const struct cli_flagset *fs, const char *name)
{
    return lookup(fs, name, CLI_FLAG_STRING)->s;
}

char *const *cli_flagset_list(const struct cli_flagset *fs, const char *name)
{
    return lookup(fs, name, CLI_FLAG_LIST)->list;
}

int64_t cli_flagset_int(const struct cli_flagset *fs, const char *name)
{
    return lookup(fs, name, CLI_FLAG_INT)->i;
}

uint64_t cli_flagset_uint64(const struct cli_flagset *fs, const char *name)
{
    return lookup(fs, name, CLI_FLAG_UINT64)->u;
}

bool cli_flagset_changed(const struct cli_flagset *fs, const char *name)
{
    return lookup(fs, name, -1)->changed;
}

/* ---- help text ---- */

static void put_indented(FILE *out, const char *s, size_t len, int indent)
{
    for (size_t k = 0; k < len; k++) {
        fputc(s[k], out);
        if (s[k] == '\n')
            fprintf(out, "%*s", indent, "");
    }
}

/* Splits s at whitespace into a first piece of at most width bytes and the rest, letting the
 * piece run slop bytes long when that takes all of s (so no short orphan word is left). */
static void split_line(const char *s, size_t width, size_t slop, size_t *piece, const char **rest)
{
    size_t len = strlen(s);
    if (width + slop > len) {
        *piece = len;
        *rest = s + len;
        return;
    }
    ssize_t ws = -1, nl = -1;
    for (size_t k = 0; k < width; k++) {
        if (s[k] == ' ' || s[k] == '\t' || s[k] == '\n')
            ws = (ssize_t)k;
        if (s[k] == '\n')
            nl = (ssize_t)k;
    }
    if (ws <= 0) {
        /* no break in reach: the over-long word goes on a line of its own */
        size_t next = strcspn(s, " \t\n");
        if (next == 0 || next == len) {
            *piece = len;
            *rest = s + len;
        } else {
            *piece = next;
            *rest = s + next + 1;
        }
        return;
    }
    if (nl > 0 && nl < ws)
        ws = nl;
    *piece = (size_t)ws;
    *rest = s + ws + 1;
}

/* Word-wraps s into the columns between indent and cols; the first line continues the current
 * output line. Follows pflag so help texts break where docker's do. */
static void put_wrapped(FILE *out, int indent, int cols, const char *s)
{
    if (cols == 0) {
        put_indented(out, s, strlen(s), indent);
        return;
    }
    int width = cols - indent;
    if (width < 24) {
        indent = 16;
        width = cols - indent;
        if (width < 24) {
            put_indented(out, s, strlen(s), 0);
            return;
        }
        fprintf(out, "\n%*s", indent, "");
    }
    const size_t slop = 5;
    width -= (int)slop;
    size_t piece;
    const char *rest;
    split_line(s, (size_t)width, slop, &piece, &rest);
    put_indented(out, s, piece, indent);
    while (*rest) {
        s = rest;
        split_line(s, (size_t)width, slop, &piece, &rest);
        fprintf(out, "\n%*s", indent, "");
        put_indented(out, s, piece, indent);
    }
}

static const char *varname_of(const struct cli_flag *f)
{
    if (f->varname)
        return f->varname;
    switch (f->type) {
    case CLI_FLAG_BOOL:
        return "";
    case CLI_FLAG_STRING:
        return "string";
    case CLI_FLAG_LIST:
        return "list";
    case CLI_FLAG_FILTER:
        return "filter";
    case CLI_FLAG_INT:
        return "int";
    case CLI_FLAG_UINT64:
        return "uint";
    }
    return "";
}

static bool default_is_zero(const struct cli_flag *f)
{
    if (f->def == NULL || f->type == CLI_FLAG_LIST || f->type == CLI_FLAG_FILTER)
        return true;
    switch (f->type) {
    case CLI_FLAG_BOOL: {
        bool b = false;
        return cli_parse_go_bool(f->def, &b) == 0 && !b;
    }
    case CLI_FLAG_STRING:
        return *f->def == 0;
    default:
        return strcmp(f->def, "0") == 0;
    }
}

static int by_name(const void *a, const void *b)
{
    const struct cli_flag *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

char *cli_flags_usage(const struct cli_flag *table, int cols)
{
    size_t n = 0;
    while (table && table[n].name)
        n++;
    _cleanup_free_ const struct cli_flag **sorted = xcalloc(n + 1, sizeof(*sorted));
    size_t shown = 0;
    for (size_t k = 0; k < n; k++)
        if (!table[k].hidden)
            sorted[shown++] = &table[k];
    qsort(sorted, shown, sizeof(*sorted), by_name);

    _cleanup_strv_ char **heads = xcalloc(shown + 1, sizeof(char *));
    size_t maxlen = 0;
    for (size_t k = 0; k < shown; k++) {
        const struct cli_flag *f = sorted[k];
        const char *var = varname_of(f);
        if (f->shorthand)
            heads[k] = xasprintf("  -%c, --%s%s%s", f->shorthand, f->name, *var ? " " : "", var);
        else
            heads[k] = xasprintf("      --%s%s%s", f->name, *var ? " " : "", var);
        if (strlen(heads[k]) + 1 > maxlen)
            maxlen = strlen(heads[k]) + 1;
    }

    char *buf = NULL;
    size_t len = 0;
    FILE *out = xmemstream(&buf, &len);
    for (size_t k = 0; k < shown; k++) {
        const struct cli_flag *f = sorted[k];
        char *text = NULL;
        size_t tlen = 0;
        FILE *t = xmemstream(&text, &tlen);
        fputs(f->usage ? f->usage : "", t);
        if (!default_is_zero(f)) {
            fputs(" (default ", t);
            if (f->type == CLI_FLAG_STRING) {
                _cleanup_free_ char *q = go_quote(f->def);
                fputs(q, t);
            } else
                fputs(f->def, t);
            fputc(')', t);
        }
        _cleanup_free_ char *usage = memstream_done(t, &text);
        fprintf(out, "%s %*s ", heads[k], (int)(maxlen - strlen(heads[k])), "");
        put_wrapped(out, (int)maxlen + 2, cols, usage);
        fputc('\n', out);
    }
    return memstream_done(out, &buf);
}

/* ---- the per-command front end ---- */

int cli_help_columns(void)
{
    struct winsize ws;
    int width = 80;
    if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        width = ws.ws_col;
    return width - 1;
}

static bool has_visible_flags(const struct cli_flag *table)
{
    for (const struct cli_flag *f = table; f && f->name; f++)
        if (!f->hidden)
            return true;
    return false;
}

char *cli_command_help(const struct cli_command *cmd, const char *path, const char *aliases,
                       int cols)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = xmemstream(&buf, &len);
    fprintf(out, "Usage:  %s%s%s\n\n%s\n", path, *cmd->usage ? " " : "", cmd->usage,
            cmd->long_desc ? cmd->long_desc : cmd->short_desc);
    if (aliases)
        fprintf(out, "\nAliases:\n  %s\n", aliases);
    if (has_visible_flags(cmd->flags)) {
        _cleanup_free_ char *opts = cli_flags_usage(cmd->flags, cols);
        fprintf(out, "\nOptions:\n%s", opts);
    }
    return memstream_done(out, &buf);
}

static void put_usage_line(FILE *out, const struct cli_command *cmd, const char *path)
{
    fprintf(out, "Usage:  %s%s%s\n", path, *cmd->usage ? " " : "", cmd->usage);
}

static const char *plural(int n)
{
    return n == 1 ? "argument" : "arguments";
}

/* docker's words for a wrong argument count (cli/required.go), including its choice of "See"
 * for the at-least case and "Run" elsewhere. */
static int check_args(struct cli *cli, const struct cli_command *cmd, const char *path, int n)
{
    int lo = cmd->min_args, hi = cmd->max_args;
    const char *verb = "Run";
    FILE *e = cli->err;
    if (n >= lo && (hi < 0 || n <= hi))
        return 0;
    if (hi == 0) {
        fprintf(e, "berth: '%s' accepts no arguments\n", path);
    } else if (lo == hi) {
        fprintf(e, "berth: '%s' requires %d %s\n", path, lo, plural(lo));
    } else if (hi < 0) {
        fprintf(e, "berth: '%s' requires at least %d %s\n", path, lo, plural(lo));
        verb = "See";
    } else if (lo == 0) {
        fprintf(e, "berth: '%s' requires at most %d %s\n", path, hi, plural(hi));
    } else {
        fprintf(e, "berth: '%s' requires at least %d and at most %d %s\n", path, lo, hi,
                plural(hi));
    }
    fputc('\n', e);
    put_usage_line(e, cmd, path);
    fprintf(e, "\n%s '%s --help' for more information\n", verb, path);
    return -1;
}

int cli_command_exec(struct cli *cli, const struct cli_command *cmd, const char *path,
                     const char *aliases, int argc, char **argv)
{
    _cleanup_(cli_flagset_freep) struct cli_flagset *fs = cli_flagset_new(cmd->flags);
    _cleanup_berr_ struct berr *err = NULL;
    if (cli_flagset_parse(fs, argc, argv, !cmd->flags_first, &err) < 0) {
        fprintf(cli->err, "%s\n\n", err->msg);
        put_usage_line(cli->err, cmd, path);
        fprintf(cli->err, "\nRun '%s --help' for more information\n", path);
        return CLI_EXIT_USAGE;
    }
    if (cli_flagset_bool(fs, "help")) {
        _cleanup_free_ char *help = cli_command_help(cmd, path, aliases, cli_help_columns());
        fputs(help, cli->out);
        return 0;
    }
    if (check_args(cli, cmd, path, cli_flagset_nargs(fs)) < 0)
        return 1;
    const struct cli_command *saved_cmd = cli->cmd;
    const char *saved_path = cli->cmd_path;
    struct cli_flagset *saved_flags = cli->flags;
    cli->cmd = cmd;
    cli->cmd_path = path;
    cli->flags = fs;
    int rc = cmd->run(cli, cli_flagset_nargs(fs), cli_flagset_args(fs));
    cli->cmd = saved_cmd;
    cli->cmd_path = saved_path;
    cli->flags = saved_flags;
    return rc;
}

int cli_fail(struct cli *cli, struct berr *err)
{
    fprintf(cli->err, "%s\n", err && err->msg ? err->msg : "failed");
    berr_free(err);
    return 1;
}

int cli_usage_error(struct cli *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    fprintf(cli->err, "berth: %s\n\n", msg);
    if (cli->cmd)
        put_usage_line(cli->err, cli->cmd, cli->cmd_path);
    fprintf(cli->err, "\nRun '%s --help' for more information\n",
            cli->cmd_path ? cli->cmd_path : "berth");
    return CLI_EXIT_USAGE;
}

bool cli_bool(const struct cli *cli, const char *name)
{
    return cli_flagset_bool(cli->flags, name);
}

const char *cli_string(const struct cli *cli, const char *name)
{
    return cli_flagset_string(cli->flags, name);
}

char *const *cli_list(const struct cli *cli, const char *name)
{
    return cli_flagset_list(cli->flags, name);
}

int64_t cli_int(const struct cli *cli, const char *name)
{
    return cli_flagset_int(cli->flags, name);
}

uint64_t cli_uint64(const struct cli *cli, const char *name)
{
    return cli_flagset_uint64(cli->flags, name);
}

bool cli_changed(const struct cli *cli, const char *name)
{
    return cli_flagset_changed(cli->flags, name);
}

char *cli_config_file(const struct cli *cli)
{
    return xasprintf("%s/config.json", cli->config_dir);
}
