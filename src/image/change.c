/* The `--change` instructions of docker import and docker commit: splitting the joined lines,
 * Docker's word splitting and shell-style word expansion (quotes, escapes, $VAR), and what each
 * allowed instruction does to a container config. Everything is applied to a copy, which replaces
 * the caller's object only when every line succeeded. */
#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/change.h"

/* A growable string. */
struct sbuf {
    char *p;
    size_t n, cap;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_putc(struct sbuf *b, char c)
{
    sb_putn(b, &c, 1);
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

/* The string built so far ("" when nothing was put); the buffer is left empty. */
static char *sb_take(struct sbuf *b)
{
    char *s = b->p ? b->p : xstrdup("");
    *b = (struct sbuf){0};
    return s;
}

static void sb_freep(struct sbuf *b)
{
    free(b->p);
    b->p = NULL;
}

#define _cleanup_sbuf_ _cleanup_(sb_freep)

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* ---- word expansion, as Docker's shell lexer does it for ENV, LABEL, USER, ... ---- */

struct lexer {
    const char *s;
    size_t i;
    json_t *env;      /* the config's Env array (may be NULL) */
    const char *word; /* the whole word, for messages */
    struct berr **err;
};

/* The value of NAME in env ("NAME=value" strings): NULL when unset. */
static const char *env_lookup(json_t *env, const char *name, size_t len)
{
    size_t i;
    json_t *e;
    json_array_foreach(env, i, e)
    {
        const char *kv = json_string_value(e);
        if (kv && strncmp(kv, name, len) == 0 && kv[len] == '=')
            return kv + len + 1;
    }
    return NULL;
}

static int lex_word(struct lexer *lx, struct sbuf *out, char stop);

static int lex_dollar(struct lexer *lx, struct sbuf *out)
{
    const char *s = lx->s;
    lx->i++; /* '$' */
    if (s[lx->i] != '{') {
        size_t start = lx->i;
        while (is_name_char(s[lx->i]))
            lx->i++;
        if (lx->i == start) {
            sb_putc(out, '$');
            return 0;
        }
        const char *v = env_lookup(lx->env, s + start, lx->i - start);
        if (v)
            sb_puts(out, v);
        return 0;
    }
    lx->i++; /* '{' */
    size_t start = lx->i;
    while (is_name_char(s[lx->i]))
        lx->i++;
    size_t len = lx->i - start;
    if (len == 0)
        return berr_set(lx->err, EINVAL,
                        "bad substitution in \"%s\": a variable name must follow ${", lx->word);
    const char *v = env_lookup(lx->env, s + start, len);
    if (s[lx->i] == '}') {
        lx->i++;
        if (v)
            sb_puts(out, v);
        return 0;
    }
    bool colon = s[lx->i] == ':';
    if (colon)
        lx->i++;
    char mod = s[lx->i];
    if (mod != '-' && mod != '+' && mod != '?')
        return berr_set(lx->err, EINVAL,
                        "unsupported modifier (%c) in substitution in \"%s\": use ${NAME}, "
                        "${NAME:-default}, ${NAME:+alternative} or ${NAME:?message}",
                        mod ? mod : ' ', lx->word);
    lx->i++;
    _cleanup_sbuf_ struct sbuf alt = {0};
    if (lex_word(lx, &alt, '}') < 0)
        return -1;
    if (s[lx->i] != '}')
        return berr_set(lx->err, EINVAL, "missing '}' in \"%s\"", lx->word);
    lx->i++;
    bool set = colon ? v && *v : v != NULL;
    const char *alt_s = alt.p ? alt.p : "";
    switch (mod) {
    case '-':
        sb_puts(out, set ? v : alt_s);
        break;
    case '+':
        if (set)
            sb_puts(out, alt_s);
        break;
    default:
        if (!set)
            return berr_set(lx->err, EINVAL, "%.*s: %s", (int)len, s + start,
                            *alt_s ? alt_s : "is not allowed to be unset");
        sb_puts(out, v);
        break;
    }
    return 0;
}

/* Expands from lx->i up to stop (or the end): quotes go, escapes are resolved, variables
 * replaced. Inside double quotes a backslash escapes only '"', '$' and itself. */
static int lex_word(struct lexer *lx, struct sbuf *out, char stop)
{
    const char *s = lx->s;
    while (s[lx->i] && s[lx->i] != stop) {
        char c = s[lx->i];
        if (c == '\'') {
            lx->i++;
            while (s[lx->i] && s[lx->i] != '\'')
                sb_putc(out, s[lx->i++]);
            if (!s[lx->i])
                return berr_set(lx->err, EINVAL,
                                "unexpected end of statement while looking for matching "
                                "single-quote in \"%s\"",
                                lx->word);
            lx->i++;
        } else if (c == '"') {
            lx->i++;
            while (s[lx->i] && s[lx->i] != '"') {
                if (s[lx->i] == '\\' &&
                    (s[lx->i + 1] == '"' || s[lx->i + 1] == '$' || s[lx->i + 1] == '\\')) {
                    sb_putc(out, s[lx->i + 1]);
                    lx->i += 2;
                } else if (s[lx->i] == '$') {
                    if (lex_dollar(lx, out) < 0)
                        return -1;
                } else {
                    sb_putc(out, s[lx->i++]);
                }
            }
            if (!s[lx->i])
                return berr_set(lx->err, EINVAL,
                                "unexpected end of statement while looking for matching "
                                "double-quote in \"%s\"",
                                lx->word);
            lx->i++;
        } else if (c == '\\') {
            if (s[lx->i + 1])
                sb_putc(out, s[lx->i + 1]);
            lx->i += s[lx->i + 1] ? 2 : 1;
        } else if (c == '$') {
            if (lex_dollar(lx, out) < 0)
                return -1;
        } else {
            sb_putc(out, c);
            lx->i++;
        }
    }
    return 0;
}

static char *expand(const char *word, json_t *env, struct berr **err)
{
    struct lexer lx = {.s = word, .env = env, .word = word, .err = err};
    _cleanup_sbuf_ struct sbuf out = {0};
    if (lex_word(&lx, &out, '\0') < 0)
        return NULL;
    return sb_take(&out);
}

/* ---- splitting ---- */

/* Words separated by blanks, quotes and escapes kept in the words (they are resolved later, by
 * expand), so that `a="b c"` stays one word. */
static char **split_words(const char *s)
{
    char **v = xcalloc(1, sizeof(char *));
    _cleanup_sbuf_ struct sbuf w = {0};
    bool in_word = false;
    char quote = 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (quote) {
            sb_putc(&w, c);
            if (c == quote)
                quote = 0;
            else if (c == '\\' && quote == '"' && s[i + 1])
                sb_putc(&w, s[++i]);
            continue;
        }
        if (is_space(c)) {
            if (in_word) {
                _cleanup_free_ char *word = sb_take(&w);
                strv_append(&v, word);
            }
            in_word = false;
            continue;
        }
        in_word = true;
        if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '\\' && s[i + 1]) {
            sb_putc(&w, c);
            c = s[++i];
        }
        sb_putc(&w, c);
    }
    if (in_word) {
        _cleanup_free_ char *word = sb_take(&w);
        strv_append(&v, word);
    }
    return v;
}

/* Blank-separated fields, nothing else interpreted (EXPOSE, VOLUME's shell form). */
static char **split_fields(const char *s)
{
    char **v = xcalloc(1, sizeof(char *));
    while (*s) {
        while (is_space(*s))
            s++;
        size_t n = 0;
        while (s[n] && !is_space(s[n]))
            n++;
        if (n) {
            _cleanup_free_ char *f = xstrndup(s, n);
            strv_append(&v, f);
        }
        s += n;
    }
    return v;
}

/* A JSON array of strings, as exec-form CMD/ENTRYPOINT/VOLUME take; NULL when rest is not one
 * (it is then the shell form, as in Docker). */
static char **parse_json_strings(const char *rest)
{
    if (rest[0] != '[')
        return NULL;
    _cleanup_json_ json_t *a = json_loads(rest, 0, NULL);
    if (!json_is_array(a))
        return NULL;
    char **v = xcalloc(1, sizeof(char *));
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        if (!json_is_string(e)) {
            strv_free(v);
            return NULL;
        }
        strv_append(&v, json_string_value(e));
    }
    return v;
}

/* ---- instructions ---- */

struct change_ctx {
    json_t *cfg;
    bool cmd_set;      /* a CMD came earlier: ENTRYPOINT then keeps it */
    const char *instr; /* upper case, for messages */
    struct berr **err;
};

static json_t *env_of(struct change_ctx *cx)
{
    json_t *env = json_object_get(cx->cfg, "Env");
    return json_is_array(env) ? env : NULL;
}

/* The object under key, made if missing or not an object (a null from an older tool). */
static json_t *object_member(json_t *cfg, const char *key)
{
    json_t *o = json_object_get(cfg, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(cfg, key, o);
    }
    return o;
}

static json_t *strv_to_json(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static int need_argument(struct change_ctx *cx, const char *rest, bool exactly_one)
{
    if (*rest)
        return 0;
    return berr_set(cx->err, EINVAL, "%s requires %s", cx->instr,
                    exactly_one ? "exactly one argument" : "at least one argument");
}

/* CMD and ENTRYPOINT: exec form as given, shell form run by /bin/sh -c; neither is expanded. */
static char **command_line(const char *rest)
{
    char **argv = parse_json_strings(rest);
    if (argv)
        return argv;
    argv = xcalloc(1, sizeof(char *));
    strv_append(&argv, "/bin/sh");
    strv_append(&argv, "-c");
    strv_append(&argv, rest);
    return argv;
}

static int do_cmd(struct change_ctx *cx, const char *rest)
{
    if (need_argument(cx, rest, false) < 0)
        return -1;
    _cleanup_strv_ char **argv = command_line(rest);
    json_object_set_new(cx->cfg, "Cmd", strv_to_json(argv));
    cx->cmd_set = true;
    return 0;
}

static int do_entrypoint(struct change_ctx *cx, const char *rest)
{
    if (need_argument(cx, rest, false) < 0)
        return -1;
    _cleanup_strv_ char **argv = command_line(rest);
    json_object_set_new(cx->cfg, "Entrypoint", strv_to_json(argv));
    /* As in a Dockerfile: a new entrypoint drops the inherited CMD, which was written for the
     * old one, unless a CMD was given before it here. */
    if (!cx->cmd_set)
        json_object_del(cx->cfg, "Cmd");
    return 0;
}

struct kv {
    char *key, *value;
};

static void kvs_free(struct kv *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].value);
    }
    free(v);
}

/* ENV and LABEL: "NAME value with spaces" (old form, when the first word has no '=') or
 * NAME=value pairs. Keys and values come back expanded against the Env before this line. */
static int parse_name_values(struct change_ctx *cx, const char *rest, struct kv **out,
                             size_t *n_out)
{
    if (need_argument(cx, rest, false) < 0)
        return -1;
    json_t *env = env_of(cx);
    _cleanup_strv_ char **words = split_words(rest);
    struct kv *v = NULL;
    size_t n = 0;
    if (strchr(words[0], '=') == NULL) {
        size_t klen = strcspn(rest, " \t\n\r\v\f");
        const char *val = rest + klen;
        while (is_space(*val))
            val++;
        if (*val == '\0')
            return berr_set(cx->err, EINVAL,
                            "%s must have two arguments (%s NAME value, or "
                            "%s NAME=value ...)",
                            cx->instr, cx->instr, cx->instr);
        _cleanup_free_ char *key = xstrndup(rest, klen);
        v = xcalloc(1, sizeof(*v));
        n = 1;
        v[0].key = expand(key, env, cx->err);
        v[0].value = v[0].key ? expand(val, env, cx->err) : NULL;
        if (v[0].value == NULL) {
            kvs_free(v, n);
            return -1;
        }
    } else {
        size_t count = strv_length(words);
        v = xcalloc(count, sizeof(*v));
        for (; n < count; n++) {
            char *eq = strchr(words[n], '=');
            if (eq == NULL) {
                berr_set(cx->err, EINVAL,
                         "Syntax error - can't find = in \"%s\". Must be of the form: name=value",
                         words[n]);
                kvs_free(v, n);
                return -1;
            }
            *eq = '\0';
            v[n].key = expand(words[n], env, cx->err);
            v[n].value = v[n].key ? expand(eq + 1, env, cx->err) : NULL;
            if (v[n].value == NULL) {
                kvs_free(v, n + 1);
                return -1;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i].key[0] == '\0') {
            berr_set(cx->err, EINVAL, "%s names can not be blank", cx->instr);
            kvs_free(v, n);
            return -1;
        }
    }
    *out = v;
    *n_out = n;
    return 0;
}

static int do_env(struct change_ctx *cx, const char *rest)
{
    struct kv *v = NULL;
    size_t n = 0;
    if (parse_name_values(cx, rest, &v, &n) < 0)
        return -1;
    json_t *env = env_of(cx);
    if (env == NULL) {
        env = json_array();
        json_object_set_new(cx->cfg, "Env", env);
    }
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *kv = xasprintf("%s=%s", v[i].key, v[i].value);
        size_t klen = strlen(v[i].key);
        bool replaced = false;
        size_t j;
        json_t *e;
        json_array_foreach(env, j, e)
        {
            const char *have = json_string_value(e);
            if (have && strncmp(have, kv, klen) == 0 && have[klen] == '=') {
                json_array_set_new(env, j, json_string(kv));
                replaced = true;
                break;
            }
        }
        if (!replaced)
            json_array_append_new(env, json_string(kv));
    }
    kvs_free(v, n);
    return 0;
}

static int do_label(struct change_ctx *cx, const char *rest)
{
    struct kv *v = NULL;
    size_t n = 0;
    if (parse_name_values(cx, rest, &v, &n) < 0)
        return -1;
    json_t *labels = object_member(cx->cfg, "Labels");
    for (size_t i = 0; i < n; i++)
        json_object_set_new(labels, v[i].key, json_string(v[i].value));
    kvs_free(v, n);
    return 0;
}

/* A port number 1-65535, or -1. */
static long parse_port(const char *s, size_t n)
{
    if (n == 0 || n > 5)
        return -1;
    long p = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        p = p * 10 + (s[i] - '0');
    }
    return p >= 1 && p <= 65535 ? p : -1;
}

/* "80", "80/udp", "8000-8010/tcp" into ports ("80/tcp" keys). */
static int add_port_spec(struct change_ctx *cx, const char *spec, json_t *ports)
{
    const char *slash = strchr(spec, '/');
    size_t plen = slash ? (size_t)(slash - spec) : strlen(spec);
    _cleanup_free_ char *proto = xstrdup(slash ? slash + 1 : "tcp");
    for (char *p = proto; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 && strcmp(proto, "sctp") != 0)
        return berr_set(cx->err, EINVAL, "EXPOSE %s: invalid protocol \"%s\" (tcp, udp or sctp)",
                        spec, slash + 1);
    const char *dash = memchr(spec, '-', plen);
    long lo = parse_port(spec, dash ? (size_t)(dash - spec) : plen);
    long hi = dash ? parse_port(dash + 1, plen - (size_t)(dash + 1 - spec)) : lo;
    if (lo < 0 || hi < 0)
        return berr_set(cx->err, EINVAL,
                        "EXPOSE %s: invalid containerPort \"%.*s\" (a port "
                        "1-65535 or a range such as 8000-8010, optionally /tcp, /udp or /sctp)",
                        spec, (int)plen, spec);
    if (hi < lo)
        return berr_set(cx->err, EINVAL, "EXPOSE %s: invalid range specified for container port",
                        spec);
    for (long p = lo; p <= hi; p++) {
        char key[32];
        snprintf(key, sizeof(key), "%ld/%s", p, proto);
        json_object_set_new(ports, key, json_object());
    }
    return 0;
}

static int do_expose(struct change_ctx *cx, const char *rest)
{
    if (need_argument(cx, rest, false) < 0)
        return -1;
    _cleanup_strv_ char **fields = split_fields(rest);
    json_t *env = env_of(cx);
    _cleanup_json_ json_t *ports = json_object();
    for (size_t i = 0; fields[i]; i++) {
        _cleanup_free_ char *spec = expand(fields[i], env, cx->err);
        if (spec == NULL || add_port_spec(cx, spec, ports) < 0)
            return -1;
    }
    json_object_update(object_member(cx->cfg, "ExposedPorts"), ports);
    return 0;
}

static int do_volume(struct change_ctx *cx, const char *rest)
{
    if (need_argument(cx, rest, false) < 0)
        return -1;
    _cleanup_strv_ char **paths = parse_json_strings(rest);
    if (paths == NULL)
        paths = split_fields(rest);
    if (paths[0] == NULL)
        return berr_set(cx->err, EINVAL, "VOLUME requires at least one argument");
    json_t *env = env_of(cx);
    _cleanup_json_ json_t *vols = json_object();
    for (size_t i = 0; paths[i]; i++) {
        _cleanup_free_ char *p = expand(paths[i], env, cx->err);
        if (p == NULL)
            return -1;
        char *start = p;
        while (is_space(*start))
            start++;
        size_t n = strlen(start);
        while (n > 0 && is_space(start[n - 1]))
            start[--n] = '\0';
        if (n == 0)
            return berr_set(cx->err, EINVAL, "VOLUME specified can not be an empty string");
        json_object_set_new(vols, start, json_object());
    }
    json_object_update(object_member(cx->cfg, "Volumes"), vols);
    return 0;
}

static int do_user(struct change_ctx *cx, const char *rest)
{
    if (need_argument(cx, rest, true) < 0)
        return -1;
    char *user = expand(rest, env_of(cx), cx->err);
    if (user == NULL)
        return -1;
    json_object_set_new(cx->cfg, "User", json_string(user));
    free(user);
    return 0;
}

/* Lexical clean of an absolute path: no ".", "..", empty or trailing components. */
static char *clean_abs_path(const char *p)
{
    _cleanup_strv_ char **parts = xcalloc(1, sizeof(char *));
    while (*p) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n == 0)
            break;
        bool dot = n == 1 && p[0] == '.';
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            size_t len = strv_length(parts);
            if (len > 0) {
                free(parts[len - 1]);
                parts[len - 1] = NULL;
            }
        } else if (!dot) {
            _cleanup_free_ char *c = xstrndup(p, n);
            strv_append(&parts, c);
        }
        p += n;
    }
    struct sbuf b = {0};
    for (size_t i = 0; parts[i]; i++) {
        sb_putc(&b, '/');
        sb_puts(&b, parts[i]);
    }
    if (b.n == 0)
        sb_putc(&b, '/');
    return sb_take(&b);
}

static int do_workdir(struct change_ctx *cx, const char *rest)
{
    if (need_argument(cx, rest, true) < 0)
        return -1;
    _cleanup_free_ char *dir = expand(rest, env_of(cx), cx->err);
    if (dir == NULL)
        return -1;
    if (dir[0] == '\0')
        return berr_set(cx->err, EINVAL, "WORKDIR: cannot normalize nothing");
    if (dir[0] == '/') {
        json_object_set_new(cx->cfg, "WorkingDir", json_string(dir));
        return 0;
    }
    /* Relative to the working directory so far, like cd. */
    const char *cur = json_string_value(json_object_get(cx->cfg, "WorkingDir"));
    _cleanup_free_ char *joined = xasprintf("/%s/%s", cur ? cur : "", dir);
    _cleanup_free_ char *clean = clean_abs_path(joined);
    json_object_set_new(cx->cfg, "WorkingDir", json_string(clean));
    return 0;
}

static bool valid_signal(const char *s)
{
    static const char *const names[] = {
        "ABRT",   "ALRM",  "BUS",  "CHLD", "CLD",    "CONT",  "FPE",   "HUP",  "ILL",  "INT",
        "IO",     "IOT",   "KILL", "PIPE", "POLL",   "PROF",  "PWR",   "QUIT", "SEGV", "STKFLT",
        "STOP",   "SYS",   "TERM", "TRAP", "TSTP",   "TTIN",  "TTOU",  "URG",  "USR1", "USR2",
        "VTALRM", "WINCH", "XCPU", "XFSZ", "UNUSED", "RTMIN", "RTMAX",
    };
    char *end;
    if (isdigit((unsigned char)s[0])) {
        long n = strtol(s, &end, 10);
        return *end == '\0' && n > 0 && n <= 64;
    }
    char up[32];
    size_t n = strlen(s);
    if (n >= sizeof(up))
        return false;
    for (size_t i = 0; i <= n; i++)
        up[i] = (char)toupper((unsigned char)s[i]);
    const char *name = strncmp(up, "SIG", 3) == 0 ? up + 3 : up;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (strcmp(name, names[i]) == 0)
            return true;
    }
    /* RTMIN+1 .. RTMIN+15 and RTMAX-14 .. RTMAX-1. */
    if ((strncmp(name, "RTMIN+", 6) == 0 || strncmp(name, "RTMAX-", 6) == 0) &&
        isdigit((unsigned char)name[6])) {
        long k = strtol(name + 6, &end, 10);
        return *end == '\0' && k >= 1 && k <= (name[5] == '+' ? 15 : 14);
    }
    return false;
}

static int do_stopsignal(struct change_ctx *cx, const char *rest)
{
    if (need_argument(cx, rest, true) < 0)
        return -1;
    _cleanup_free_ char *sig = expand(rest, env_of(cx), cx->err);
    if (sig == NULL)
        return -1;
    if (!valid_signal(sig))
        return berr_set(cx->err, EINVAL, "Invalid signal: %s", sig);
    json_object_set_new(cx->cfg, "StopSignal", json_string(sig));
    return 0;
}

static int do_onbuild(struct change_ctx *cx, const char *rest)
{
    static const char *const known[] = {
        "ADD",   "ARG",        "CMD", "COPY",  "ENTRYPOINT", "ENV",  "EXPOSE", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    };
    if (need_argument(cx, rest, false) < 0)
        return -1;
    size_t n = strcspn(rest, " \t\n\r\v\f");
    _cleanup_free_ char *word = xstrndup(rest, n);
    for (char *p = word; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (strcmp(word, "ONBUILD") == 0)
        return berr_set(cx->err, EINVAL, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (strcmp(word, "FROM") == 0 || strcmp(word, "MAINTAINER") == 0)
        return berr_set(cx->err, EINVAL, "%s isn't allowed as an ONBUILD trigger", word);
    bool ok = false;
    for (size_t i = 0; i < ARRAY_SIZE(known); i++)
        ok = ok || strcmp(word, known[i]) == 0;
    if (!ok)
        return berr_set(cx->err, EINVAL, "ONBUILD: unknown instruction: %s", word);
    json_t *triggers = json_object_get(cx->cfg, "OnBuild");
    if (!json_is_array(triggers)) {
        triggers = json_array();
        json_object_set_new(cx->cfg, "OnBuild", triggers);
    }
    json_array_append_new(triggers, json_string(rest));
    return 0;
}

static const struct {
    const char *name;
    int (*apply)(struct change_ctx *cx, const char *rest);
} instructions[] = {
    {"CMD", do_cmd},
    {"ENTRYPOINT", do_entrypoint},
    {"ENV", do_env},
    {"EXPOSE", do_expose},
    {"LABEL", do_label},
    {"ONBUILD", do_onbuild},
    {"STOPSIGNAL", do_stopsignal},
    {"USER", do_user},
    {"VOLUME", do_volume},
    {"WORKDIR", do_workdir},
};

/* The logical lines of the joined changes: comments and blank lines dropped, a line ending in
 * a backslash (blanks after it allowed) joined with the next. */
static char **logical_lines(char *const *changes)
{
    struct sbuf all = {0};
    for (size_t i = 0; changes && changes[i]; i++) {
        sb_puts(&all, changes[i]);
        sb_putc(&all, '\n');
    }
    _cleanup_free_ char *text = sb_take(&all);
    char **lines = xcalloc(1, sizeof(char *));
    _cleanup_sbuf_ struct sbuf cur = {0};
    bool continuing = false;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        char *next = nl ? nl + 1 : line + n;
        size_t lead = 0;
        while (lead < n && is_space(line[lead]))
            lead++;
        bool blank = lead == n, comment = !blank && line[lead] == '#';
        if (blank || comment) {
            line = next;
            continue;
        }
        size_t end = n;
        while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t' || line[end - 1] == '\r'))
            end--;
        bool cont = end > 0 && line[end - 1] == '\\';
        if (cont)
            end--;
        sb_putn(&cur, line, end);
        continuing = cont;
        if (!continuing) {
            _cleanup_free_ char *l = sb_take(&cur);
            strv_append(&lines, l);
        }
        line = next;
    }
    if (continuing) {
        _cleanup_free_ char *l = sb_take(&cur);
        strv_append(&lines, l);
    }
    return lines;
}

int img_changes_apply(json_t *config, char *const *changes, struct berr **err)
{
    if (!json_is_object(config))
        return berr_set(err, EINVAL, "changes: the image config has no container config object");
    _cleanup_strv_ char **lines = logical_lines(changes);
    size_t n = strv_length(lines);
    _cleanup_free_ int *which = xcalloc(n ? n : 1, sizeof(int));
    _cleanup_free_ char **rests = xcalloc(n ? n : 1, sizeof(char *));
    /* Every instruction is checked before any is applied, as Docker does. */
    for (size_t i = 0; i < n; i++) {
        char *l = lines[i];
        while (is_space(*l))
            l++;
        size_t wl = strcspn(l, " \t\n\r\v\f");
        char *rest = l + wl;
        while (is_space(*rest))
            rest++;
        size_t rl = strlen(rest);
        while (rl > 0 && is_space(rest[rl - 1]))
            rest[--rl] = '\0';
        which[i] = -1;
        for (size_t k = 0; k < ARRAY_SIZE(instructions); k++) {
            if (strlen(instructions[k].name) == wl && strncasecmp(l, instructions[k].name, wl) == 0)
                which[i] = (int)k;
        }
        if (which[i] < 0) {
            /* Docker names the instruction as its parser keeps it: lower case. */
            _cleanup_free_ char *word = xstrndup(l, wl);
            for (char *p = word; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            return berr_set(err, EINVAL, "%s is not a valid change command", word);
        }
        rests[i] = rest;
    }
    _cleanup_json_ json_t *copy = json_deep_copy(config);
    struct change_ctx cx = {.cfg = copy, .err = err};
    for (size_t i = 0; i < n; i++) {
        cx.instr = instructions[which[i]].name;
        if (instructions[which[i]].apply(&cx, rests[i]) < 0)
            return -1;
    }
    json_object_clear(config);
    json_object_update(config, copy);
    return 0;
}
