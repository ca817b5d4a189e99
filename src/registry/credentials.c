/* Reads and writes Docker's config.json credential entries. The whole file is parsed and
 * rewritten with every unrelated key kept, via a private temporary file renamed into place, so a
 * crash never leaves a truncated file and the secrets are never readable by others. */
#include "registry/credentials.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "registry/auth.h"

#include <ctype.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define CONFIG_MAX (4u << 20)
#define BASE64_MAX (64u << 10)

char *reg_base64_encode(const void *data, size_t len)
{
    char *out = xmalloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

char *reg_base64_decode(const char *s, size_t *len, struct berr **err)
{
    size_t n = strlen(s);
    if (n > BASE64_MAX)
        return berr_code(err, EINVAL, "base64 text longer than %u bytes", BASE64_MAX), NULL;
    if (n % 4 != 0)
        return berr_code(err, EINVAL, "base64 text length %zu is not a multiple of 4", n), NULL;
    _cleanup_free_ char *out = xmalloc(n / 4 * 3 + 1);
    int r = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
    if (r < 0)
        return berr_code(err, EINVAL, "invalid base64 text"), NULL;
    /* EVP_DecodeBlock counts the zero bytes that '=' padding stands for. */
    size_t got = (size_t)r;
    for (size_t i = n; i > 0 && s[i - 1] == '=' && got > 0 && n - i < 2; i--)
        got--;
    out[got] = 0;
    if (len)
        *len = got;
    return steal_ptr(&out);
}

bool reg_host_is_docker_hub(const char *host)
{
    return strcasecmp(host, "docker.io") == 0 || strcasecmp(host, "index.docker.io") == 0 ||
           strcasecmp(host, "registry-1.docker.io") == 0;
}

char *reg_credentials_key(const char *host)
{
    return xstrdup(reg_host_is_docker_hub(host) ? REG_DOCKER_HUB_KEY : host);
}

/* "https://Host:5000/v1/" -> "host:5000", with Docker Hub's names folded into one. */
static char *key_host(const char *key)
{
    const char *p = key;
    if (strncasecmp(p, "https://", 8) == 0)
        p += 8;
    else if (strncasecmp(p, "http://", 7) == 0)
        p += 7;
    char *h = xstrndup(p, strcspn(p, "/"));
    for (char *q = h; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    if (reg_host_is_docker_hub(h)) {
        free(h);
        h = xstrdup("index.docker.io");
    }
    return h;
}

static bool key_matches(const char *key, const char *host)
{
    _cleanup_free_ char *a = key_host(key);
    _cleanup_free_ char *b = key_host(host);
    return strcmp(a, b) == 0;
}

/* The parsed file, or an empty object when it does not exist (then *exists is false). */
static json_t *load_config(const char *file, bool *exists, struct berr **err)
{
    *exists = false;
    _cleanup_berr_ struct berr *rerr = NULL;
    size_t len;
    _cleanup_free_ char *text = read_file_at(AT_FDCWD, file, CONFIG_MAX, &len, &rerr);
    if (text == NULL) {
        if (rerr->errnum == ENOENT)
            return json_object();
        return berr_set(err, rerr->errnum, "read credentials file %s", file), NULL;
    }
    *exists = true;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (root == NULL)
        return berr_code(err, EINVAL, "credentials file %s: invalid JSON at line %d: %s", file,
                         jerr.line, jerr.text),
               NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        return berr_code(err, EINVAL, "credentials file %s: not a JSON object", file), NULL;
    }
    return root;
}

/* *out is root's "auths" object, created when asked, or NULL when absent. */
static int auths_of(json_t *root, const char *file, bool create, json_t **out, struct berr **err)
{
    json_t *auths = json_object_get(root, "auths");
    if (auths == NULL && create) {
        auths = json_object();
        json_object_set_new(root, "auths", auths);
    }
    if (auths != NULL && !json_is_object(auths))
        return berr_code(err, EINVAL, "credentials file %s: \"auths\" is not an object", file);
    *out = auths;
    return 0;
}

int reg_credentials_get(const char *file, const char *host, char **user, char **secret,
                        struct berr **err)
{
    *user = *secret = NULL;
    if (file == NULL)
        return 1;
    bool exists;
    _cleanup_json_ json_t *root = load_config(file, &exists, err);
    if (root == NULL)
        return -1;
    json_t *auths = NULL;
    if (auths_of(root, file, false, &auths, err) < 0)
        return -1;
    if (auths == NULL)
        return 1;
    _cleanup_free_ char *key = reg_credentials_key(host);
    json_t *entry = json_object_get(auths, key);
    for (void *it = json_object_iter(auths); entry == NULL && it != NULL;
         it = json_object_iter_next(auths, it))
        if (key_matches(json_object_iter_key(it), key))
            entry = json_object_iter_value(it);
    if (entry == NULL)
        return 1;
    if (!json_is_object(entry))
        return berr_code(err, EINVAL, "credentials file %s: entry for %s is not an object", file,
                         host);
    json_t *auth = json_object_get(entry, "auth");
    if (auth == NULL || (json_is_string(auth) && json_string_length(auth) == 0))
        return 1;
    if (!json_is_string(auth))
        return berr_code(err, EINVAL, "credentials file %s: \"auth\" for %s is not a string", file,
                         host);
    _cleanup_free_ char *plain = reg_base64_decode(json_string_value(auth), NULL, NULL);
    const char *colon = plain ? strchr(plain, ':') : NULL;
    if (colon == NULL || colon == plain)
        return berr_code(err, EINVAL,
                         "credentials file %s: \"auth\" for %s is not base64 of user:password; "
                         "run berth login %s again",
                         file, host, host);
    *user = xstrndup(plain, (size_t)(colon - plain));
    *secret = xstrdup(colon + 1);
    explicit_bzero(plain, strlen(plain));
    return 0;
}

static int write_config(const char *file, json_t *root, struct berr **err)
{
    /* Docker rewrites a symlinked config.json through the link, keeping dotfile setups intact. */
    _cleanup_free_ char *target = NULL;
    struct stat st;
    if (lstat(file, &st) == 0 && S_ISLNK(st.st_mode))
        target = realpath(file, NULL);
    const char *path = target ? target : file;

    _cleanup_free_ char *dircopy = xstrdup(path);
    const char *dir = dirname(dircopy);
    if (mkdir_p(dir, 0700, err) < 0)
        return berr_wrap(err, "credentials file %s", file);
    _cleanup_free_ char *basecopy = xstrdup(path);
    _cleanup_free_ char *tmp = xasprintf("%s/.%s.XXXXXX", dir, basename(basecopy));
    _cleanup_free_ char *text = json_dumps(root, JSON_INDENT(2));
    if (text == NULL)
        return berr_set(err, ENOMEM, "credentials file %s: cannot serialise", file);
    _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return berr_sys(err, "credentials file %s: create temporary file in %s", file, dir);
    if (fchmod(fd, 0600) < 0 || write_all(fd, text, strlen(text)) < 0 ||
        write_all(fd, "\n", 1) < 0 || fsync(fd) < 0) {
        berr_sys(err, "credentials file %s: write %s", file, tmp);
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) < 0) {
        berr_sys(err, "credentials file %s: rename %s into place", file, tmp);
        unlink(tmp);
        return -1;
    }
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        fsync(dfd);
    return 0;
}

int reg_credentials_set(const char *file, const char *host, const char *user, const char *secret,
                        struct berr **err)
{
    if (file == NULL)
        return berr_code(err, EINVAL, "no credentials file to store the login for %s in", host);
    if (user == NULL || *user == 0 || strchr(user, ':') != NULL)
        return berr_code(err, EINVAL, "login %s: user name must be non-empty and contain no ':'",
                         host);
    if (secret == NULL)
        secret = "";
    bool exists;
    _cleanup_json_ json_t *root = load_config(file, &exists, err);
    if (root == NULL)
        return -1;
    json_t *auths = NULL;
    if (auths_of(root, file, true, &auths, err) < 0)
        return -1;
    _cleanup_free_ char *plain = xasprintf("%s:%s", user, secret);
    _cleanup_free_ char *b64 = reg_base64_encode(plain, strlen(plain));
    explicit_bzero(plain, strlen(plain));
    _cleanup_free_ char *key = reg_credentials_key(host);
    json_object_set_new(auths, key, json_pack("{s:s}", "auth", b64));
    int r = write_config(file, root, err);
    explicit_bzero(b64, strlen(b64));
    return r;
}

int reg_credentials_remove(const char *file, const char *host, struct berr **err)
{
    if (file == NULL)
        return 1;
    bool exists;
    _cleanup_json_ json_t *root = load_config(file, &exists, err);
    if (root == NULL)
        return -1;
    if (!exists)
        return 1;
    json_t *auths = NULL;
    if (auths_of(root, file, false, &auths, err) < 0)
        return -1;
    if (auths == NULL)
        return 1;
    _cleanup_free_ char *key = reg_credentials_key(host);
    _cleanup_strv_ char **doomed = NULL;
    for (void *it = json_object_iter(auths); it != NULL; it = json_object_iter_next(auths, it))
        if (key_matches(json_object_iter_key(it), key))
            strv_append(&doomed, json_object_iter_key(it));
    if (doomed == NULL)
        return 1;
    for (char **d = doomed; *d; d++)
        json_object_del(auths, *d);
    return write_config(file, root, err) < 0 ? -1 : 0;
}
