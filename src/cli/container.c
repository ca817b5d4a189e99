/* Helpers of the container commands: paths, the pull behind run and create (with docker's
 * progress lines, and the credentials `berth login` stored), waits and exit statuses. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/container.h"
#include "cli/progress.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/ref.h"
#include "registry/credentials.h"

char *cli_ctr_path(const char *ref, const char *suffix)
{
    _cleanup_free_ char *e = cli_api_escape(ref);
    return xasprintf("/containers/%s%s", e, suffix ? suffix : "");
}

const char *cli_short_id(const char *id, bool no_trunc, char *buf)
{
    snprintf(buf, 65, no_trunc ? "%s" : "%.12s", id ? id : "");
    return buf;
}

int cli_start_status(const char *msg)
{
    if (strstr(msg, "executable file not found") || strstr(msg, "no such file or directory") ||
        strstr(msg, "system cannot find the file specified"))
        return 127;
    if (strstr(msg, "permission denied") || strstr(msg, "is a directory"))
        return 126;
    return 125;
}

bool cli_confirm(struct cli *cli, const char *warning)
{
    fprintf(cli->out, "%s\nAre you sure you want to continue? [y/N] ", warning);
    fflush(cli->out);
    char line[64] = "";
    if (fgets(line, sizeof(line), cli->in) == NULL)
        return false;
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    return (p[0] == 'y' || p[0] == 'Y') && (p[1] == '\n' || p[1] == '\0' || p[1] == ' ');
}

int cli_wait_open(struct cli_api *api, const char *id, const char *condition, struct cli_conn **out,
                  struct berr **err)
{
    _cleanup_free_ char *suffix = xasprintf("/wait?condition=%s", condition);
    _cleanup_free_ char *path = cli_ctr_path(id, suffix);
    return cli_conn_open(api, "POST", path, NULL, false, out, err);
}

int cli_wait_status(struct cli *cli, struct cli_conn *wait, struct berr **err)
{
    _cleanup_json_ json_t *res = cli_conn_read_json(wait, err);
    if (res == NULL)
        return berr_wrap(err, "waiting for the container");
    const char *msg = json_string_value(json_object_get(json_object_get(res, "Error"), "Message"));
    if (msg && *msg) {
        fprintf(cli->err, "Error waiting for container: %s\n", msg);
        return 125;
    }
    return (int)(json_integer_value(json_object_get(res, "StatusCode")) & 0xff);
}

/* ---- pull ---- */

struct pull_view {
    struct cli *cli;
    struct cli_progress rows;
    bool quiet;
    char *line; /* a partial JSON line */
    size_t len;
    char *error;
};

static void show_message(struct pull_view *v, json_t *m)
{
    const char *error = json_string_value(json_object_get(m, "error"));
    if (error) {
        free(v->error);
        v->error = xstrdup(error);
        return;
    }
    if (v->quiet)
        return;
    const char *id = json_string_value(json_object_get(m, "id"));
    const char *status = json_string_value(json_object_get(m, "status"));
    const char *progress = json_string_value(json_object_get(m, "progress"));
    if (status == NULL)
        return;
    if (id && *id) {
        cli_progress_set(&v->rows, id, status, progress);
        return;
    }
    cli_progress_clear(&v->rows);
    cli_progress_init(&v->rows, v->cli->err, v->rows.tty);
    fprintf(v->cli->err, "%s\n", status);
}

static int on_pull_data(void *p, const char *buf, size_t len)
{
    struct pull_view *v = p;
    v->line = xrealloc(v->line, v->len + len + 1);
    memcpy(v->line + v->len, buf, len);
    v->len += len;
    v->line[v->len] = '\0';
    char *start = v->line, *nl;
    while ((nl = memchr(start, '\n', v->len - (size_t)(start - v->line))) != NULL) {
        *nl = '\0';
        _cleanup_json_ json_t *m = json_loads(start, 0, NULL);
        if (m)
            show_message(v, m);
        start = nl + 1;
    }
    v->len -= (size_t)(start - v->line);
    memmove(v->line, start, v->len);
    return 0;
}

/* docker's X-Registry-Auth: base64url JSON of what `login` stored for the image's registry. */
static char *auth_header(struct cli *cli, const char *domain)
{
    _cleanup_free_ char *file = cli_config_file(cli);
    _cleanup_free_ char *user = NULL, *secret = NULL;
    if (reg_credentials_get(file, domain, &user, &secret, NULL) != 0)
        return NULL;
    _cleanup_free_ char *server = reg_credentials_key(domain);
    _cleanup_json_ json_t *j =
        json_pack("{s:s, s:s, s:s}", "username", user, "password", secret, "serveraddress", server);
    _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
    _cleanup_free_ char *b64 = reg_base64_encode(text, strlen(text));
    for (char *c = b64; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    return xasprintf("X-Registry-Auth: %s", b64);
}

int cli_pull_image(struct cli *cli, struct cli_api *api, const char *image, const char *platform,
                   bool quiet, struct berr **err)
{
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (img_ref_parse(image, &ref, err) < 0)
        return -1;
    _cleanup_free_ char *repo = img_ref_familiar_repo(ref);
    _cleanup_free_ char *erepo = cli_api_escape(repo);
    _cleanup_free_ char *etag = cli_api_escape(ref->digest ? ref->digest : ref->tag);
    _cleanup_free_ char *eplat = cli_api_escape(platform ? platform : "");
    _cleanup_free_ char *path =
        xasprintf("/images/create?fromImage=%s&tag=%s%s%s", erepo, etag,
                  platform && *platform ? "&platform=" : "", platform && *platform ? eplat : "");
    _cleanup_free_ char *auth = auth_header(cli, ref->domain);
    const char *headers[] = {auth, NULL};
    struct pull_view v = {.cli = cli, .quiet = quiet};
    cli_progress_init(&v.rows, cli->err, isatty(fileno(cli->err)));
    int rc = cli_api_stream(api, "POST", path, NULL, headers, on_pull_data, &v, NULL, err);
    cli_progress_clear(&v.rows);
    free(v.line);
    if (rc >= 0 && v.error)
        rc = berr_code(err, EIO, "%s", v.error);
    free(v.error);
    return rc < 0 ? -1 : 0;
}
