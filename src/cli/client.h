/* The berth CLI's side of berthd's Docker Engine API: which daemon to talk to, starting one when
 * the default socket is silent, ordinary and streamed requests (libcurl), and raw connections
 * for what libcurl cannot hand over: hijacked attach/exec streams and waits whose answer comes
 * long after their head. Errors read as docker's: "Error response from daemon: MSG". */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

#define CLI_DEFAULT_HOST "unix:///run/berth/berth.sock"

struct cli;
struct cli_api;

/* The API client of this run: connects on first use to cli->host (starting berthd when the host
 * is a unix socket named berth.sock that nobody answers on, with cli->root as its data root).
 * Owned by cli (freed by cli_api_close). */
struct cli_api *cli_api_get(struct cli *cli, struct berr **err);
void cli_api_close(struct cli *cli);

/* Connect to host ("unix:///path"); autostart_root non-NULL allows starting berthd (see above)
 * with that data root. */
int cli_api_open(const char *host, const char *autostart_root, struct cli_api **out,
                 struct berr **err);
void cli_api_free(struct cli_api *a);

/* A path component or query value, percent-encoded (new string). */
char *cli_api_escape(const char *s);

/* A request; path follows the version prefix and holds the query ("/containers/json?all=1").
 * body may be NULL. Answers below 400: returns the status and, when out is non-NULL, the JSON
 * body in *out (NULL when empty). 400 and up: -1 with docker's "Error response from daemon:
 * MSG" and an errnum for the status: ENOENT 404, EEXIST 409, EINVAL 400, EPERM 403, EIO else. */
int cli_api_call(struct cli_api *a, const char *method, const char *path, json_t *body,
                 json_t **out, struct berr **err);
/* The same with extra request headers ("Name: value", NULL-terminated, may be NULL); the body
 * is handed to fn as it arrives (fn returns non-zero to stop reading, which is no error).
 * *content_type (may be NULL) gets the answer's content type (new string). */
typedef int (*cli_api_data_fn)(void *ctx, const char *buf, size_t len);
int cli_api_stream(struct cli_api *a, const char *method, const char *path, json_t *body,
                   const char *const *headers, cli_api_data_fn fn, void *ctx, char **content_type,
                   struct berr **err);

/* ---- raw connections ---- */
struct cli_conn;

/* Opens a connection of its own and sends the request; returns once the answer's head is read.
 * upgrade: ask for the raw stream (Connection: Upgrade, Upgrade: tcp), which follows a 101
 * answer. A status of 400 and up fails as cli_api_call does. */
int cli_conn_open(struct cli_api *a, const char *method, const char *path, json_t *body,
                  bool upgrade, struct cli_conn **out, struct berr **err);
/* A request with a streamed body (chunked): send it with cli_conn_send, then read the answer
 * with cli_conn_finish. */
int cli_conn_upload(struct cli_api *a, const char *method, const char *path,
                    const char *content_type, struct cli_conn **out, struct berr **err);
/* One chunk of the body: 0, or -1 with errno (EPIPE when the daemon has answered already). */
int cli_conn_send(struct cli_conn *c, const void *buf, size_t len);
/* Ends the body (end_body; false after shutdown(SHUT_WR) of a body cut short) and reads the
 * answer's head; 400 and up fail as cli_api_call does. */
int cli_conn_finish(struct cli_conn *c, bool end_body, struct berr **err);
/* A header of the answer (new string), or NULL. */
char *cli_conn_header(const struct cli_conn *c, const char *name);
void cli_conn_free(struct cli_conn *c);
void cli_conn_freep(struct cli_conn **c);
/* The socket, for poll(); for writing stdin to a hijacked stream, and shutdown(SHUT_WR). */
int cli_conn_fd(const struct cli_conn *c);
/* Body bytes read with the head and not yet taken: consume them before polling the fd. */
size_t cli_conn_buffered(const struct cli_conn *c);
/* Reads body bytes (chunked bodies decoded): returns how many, 0 at the end, -1 with errno. */
ssize_t cli_conn_read(struct cli_conn *c, void *buf, size_t len);
/* The rest of the body as JSON (a 64 KiB cap: this is for small answers such as a wait's). */
json_t *cli_conn_read_json(struct cli_conn *c, struct berr **err);

/* ---- between client.c and autostart.c ---- */
/* GET /_ping on sock: 0 when berthd answers (version gets its API-Version), else -errno
 * (-ENOENT: no socket, -ECONNREFUSED: nobody listening, -EPROTO: not an API). */
int cli_api_ping(const char *sock, char *version, size_t vlen);
/* Starts berthd for sock (a berth.sock) with data root root, detached, its log in
 * <socket dir>/berthd.log, and waits until it answers. Concurrent callers start one daemon. */
int cli_daemon_autostart(const char *sock, const char *root, struct berr **err);
