/* Image reference parsing and formatting (distribution/reference grammar with Docker's
 * normalisation). Hand-written scanners instead of regexes: each piece (domain, path component,
 * tag, digest) is checked on its own so the error can say which piece is wrong. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/digest.h"
#include "image/ref.h"

#define LEGACY_DOMAIN   "index.docker.io"
#define OFFICIAL_PREFIX "library/"

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_word(char c)
{
    return is_alnum(c) || c == '_';
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* [a-z0-9]+ joined by one separator: '.', '_', '__' or a run of '-'. */
static bool path_component_valid(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_lower_alnum(s[0]))
        return false;
    while (i < n) {
        if (is_lower_alnum(s[i])) {
            i++;
            continue;
        }
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i++;
            if (i < n && s[i] == '_')
                i++;
        } else if (s[i] == '-') {
            while (i < n && s[i] == '-')
                i++;
        } else {
            return false;
        }
        if (i >= n || !is_lower_alnum(s[i]))
            return false;
    }
    return true;
}

/* host[:port], host being dot-joined DNS-ish labels or a bracketed IPv6 address. */
static bool domain_valid(const char *s)
{
    size_t n = strlen(s), i = 0;
    if (n > 0 && s[0] == '[') {
        i = 1;
        while (i < n && (is_hex(s[i]) || s[i] == ':'))
            i++;
        if (i == 1 || i >= n || s[i] != ']')
            return false;
        i++;
    } else {
        for (;;) {
            size_t start = i;
            while (i < n && (is_alnum(s[i]) || s[i] == '-'))
                i++;
            if (i == start || s[start] == '-' || s[i - 1] == '-')
                return false;
            if (i < n && s[i] == '.') {
                i++;
                continue;
            }
            break;
        }
    }
    if (i < n && s[i] == ':') {
        size_t start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    return i == n;
}

static bool tag_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > IMG_REF_TAG_MAX || !is_word(t[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_word(t[i]) && t[i] != '.' && t[i] != '-')
            return false;
    return true;
}

/* The reference grammar's digest shape; whether we can verify it is img_digest_validate's call. */
static bool digest_shape_valid(const char *d)
{
    size_t i = 0;
    for (;;) {
        if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z')))
            return false;
        while (is_alnum(d[i]))
            i++;
        if (d[i] == '-' || d[i] == '_' || d[i] == '+' || d[i] == '.') {
            i++;
            continue;
        }
        break;
    }
    if (d[i] != ':')
        return false;
    size_t start = ++i;
    while (is_hex(d[i]))
        i++;
    return d[i] == '\0' && i - start >= 32;
}

static bool is_id_hex(const char *s)
{
    size_t n = strlen(s);
    if (n != 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_hex(s[i]))
            return false;
    return true;
}

bool img_ref_looks_like_id(const char *s)
{
    if (s == NULL)
        return false;
    if (strncmp(s, "sha256:", 7) == 0)
        s += 7;
    return is_id_hex(s);
}

/* Docker's rule for whether the first component names a registry: it has a '.' or ':', is
 * "localhost", or has uppercase letters (repository paths cannot). */
static bool looks_like_domain(const char *s, size_t n)
{
    if (n == 9 && memcmp(s, "localhost", 9) == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' || s[i] == ':' || (s[i] >= 'A' && s[i] <= 'Z'))
            return true;
    return false;
}

__attribute__((format(printf, 3, 4))) static int bad_format(struct berr **err, const char *input,
                                                            const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *why = xvasprintf(fmt, ap);
    va_end(ap);
    return berr_set(err, 0, "invalid reference format: \"%s\": %s", input, why);
}

static int check_path(const char *input, const char *path, struct berr **err)
{
    for (const char *p = path; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            return berr_set(
                err, 0, "invalid reference format: repository name (%s) must be lowercase", path);
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (!path_component_valid(p, n)) {
            _cleanup_free_ char *comp = xstrndup(p, n);
            if (n == 0)
                return bad_format(err, input, "repository path \"%s\" has an empty component",
                                  path);
            return bad_format(err, input,
                              "repository name component \"%s\" must be lowercase letters and "
                              "digits joined by '.', '_', '__' or '-'",
                              comp);
        }
        if (slash == NULL)
            return 0;
        p = slash + 1;
    }
}

static int parse(const char *s, bool default_tag, struct img_ref **out, struct berr **err)
{
    *out = NULL;
    if (s == NULL || *s == '\0')
        return berr_set(err, 0,
                        "invalid reference format: repository name must have at least one "
                        "component");
    if (is_id_hex(s))
        return berr_set(
            err, 0, "invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s);

    _cleanup_free_ char *name = NULL;
    _cleanup_free_ char *digest = NULL;
    _cleanup_free_ char *tag = NULL;
    const char *at = strchr(s, '@');
    if (at) {
        digest = xstrdup(at + 1);
        name = xstrndup(s, (size_t)(at - s));
        if (!digest_shape_valid(digest))
            return bad_format(err, s, "digest \"%s\" is not algorithm:hex (e.g. sha256:<64 hex>)",
                              digest);
        if (img_digest_validate(digest, err) < 0)
            return berr_wrap(err, "invalid reference format: \"%s\"", s);
    } else {
        name = xstrdup(s);
    }

    /* A tag can only follow the last '/': earlier colons belong to a registry's port. */
    char *last = strrchr(name, '/');
    char *colon = strchr(last ? last : name, ':');
    if (colon) {
        tag = xstrdup(colon + 1);
        *colon = '\0';
        if (!tag_valid(tag))
            return bad_format(err, s,
                              "tag \"%s\" must be 1 to 128 letters, digits, '_', '.' or '-', "
                              "not starting with '.' or '-'",
                              tag);
    }
    if (*name == '\0')
        return bad_format(err, s, "the repository name is empty");

    _cleanup_free_ char *domain = NULL;
    _cleanup_free_ char *path = NULL;
    char *slash = strchr(name, '/');
    if (slash && looks_like_domain(name, (size_t)(slash - name))) {
        domain = xstrndup(name, (size_t)(slash - name));
        path = xstrdup(slash + 1);
        if (strcmp(domain, LEGACY_DOMAIN) == 0) {
            free(domain);
            domain = xstrdup(IMG_REF_DEFAULT_DOMAIN);
        }
    } else {
        domain = xstrdup(IMG_REF_DEFAULT_DOMAIN);
        path = xstrdup(name);
    }
    if (strcmp(domain, IMG_REF_DEFAULT_DOMAIN) == 0 && strchr(path, '/') == NULL) {
        char *full = xasprintf(OFFICIAL_PREFIX "%s", path);
        free(path);
        path = full;
    }

    if (check_path(s, path, err) < 0)
        return -1;
    if (!domain_valid(domain))
        return bad_format(err, s, "registry \"%s\" is not a valid host[:port]", domain);
    if (strlen(domain) + 1 + strlen(path) > IMG_REF_NAME_MAX)
        return berr_set(err, 0,
                        "invalid reference format: repository name must not be more than %d "
                        "characters",
                        IMG_REF_NAME_MAX);

    if (tag == NULL && digest == NULL && default_tag)
        tag = xstrdup(IMG_REF_DEFAULT_TAG);
    struct img_ref *r = xzalloc(sizeof(*r));
    r->domain = steal_ptr(&domain);
    r->path = steal_ptr(&path);
    r->tag = steal_ptr(&tag);
    r->digest = steal_ptr(&digest);
    *out = r;
    return 0;
}

int img_ref_parse(const char *s, struct img_ref **out, struct berr **err)
{
    return parse(s, true, out, err);
}

int img_ref_parse_repo(const char *s, struct img_ref **out, struct berr **err)
{
    return parse(s, false, out, err);
}

struct img_ref *img_ref_dup(const struct img_ref *r)
{
    struct img_ref *d = xzalloc(sizeof(*d));
    d->domain = xstrdup(r->domain);
    d->path = xstrdup(r->path);
    d->tag = r->tag ? xstrdup(r->tag) : NULL;
    d->digest = r->digest ? xstrdup(r->digest) : NULL;
    return d;
}

void img_ref_free(struct img_ref *r)
{
    if (r == NULL)
        return;
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r->digest);
    free(r);
}

void img_ref_freep(struct img_ref **r)
{
    img_ref_free(*r);
    *r = NULL;
}

char *img_ref_repo(const struct img_ref *r)
{
    return xasprintf("%s/%s", r->domain, r->path);
}

char *img_ref_familiar_repo(const struct img_ref *r)
{
    if (strcmp(r->domain, IMG_REF_DEFAULT_DOMAIN) != 0)
        return img_ref_repo(r);
    const char *p = r->path;
    size_t plen = strlen(OFFICIAL_PREFIX);
    /* Only a single component after "library/" is an official image; deeper paths would be
     * ambiguous if shortened. */
    if (strncmp(p, OFFICIAL_PREFIX, plen) == 0 && strrchr(p, '/') == p + plen - 1 && p[plen])
        p += plen;
    /* Docker would print "docker.io/a.b/c" as "a.b/c", which reads back as registry "a.b";
     * keeping the domain there makes every familiar form parse back to the same reference. */
    const char *slash = strchr(p, '/');
    if (slash && looks_like_domain(p, (size_t)(slash - p)))
        return img_ref_repo(r);
    return xstrdup(p);
}

static char *with_suffixes(char *repo, const struct img_ref *r)
{
    char *s = xasprintf("%s%s%s%s%s", repo, r->tag ? ":" : "", r->tag ? r->tag : "",
                        r->digest ? "@" : "", r->digest ? r->digest : "");
    free(repo);
    return s;
}

char *img_ref_string(const struct img_ref *r)
{
    return with_suffixes(img_ref_repo(r), r);
}

char *img_ref_familiar(const struct img_ref *r)
{
    return with_suffixes(img_ref_familiar_repo(r), r);
}
