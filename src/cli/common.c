/* Shared set-up of the image commands. Registries listed in $BERTH_INSECURE_REGISTRIES
 * (comma-separated host[:port]) may be reached over plain HTTP, like Docker's
 * insecure-registries; loopback ones always may. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"
#include "common/human.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"

char **cli_insecure_registries(void)
{
    char **v = xcalloc(1, sizeof(char *));
    const char *env = getenv("BERTH_INSECURE_REGISTRIES");
    if (env) {
        _cleanup_free_ char *copy = xstrdup(env);
        char *save = NULL;
        for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
            strv_append(&v, tok);
    }
    return v;
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
    ci->auth_file = cli_config_file(cli);
    ci->reg.auth_file = ci->auth_file;
    ci->insecure = cli_insecure_registries();
    ci->reg.insecure = ci->insecure;
    return 0;
}

void cli_images_close(struct cli_images *ci)
{
    img_snap_close(ci->sn);
    img_store_free(ci->store);
    free(ci->auth_file);
    strv_free(ci->insecure);
    memset(ci, 0, sizeof(*ci));
}

int cli_parse_created(const char *s, int64_t *sec)
{
    struct timespec ts;
    if (s == NULL || human_parse_time(s, &ts, NULL) < 0)
        return -1;
    *sec = (int64_t)ts.tv_sec;
    return 0;
}

char *cli_since(time_t t)
{
    struct timespec then = {.tv_sec = t}, now;
    clock_gettime(CLOCK_REALTIME, &now);
    return human_since(&then, &now);
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
