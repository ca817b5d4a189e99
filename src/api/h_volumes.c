/* The /volumes endpoints of the Docker Engine API over the volume store: list, create,
 * inspect, remove and prune with Docker's status codes and messages, and the cluster-volume
 * calls a node without swarm refuses as Docker does. The store publishes the events. */
#include <string.h>

#include "api/api.h"
#include "common/cleanup.h"
#include "volume/volume.h"

/* Docker's answers for swarm-only requests on a node that is not a manager. */
#define NO_SWARM_CREATE                                                                            \
    "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to "     \
    "connect this node to swarm and try again."
#define NO_SWARM_UPDATE "volume update only valid for cluster volumes, but swarm is unavailable"

static void volumes_list(struct api_req *r)
{
    json_t *filters = api_filters(r);
    if (filters == NULL)
        return;
    _cleanup_berr_ struct berr *err = NULL;
    json_t *vols = vol_list(api_daemon(r)->volumes, filters, false, &err);
    if (vols == NULL) {
        api_reply_berr(r, err);
        return;
    }
    api_reply_json(r, 200, json_pack("{s:o, s:[]}", "Volumes", vols, "Warnings"));
}

static const char *json_kind(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    default:
        return "bool";
    }
}

/* A field of the create body: absent and null are fine, anything but the expected type is
 * refused with the words Go's decoder uses, which clients already show to users. */
static bool body_field_ok(struct api_req *r, json_t *body, const char *key, json_type want)
{
    json_t *v = json_object_get(body, key);
    if (v == NULL || json_is_null(v) || json_typeof(v) == want)
        return true;
    api_reply_error(r, 400,
                    "json: cannot unmarshal %s into Go struct field CreateOptions.%s of type %s",
                    json_kind(v), key, want == JSON_STRING ? "string" : "map[string]string");
    return false;
}

static bool string_map_ok(struct api_req *r, json_t *body, const char *key)
{
    if (!body_field_ok(r, body, key, JSON_OBJECT))
        return false;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(body, key), k, v)
    {
        if (!json_is_string(v)) {
            api_reply_error(r, 400,
                            "json: cannot unmarshal %s into Go struct field CreateOptions.%s of "
                            "type string",
                            json_kind(v), key);
            return false;
        }
    }
    return true;
}

static void volumes_create(struct api_req *r)
{
    json_t *body = api_body_json(r);
    if (body == NULL)
        return;
    if (!json_is_object(body)) {
        api_reply_error(r, 400,
                        "json: cannot unmarshal %s into Go value of type "
                        "volume.CreateOptions",
                        json_kind(body));
        return;
    }
    if (!body_field_ok(r, body, "Name", JSON_STRING) ||
        !body_field_ok(r, body, "Driver", JSON_STRING) || !string_map_ok(r, body, "DriverOpts") ||
        !string_map_ok(r, body, "Labels"))
        return;
    json_t *cluster = json_object_get(body, "ClusterVolumeSpec");
    if (cluster && !json_is_null(cluster) && api_version(r) >= 142) {
        api_reply_error(r, 503, NO_SWARM_CREATE);
        return;
    }
    _cleanup_berr_ struct berr *err = NULL;
    json_t *vol = vol_create(
        api_daemon(r)->volumes, json_string_value(json_object_get(body, "Name")),
        json_string_value(json_object_get(body, "Driver")), json_object_get(body, "DriverOpts"),
        json_object_get(body, "Labels"), NULL, NULL, &err);
    if (vol == NULL) {
        api_reply_berr(r, err);
        return;
    }
    api_reply_json(r, 201, vol);
}

static void volumes_inspect(struct api_req *r)
{
    _cleanup_berr_ struct berr *err = NULL;
    json_t *vol = vol_get(api_daemon(r)->volumes, api_param(r, "name"), false, &err);
    if (vol == NULL) {
        api_reply_berr(r, err);
        return;
    }
    api_reply_json(r, 200, vol);
}

static void volumes_update(struct api_req *r)
{
    if (api_version(r) < 142) {
        api_reply_error(r, 400, "PUT /volumes/{name:.*} requires minimum API version 1.42");
        return;
    }
    api_reply_error(r, 503, NO_SWARM_UPDATE);
}

static void volumes_remove(struct api_req *r)
{
    bool force = api_query_bool(r, "force", false);
    _cleanup_berr_ struct berr *err = NULL;
    if (vol_remove(api_daemon(r)->volumes, api_param(r, "name"), force, &err) < 0) {
        api_reply_berr(r, err);
        return;
    }
    api_reply_json(r, 204, NULL);
}

static void volumes_prune(struct api_req *r)
{
    if (api_version(r) < 125) {
        api_reply_error(r, 400, "POST /volumes/prune requires minimum API version 1.25");
        return;
    }
    json_t *filters = api_filters(r);
    if (filters == NULL)
        return;
    /* Before 1.42 prune took every unused volume; since, only anonymous ones unless all=true. */
    bool all = api_version(r) < 142;
    _cleanup_berr_ struct berr *err = NULL;
    json_t *report = vol_prune(api_daemon(r)->volumes, filters, all, &err);
    if (report == NULL) {
        api_reply_berr(r, err);
        return;
    }
    api_reply_json(r, 200, report);
}

const struct api_route api_volume_routes[] = {
    {"GET", "/volumes", volumes_list, 0},
    {"POST", "/volumes/create", volumes_create, 0},
    {"POST", "/volumes/prune", volumes_prune, 0},
    {"GET", "/volumes/{name*}", volumes_inspect, 0},
    {"PUT", "/volumes/{name*}", volumes_update, 0},
    {"DELETE", "/volumes/{name*}", volumes_remove, 0},
    {NULL, NULL, NULL, 0},
};
