/* Shared set-up of the image commands: registry credentials for the daemon, streamed uploads,
 * API paths, and the local store `image mount` opens. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/common.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "registry/credentials.h"

#define UPLOAD_BLOCK (256 * 1024)

int cli_registry_auth(struct cli *cli, const char *domain, char **header, struct berr **err)
{
    *header = NULL;
    _cleanup_free_ char *file = cli_config_file(cli);
    _cleanup_free_ char *user = NULL, *secret = NULL;
    int r = reg_credentials_get(file, domain, &user, &secret, err);
    if (r != 0)
        return r < 0 ? -1 : 0;
    _cleanup_free_ char *server = reg_credentials_key(domain);
    _cleanup_json_ json_t *j =
        json_pack("{s:s, s:s, s:s}", "username", user, "password", secret, "serveraddress", server);
    _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
    _cleanup_free_ char *b64 = reg_base64_encode(text, strlen(text));
    /* base64url, as docker's EncodeAuthConfig writes it */
    for (char *c = b64; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    explicit_bzero(text, strlen(text));
    explicit_bzero(secret, strlen(secret));
    *header = xasprintf("X-Registry-Auth: %s", b64);
    explicit_bzero(b64, strlen(b64));
    return 0;
}

int cli_upload(struct cli_api *api, const char *method, const char *path, const char *content_type,
               int fd, struct cli_conn **out, struct berr **err)
{
    _cleanup_(cli_conn_freep) struct cli_conn *c = NULL;
    if (cli_conn_upload(api, method, path, content_type, &c, err) < 0)
        return -1;
    _cleanup_berr_ struct berr *send_err = NULL;
    _cleanup_free_ char *buf = xmalloc(UPLOAD_BLOCK);
    for (;;) {
        ssize_t n = read(fd, buf, UPLOAD_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            berr_sys(&send_err, "reading the input");
            break;
        }
        if (n == 0)
            break;
        if (cli_conn_send(c, buf, (size_t)n) < 0) {
            berr_sys(&send_err, "sending the input to the daemon");
            break;
        }
    }
    if (send_err == NULL) {
        if (cli_conn_finish(c, true, err) < 0)
            return -1;
        *out = steal_ptr(&c);
        return 0;
    }
    /* the body is cut short: the daemon must not wait for the rest of it */
    shutdown(cli_conn_fd(c), SHUT_WR);
    if (send_err->errnum == EPIPE || send_err->errnum == ECONNRESET) {
        /* the daemon stopped reading: its answer says why */
        _cleanup_berr_ struct berr *answer = NULL;
        if (cli_conn_finish(c, false, &answer) < 0 && answer->errnum != EPIPE &&
            answer->errnum != ECONNRESET) {
            *err = steal_ptr(&answer);
            return -1;
        }
    }
    *err = steal_ptr(&send_err);
    return -1;
}

char *cli_image_path(const char *name, const char *suffix)
{
    _cleanup_free_ char *e = cli_api_escape(name);
    return xasprintf("/images/%s%s", e, suffix ? suffix : "");
}

int cli_images_open(struct cli *cli, bool snapshots, struct cli_images *ci, struct berr **err)
{
    memset(ci, 0, sizeof(*ci));
    if (img_store_open(cli->root, &ci->store, err) < 0)
        return -1;
    if (snapshots && img_snap_open(ci->store, getenv("BERTH_STORAGE_DRIVER"), &ci->sn, err) < 0) {
        cli_images_close(ci);
        return -1;
    }
    return 0;
}

void cli_images_close(struct cli_images *ci)
{
    img_snap_close(ci->sn);
    img_store_free(ci->store);
    memset(ci, 0, sizeof(*ci));
}

int cli_parse_duration(const char *s, int64_t *nanos)
{
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1},  {"us", 1e3}, {"µs", 1e3},  {"ms", 1e6},
                 {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    double total = 0;
    const char *p = s;
    if (*p == '\0')
        return -1;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || v < 0 || !isfinite(v))
            return -1;
        p = end;
        size_t best = 0, best_len = 0;
        for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
            size_t n = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, n) == 0 && n > best_len) {
                best = i;
                best_len = n;
            }
        }
        if (best_len == 0)
            return -1;
        total += v * units[best].ns;
        p += best_len;
    }
    if (total > 9.2e18)
        return -1;
    *nanos = (int64_t)total;
    return 0;
}

const char *cli_go_arch(const char *machine)
{
    static const char *const names[][2] = {
        {"x86_64", "amd64"}, {"aarch64", "arm64"},   {"i686", "386"},    {"i386", "386"},
        {"armv7l", "arm"},   {"ppc64le", "ppc64le"}, {"s390x", "s390x"}, {"riscv64", "riscv64"},
    };
    for (size_t k = 0; k < ARRAY_SIZE(names); k++)
        if (strcmp(names[k][0], machine) == 0)
            return names[k][1];
    return machine;
}
