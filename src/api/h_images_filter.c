/* Docker's filter values for the image endpoints: times and durations as its `until`, `before`
 * and `since` take them, true/false filters, label matches, and the check that every filter
 * key is one the endpoint knows. Messages are Docker's, so clients see what they expect. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/h_images_internal.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

/* Go's time.ParseDuration: "10m", "1h30m", "1.5h", "-2s". */
static int duration_nanos(const char *s, int64_t *nanos)
{
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1},   {"us", 1e3}, {"\u00b5s", 1e3}, {"\u03bcs", 1e3},
                 {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},      {"h", 3600e9}};
    double sign = 1, total = 0;
    if (*s == '-' || *s == '+')
        sign = *s++ == '-' ? -1 : 1;
    if (*s == '\0')
        return -1;
    if (strcmp(s, "0") == 0) {
        *nanos = 0;
        return 0;
    }
    while (*s) {
        size_t n = strspn(s, "0123456789.");
        char num[32];
        if (n == 0 || n >= sizeof(num) || (n == 1 && *s == '.'))
            return -1;
        memcpy(num, s, n);
        num[n] = '\0';
        char *end;
        double v = strtod(num, &end);
        if (*end != '\0')
            return -1;
        s += n;
        size_t best = 0, best_len = 0;
        for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
            size_t len = strlen(units[i].unit);
            if (strncmp(s, units[i].unit, len) == 0 && len > best_len) {
                best = i;
                best_len = len;
            }
        }
        if (best_len == 0)
            return -1;
        total += v * units[best].ns;
        s += best_len;
    }
    if (total > 9.2e18)
        return -1;
    *nanos = (int64_t)(sign * total);
    return 0;
}

/* RFC 3339 and its shortenings: "2006-01-02", "2006-01-02T15", "...T15:04", "...T15:04:05",
 * each with optional fractional seconds and a zone ("Z", "+07:00"); no zone means local time,
 * as Docker reads its filters. */
int api_img_parse_time(const char *s, int64_t *out)
{
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%d", &tm);
    if (p == NULL)
        return -1;
    if (*p == 'T' || *p == 't') {
        static const char *const fmts[] = {"%H:%M:%S", "%H:%M", "%H"};
        const char *q = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(fmts) && q == NULL; i++)
            q = strptime(p + 1, fmts[i], &tm);
        if (q == NULL)
            return -1;
        p = q;
        if (*p == '.' && isdigit((unsigned char)p[1])) {
            p++;
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    if (*p == '\0') {
        tm.tm_isdst = -1;
        *out = (int64_t)mktime(&tm);
        return 0;
    }
    int64_t offset = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        offset = 0;
    } else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
               isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
               isdigit((unsigned char)p[5]) && p[6] == '\0') {
        offset =
            ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
        if (*p == '-')
            offset = -offset;
    } else {
        return -1;
    }
    *out = (int64_t)timegm(&tm) - offset;
    return 0;
}

/* Docker's timestamp filters: a duration before now, unix seconds ("1600000000.5"), or a
 * date and time. */
int api_img_parse_timestamp(const char *s, int64_t *out)
{
    int64_t nanos;
    if (strcmp(s, "0") != 0 && duration_nanos(s, &nanos) == 0) {
        *out = (int64_t)time(NULL) - nanos / 1000000000;
        return 0;
    }
    size_t digits = strspn(s, "0123456789");
    if (digits > 0 && digits < 19 &&
        (s[digits] == '\0' ||
         (s[digits] == '.' && s[digits + 1 + strspn(s + digits + 1, "0123456789")] == '\0'))) {
        *out = strtoll(s, NULL, 10);
        return 0;
    }
    return api_img_parse_time(s, out);
}

bool api_img_created(const struct img_record *r, int64_t *sec)
{
    return r->created && api_img_parse_time(r->created, sec) == 0;
}

/* A true/false filter: 1, 0, or dflt when absent; -1 with Docker's message for anything else. */
int api_img_bool_filter(json_t *filters, const char *key, int dflt, int *out, struct berr **err)
{
    json_t *vals = json_object_get(filters, key);
    if (vals == NULL) {
        *out = dflt;
        return 0;
    }
    bool t = false, f = false;
    size_t i;
    json_t *v;
    _cleanup_free_ char *shown = xstrdup("");
    json_array_foreach(vals, i, v)
    {
        const char *s = json_string_value(v);
        t |= strcmp(s, "true") == 0 || strcmp(s, "1") == 0;
        f |= strcmp(s, "false") == 0 || strcmp(s, "0") == 0;
        char *joined = xasprintf("%s%s%s", shown, i ? " " : "", s);
        free(shown);
        shown = joined;
    }
    if (t == f)
        return berr_code(err, EINVAL, "invalid filter '%s=[%s]'", key, shown);
    *out = t ? 1 : 0;
    return 0;
}

/* Docker's MatchKVList: every "key" or "key=value" must be among the labels. */
bool api_img_labels_match(json_t *wanted, json_t *labels)
{
    if (wanted == NULL || json_array_size(wanted) == 0)
        return true;
    if (labels == NULL)
        return false;
    size_t i;
    json_t *w;
    json_array_foreach(wanted, i, w)
    {
        const char *s = json_string_value(w);
        const char *eq = strchr(s, '=');
        _cleanup_free_ char *key = eq ? xstrndup(s, (size_t)(eq - s)) : xstrdup(s);
        json_t *have = json_object_get(labels, key);
        if (have == NULL)
            return false;
        if (eq && (!json_is_string(have) || strcmp(json_string_value(have), eq + 1) != 0))
            return false;
    }
    return true;
}
