/* Container statistics in the shape runc's `events --stats` prints under "data", gathered
 * from whichever hierarchy hosts each controller (the backends read their own files), plus
 * the small parsers for the cgroup file formats both backends share. */
#include "runtime/cgroup_internal.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

int cg_keyed_u64(const char *text, const char *key, uint64_t *out)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
            const char *v = p + kl + 1;
            if (strncmp(v, "max", 3) == 0) {
                *out = UINT64_MAX;
                return 0;
            }
            *out = strtoull(v, NULL, 10);
            return 0;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

void cg_json_u64(json_t *obj, const char *key, uint64_t v, bool omitempty)
{
    if (v == 0 && omitempty)
        return;
    json_object_set_new(obj, key, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v));
}

json_t *cg_keyed_to_json(const char *text)
{
    json_t *o = json_object();
    _cleanup_free_ char *copy = xstrdup(text);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');
        if (sp == NULL)
            continue;
        *sp = 0;
        char *end;
        unsigned long long v = strtoull(sp + 1, &end, 10);
        if (end != sp + 1)
            cg_json_u64(o, line, v, false);
    }
    return o;
}

json_t *cg_cpu_list_to_json(const char *list)
{
    json_t *arr = json_array();
    for (const char *p = list; *p;) {
        char *end;
        unsigned long a = strtoul(p, &end, 10), b = a;
        if (end == p)
            break;
        if (*end == '-')
            b = strtoul(end + 1, &end, 10);
        /* Cap: cpuset files are kernel-written, but a list is no place for millions. */
        for (unsigned long i = a; i <= b && json_array_size(arr) < 65536; i++)
            json_array_append_new(arr, json_integer((json_int_t)i));
        p = end + strspn(end, ",\n ");
    }
    return arr;
}

void cg_blkio_entry(json_t *arr, uint64_t major, uint64_t minor, const char *op, uint64_t value)
{
    json_t *e = json_object();
    cg_json_u64(e, "major", major, true);
    cg_json_u64(e, "minor", minor, true);
    if (op && *op)
        json_object_set_new(e, "op", json_string(op));
    cg_json_u64(e, "value", value, true);
    json_array_append_new(arr, e);
}

void cg_json_set_array(json_t *obj, const char *key, json_t *arr)
{
    if (json_array_size(arr) == 0)
        json_decref(arr);
    else
        json_object_set_new(obj, key, arr);
}

static char **hugepage_sizes;

char *const *cg_hugepage_sizes(void)
{
    if (hugepage_sizes)
        return hugepage_sizes;
    size_t n = 0;
    hugepage_sizes = xcalloc(1, sizeof(char *));
    DIR *d = opendir("/sys/kernel/mm/hugepages");
    if (d == NULL)
        return hugepage_sizes;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        unsigned long long kb;
        char unit[4];
        if (sscanf(de->d_name, "hugepages-%llu%3s", &kb, unit) != 2 || strcmp(unit, "kB") != 0)
            continue;
        static const char *const units[] = {"KB", "MB", "GB", "TB", "PB"};
        size_t u = 0;
        while (kb >= 1024 && kb % 1024 == 0 && u + 1 < ARRAY_SIZE(units)) {
            kb /= 1024;
            u++;
        }
        hugepage_sizes = xreallocarray(hugepage_sizes, n + 2, sizeof(char *));
        hugepage_sizes[n++] = xasprintf("%llu%s", kb, units[u]);
        hugepage_sizes[n] = NULL;
    }
    closedir(d);
    return hugepage_sizes;
}

json_t *rt_cgroup_stats(struct rt_cgroup *cg, struct berr **err)
{
    struct cg_dir *p = cg_primary_dir(cg);
    if (p == NULL)
        return berr_set(err, ENOENT, "stats: cgroup %s has no directories", cg->path), NULL;
    if (cg_dir_fd(p, err) < 0)
        return berr_wrap(err, "stats"), NULL;

    json_t *data = json_object();
    json_t *cpu = json_object(), *usage = json_object(), *throttling = json_object();
    json_t *cpuset = json_object(), *memory = json_object(), *pids = json_object();
    json_t *blkio = json_object(), *hugetlb = json_object();
    struct cg_dir *d;
    if ((d = cg_route(cg, CG_CPUACCT)))
        cg_dir_ops(d)->stats_cpu_usage(d, usage);
    if ((d = cg_route(cg, CG_CPU)))
        cg_dir_ops(d)->stats_cpu_throttling(d, throttling);
    if ((d = cg_route(cg, CG_CPUSET)))
        cg_dir_ops(d)->stats_cpuset(d, cpuset);
    if ((d = cg_route(cg, CG_MEMORY)))
        cg_dir_ops(d)->stats_memory(d, memory);
    if ((d = cg_route(cg, CG_PIDS)))
        cg_dir_ops(d)->stats_pids(d, pids);
    if ((d = cg_route(cg, CG_BLKIO)))
        cg_dir_ops(d)->stats_blkio(d, blkio);
    if ((d = cg_route(cg, CG_HUGETLB)))
        cg_dir_ops(d)->stats_hugetlb(d, hugetlb);
    json_object_set_new(cpu, "usage", usage);
    json_object_set_new(cpu, "throttling", throttling);
    json_object_set_new(data, "cpu", cpu);
    json_object_set_new(data, "cpuset", cpuset);
    json_object_set_new(data, "memory", memory);
    json_object_set_new(data, "pids", pids);
    json_object_set_new(data, "blkio", blkio);
    json_object_set_new(data, "hugetlb", hugetlb);
    return data;
}
