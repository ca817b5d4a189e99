/* GET /containers/{id}/changes (docker diff) and POST /commit (docker commit): the query and
 * body as Docker reads them, checked before the engine does anything. */
#include <string.h>

#include "api/api.h"
#include "api/h_images_internal.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "engine/commit.h"

static void changes(struct api_req *r)
{
    _cleanup_berr_ struct berr *err = NULL;
    json_t *out = eng_changes(api_daemon(r)->engine, api_param(r, "id"), &err);
    if (out == NULL) {
        api_reply_berr(r, err);
        return;
    }
    /* Docker's change list is a Go slice, so no changes is null, not [] */
    if (json_array_size(out) == 0) {
        json_decref(out);
        out = json_null();
    }
    api_reply_json(r, 200, out);
}

static void commit(struct api_req *r)
{
    struct api_daemon *d = api_daemon(r);
    json_t *body = api_body_json(r);
    if (body == NULL)
        return;
    if (!json_is_object(body) && !json_is_null(body)) {
        api_reply_error(r, 400,
                        "invalid commit config: expected a JSON object (a container "
                        "Config) or an empty body");
        return;
    }
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_ref_ struct img_ref *ref = NULL;
    /* as Docker: a tag without a repository names nothing */
    const char *repo = api_query(r, "repo");
    if (repo && repo[0] && api_img_repo_tag(repo, api_query(r, "tag"), &ref, &err) < 0) {
        api_reply_berr(r, err);
        return;
    }
    const char *ctr = api_query(r, "container");
    if (ctr == NULL || ctr[0] == '\0') {
        api_reply_error(r, 400, "no container given: set container=ID or NAME");
        return;
    }
    _cleanup_free_ char *name = ref ? img_ref_string(ref) : NULL;
    _cleanup_strv_ char **chg = strv_dup((char *const *)api_query_all(r, "changes"));
    struct eng_commit_opts o = {
        .name = name,
        .author = api_query(r, "author"),
        .comment = api_query(r, "comment"),
        .changes = chg,
        .config = json_is_object(body) ? body : NULL,
        .pause = api_query_bool(r, "pause", true),
    };
    char id[IMG_DIGEST_MAX];
    if (eng_commit(d->engine, ctr, &o, id, &err) < 0) {
        api_reply_berr(r, err);
        return;
    }
    if (ref) {
        _cleanup_json_ json_t *labels = api_img_labels(d->store, id);
        _cleanup_free_ char *familiar = img_ref_familiar(ref);
        api_img_event(d, "tag", id, familiar, labels);
    }
    api_reply_json(r, 201, json_pack("{s:s}", "Id", id));
}

const struct api_route api_commit_routes[] = {
    {"GET", "/containers/{id}/changes", changes, 0},
    {"POST", "/commit", commit, 0},
    {NULL, NULL, NULL, 0},
};
