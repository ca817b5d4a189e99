/* What the listing commands share: the --filter flags as the API takes them, docker's natural
 * sort, the text helpers of its formatter (Go quoting, ellipsis, label lists), the rows that
 * ps, system df and volume ls render (the fields --format templates see), and docker's reading
 * of --since/--until values. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/container.h"
#include "cli/rows.h"
#include "common/cleanup.h"
#include "common/human.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/ref.h"

/* Go's strconv.Quote for the command column: printable UTF-8 stays, the rest is escaped. */
char *cli_go_quote(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        abort();
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        static const char esc[] = "\a\b\f\n\r\t\v";
        static const char letters[] = "abfnrtv";
        const char *e = *p ? strchr(esc, *p) : NULL;
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (e)
            fprintf(f, "\\%c", letters[e - esc]);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
    if (fclose(f) != 0)
        abort();
    return buf;
}

/* docker's Ellipsis: at most max characters, the last one "…" when cut. */
char *cli_ellipsis(const char *s, int max)
{
    int chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        chars += (*p & 0xc0) != 0x80;
    if (chars <= max)
        return xstrdup(s);
    const unsigned char *p = (const unsigned char *)s;
    for (int kept = 0; *p; p++) {
        if ((*p & 0xc0) != 0x80 && kept++ == max - 1)
            break;
    }
    return xasprintf("%.*s…", (int)((const char *)p - s), s);
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *cli_join(char **v, const char *sep)
{
    size_t total = 1;
    for (size_t i = 0; v[i]; i++)
        total += strlen(v[i]) + strlen(sep);
    char *out = xcalloc(1, total);
    for (size_t i = 0; v[i]; i++) {
        if (i)
            strcat(out, sep);
        strcat(out, v[i]);
    }
    return out;
}

static const char *after_colon(const char *id)
{
    const char *c = id ? strchr(id, ':') : NULL;
    return c ? c + 1 : (id ? id : "");
}

static char *image_column(json_t *c, bool trunc)
{
    const char *image = json_string_value(json_object_get(c, "Image"));
    const char *image_id = json_string_value(json_object_get(c, "ImageID"));
    if (image == NULL || *image == '\0')
        return xstrdup("<no image>");
    if (!trunc)
        return xstrdup(image);
    if (strncmp(after_colon(image_id), after_colon(image), 12) == 0 &&
        strlen(after_colon(image)) >= 12)
        return xstrndup(after_colon(image), 12);
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (img_ref_parse_repo(image, &ref, NULL) < 0)
        return xstrdup(image);
    free(ref->digest);
    ref->digest = NULL;
    return img_ref_familiar(ref);
}

static char *names_column(json_t *c, bool trunc)
{
    json_t *names = json_object_get(c, "Names");
    _cleanup_strv_ char **out = xcalloc(1, sizeof(char *));
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        const char *name = json_string_value(n);
        if (name == NULL)
            continue;
        if (*name == '/')
            name++;
        if (trunc) {
            if (strchr(name, '/') == NULL)
                return xstrdup(name);
            continue;
        }
        strv_append(&out, name);
    }
    return cli_join(out, ",");
}

char *cli_labels_text(json_t *labels)
{
    _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
    const char *k;
    json_t *val;
    json_object_foreach(labels, k, val)
    {
        _cleanup_free_ char *kv = xasprintf("%s=%s", k, json_string_value(val) ?: "");
        strv_append(&v, kv);
    }
    qsort(v, strv_length(v), sizeof(char *), by_str);
    return cli_join(v, ",");
}

static char *mounts_column(json_t *c, bool trunc, int *local)
{
    _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
    size_t i;
    json_t *m;
    *local = 0;
    json_array_foreach(json_object_get(c, "Mounts"), i, m)
    {
        const char *name = json_string_value(json_object_get(m, "Name"));
        if (name == NULL || *name == '\0')
            name = json_string_value(json_object_get(m, "Source"));
        _cleanup_free_ char *shown = trunc ? cli_ellipsis(name ?: "", 15) : xstrdup(name ?: "");
        strv_append(&v, shown);
        const char *driver = json_string_value(json_object_get(m, "Driver"));
        if (driver && strcmp(driver, "local") == 0)
            (*local)++;
    }
    return cli_join(v, ",");
}

static char *networks_column(json_t *c)
{
    _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
    const char *k;
    json_t *val;
    json_object_foreach(json_object_get(json_object_get(c, "NetworkSettings"), "Networks"), k, val)
    {
        strv_append(&v, k);
    }
    return cli_join(v, ",");
}

static char *ports_column(json_t *c)
{
    _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(c, "Ports"), i, p)
    {
        const char *ip = json_string_value(json_object_get(p, "IP"));
        const char *type = json_string_value(json_object_get(p, "Type"));
        json_int_t priv = json_integer_value(json_object_get(p, "PrivatePort"));
        json_int_t pub = json_integer_value(json_object_get(p, "PublicPort"));
        _cleanup_free_ char *s = NULL;
        if (ip && *ip && pub)
            s = xasprintf(strchr(ip, ':') ? "[%s]:%lld->%lld/%s" : "%s:%lld->%lld/%s", ip,
                          (long long)pub, (long long)priv, type ?: "tcp");
        else
            s = xasprintf("%lld/%s", (long long)priv, type ?: "tcp");
        strv_append(&v, s);
    }
    return cli_join(v, ", ");
}

json_t *cli_ctr_row(json_t *c, bool trunc, bool virtual_size)
{
    char idbuf[65];
    const char *id = cli_short_id(json_string_value(json_object_get(c, "Id")), !trunc, idbuf);
    const char *command = json_string_value(json_object_get(c, "Command"));
    _cleanup_free_ char *cmd_cut = trunc ? cli_ellipsis(command ?: "", 20) : xstrdup(command ?: "");
    _cleanup_free_ char *cmd = cli_go_quote(cmd_cut);
    struct timespec created = {.tv_sec = (time_t)json_integer_value(json_object_get(c, "Created"))};
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    _cleanup_free_ char *created_at = human_time_string(&created);
    _cleanup_free_ char *running_for = human_since(&created, &now);
    _cleanup_free_ char *image = image_column(c, trunc);
    _cleanup_free_ char *names = names_column(c, trunc);
    _cleanup_free_ char *labels = cli_labels_text(json_object_get(c, "Labels"));
    int local = 0;
    _cleanup_free_ char *mounts = mounts_column(c, trunc, &local);
    _cleanup_free_ char *networks = networks_column(c);
    _cleanup_free_ char *ports = ports_column(c);
    _cleanup_free_ char *nlocal = xasprintf("%d", local);
    json_int_t rw = json_integer_value(json_object_get(c, "SizeRw"));
    json_int_t rootfs = json_integer_value(json_object_get(c, "SizeRootFs"));
    _cleanup_free_ char *srw = human_size((double)rw, 3);
    _cleanup_free_ char *sroot = human_size((double)rootfs, 3);
    _cleanup_free_ char *size =
        virtual_size && rootfs > 0 ? xasprintf("%s (virtual %s)", srw, sroot) : xstrdup(srw);
    const char *state = json_string_value(json_object_get(c, "State"));
    const char *status = json_string_value(json_object_get(c, "Status"));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:s, s:s, s:s, s:s, s:s}",
                     "Command", cmd, "CreatedAt", created_at, "ID", id, "Image", image, "Labels",
                     labels, "LocalVolumes", nlocal, "Mounts", mounts, "Names", names, "Networks",
                     networks, "Platform", "Ports", ports, "RunningFor", running_for, "Size", size,
                     "State", state ?: "", "Status", status ?: "");
}

json_t *cli_filters(struct cli *cli)
{
    json_t *filters = json_object();
    char *const *list = cli_list(cli, "filter");
    for (size_t i = 0; list && list[i]; i++) {
        const char *eq = strchr(list[i], '=');
        _cleanup_free_ char *key = xstrndup(list[i], (size_t)(eq - list[i]));
        json_t *vals = json_object_get(filters, key);
        if (vals == NULL) {
            vals = json_object();
            json_object_set_new(filters, key, vals);
        }
        json_object_set_new(vals, eq + 1, json_true());
    }
    return filters;
}


/* sortorder.NaturalLess: runs of digits compare as
 * numbers, and digits sort before other characters. */
int cli_natural_cmp(const char *a, const char *b)
{
    size_t i = 0, j = 0, la = strlen(a), lb = strlen(b);
    while (i < la && j < lb) {
        bool da = a[i] >= '0' && a[i] <= '9', db = b[j] >= '0' && b[j] <= '9';
        if (da != db)
            return da ? -1 : 1;
        if (!da) {
            if (a[i] != b[j])
                return (unsigned char)a[i] < (unsigned char)b[j] ? -1 : 1;
            i++, j++;
            continue;
        }
        while (i < la && a[i] == '0')
            i++;
        while (j < lb && b[j] == '0')
            j++;
        size_t na = i, nb = j;
        while (i < la && a[i] >= '0' && a[i] <= '9')
            i++;
        while (j < lb && b[j] >= '0' && b[j] <= '9')
            j++;
        if (i - na != j - nb)
            return i - na < j - nb ? -1 : 1;
        int c = strncmp(a + na, b + nb, i - na);
        if (c != 0)
            return c;
        if (na != nb)
            return na < nb ? -1 : 1;
    }
    return (la - i > 0) - (lb - j > 0);
}

/* One row of volume ls (keys in the order docker's JSON rows have). Links and Size come from
 * UsageData, which only disk-usage answers carry. */
json_t *cli_volume_row(json_t *v)
{
    json_t *usage = json_object_get(v, "UsageData");
    _cleanup_free_ char *labels = cli_labels_text(json_object_get(v, "Labels"));
    _cleanup_free_ char *links =
        json_is_object(usage)
            ? xasprintf("%lld", (long long)json_integer_value(json_object_get(usage, "RefCount")))
            : xstrdup("N/A");
    _cleanup_free_ char *size =
        json_is_object(usage)
            ? human_size((double)json_integer_value(json_object_get(usage, "Size")), 4)
            : xstrdup("N/A");
    const char *driver = json_string_value(json_object_get(v, "Driver"));
    const char *mountpoint = json_string_value(json_object_get(v, "Mountpoint"));
    const char *name = json_string_value(json_object_get(v, "Name"));
    const char *scope = json_string_value(json_object_get(v, "Scope"));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Availability", "N/A",
                     "Driver", driver ?: "", "Group", "N/A", "Labels", labels, "Links", links,
                     "Mountpoint", mountpoint ?: "", "Name", name ?: "", "Scope", scope ?: "",
                     "Size", size, "Status", "N/A");
}

/* docker's GetTimestamp, which the client applies before it asks: a duration is that long
 * before now (whole seconds), an RFC 3339 time or a date becomes "sec.nsec", a unix time
 * passes as it is; anything else is refused. */
char *cli_timestamp_arg(const char *v, struct berr **err)
{
    int64_t ns;
    if (strcmp(v, "0") != 0 && cli_parse_duration(v, &ns) == 0)
        return xasprintf("%lld", (long long)(time(NULL) - ns / 1000000000LL));
    struct timespec ts;
    if (human_parse_time(v, &ts, NULL) == 0)
        return xasprintf("%lld.%09ld", (long long)ts.tv_sec, ts.tv_nsec);
    /* without a zone, docker reads a date or time as local */
    static const char *const local_forms[] = {"%Y-%m-%d", "%Y-%m-%dT%H", "%Y-%m-%dT%H:%M",
                                              "%Y-%m-%dT%H:%M:%S"};
    for (size_t i = 0; i < ARRAY_SIZE(local_forms); i++) {
        struct tm tm = {0};
        const char *end = strptime(v, local_forms[i], &tm);
        if (end && *end == '\0') {
            tm.tm_isdst = -1;
            return xasprintf("%lld.000000000", (long long)mktime(&tm));
        }
    }
    /* seconds with an optional fraction of at most nine digits */
    const char *p = v;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p > v && *p == '.') {
        const char *f = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == f || p - f > 9)
            p = v;
    }
    if (p > v && *p == '\0')
        return xstrdup(v);
    if (strchr(v, '-'))
        return berr_code(err, EINVAL, "parsing time \"%s\": not a time or a date", v), NULL;
    return berr_code(err, EINVAL, "failed to parse value as time or duration: \"%s\"", v), NULL;
}
