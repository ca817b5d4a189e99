/* Route matching: method plus a pattern of literal segments, {name} (one segment) and {name*}
 * (one or more segments, as few as the rest of the pattern allows, for image names that hold
 * slashes). Tables are small and static, so a linear scan is enough. */
#include <string.h>

#include "api/server_internal.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

static const struct api_route *const route_tables[] = {
    api_system_routes,  api_image_routes,  api_container_routes,
    api_exec_routes,    api_volume_routes, api_stats_routes,
    api_archive_routes, api_commit_routes, api_attach_ws_routes,
    api_network_routes,
};

/* Splits "/a/b/c" into segments in place (the buffer is modified). */
static size_t split_path(char *p, char **seg, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(p, "/", &save); t != NULL; t = strtok_r(NULL, "/", &save)) {
        if (n == max)
            return max + 1;
        seg[n++] = t;
    }
    return n;
}

static void drop_params(struct api_req *r, size_t keep)
{
    while (r->nparams > keep) {
        r->nparams--;
        free(r->param_names[r->nparams]);
        free(r->param_values[r->nparams]);
    }
}

static bool add_param(struct api_req *r, const char *name, size_t name_len, char **seg,
                      size_t count)
{
    if (r->nparams == API_MAX_PARAMS)
        return false;
    size_t len = 0;
    for (size_t i = 0; i < count; i++)
        len += strlen(seg[i]) + 1;
    char *v = xmalloc(len + 1), *o = v;
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            *o++ = '/';
        size_t l = strlen(seg[i]);
        memcpy(o, seg[i], l);
        o += l;
    }
    *o = '\0';
    r->param_names[r->nparams] = xstrndup(name, name_len);
    r->param_values[r->nparams++] = v;
    return true;
}

/* Matches pattern segments pat[0..np) against path segments seg[0..ns). */
static bool match(struct api_req *r, char **pat, size_t np, char **seg, size_t ns)
{
    if (np == 0)
        return ns == 0;
    const char *p = pat[0];
    size_t plen = strlen(p);
    if (p[0] == '{' && plen > 2 && p[plen - 1] == '}') {
        bool greedy = p[plen - 2] == '*';
        size_t name_len = plen - 2 - (greedy ? 1 : 0);
        size_t before = r->nparams;
        if (!greedy) {
            if (ns == 0 || !add_param(r, p + 1, name_len, seg, 1))
                return false;
            if (match(r, pat + 1, np - 1, seg + 1, ns - 1))
                return true;
        } else {
            for (size_t take = 1; take <= ns; take++) {
                if (!add_param(r, p + 1, name_len, seg, take))
                    return false;
                if (match(r, pat + 1, np - 1, seg + take, ns - take))
                    return true;
                drop_params(r, before);
            }
            return false;
        }
        drop_params(r, before);
        return false;
    }
    return ns > 0 && strcmp(p, seg[0]) == 0 && match(r, pat + 1, np - 1, seg + 1, ns - 1);
}

const struct api_route *api_route_find(struct api_req *r, const char *method, const char *path,
                                       bool *path_known)
{
    char *segs[64], *pats[16];
    _cleanup_free_ char *pbuf = xstrdup(path);
    size_t ns = split_path(pbuf, segs, 64);
    *path_known = false;
    if (ns > 64)
        return NULL;
    for (size_t t = 0; t < sizeof(route_tables) / sizeof(route_tables[0]); t++) {
        for (const struct api_route *rt = route_tables[t]; rt->method != NULL; rt++) {
            char pat[256];
            if (strlen(rt->pattern) >= sizeof(pat))
                continue;
            strcpy(pat, rt->pattern);
            size_t np = split_path(pat, pats, 16);
            if (np > 16)
                continue;
            bool same_method = strcmp(rt->method, method) == 0 ||
                               (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0);
            if (match(r, pats, np, segs, ns)) {
                if (same_method)
                    return rt;
                *path_known = true;
            }
            drop_params(r, 0);
        }
    }
    return NULL;
}
