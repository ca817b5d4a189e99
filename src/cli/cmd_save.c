/* berth save: GET /images/get, images as a tar archive (docker load, podman load and skopeo read
 * it) written to -o FILE (through a temporary name, renamed once complete) or to standard
 * output. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

/* The end of the stream kept to find the daemon's error message in. */
#define TAIL_MAX  (64 * 1024)
#define TAR_BLOCK 512

struct sink {
    int fd;
    const char *name; /* for messages */
    uint64_t total;
    char *tail;
    size_t tail_len;
    struct berr *err;
};

static int on_data(void *ctx, const char *buf, size_t len)
{
    struct sink *s = ctx;
    if (write_all(s->fd, buf, len) < 0) {
        berr_sys(&s->err, "write %s", s->name);
        return 1;
    }
    s->total += len;
    if (len >= TAIL_MAX) {
        memcpy(s->tail, buf + len - TAIL_MAX, TAIL_MAX);
        s->tail_len = TAIL_MAX;
    } else {
        if (s->tail_len + len > TAIL_MAX) {
            size_t drop = s->tail_len + len - TAIL_MAX;
            memmove(s->tail, s->tail + drop, s->tail_len - drop);
            s->tail_len -= drop;
        }
        memcpy(s->tail + s->tail_len, buf, len);
        s->tail_len += len;
    }
    return 0;
}

/* A tar archive is whole 512-byte blocks. When the daemon fails after its answer has begun, it
 * ends the body with its error as a JSON message after what it had written. */
static int check_complete(struct sink *s, struct berr **err)
{
    if (s->total > 0 && s->total % TAR_BLOCK == 0)
        return 0;
    const char *msg = NULL;
    _cleanup_json_ json_t *j = NULL;
    for (size_t i = s->tail_len; i-- > 0;) {
        if (s->tail[i] != '{')
            continue;
        j = json_loadb(s->tail + i, s->tail_len - i, JSON_DISABLE_EOF_CHECK, NULL);
        msg = json_string_value(json_object_get(json_object_get(j, "errorDetail"), "message"));
        if (msg)
            break;
        json_decref(j);
        j = NULL;
    }
    if (msg)
        return berr_code(err, EIO, "%s", msg);
    return berr_code(err, EPROTO,
                     "the archive the daemon sent is incomplete (%llu bytes, not whole tar "
                     "blocks)",
                     (unsigned long long)s->total);
}

static int run_save(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    const char *output = cli_string(cli, "output");
    if (output[0] == '\0' && cli->out_is_tty)
        return cli_fail(cli, berr_new(EINVAL, "cowardly refusing to save to a terminal. Use the "
                                              "-o flag or redirect"));
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_free_ char *path = xstrdup("/images/get");
    for (int i = 0; i < argc; i++) {
        _cleanup_free_ char *e = cli_api_escape(argv[i]);
        char *longer = xasprintf("%s%cnames=%s", path, i == 0 ? '?' : '&', e);
        free(path);
        path = longer;
    }
    _cleanup_free_ char *tmp = NULL;
    struct sink s = {.fd = STDOUT_FILENO, .name = "standard output", .tail = xmalloc(TAIL_MAX)};
    if (output[0]) {
        tmp = xasprintf("%s.berth-tmp", output);
        s.name = output;
        s.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (s.fd < 0) {
            free(s.tail);
            return cli_fail(cli, berr_new(errno, "create %s", tmp));
        }
    } else {
        fflush(cli->out);
    }
    int r = cli_api_stream(api, "GET", path, NULL, NULL, on_data, &s, NULL, &err);
    if (r >= 0 && s.err) {
        err = steal_ptr(&s.err);
        r = -1;
    }
    if (r >= 0)
        r = check_complete(&s, &err);
    if (output[0]) {
        if (r >= 0 && fsync(s.fd) < 0)
            r = berr_sys(&err, "write %s", output);
        if (close(s.fd) < 0 && r >= 0)
            r = berr_sys(&err, "write %s", output);
        if (r >= 0 && rename(tmp, output) < 0)
            r = berr_sys(&err, "rename %s to %s", tmp, output);
        if (r < 0)
            unlink(tmp);
    }
    berr_free(s.err);
    free(s.tail);
    return r < 0 ? cli_fail(cli, err) : 0;
}

static const struct cli_flag save_flags[] = {
    {"output", 'o', CLI_FLAG_STRING, "Write to a file, instead of STDOUT"},
    {NULL},
};

const struct cli_command cli_cmd_save = {
    .name = "save",
    .usage = "[OPTIONS] IMAGE [IMAGE...]",
    .short_desc = "Save one or more images to a tar archive (streamed to STDOUT by default)",
    .flags = save_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_save,
};
