/* Registry auth without the network: the WWW-Authenticate parser (RFC 7235 grammar, with the
 * leniency real registries need), token endpoint answers, scope strings and token URLs, the
 * per-client token cache, and the registries' JSON error bodies turned into readable text. */
#include "registry/auth.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

/* ---- WWW-Authenticate ---- */

static bool is_tchar(char c)
{
    return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_token68_char(char c)
{
    return isalnum((unsigned char)c) || (c && strchr("-._~+/", c) != NULL);
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_ows(const char *p)
{
    while (is_ows(*p))
        p++;
    return p;
}

static char *lower_dup(const char *s, size_t n)
{
    char *r = xstrndup(s, n);
    for (char *q = r; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    return r;
}

struct wa_parser {
    const char *start;
    const char *p;
    const char *what; /* set on error */
};

/* After `name BWS "="`, is there a value (quote or a value character)? Distinguishes a
 * parameter from a token68 that ends in '=' padding. */
static bool at_param(const char *p)
{
    const char *q = p;
    while (is_tchar(*q))
        q++;
    if (q == p)
        return false;
    q = skip_ows(q);
    if (*q != '=')
        return false;
    q = skip_ows(q + 1);
    return *q != '=' && *q != ',' && *q != 0;
}

/* Registries are sloppy with unquoted values (realm=https://x/token), so an unquoted value runs
 * to the next separator rather than stopping at the first non-token character. */
static bool is_bare_value_char(char c)
{
    return (unsigned char)c > 0x20 && c != 0x7f && c != ',' && c != '"' && c != '\\';
}

static char *parse_value(struct wa_parser *ps)
{
    const char *p = ps->p;
    if (*p != '"') {
        const char *s = p;
        while (is_bare_value_char(*p))
            p++;
        if (p == s) {
            ps->what = "missing parameter value";
            return NULL;
        }
        ps->p = p;
        return xstrndup(s, (size_t)(p - s));
    }
    p++;
    size_t cap = strlen(p) + 1, n = 0;
    _cleanup_free_ char *v = xmalloc(cap);
    for (;;) {
        char c = *p;
        if (c == 0) {
            ps->p = p;
            ps->what = "unterminated quoted string";
            return NULL;
        }
        if (c == '"')
            break;
        if (c == '\\') {
            p++;
            c = *p;
            if (c == 0) {
                ps->p = p;
                ps->what = "unterminated quoted string";
                return NULL;
            }
        }
        if ((unsigned char)c < 0x20 && c != '\t') {
            ps->p = p;
            ps->what = "control character in quoted string";
            return NULL;
        }
        v[n++] = c;
        p++;
    }
    v[n] = 0;
    ps->p = p + 1;
    return steal_ptr(&v);
}

static void challenge_free_contents(struct reg_challenge *ch)
{
    free(ch->scheme);
    free(ch->token68);
    for (size_t i = 0; i < ch->n_params; i++) {
        free(ch->params[i].name);
        free(ch->params[i].value);
    }
    free(ch->params);
    memset(ch, 0, sizeof(*ch));
}

/* Parses `name BWS "=" BWS value` at ps->p into ch. */
static int parse_param(struct wa_parser *ps, struct reg_challenge *ch)
{
    const char *s = ps->p;
    while (is_tchar(*ps->p))
        ps->p++;
    _cleanup_free_ char *name = lower_dup(s, (size_t)(ps->p - s));
    ps->p = skip_ows(ps->p);
    ps->p = skip_ows(ps->p + 1); /* at_param() already saw the '=' */
    char *value = parse_value(ps);
    if (value == NULL)
        return -1;
    if (reg_challenge_param(ch, name) != NULL) {
        free(value);
        ps->what = "parameter given twice";
        return -1;
    }
    ch->params = xreallocarray(ch->params, ch->n_params + 1, sizeof(*ch->params));
    ch->params[ch->n_params++] = (struct reg_auth_param){.name = steal_ptr(&name), .value = value};
    return 0;
}

static int wa_fail(struct wa_parser *ps, struct berr **err)
{
    /* The header comes from the server: show a bounded, printable copy. */
    char shown[121];
    size_t n = 0;
    for (const char *q = ps->start; *q && n < sizeof(shown) - 1; q++)
        shown[n++] = ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f) ? '?' : *q;
    shown[n] = 0;
    return berr_code(err, EPROTO, "malformed WWW-Authenticate header \"%s%s\": %s at offset %zu",
                     shown, ps->start[n] ? "..." : "", ps->what, (size_t)(ps->p - ps->start));
}

int reg_parse_www_authenticate(const char *header, struct reg_challenges *out, struct berr **err)
{
    struct wa_parser ps = {.start = header ? header : "", .p = header ? header : ""};
    struct reg_challenges got = {0};
    struct reg_challenge *cur = NULL;
    int r = -1;

    for (;;) {
        while (is_ows(*ps.p) || *ps.p == ',')
            ps.p++;
        if (*ps.p == 0)
            break;
        if (at_param(ps.p)) {
            if (cur == NULL) {
                ps.what = "parameter before any auth scheme";
                goto fail;
            }
            if (cur->token68 != NULL) {
                ps.what = "parameter after a token68";
                goto fail;
            }
            if (parse_param(&ps, cur) < 0)
                goto fail;
        } else {
            const char *s = ps.p;
            while (is_tchar(*ps.p))
                ps.p++;
            if (ps.p == s) {
                ps.what = "expected an auth scheme";
                goto fail;
            }
            got.v = xreallocarray(got.v, got.n + 1, sizeof(*got.v));
            cur = &got.v[got.n++];
            *cur = (struct reg_challenge){.scheme = lower_dup(s, (size_t)(ps.p - s))};
            if (is_ows(*ps.p)) {
                ps.p = skip_ows(ps.p);
                if (*ps.p == ',' || *ps.p == 0)
                    continue;
                if (at_param(ps.p)) {
                    if (parse_param(&ps, cur) < 0)
                        goto fail;
                } else {
                    const char *t = ps.p;
                    while (is_token68_char(*ps.p))
                        ps.p++;
                    if (ps.p == t) {
                        ps.what = "expected parameters or a token68 after the scheme";
                        goto fail;
                    }
                    while (*ps.p == '=')
                        ps.p++;
                    cur->token68 = xstrndup(t, (size_t)(ps.p - t));
                }
            } else if (*ps.p != ',' && *ps.p != 0) {
                ps.what = "unexpected character after the auth scheme";
                goto fail;
            }
        }
        ps.p = skip_ows(ps.p);
        if (*ps.p != ',' && *ps.p != 0) {
            ps.what = "expected ',' or the end";
            goto fail;
        }
    }
    if (got.n == 0) {
        ps.what = "no challenge";
        goto fail;
    }
    out->v = xreallocarray(out->v, out->n + got.n, sizeof(*out->v));
    memcpy(out->v + out->n, got.v, got.n * sizeof(*got.v));
    out->n += got.n;
    free(got.v);
    return 0;
fail:
    r = wa_fail(&ps, err);
    reg_challenges_clear(&got);
    return r;
}

void reg_challenges_clear(struct reg_challenges *l)
{
    for (size_t i = 0; i < l->n; i++)
        challenge_free_contents(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

const struct reg_challenge *reg_challenges_find(const struct reg_challenges *l, const char *scheme)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->v[i].scheme, scheme) == 0)
            return &l->v[i];
    return NULL;
}

const char *reg_challenge_param(const struct reg_challenge *ch, const char *name)
{
    for (size_t i = 0; i < ch->n_params; i++)
        if (strcasecmp(ch->params[i].name, name) == 0)
            return ch->params[i].value;
    return NULL;
}

int reg_bearer_from_challenge(const struct reg_challenge *ch, struct reg_bearer *out,
                              struct berr **err)
{
    const char *realm = reg_challenge_param(ch, "realm");
    if (realm == NULL || *realm == 0)
        return berr_code(err, EPROTO,
                         "registry asked for a bearer token but gave no realm to get it from");
    if (strncasecmp(realm, "https://", 8) != 0 && strncasecmp(realm, "http://", 7) != 0)
        return berr_code(err, EPROTO, "token realm \"%.200s\" is not an http(s) URL", realm);
    for (const char *q = realm; *q; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f)
            return berr_code(err, EPROTO, "token realm contains a space or control character");
    const char *service = reg_challenge_param(ch, "service");
    const char *scope = reg_challenge_param(ch, "scope");
    *out = (struct reg_bearer){
        .realm = realm,
        .service = service && *service ? service : NULL,
        .scope = scope && *scope ? scope : NULL,
    };
    return 0;
}

/* ---- token responses ---- */

#define TOKEN_MIN_LIFETIME 60
#define TOKEN_MAX_LIFETIME (366 * 86400)

int reg_parse_token_response(const char *body, size_t len, time_t now, struct reg_token *out,
                             struct berr **err)
{
    json_error_t jerr;
    _cleanup_json_ json_t *root = json_loadb(body, len, 0, &jerr);
    if (root == NULL || !json_is_object(root))
        return berr_code(err, EPROTO,
                         "token server answered with something that is not a JSON "
                         "object");
    const char *tok = json_string_value(json_object_get(root, "token"));
    if (tok == NULL || *tok == 0)
        tok = json_string_value(json_object_get(root, "access_token"));
    if (tok == NULL || *tok == 0)
        return berr_code(err, EPROTO, "token server answer has no \"token\" or \"access_token\"");
    for (const char *q = tok; *q; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
            return berr_code(err, EPROTO,
                             "token server returned a token with characters not "
                             "allowed in an HTTP header");
    json_t *exp = json_object_get(root, "expires_in");
    int64_t life = TOKEN_MIN_LIFETIME;
    if (json_is_integer(exp))
        life = (int64_t)json_integer_value(exp);
    else if (json_is_real(exp))
        life = (int64_t)json_real_value(exp);
    if (life < TOKEN_MIN_LIFETIME)
        life = TOKEN_MIN_LIFETIME;
    if (life > TOKEN_MAX_LIFETIME)
        life = TOKEN_MAX_LIFETIME;
    int64_t margin = life / 10 < 30 ? life / 10 : 30;
    out->token = xstrdup(tok);
    out->expires_at = (int64_t)now + life - margin;
    return 0;
}

void reg_token_clear(struct reg_token *t)
{
    free(t->token);
    t->token = NULL;
    t->expires_at = 0;
}

/* ---- scopes and URLs ---- */

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool reg_repo_name_valid(const char *repo)
{
    if (repo == NULL || *repo == 0 || strlen(repo) > 255)
        return false;
    const char *p = repo;
    for (;;) {
        /* one path component: alnum runs joined by '.', '_', '__' or a run of '-' */
        if (!is_lower_alnum(*p))
            return false;
        while (is_lower_alnum(*p))
            p++;
        while (*p == '.' || *p == '_' || *p == '-') {
            if (*p == '.')
                p++;
            else if (*p == '_')
                p += p[1] == '_' ? 2 : 1;
            else
                while (*p == '-')
                    p++;
            if (!is_lower_alnum(*p))
                return false;
            while (is_lower_alnum(*p))
                p++;
        }
        if (*p == 0)
            return true;
        if (*p != '/')
            return false;
        p++;
    }
}

char *reg_scope_repo(const char *repo, const char *actions)
{
    return xasprintf("repository:%s:%s", repo, actions);
}

char *reg_url_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *r = xmalloc(strlen(s) * 3 + 1), *o = r;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = 0;
    return r;
}

static void append(char **buf, size_t *len, const char *s)
{
    size_t n = strlen(s);
    *buf = xrealloc(*buf, *len + n + 1);
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

char *reg_token_url(const char *realm, const char *service, char *const *scopes)
{
    size_t len = 0;
    char *url = NULL;
    append(&url, &len, realm);
    /* A realm may already carry a query; keep it and add ours after it. */
    const char *sep = "?";
    if (strchr(realm, '?') != NULL)
        sep = (url[len - 1] == '?' || url[len - 1] == '&') ? "" : "&";
    if (service != NULL) {
        _cleanup_free_ char *e = reg_url_escape(service);
        _cleanup_free_ char *part = xasprintf("%sservice=%s", sep, e);
        append(&url, &len, part);
        sep = "&";
    }
    for (size_t i = 0; scopes && scopes[i]; i++) {
        _cleanup_free_ char *e = reg_url_escape(scopes[i]);
        _cleanup_free_ char *part = xasprintf("%sscope=%s", sep, e);
        append(&url, &len, part);
        sep = "&";
    }
    return url;
}

/* ---- error bodies ---- */

#define ERROR_TEXT_MAX 1024

/* Appends s without control characters (C0, DEL, and C1 as UTF-8), which a hostile registry could
 * use to rewrite the user's terminal. */
static void append_clean(char **buf, size_t *len, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p && *len < ERROR_TEXT_MAX; p++) {
        if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            p++;
            continue;
        }
        if (*p < 0x20 || *p == 0x7f) {
            if (*len > 0 && (*buf)[*len - 1] != ' ')
                append(buf, len, " ");
            continue;
        }
        char c[2] = {(char)*p, 0};
        append(buf, len, c);
    }
    /* Don't leave half a UTF-8 sequence where the cap cut. */
    if (*len >= ERROR_TEXT_MAX) {
        while (*len > 0 && ((unsigned char)(*buf)[*len - 1] & 0xc0) == 0x80)
            (*len)--;
        if (*len > 0 && ((unsigned char)(*buf)[*len - 1] & 0xc0) == 0xc0)
            (*len)--;
        (*buf)[*len] = 0;
    }
}

static void append_error_entry(char **buf, size_t *len, json_t *e)
{
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *detail = json_string_value(json_object_get(e, "detail"));
    if (code == NULL && msg == NULL)
        return;
    if (*len > 0)
        append(buf, len, "; ");
    if (code != NULL) {
        /* Docker shows codes as "manifest unknown", not "MANIFEST_UNKNOWN". */
        _cleanup_free_ char *c = lower_dup(code, strlen(code));
        for (char *q = c; *q; q++)
            if (*q == '_')
                *q = ' ';
        append_clean(buf, len, c);
    }
    if (msg != NULL && *msg) {
        if (code != NULL)
            append(buf, len, ": ");
        append_clean(buf, len, msg);
    }
    if (detail != NULL && *detail) {
        append(buf, len, " (");
        append_clean(buf, len, detail);
        append(buf, len, ")");
    }
}

char *reg_error_body_message(const char *body, size_t len)
{
    if (body == NULL || len == 0)
        return NULL;
    size_t n = 0;
    char *out = NULL;
    _cleanup_json_ json_t *root = json_loadb(body, len, 0, NULL);
    if (root == NULL) {
        /* Some proxies and registries answer errors in plain text; HTML pages are noise. */
        const char *p = body;
        while (p < body + len && isspace((unsigned char)*p))
            p++;
        if (p == body + len || *p == '<' || len > 512)
            return NULL;
        _cleanup_free_ char *text = xstrndup(p, (size_t)(body + len - p));
        append_clean(&out, &n, text);
        while (n > 0 && out[n - 1] == ' ')
            out[--n] = 0;
        if (n == 0) {
            free(out);
            return NULL;
        }
        return out;
    }
    if (!json_is_object(root))
        return NULL;
    json_t *errors = json_object_get(root, "errors");
    for (size_t i = 0; i < json_array_size(errors); i++) {
        json_t *e = json_array_get(errors, i);
        if (json_is_object(e))
            append_error_entry(&out, &n, e);
    }
    if (n == 0) {
        static const char *const keys[] = {"details", "error_description", "message", "error"};
        for (size_t i = 0; i < ARRAY_SIZE(keys) && n == 0; i++) {
            const char *s = json_string_value(json_object_get(root, keys[i]));
            if (s != NULL && *s)
                append_clean(&out, &n, s);
        }
    }
    if (n == 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* ---- token cache ---- */

#define TOKEN_CACHE_MAX 32

struct token_entry {
    char *key;
    char *token;
    int64_t expires_at;
};

struct reg_token_cache {
    pthread_mutex_t lock;
    struct token_entry v[TOKEN_CACHE_MAX];
    size_t n;
};

struct reg_token_cache *reg_token_cache_new(void)
{
    struct reg_token_cache *tc = xzalloc(sizeof(*tc));
    pthread_mutex_init(&tc->lock, NULL);
    return tc;
}

static void entry_drop(struct reg_token_cache *tc, size_t i)
{
    free(tc->v[i].key);
    free(tc->v[i].token);
    tc->v[i] = tc->v[--tc->n];
    memset(&tc->v[tc->n], 0, sizeof(tc->v[tc->n]));
}

void reg_token_cache_free(struct reg_token_cache *tc)
{
    if (tc == NULL)
        return;
    reg_token_cache_clear(tc);
    pthread_mutex_destroy(&tc->lock);
    free(tc);
}

char *reg_token_cache_get(struct reg_token_cache *tc, const char *key, time_t now)
{
    char *r = NULL;
    pthread_mutex_lock(&tc->lock);
    for (size_t i = 0; i < tc->n; i++) {
        if (strcmp(tc->v[i].key, key) != 0)
            continue;
        if (tc->v[i].expires_at > (int64_t)now)
            r = xstrdup(tc->v[i].token);
        else
            entry_drop(tc, i);
        break;
    }
    pthread_mutex_unlock(&tc->lock);
    return r;
}

void reg_token_cache_put(struct reg_token_cache *tc, const char *key, const char *token,
                         int64_t expires_at)
{
    pthread_mutex_lock(&tc->lock);
    for (size_t i = 0; i < tc->n; i++) {
        if (strcmp(tc->v[i].key, key) == 0) {
            entry_drop(tc, i);
            break;
        }
    }
    if (tc->n == TOKEN_CACHE_MAX) {
        size_t oldest = 0;
        for (size_t i = 1; i < tc->n; i++)
            if (tc->v[i].expires_at < tc->v[oldest].expires_at)
                oldest = i;
        entry_drop(tc, oldest);
    }
    tc->v[tc->n++] = (struct token_entry){
        .key = xstrdup(key), .token = xstrdup(token), .expires_at = expires_at};
    pthread_mutex_unlock(&tc->lock);
}

void reg_token_cache_remove(struct reg_token_cache *tc, const char *key)
{
    pthread_mutex_lock(&tc->lock);
    for (size_t i = 0; i < tc->n; i++) {
        if (strcmp(tc->v[i].key, key) == 0) {
            entry_drop(tc, i);
            break;
        }
    }
    pthread_mutex_unlock(&tc->lock);
}

void reg_token_cache_clear(struct reg_token_cache *tc)
{
    pthread_mutex_lock(&tc->lock);
    while (tc->n > 0)
        entry_drop(tc, 0);
    pthread_mutex_unlock(&tc->lock);
}
