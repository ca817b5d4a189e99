/* berth top, stats and update: a container's processes (GET /containers/{id}/top) in docker's
 * aligned table; live resource usage (GET /containers/{id}/stats), one collector thread per
 * container feeding a table redrawn twice a second with docker's columns and formulas; and new
 * resource limits (POST /containers/{id}/update) from docker's update flags. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/container.h"
#include "cli/format.h"
#include "cli/run_opts.h"
#include "cli/run_opts_internal.h"
#include "common/cleanup.h"
#include "common/human.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* The docker client trims a container reference and refuses an empty one before any request. */
static bool blank(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

#define EMPTY_REF_MSG "invalid container name or ID: value is empty"

/* ---- top ---- */

static void append_joined(FILE *f, json_t *cells)
{
    size_t i;
    json_t *c;
    json_array_foreach(cells, i, c)
    {
        fprintf(f, "%s%s", i ? "\t" : "", json_string_value(c) ? json_string_value(c) : "");
    }
    fputc('\n', f);
}

static int run_top(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    if (blank(argv[0]))
        return cli_fail(cli, berr_new(0, EMPTY_REF_MSG));
    _cleanup_free_ char *suffix = NULL;
    if (argc > 1) {
        /* docker hands ps its options as one string, split again by the daemon */
        size_t total = 1;
        for (int i = 1; i < argc; i++)
            total += strlen(argv[i]) + 1;
        _cleanup_free_ char *joined = xcalloc(1, total);
        for (int i = 1; i < argc; i++) {
            if (i > 1)
                strcat(joined, " ");
            strcat(joined, argv[i]);
        }
        _cleanup_free_ char *e = cli_api_escape(joined);
        suffix = xasprintf("/top?ps_args=%s", e);
    } else {
        suffix = xstrdup("/top");
    }
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_free_ char *path = cli_ctr_path(argv[0], suffix);
    _cleanup_json_ json_t *res = NULL;
    if (cli_api_call(api, "GET", path, NULL, &res, &err) < 0)
        return cli_fail(cli, err);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        abort();
    append_joined(f, json_object_get(res, "Titles"));
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(res, "Processes"), i, row)
    {
        append_joined(f, row);
    }
    if (fclose(f) != 0)
        abort();
    _cleanup_free_ char *owned = text;
    _cleanup_free_ char *table = cli_tabwrite(text, 20, 1, 3);
    fputs(table, cli->out);
    return 0;
}

const struct cli_command cli_cmd_top = {
    .name = "top",
    .usage = "CONTAINER [ps OPTIONS]",
    .short_desc = "Display the running processes of a container",
    .min_args = 1,
    .max_args = -1,
    .flags_first = true,
    .run = run_top,
};

/* ---- stats ---- */

/* Without a sample for this long a row shows "--", as docker's collector gives up waiting. */
#define STATS_TIMEOUT_NS (2LL * 1000000000)
/* berthd takes a second over an unstreamed sample (two readings for the CPU delta). */
#define STATS_FIRST_NO_STREAM_NS (5LL * 1000000000)
#define STATS_TICK_MS            500
/* One sample is a few kilobytes; a line this long is not a sample. */
#define STATS_LINE_MAX (1024 * 1024)

#define STATS_DEFAULT_FORMAT                                                                       \
    "table "                                                                                       \
    "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}"      \
    "\t{{.PIDs}}"

struct stats_run;

/* One container's row. Fields below the lock line are shared with its collector thread. */
struct stats_row {
    struct stats_run *run;
    char *ref; /* what the Container column shows: the argument, or the short ID */
    pthread_t thread;
    bool joinable;
    bool listed; /* all-containers mode: seen in the latest list */
    /* ---- under run->lock ---- */
    char *name, *id, *error;
    double cpu, mem, limit, mem_pct, rx, tx, blk_read, blk_write;
    uint64_t pids;
    bool got_first; /* a sample, or an error, arrived */
    bool ended;     /* the collector has returned */
    bool invalid;   /* the stream ended or failed: values show "--" */
    bool stop;      /* asked to stop */
    int fd;         /* the collector's socket, -1 when none */
    int64_t last_ns;
};

struct stats_run {
    struct cli_api *api;
    bool stream;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct stats_row **rows;
    size_t nrows;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* JSON numbers as docker's client reads them into uint64 fields: absent or negative is 0. */
static double num(json_t *o, const char *key)
{
    double v = json_number_value(json_object_get(o, key));
    return v > 0 ? v : 0;
}

/* docker's calculateCPUPercentUnix. */
static double cpu_percent(json_t *s)
{
    json_t *cpu = json_object_get(s, "cpu_stats"), *pre = json_object_get(s, "precpu_stats");
    double cpu_delta = num(json_object_get(cpu, "cpu_usage"), "total_usage") -
                       num(json_object_get(pre, "cpu_usage"), "total_usage");
    double sys_delta = num(cpu, "system_cpu_usage") - num(pre, "system_cpu_usage");
    double online = num(cpu, "online_cpus");
    if (online == 0)
        online = (double)json_array_size(
            json_object_get(json_object_get(cpu, "cpu_usage"), "percpu_usage"));
    if (sys_delta > 0 && cpu_delta > 0)
        return cpu_delta / sys_delta * online * 100.0;
    return 0;
}

/* docker's calculateMemUsageUnixNoCache: usage less the inactive page cache (cgroup v1's
 * total_inactive_file, else v2's inactive_file), when that is smaller than the usage. */
static double mem_usage(json_t *m)
{
    double usage = num(m, "usage");
    json_t *st = json_object_get(m, "stats");
    json_t *v1 = json_object_get(st, "total_inactive_file");
    if (v1 && num(st, "total_inactive_file") < usage)
        return usage - num(st, "total_inactive_file");
    if (num(st, "inactive_file") < usage)
        return usage - num(st, "inactive_file");
    return usage;
}

static void apply_sample(struct stats_row *r, json_t *s)
{
    double cpu = cpu_percent(s);
    json_t *m = json_object_get(s, "memory_stats");
    double mem = mem_usage(m), limit = num(m, "limit");
    double rd = 0, wr = 0, rx = 0, tx = 0;
    size_t i;
    json_t *e;
    json_array_foreach(
        json_object_get(json_object_get(s, "blkio_stats"), "io_service_bytes_recursive"), i, e)
    {
        const char *op = json_string_value(json_object_get(e, "op"));
        if (op == NULL || *op == '\0')
            continue;
        if (*op == 'r' || *op == 'R')
            rd += num(e, "value");
        else if (*op == 'w' || *op == 'W')
            wr += num(e, "value");
    }
    const char *k;
    json_object_foreach(json_object_get(s, "networks"), k, e)
    {
        rx += num(e, "rx_bytes");
        tx += num(e, "tx_bytes");
    }
    const char *name = json_string_value(json_object_get(s, "name"));
    const char *id = json_string_value(json_object_get(s, "id"));
    pthread_mutex_lock(&r->run->lock);
    free(r->name);
    free(r->id);
    r->name = xstrdup(name ? name : "");
    r->id = xstrdup(id ? id : "");
    r->cpu = cpu;
    r->mem = mem;
    r->limit = limit;
    r->mem_pct = limit != 0 ? mem / limit * 100.0 : 0;
    r->rx = rx;
    r->tx = tx;
    r->blk_read = rd;
    r->blk_write = wr;
    r->pids = (uint64_t)num(json_object_get(s, "pids_stats"), "current");
    r->invalid = false;
    r->got_first = true;
    r->last_ns = mono_ns();
    pthread_cond_broadcast(&r->run->cond);
    pthread_mutex_unlock(&r->run->lock);
}

/* Parses one JSON document; false when it is not one. Blank text is no document and no error. */
static bool take_document(struct stats_row *r, const char *text, size_t len)
{
    while (len > 0 && isspace((unsigned char)*text)) {
        text++;
        len--;
    }
    if (len == 0)
        return true;
    _cleanup_json_ json_t *s = json_loadb(text, len, JSON_DECODE_INT_AS_REAL, NULL);
    if (s == NULL)
        return false;
    apply_sample(r, s);
    return true;
}

static void collector_finish(struct stats_row *r, struct berr *err)
{
    pthread_mutex_lock(&r->run->lock);
    if (err && r->error == NULL && !r->stop)
        r->error = xstrdup(err->msg);
    if (err || r->run->stream)
        r->invalid = true;
    r->got_first = true;
    r->ended = true;
    r->fd = -1;
    pthread_cond_broadcast(&r->run->cond);
    pthread_mutex_unlock(&r->run->lock);
    berr_free(err);
}

/* The collector: reads the container's samples (a stream of JSON lines, or one document) and
 * keeps the row up to date until the stream ends or the row is stopped. */
static void *collect(void *p)
{
    struct stats_row *r = p;
    struct berr *err = NULL;
    _cleanup_free_ char *path =
        cli_ctr_path(r->ref, r->run->stream ? "/stats?stream=1" : "/stats?stream=0");
    _cleanup_(cli_conn_freep) struct cli_conn *conn = NULL;
    if (cli_conn_open(r->run->api, "GET", path, NULL, false, &conn, &err) < 0) {
        collector_finish(r, err);
        return NULL;
    }
    pthread_mutex_lock(&r->run->lock);
    bool stop = r->stop;
    r->fd = cli_conn_fd(conn);
    pthread_mutex_unlock(&r->run->lock);
    if (stop) {
        collector_finish(r, NULL);
        return NULL;
    }
    _cleanup_free_ char *buf = xmalloc(STATS_LINE_MAX + 1);
    size_t len = 0;
    for (;;) {
        if (len == STATS_LINE_MAX) {
            err = berr_new(0, "the daemon's stats of %s: a sample over %d bytes", r->ref,
                           STATS_LINE_MAX);
            break;
        }
        ssize_t n = cli_conn_read(conn, buf + len, STATS_LINE_MAX - len);
        if (n < 0) {
            pthread_mutex_lock(&r->run->lock);
            stop = r->stop;
            pthread_mutex_unlock(&r->run->lock);
            if (!stop)
                err = berr_new(0, "reading the stats of %s: %s", r->ref, strerror(errno));
            break;
        }
        if (n == 0) {
            if (!take_document(r, buf, len))
                err = berr_new(0, "the daemon's stats of %s are not JSON", r->ref);
            break;
        }
        len += (size_t)n;
        char *start = buf, *nl;
        while ((nl = memchr(start, '\n', len - (size_t)(start - buf))) != NULL) {
            if (!take_document(r, start, (size_t)(nl - start))) {
                err = berr_new(0, "the daemon's stats of %s are not JSON", r->ref);
                break;
            }
            start = nl + 1;
        }
        if (err)
            break;
        len -= (size_t)(start - buf);
        memmove(buf, start, len);
    }
    collector_finish(r, err);
    return NULL;
}

static struct stats_row *row_find(struct stats_run *st, const char *ref)
{
    for (size_t i = 0; i < st->nrows; i++)
        if (strcmp(st->rows[i]->ref, ref) == 0)
            return st->rows[i];
    return NULL;
}

static void row_start(struct stats_row *r)
{
    r->got_first = r->ended = r->stop = false;
    r->fd = -1;
    if (pthread_create(&r->thread, NULL, collect, r) != 0)
        abort();
    r->joinable = true;
}

/* Adds a row for ref (the run's lock not held) and starts its collector; NULL for a duplicate. */
static struct stats_row *row_add(struct stats_run *st, const char *ref)
{
    if (row_find(st, ref))
        return NULL;
    struct stats_row *r = xzalloc(sizeof(*r));
    r->run = st;
    r->ref = xstrdup(ref);
    r->fd = -1;
    pthread_mutex_lock(&st->lock);
    st->rows = xreallocarray(st->rows, st->nrows + 1, sizeof(*st->rows));
    st->rows[st->nrows++] = r;
    pthread_mutex_unlock(&st->lock);
    row_start(r);
    return r;
}

/* Stops the row's collector (its socket is shut down, so a blocked read returns) and waits. */
static void row_stop(struct stats_row *r)
{
    if (!r->joinable)
        return;
    pthread_mutex_lock(&r->run->lock);
    r->stop = true;
    if (r->fd >= 0)
        shutdown(r->fd, SHUT_RDWR);
    pthread_mutex_unlock(&r->run->lock);
    pthread_join(r->thread, NULL);
    r->joinable = false;
}

static void row_free(struct stats_row *r)
{
    row_stop(r);
    free(r->ref);
    free(r->name);
    free(r->id);
    free(r->error);
    free(r);
}

static void row_remove(struct stats_run *st, size_t i)
{
    struct stats_row *r = st->rows[i];
    row_stop(r);
    pthread_mutex_lock(&st->lock);
    memmove(st->rows + i, st->rows + i + 1, (st->nrows - i - 1) * sizeof(*st->rows));
    st->nrows--;
    pthread_mutex_unlock(&st->lock);
    row_free(r);
}

static void stats_run_clear(struct stats_run *st)
{
    for (size_t i = 0; i < st->nrows; i++)
        row_free(st->rows[i]);
    free(st->rows);
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->cond);
}

/* Waits until every row has its first sample (or error), or until timeout_ns has passed; rows
 * still waiting then fail as docker's do. */
static void wait_first(struct stats_run *st, int64_t timeout_ns)
{
    int64_t at = mono_ns() + timeout_ns;
    struct timespec deadline = {.tv_sec = (time_t)(at / 1000000000),
                                .tv_nsec = (long)(at % 1000000000)};
    pthread_mutex_lock(&st->lock);
    for (;;) {
        bool all = true;
        for (size_t i = 0; i < st->nrows; i++)
            all = all && st->rows[i]->got_first;
        if (all || pthread_cond_timedwait(&st->cond, &st->lock, &deadline) == ETIMEDOUT)
            break;
    }
    for (size_t i = 0; i < st->nrows; i++) {
        struct stats_row *r = st->rows[i];
        if (!r->got_first) {
            r->got_first = r->invalid = true;
            r->error = r->error ? r->error : xstrdup("timeout waiting for stats");
        }
    }
    pthread_mutex_unlock(&st->lock);
}

static char *percent(double v)
{
    return xasprintf("%.2f%%", v);
}

static char *pair(char *a, char *b, const char *sep)
{
    char *s = xasprintf("%s%s%s", a, sep, b);
    free(a);
    free(b);
    return s;
}

/* The row as docker's stats formatter presents it (the keys in the order json prints them). */
static json_t *row_json(struct stats_row *r, bool trunc, int64_t now)
{
    bool invalid = r->invalid || (r->run->stream && r->got_first && !r->ended && r->last_ns &&
                                  now - r->last_ns > STATS_TIMEOUT_NS);
    const char *name = r->name && strlen(r->name) > 1 ? r->name + 1 : "--";
    char idbuf[65];
    const char *id = cli_short_id(r->id ? r->id : "", !trunc, idbuf);
    char *block = invalid ? xstrdup("--")
                          : pair(human_size(r->blk_read, 3), human_size(r->blk_write, 3), " / ");
    char *cpu = invalid ? xstrdup("--") : percent(r->cpu);
    char *memperc = invalid ? xstrdup("--") : percent(r->mem_pct);
    char *memuse =
        invalid ? xstrdup("-- / --") : pair(human_bytes(r->mem), human_bytes(r->limit), " / ");
    char *net = invalid ? xstrdup("--") : pair(human_size(r->rx, 3), human_size(r->tx, 3), " / ");
    char *pids = invalid ? xstrdup("--") : xasprintf("%llu", (unsigned long long)r->pids);
    json_t *o = json_pack("{s:s%, s:s%, s:s, s:s, s:s%, s:s%, s:s, s:s%, s:s%}", "BlockIO", block,
                          strlen(block), "CPUPerc", cpu, strlen(cpu), "Container", r->ref, "ID", id,
                          "MemPerc", memperc, strlen(memperc), "MemUsage", memuse, strlen(memuse),
                          "Name", name, "NetIO", net, strlen(net), "PIDs", pids, strlen(pids));
    free(block);
    free(cpu);
    free(memperc);
    free(memuse);
    free(net);
    free(pids);
    if (o == NULL)
        abort();
    return o;
}

/* One frame: the table (or rows) as text. */
static int render(struct cli *cli, struct stats_run *st, const char *format, json_t *header,
                  char **out, struct berr **err)
{
    bool trunc = !cli_bool(cli, "no-trunc");
    bool json_rows = strcmp(format, "json") == 0;
    _cleanup_(cli_format_freep) struct cli_format *f =
        json_rows ? NULL : cli_format_new(format, STATS_DEFAULT_FORMAT, header, 0, err);
    if (!json_rows && f == NULL)
        return -1;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m == NULL)
        abort();
    int64_t now = mono_ns();
    int rc = 0;
    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; i < st->nrows && rc == 0; i++) {
        _cleanup_json_ json_t *row = row_json(st->rows[i], trunc, now);
        if (json_rows) {
            /* docker's rows marshal themselves, HTML-escaped, as for ps */
            _cleanup_free_ char *text = cli_json_encode(row, NULL, true);
            fprintf(m, "%s\n", text);
        } else {
            rc = cli_format_add(f, row, err);
        }
    }
    pthread_mutex_unlock(&st->lock);
    if (rc == 0 && f)
        cli_format_write(f, m);
    if (fclose(m) != 0)
        abort();
    if (rc < 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

/* Puts a frame on stdout; on a terminal while streaming, over the previous one as docker does:
 * cursor home, each line's rest erased, and everything below the table erased. */
static void show(struct cli *cli, const char *frame, bool redraw)
{
    if (!redraw) {
        fputs(frame, cli->out);
        fflush(cli->out);
        return;
    }
    fputs("\033[H", cli->out);
    for (const char *line = frame;;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        fprintf(cli->out, "%.*s \033[K\n", (int)n, line);
        if (nl == NULL)
            break;
        line = nl + 1;
    }
    fputs("\033[J", cli->out);
    fflush(cli->out);
}

/* All-containers mode: the rows follow the daemon's list (running ones, or all with -a); a
 * listed container whose collector ended is collected again once it runs. */
static int sync_list(struct cli *cli, struct stats_run *st, bool all, struct berr **err)
{
    _cleanup_free_ char *path = xasprintf("/containers/json?all=%d", all ? 1 : 0);
    _cleanup_json_ json_t *list = NULL;
    if (cli_api_call(st->api, "GET", path, NULL, &list, err) < 0)
        return -1;
    for (size_t i = 0; i < st->nrows; i++)
        st->rows[i]->listed = false;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "Id"));
        const char *state = json_string_value(json_object_get(c, "State"));
        if (id == NULL)
            continue;
        char shortid[13];
        snprintf(shortid, sizeof(shortid), "%.12s", id);
        struct stats_row *r = row_find(st, shortid);
        if (r == NULL) {
            r = row_add(st, shortid);
        } else if (st->stream && state && strcmp(state, "running") == 0) {
            pthread_mutex_lock(&st->lock);
            bool ended = r->ended;
            pthread_mutex_unlock(&st->lock);
            if (ended) {
                row_stop(r);
                pthread_mutex_lock(&st->lock);
                free(r->error);
                r->error = NULL;
                pthread_mutex_unlock(&st->lock);
                row_start(r);
            }
        }
        r->listed = true;
    }
    for (size_t k = st->nrows; k-- > 0;)
        if (!st->rows[k]->listed)
            row_remove(st, k);
    return 0;
}

static int run_stats(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    const char *format = cli_string(cli, "format");
    if (*format == '\0')
        format = "table";
    _cleanup_json_ json_t *header =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Container", "CONTAINER", "Name",
                  "NAME", "ID", "CONTAINER ID", "CPUPerc", "CPU %", "MemUsage", "MEM USAGE / LIMIT",
                  "MemPerc", "MEM %", "NetIO", "NET I/O", "BlockIO", "BLOCK I/O", "PIDs", "PIDS");
    if (strcmp(format, "json") != 0) {
        /* a bad template fails before anything is collected */
        _cleanup_(cli_format_freep) struct cli_format *check =
            cli_format_new(format, STATS_DEFAULT_FORMAT, header, 0, &err);
        if (check == NULL)
            return cli_fail(cli, err);
    }
    for (int i = 0; i < argc; i++)
        if (blank(argv[i]))
            return cli_fail(cli, berr_new(0, EMPTY_REF_MSG));
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    bool stream = !cli_bool(cli, "no-stream"), all = cli_bool(cli, "all");
    bool show_all = argc == 0;
    struct stats_run st = {.api = api, .stream = stream};
    pthread_mutex_init(&st.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st.cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = 0;
    if (show_all) {
        if (sync_list(cli, &st, all, &err) < 0) {
            rc = cli_fail(cli, err);
            goto out;
        }
    } else {
        for (int i = 0; i < argc; i++)
            row_add(&st, argv[i]);
    }
    wait_first(&st, stream ? STATS_TIMEOUT_NS : STATS_FIRST_NO_STREAM_NS);
    if (!show_all) {
        /* docker reports every failed container and prints no table then */
        for (size_t i = 0; i < st.nrows; i++)
            if (st.rows[i]->error) {
                fprintf(cli->err, "%s\n", st.rows[i]->error);
                rc = 1;
            }
        if (rc)
            goto out;
    }
    bool redraw = stream && cli->out_is_tty;
    for (unsigned tick = 0;; tick++) {
        _cleanup_free_ char *frame = NULL;
        if (render(cli, &st, format, header, &frame, &err) < 0) {
            rc = cli_fail(cli, err);
            break;
        }
        show(cli, frame, redraw);
        if (!stream)
            break;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = STATS_TICK_MS * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        }
        /* the daemon's list every second: containers that start or go come and go here */
        if (show_all && tick % 2 == 1 && sync_list(cli, &st, all, &err) < 0) {
            rc = cli_fail(cli, err);
            break;
        }
    }
out:
    stats_run_clear(&st);
    return rc;
}

static const struct cli_flag stats_flags[] = {
    {"all", 'a', CLI_FLAG_BOOL, "Show all containers (default shows just running)"},
    {"format", 0, CLI_FLAG_STRING,
     "Format output using a custom template:\n'table':            Print output in table format "
     "with column headers (default)\n'table TEMPLATE':   Print output in table format using the "
     "given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print "
     "output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for "
     "more information about formatting output with templates"},
    {"no-stream", 0, CLI_FLAG_BOOL, "Disable streaming stats and only pull the first result"},
    {"no-trunc", 0, CLI_FLAG_BOOL, "Do not truncate output"},
    {NULL},
};

const struct cli_command cli_cmd_stats = {
    .name = "stats",
    .usage = "[OPTIONS] [CONTAINER...]",
    .short_desc = "Display a live stream of container(s) resource usage statistics",
    .flags = stats_flags,
    .min_args = 0,
    .max_args = -1,
    .run = run_stats,
};

/* ---- update ---- */

/* opts.MemBytes (units.RAMInBytes) and, for --memory-swap, MemSwapBytes' "-1". */
static int set_size(struct cli *cli, json_t *o, const char *key, const char *flag,
                    struct berr **err)
{
    if (!cli_changed(cli, flag))
        return 0;
    const char *v = cli_string(cli, flag);
    int64_t n = 0;
    if (strcmp(flag, "memory-swap") == 0 && strcmp(v, "-1") == 0)
        n = -1;
    else if (human_parse_size(v, true, &n, NULL) < 0 || n < 0)
        return cli_flag_value_error(cli, flag, v, err, "invalid size: '%s'", v);
    if (n != 0)
        json_object_set_new(o, key, json_integer(n));
    return 0;
}

static void set_int(struct cli *cli, json_t *o, const char *key, const char *flag)
{
    int64_t n = cli_int(cli, flag);
    if (n != 0)
        json_object_set_new(o, key, json_integer(n));
}

/* opts.ParseRestartPolicy: NAME[:COUNT], the name left for the daemon to check. */
static int set_restart(struct cli *cli, json_t *o, struct berr **err)
{
    const char *p = cli_string(cli, "restart");
    if (*p == '\0')
        return 0;
    const char *colon = strchr(p, ':');
    if (colon == p)
        return berr_code(err, EINVAL,
                         "invalid restart policy format: no policy provided before colon");
    long long count = 0;
    if (colon && colon[1]) {
        const char *c = colon + 1;
        char *end = NULL;
        errno = 0;
        count = strtoll(c, &end, 10);
        /* strconv.Atoi: an optional sign and decimal digits, nothing else */
        if (errno || *end || isspace((unsigned char)*c))
            return berr_code(err, EINVAL,
                             "invalid restart policy format: maximum retry count must be an "
                             "integer");
    }
    _cleanup_free_ char *name = colon ? xstrndup(p, (size_t)(colon - p)) : xstrdup(p);
    json_object_set_new(
        o, "RestartPolicy",
        json_pack("{s:s, s:I}", "Name", name, "MaximumRetryCount", (json_int_t)count));
    return 0;
}

/* The update request from the flags; flag value errors carry CLI_EFLAGVALUE. */
static json_t *update_request(struct cli *cli, struct berr **err)
{
    _cleanup_json_ json_t *o = json_object();
    if (cli_changed(cli, "blkio-weight")) {
        const char *v = cli_string(cli, "blkio-weight"), *why = NULL;
        uint64_t w = 0;
        bool bad = cli_parse_go_uint(v, &w, &why) < 0;
        if (bad || w > UINT16_MAX) {
            _cleanup_free_ char *q = xasprintf("\"%s\"", v);
            cli_flag_value_error(cli, "blkio-weight", v, err, "strconv.ParseUint: parsing %s: %s",
                                 q, bad ? why : "value out of range");
            return NULL;
        }
        if (w != 0)
            json_object_set_new(o, "BlkioWeight", json_integer((json_int_t)w));
    }
    if (cli_changed(cli, "cpus")) {
        int64_t nanos = 0;
        if (cli_parse_nano_cpus(cli, cli_string(cli, "cpus"), &nanos, err) < 0)
            return NULL;
        if (nanos != 0)
            json_object_set_new(o, "NanoCpus", json_integer(nanos));
    }
    if (set_size(cli, o, "Memory", "memory", err) < 0 ||
        set_size(cli, o, "MemoryReservation", "memory-reservation", err) < 0 ||
        set_size(cli, o, "MemorySwap", "memory-swap", err) < 0 ||
        set_size(cli, o, "KernelMemory", "kernel-memory", err) < 0)
        return NULL;
    set_int(cli, o, "CpuShares", "cpu-shares");
    set_int(cli, o, "CpuPeriod", "cpu-period");
    set_int(cli, o, "CpuQuota", "cpu-quota");
    set_int(cli, o, "CpuRealtimePeriod", "cpu-rt-period");
    set_int(cli, o, "CpuRealtimeRuntime", "cpu-rt-runtime");
    set_int(cli, o, "PidsLimit", "pids-limit");
    const char *cpus = cli_string(cli, "cpuset-cpus"), *mems = cli_string(cli, "cpuset-mems");
    if (*cpus)
        json_object_set_new(o, "CpusetCpus", json_string(cpus));
    if (*mems)
        json_object_set_new(o, "CpusetMems", json_string(mems));
    if (set_restart(cli, o, err) < 0)
        return NULL;
    return steal_ptr(&o);
}

static const struct cli_flag update_flags[] = {
    {"blkio-weight", 0, CLI_FLAG_STRING,
     "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)",
     .varname = "uint16"},
    {"cpu-period", 0, CLI_FLAG_INT, "Limit CPU CFS (Completely Fair Scheduler) period"},
    {"cpu-quota", 0, CLI_FLAG_INT, "Limit CPU CFS (Completely Fair Scheduler) quota"},
    {"cpu-rt-period", 0, CLI_FLAG_INT, "Limit the CPU real-time period in microseconds"},
    {"cpu-rt-runtime", 0, CLI_FLAG_INT, "Limit the CPU real-time runtime in microseconds"},
    {"cpu-shares", 'c', CLI_FLAG_INT, "CPU shares (relative weight)"},
    {"cpus", 0, CLI_FLAG_STRING, "Number of CPUs", .varname = "decimal"},
    {"cpuset-cpus", 0, CLI_FLAG_STRING, "CPUs in which to allow execution (0-3, 0,1)"},
    {"cpuset-mems", 0, CLI_FLAG_STRING, "MEMs in which to allow execution (0-3, 0,1)"},
    {"kernel-memory", 0, CLI_FLAG_STRING, "Kernel memory limit (deprecated)", .varname = "bytes",
     .hidden = true},
    {"memory", 'm', CLI_FLAG_STRING, "Memory limit", .varname = "bytes"},
    {"memory-reservation", 0, CLI_FLAG_STRING, "Memory soft limit", .varname = "bytes"},
    {"memory-swap", 0, CLI_FLAG_STRING,
     "Swap limit equal to memory plus swap: -1 to enable unlimited swap", .varname = "bytes"},
    {"pids-limit", 0, CLI_FLAG_INT, "Tune container pids limit (set -1 for unlimited)"},
    {"restart", 0, CLI_FLAG_STRING, "Restart policy to apply when a container exits"},
    {NULL},
};

static int run_update(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    _cleanup_json_ json_t *req = update_request(cli, &err);
    if (req == NULL)
        return err->errnum == CLI_EFLAGVALUE ? cli_run_parse_failed(cli, err) : cli_fail(cli, err);
    int nflags = 0;
    for (const struct cli_flag *f = update_flags; f->name; f++)
        nflags += cli_changed(cli, f->name);
    if (nflags == 0)
        return cli_fail(cli, berr_new(0, "you must provide one or more flags when using "
                                         "this command"));
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_strv_ char **warnings = xcalloc(1, sizeof(char *));
    _cleanup_strv_ char **errors = xcalloc(1, sizeof(char *));
    for (int i = 0; i < argc; i++) {
        if (blank(argv[i])) {
            strv_append(&errors, EMPTY_REF_MSG);
            continue;
        }
        _cleanup_free_ char *path = cli_ctr_path(argv[i], "/update");
        _cleanup_json_ json_t *res = NULL;
        if (cli_api_call(api, "POST", path, req, &res, &err) < 0) {
            strv_append(&errors, err->msg);
            berr_free(err);
            err = NULL;
            continue;
        }
        fprintf(cli->out, "%s\n", argv[i]);
        size_t k;
        json_t *w;
        json_array_foreach(json_object_get(res, "Warnings"), k, w)
        {
            if (json_string_value(w))
                strv_append(&warnings, json_string_value(w));
        }
    }
    for (size_t i = 0; warnings[i]; i++)
        fprintf(cli->out, "%s\n", warnings[i]);
    for (size_t i = 0; errors[i]; i++)
        fprintf(cli->err, "%s\n", errors[i]);
    return errors[0] ? 1 : 0;
}

const struct cli_command cli_cmd_update = {
    .name = "update",
    .usage = "[OPTIONS] CONTAINER [CONTAINER...]",
    .short_desc = "Update configuration of one or more containers",
    .flags = update_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_update,
};
