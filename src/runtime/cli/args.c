/* Flag parsing with Go's rules (runc's CLI is Go): -name and --name are the same, values as
 * --name=value or --name value, bools take no value unless written --name=false, and parsing
 * stops at the first positional argument. Also shared reporting helpers. */
#include "runtime/cli/cli.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"

#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_flag *find_flag(const struct cli_flag *flags, const char *name,
                                        size_t len)
{
    for (const struct cli_flag *f = flags; f->name; f++) {
        if (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
            return f;
        if (len == 1 && f->short_name == name[0])
            return f;
    }
    return NULL;
}

static int set_value(const struct cli_flag *f, const char *v, struct berr **err)
{
    switch (f->type) {
    case FLAG_BOOL:
        if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
            *(bool *)f->dest = true;
        else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
            *(bool *)f->dest = false;
        else
            return berr_set(err, EINVAL, "--%s: expected true or false, got \"%s\"", f->name, v);
        return 0;
    case FLAG_STRING:
        *(const char **)f->dest = v;
        return 0;
    case FLAG_STRINGS:
        strv_append((char ***)f->dest, v);
        return 0;
    case FLAG_INT: {
        char *end;
        long n = strtol(v, &end, 10);
        if (*v == 0 || *end || n < 0 || n > 1 << 20)
            return berr_set(err, EINVAL, "--%s: expected a number, got \"%s\"", f->name, v);
        *(int *)f->dest = (int)n;
        return 0;
    }
    }
    return 0;
}

int cli_parse(int argc, char **argv, const struct cli_flag *flags, int *nrest, char ***rest,
              struct berr **err)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == 0)
            break;
        const char *name = a + 1 + (a[1] == '-');
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct cli_flag *f = find_flag(flags, name, len);
        if (f == NULL)
            return berr_set(err, EINVAL, "flag provided but not defined: -%.*s", (int)len, name);
        if (eq) {
            if (set_value(f, eq + 1, err) < 0)
                return -1;
        } else if (f->type == FLAG_BOOL) {
            *(bool *)f->dest = true;
        } else {
            if (i + 1 >= argc)
                return berr_set(err, EINVAL, "flag needs an argument: -%s", f->name);
            if (set_value(f, argv[++i], err) < 0)
                return -1;
        }
    }
    *nrest = argc - i;
    *rest = argv + i;
    return 0;
}

int cli_fail(struct berr *err)
{
    log_error("%s", err ? err->msg : "failed");
    berr_free(err);
    return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    log_error("%s: %s (see berth-runc %s --help)", cmd, msg, cmd);
    return 1;
}

int cli_parse_signal(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (*s && *end == 0)
        return n > 0 && n < NSIG ? (int)n : -1;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    if (strncasecmp(s, "RTMIN+", 6) == 0) {
        n = strtol(s + 6, &end, 10);
        return *end == 0 && SIGRTMIN + n <= SIGRTMAX ? SIGRTMIN + (int)n : -1;
    }
    if (strncasecmp(s, "RTMAX-", 6) == 0) {
        n = strtol(s + 6, &end, 10);
        return *end == 0 && SIGRTMAX - n >= SIGRTMIN ? SIGRTMAX - (int)n : -1;
    }
    for (int sig = 1; sig < SIGRTMIN; sig++) {
        const char *abbrev = sigabbrev_np(sig);
        if (abbrev && strcasecmp(abbrev, s) == 0)
            return sig;
    }
    return -1;
}

void cli_print_json(void *json, bool pretty)
{
    char *s = json_dumps(json, pretty ? JSON_INDENT(2) : JSON_COMPACT);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
}
