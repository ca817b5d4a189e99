/* Helpers of the container commands: paths, the pull behind run and create (with docker's
 * progress lines, and the credentials `berth login` stored), waits and exit statuses. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/common.h"
#include "cli/container.h"
#include "cli/jsonmsg.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/ref.h"

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
    _cleanup_free_ char *auth = NULL;
    if (cli_registry_auth(cli, ref->domain, &auth, err) < 0)
        return -1;
    const char *headers[] = {auth, NULL};
    return cli_jsonmsg_request(api, "POST", path, headers, quiet ? NULL : cli->err,
                               isatty(fileno(cli->err)), cli->term_width, err);
}
