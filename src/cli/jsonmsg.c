/* Rendering of Docker's JSON message stream, after the docker CLI's jsonmessage package: one
 * JSON object a line; {"errorDetail"} ends the stream with an error; {"aux"} goes to the caller;
 * a message with an id and a progress part is a layer's row; anything else is printed as a line
 * and starts a new block of rows. Progress bars are drawn here from "progressDetail", for this
 * terminal's width, rather than taken from the daemon's "progress" text. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/jsonmsg.h"
#include "common/cleanup.h"
#include "common/human.h"
#include "common/xalloc.h"

/* docker's width for progress bars when the output is no terminal */
#define NO_TERMINAL_WIDTH 200
/* a message longer than this is no progress message */
#define LINE_MAX_BYTES (1024 * 1024)

void cli_jsonmsg_init(struct cli_jsonmsg *m, FILE *out, bool tty, int width)
{
    memset(m, 0, sizeof(*m));
    m->out = out;
    m->width = tty && width > 0 ? width : NO_TERMINAL_WIDTH;
    cli_progress_init(&m->rows, out, out && tty);
}

void cli_jsonmsg_clear(struct cli_jsonmsg *m)
{
    cli_progress_clear(&m->rows);
    free(m->line);
    berr_free(m->error);
    memset(m, 0, sizeof(*m));
}

static int64_t int_field(json_t *o, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(o, key));
}

/* JSONProgress.String(): empty when nothing is known. */
static char *progress_text(struct cli_jsonmsg *m, json_t *detail)
{
    int64_t current = int_field(detail, "current"), total = int_field(detail, "total");
    int64_t start = int_field(detail, "start"), elapsed = -1;
    if (start > 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        elapsed = ((int64_t)now.tv_sec - start) * 1000000000 + now.tv_nsec;
    }
    return human_progress(current, total, m->width, elapsed);
}

static void show(struct cli_jsonmsg *m, json_t *msg)
{
    json_t *error = json_object_get(msg, "errorDetail");
    if (error || json_object_get(msg, "error")) {
        const char *text = json_string_value(json_object_get(error, "message"));
        if (text == NULL)
            text = json_string_value(json_object_get(msg, "error"));
        berr_code(&m->error, EIO, "%s", text && *text ? text : "the daemon reported an error");
        return;
    }
    json_t *aux = json_object_get(msg, "aux");
    if (aux) {
        if (m->on_aux)
            m->on_aux(m->aux_ctx, aux);
        return;
    }
    if (m->out == NULL)
        return;
    const char *id = json_string_value(json_object_get(msg, "id"));
    const char *status = json_string_value(json_object_get(msg, "status"));
    const char *stream = json_string_value(json_object_get(msg, "stream"));
    const char *old_progress = json_string_value(json_object_get(msg, "progress"));
    json_t *detail = json_object_get(msg, "progressDetail");
    if (!json_is_object(detail))
        detail = NULL;
    _cleanup_free_ char *bar = NULL;
    if (detail)
        bar = progress_text(m, detail);
    else if (old_progress && *old_progress)
        bar = xstrdup(old_progress);
    if (id && *id && (detail || bar) && (stream == NULL || *stream == '\0')) {
        cli_progress_set(&m->rows, id, status ? status : "", bar);
        return;
    }
    cli_progress_clear(&m->rows);
    const char *prefix = id ? id : "", *sep = id && *id ? ": " : "";
    if (stream && *stream)
        fputs(stream, m->out);
    else if (bar && m->rows.tty) /* progress without a row: rewritten in place */
        fprintf(m->out, "\033[2K\r%s%s%s %s\r", prefix, sep, status ? status : "", bar);
    else if (bar == NULL || *bar == '\0') /* elsewhere, progress updates are left out */
        fprintf(m->out, "%s%s%s\n", prefix, sep, status ? status : "");
    fflush(m->out);
}

/* One line of the stream (blank ones are skipped, as the JSON decoder skips whitespace). */
static void show_line(struct cli_jsonmsg *m, const char *line, size_t len)
{
    size_t skip = 0;
    while (skip < len && (line[skip] == ' ' || line[skip] == '\t' || line[skip] == '\r'))
        skip++;
    if (skip == len)
        return;
    json_error_t je;
    _cleanup_json_ json_t *msg = json_loadb(line, len, 0, &je);
    if (!json_is_object(msg)) {
        berr_code(&m->error, EPROTO, "the daemon's answer is not a JSON message stream: %s",
                  msg ? "a message is not an object" : je.text);
        return;
    }
    show(m, msg);
}

int cli_jsonmsg_feed(void *ctx, const char *buf, size_t len)
{
    struct cli_jsonmsg *m = ctx;
    if (m->error)
        return 1;
    m->line = xrealloc(m->line, m->len + len + 1);
    memcpy(m->line + m->len, buf, len);
    m->len += len;
    size_t start = 0;
    for (;;) {
        char *nl = memchr(m->line + start, '\n', m->len - start);
        if (nl == NULL)
            break;
        size_t end = (size_t)(nl - m->line);
        show_line(m, m->line + start, end - start);
        start = end + 1;
        if (m->error)
            return 1;
    }
    m->len -= start;
    memmove(m->line, m->line + start, m->len);
    if (m->len > LINE_MAX_BYTES) {
        berr_code(&m->error, EPROTO, "the daemon's answer holds a message of more than %d bytes",
                  LINE_MAX_BYTES);
        return 1;
    }
    return 0;
}

int cli_jsonmsg_end(struct cli_jsonmsg *m, struct berr **err)
{
    if (m->error == NULL && m->len > 0) {
        show_line(m, m->line, m->len);
        m->len = 0;
    }
    if (m->error) {
        *err = steal_ptr(&m->error);
        return -1;
    }
    return 0;
}

int cli_jsonmsg_read(struct cli_jsonmsg *m, struct cli_conn *c, struct berr **err)
{
    _cleanup_free_ char *buf = xmalloc(64 * 1024);
    for (;;) {
        ssize_t n = cli_conn_read(c, buf, 64 * 1024);
        if (n < 0)
            return berr_sys(err, "reading the daemon's answer");
        if (n == 0 || cli_jsonmsg_feed(m, buf, (size_t)n) != 0)
            break;
    }
    return cli_jsonmsg_end(m, err);
}

int cli_jsonmsg_request(struct cli_api *api, const char *method, const char *path,
                        const char *const *headers, FILE *out, bool tty, int width,
                        struct berr **err)
{
    struct cli_jsonmsg m;
    cli_jsonmsg_init(&m, out, tty, width);
    int r = cli_api_stream(api, method, path, NULL, headers, cli_jsonmsg_feed, &m, NULL, err);
    if (r >= 0)
        r = cli_jsonmsg_end(&m, err);
    cli_jsonmsg_clear(&m);
    return r < 0 ? -1 : 0;
}
