/* Docker's JSON message streams (pull, push, load, import) shown as the docker CLI shows them:
 * layer rows through progress.h, status and stream text as lines, auxiliary messages handed to
 * the caller, and the stream's error message, which ends it, as the command's error. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/client.h"
#include "cli/progress.h"
#include "common/err.h"

typedef void (*cli_jsonmsg_aux_fn)(void *ctx, json_t *aux);

struct cli_jsonmsg {
    FILE *out; /* NULL: show nothing (-q), errors and aux still count */
    int width; /* columns for progress bars: the terminal's, else docker's 200 */
    struct cli_progress rows;
    cli_jsonmsg_aux_fn on_aux;
    void *aux_ctx;
    char *line; /* a message not yet complete */
    size_t len;
    struct berr *error; /* the first error: the stream's own, or one reading it */
};

/* tty: out is a terminal of width columns (0: unknown). */
void cli_jsonmsg_init(struct cli_jsonmsg *m, FILE *out, bool tty, int width);
void cli_jsonmsg_clear(struct cli_jsonmsg *m);

/* A cli_api_data_fn (ctx is the cli_jsonmsg): shows the complete messages in buf; non-zero
 * once an error has ended the stream. */
int cli_jsonmsg_feed(void *ctx, const char *buf, size_t len);
/* After the last bytes: shows what is left, then 0, or -1 with the stream's error ("manifest
 * unknown", as the daemon wrote it) or why the stream could not be read. */
int cli_jsonmsg_end(struct cli_jsonmsg *m, struct berr **err);
/* A whole request whose answer is such a stream (pull, push, import from a URL), shown on out
 * (NULL: nothing) as above; headers as cli_api_stream's. 0, or -1 with the error. */
int cli_jsonmsg_request(struct cli_api *api, const char *method, const char *path,
                        const char *const *headers, FILE *out, bool tty, int width,
                        struct berr **err);
/* Feeds the rest of an answer read on a raw connection (load, import), then ends. */
int cli_jsonmsg_read(struct cli_jsonmsg *m, struct cli_conn *c, struct berr **err);
