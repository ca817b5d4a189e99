/* berth events (system events): GET /events streamed, one line per event as it arrives, in
 * docker's default layout or through --format, with docker's --since/--until forms. Without
 * --until it runs until interrupted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/rows.h"
#include "cli/client.h"
#include "cli/common.h"
#include "cli/format.h"
#include "common/cleanup.h"
#include "common/human.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* A line longer than this is not an event berthd would send. */
#define EVENT_MAX (1024 * 1024)

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The attributes as a sorted list of keys. */
static char **attribute_keys(json_t *attrs)
{
    char **keys = xcalloc(1, sizeof(char *));
    const char *k;
    json_t *v;
    json_object_foreach(attrs, k, v)
    {
        strv_append(&keys, k);
    }
    qsort(keys, strv_length(keys), sizeof(char *), by_str);
    return keys;
}

/* Go's Format("2006-01-02T15:04:05.000000000Z07:00") of a time in the local zone. */
static void print_time(FILE *out, int64_t ns)
{
    time_t sec = (time_t)(ns / 1000000000LL);
    long frac = (long)(ns % 1000000000LL);
    if (frac < 0) {
        sec--;
        frac += 1000000000L;
    }
    struct tm tm;
    localtime_r(&sec, &tm);
    char date[32];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    long off = tm.tm_gmtoff;
    if (off == 0) {
        fprintf(out, "%s.%09ldZ ", date, frac);
        return;
    }
    char sign = off < 0 ? '-' : '+';
    off = off < 0 ? -off : off;
    fprintf(out, "%s.%09ld%c%02ld:%02ld ", date, frac, sign, off / 3600, off / 60 % 60);
}

/* docker's prettyPrintEvent: time, type, action, actor, then the attributes sorted by key. */
static void print_event(FILE *out, json_t *ev)
{
    json_int_t tn = json_integer_value(json_object_get(ev, "timeNano"));
    json_int_t t = json_integer_value(json_object_get(ev, "time"));
    if (tn != 0)
        print_time(out, tn);
    else if (t != 0)
        print_time(out, t * 1000000000LL);
    json_t *actor = json_object_get(ev, "Actor");
    fprintf(out, "%s %s %s", json_string_value(json_object_get(ev, "Type")) ?: "",
            json_string_value(json_object_get(ev, "Action")) ?: "",
            json_string_value(json_object_get(actor, "ID")) ?: "");
    json_t *attrs = json_object_get(actor, "Attributes");
    if (json_object_size(attrs) > 0) {
        _cleanup_strv_ char **keys = attribute_keys(attrs);
        fputs(" (", out);
        for (size_t i = 0; keys[i]; i++)
            fprintf(out, "%s%s=%s", i ? ", " : "", keys[i],
                    json_string_value(json_object_get(attrs, keys[i])) ?: "");
        fputc(')', out);
    }
    fputc('\n', out);
}

static json_t *str_or_empty(json_t *ev, const char *key)
{
    const char *s = json_string_value(json_object_get(ev, key));
    return json_string(s ? s : "");
}

/* The attributes as an object of strings, keys sorted as Go's encoder writes a map; null when
 * there are none, as a nil map. */
static json_t *attributes_of(json_t *actor)
{
    json_t *attrs = json_object_get(actor, "Attributes");
    if (!json_is_object(attrs))
        return json_null();
    json_t *out = json_object();
    _cleanup_strv_ char **keys = attribute_keys(attrs);
    for (size_t i = 0; keys[i]; i++)
        json_object_set_new(out, keys[i], str_or_empty(attrs, keys[i]));
    return out;
}

/* events.Message as its --format templates see it: Go's field names. */
static json_t *template_view(json_t *ev)
{
    json_t *actor = json_object_get(ev, "Actor");
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:{s:o, s:o}, s:o, s:I, s:I}", "Status",
                     str_or_empty(ev, "status"), "ID", str_or_empty(ev, "id"), "From",
                     str_or_empty(ev, "from"), "Type", str_or_empty(ev, "Type"), "Action",
                     str_or_empty(ev, "Action"), "Actor", "ID", str_or_empty(actor, "ID"),
                     "Attributes", attributes_of(actor), "Scope", str_or_empty(ev, "scope"), "Time",
                     json_integer_value(json_object_get(ev, "time")), "TimeNano",
                     json_integer_value(json_object_get(ev, "timeNano")));
}

/* events.Message as docker's json encodes it: its JSON names, empty fields left out where the
 * struct says omitempty. */
static json_t *json_view(json_t *ev)
{
    json_t *out = json_object();
    static const char *const deprecated[] = {"status", "id", "from"};
    for (size_t i = 0; i < ARRAY_SIZE(deprecated); i++) {
        const char *s = json_string_value(json_object_get(ev, deprecated[i]));
        if (s && *s)
            json_object_set_new(out, deprecated[i], json_string(s));
    }
    json_t *actor = json_object_get(ev, "Actor");
    json_object_set_new(out, "Type", str_or_empty(ev, "Type"));
    json_object_set_new(out, "Action", str_or_empty(ev, "Action"));
    json_object_set_new(out, "Actor",
                        json_pack("{s:o, s:o}", "ID", str_or_empty(actor, "ID"), "Attributes",
                                  attributes_of(actor)));
    const char *scope = json_string_value(json_object_get(ev, "scope"));
    if (scope && *scope)
        json_object_set_new(out, "scope", json_string(scope));
    json_int_t t = json_integer_value(json_object_get(ev, "time"));
    json_int_t tn = json_integer_value(json_object_get(ev, "timeNano"));
    if (t)
        json_object_set_new(out, "time", json_integer(t));
    if (tn)
        json_object_set_new(out, "timeNano", json_integer(tn));
    return out;
}

struct events_out {
    struct cli *cli;
    struct cli_template *tmpl; /* NULL: docker's default line */
    bool json;
    char *buf;
    size_t len, cap;
    struct berr *err;
};

static int show(struct events_out *o, json_t *ev)
{
    FILE *out = o->cli->out;
    if (o->json) {
        _cleanup_json_ json_t *v = json_view(ev);
        _cleanup_free_ char *text = cli_json_encode(v, NULL, false);
        fprintf(out, "%s\n", text);
    } else if (o->tmpl) {
        _cleanup_json_ json_t *v = template_view(ev);
        /* as docker: the newline goes out even after a failed template */
        int rc = cli_template_exec(o->tmpl, v, 0, out, &o->err);
        fputc('\n', out);
        if (rc < 0)
            return -1;
    } else {
        print_event(out, ev);
    }
    /* someone is watching: each event is shown as it comes */
    if (fflush(out) != 0)
        return berr_sys(&o->err, "write error on standard output");
    return 0;
}

static int on_data(void *p, const char *data, size_t len)
{
    struct events_out *o = p;
    if (o->len + len + 1 > o->cap) {
        o->cap = (o->len + len + 1) * 2;
        o->buf = xrealloc(o->buf, o->cap);
    }
    memcpy(o->buf + o->len, data, len);
    o->len += len;
    /* events are JSON values one after another (berthd ends each with a newline) */
    size_t off = 0;
    for (;;) {
        while (off < o->len && strchr(" \t\r\n", o->buf[off]))
            off++;
        if (off == o->len)
            break;
        json_error_t je;
        json_t *ev = json_loadb(o->buf + off, o->len - off, JSON_DISABLE_EOF_CHECK, &je);
        if (ev == NULL) {
            if (o->len - off > EVENT_MAX) {
                berr_code(&o->err, EPROTO, "the daemon's event stream is not JSON: %s", je.text);
                return 1;
            }
            break; /* the rest of it is still coming */
        }
        off += je.position;
        int rc = show(o, ev);
        json_decref(ev);
        if (rc < 0)
            return 1;
    }
    memmove(o->buf, o->buf + off, o->len - off);
    o->len -= off;
    return 0;
}

static int run_events(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct berr *err = NULL;
    struct events_out o = {.cli = cli};
    const char *fmt = cli_string(cli, "format");
    o.json = strcmp(fmt, "json") == 0;
    _cleanup_(cli_template_freep) struct cli_template *tmpl = NULL;
    if (*fmt && !o.json) {
        _cleanup_json_ json_t *empty = json_object();
        _cleanup_json_ json_t *probe = template_view(empty);
        _cleanup_free_ char *text = NULL;
        /* as docker: the template must also run on an empty event, so a field that does not
         * exist is found before any event comes */
        if ((tmpl = cli_template_parse(fmt, &err)) == NULL ||
            (text = cli_template_render(tmpl, probe, 0, &err)) == NULL) {
            fprintf(cli->err, "Error parsing format: %s\n", err->msg);
            berr_free(err);
            return 64;
        }
        o.tmpl = tmpl;
    }
    const char *since = cli_string(cli, "since"), *until = cli_string(cli, "until");
    _cleanup_free_ char *s = NULL, *u = NULL;
    if ((*since && (s = cli_timestamp_arg(since, &err)) == NULL) ||
        (*until && (u = cli_timestamp_arg(until, &err)) == NULL))
        return cli_fail(cli, err);
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_json_ json_t *filters = cli_filters(cli);
    _cleanup_free_ char *path = xstrdup("/events");
    char sep = '?';
    if (json_object_size(filters) > 0) {
        _cleanup_free_ char *text = json_dumps(filters, JSON_COMPACT | JSON_SORT_KEYS);
        _cleanup_free_ char *esc = cli_api_escape(text);
        char *p = xasprintf("%s%cfilters=%s", path, sep, esc);
        free(path);
        path = p;
        sep = '&';
    }
    const char *names[] = {"since", "until"};
    const char *values[] = {s, u};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (values[i] == NULL)
            continue;
        _cleanup_free_ char *esc = cli_api_escape(values[i]);
        char *p = xasprintf("%s%c%s=%s", path, sep, names[i], esc);
        free(path);
        path = p;
        sep = '&';
    }
    int rc = cli_api_stream(api, "GET", path, NULL, NULL, on_data, &o, NULL, &err);
    free(o.buf);
    if (o.err) {
        berr_free(err);
        return cli_fail(cli, o.err);
    }
    if (rc < 0)
        return cli_fail(cli, err);
    return 0;
}

static const struct cli_flag events_flags[] = {
    {"filter", 'f', CLI_FLAG_FILTER, "Filter output based on conditions provided",
     .varname = "filter"},
    {"format", 0, CLI_FLAG_STRING,
     "Format output using a custom template:\n'json':             Print in JSON format\n"
     "'TEMPLATE':         Print output using the given Go template.\nRefer to "
     "https://docs.docker.com/go/formatting/ for more information about formatting output "
     "with templates"},
    {"since", 0, CLI_FLAG_STRING, "Show all events created since timestamp"},
    {"until", 0, CLI_FLAG_STRING, "Stream events until this timestamp"},
    {NULL},
};

const struct cli_command cli_cmd_events = {
    .name = "events",
    .usage = "[OPTIONS]",
    .short_desc = "Get real time events from the server",
    .flags = events_flags,
    .min_args = 0,
    .max_args = 0,
    .run = run_events,
};
