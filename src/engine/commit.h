/* A container's filesystem changes (docker diff) and images made from a container (docker
 * commit). Errors carry the engine's errno classes (ENOENT 404, EBUSY 409, EINVAL 400). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"
#include "engine/engine.h"
#include "image/digest.h"

/* GET /containers/{id}/changes: [{"Path":"/etc","Kind":0}, ...] (0 modified, 1 added,
 * 2 deleted), for a running or stopped container, Docker's rules and order (see
 * img_diff_changes); the mount points the runtime makes (/etc/hosts, /proc...) are not changes
 * unless the image has them. A new array. */
json_t *eng_changes(struct eng *e, const char *ref, struct berr **err);

struct eng_commit_opts {
    const char *name;     /* normalised reference ("docker.io/library/x:1") to tag; NULL */
    const char *author;   /* may be NULL */
    const char *comment;  /* may be NULL */
    char *const *changes; /* Dockerfile instructions (CMD, ENV...), NULL-terminated; may be NULL */
    /* Config fields (Docker's container Config) to commit instead of the container's, which
     * still fills what they leave empty; NULL, null or {}: the container's. Borrowed. */
    json_t *config;
    bool pause; /* pause a running container while its layer is read */
};

/* POST /commit: a new image of the container's image plus its changes as one layer (none when
 * nothing changed), whose config is the container's Config (or o->config completed from it)
 * with the changes applied, as Docker makes it; tagged with o->name. A running container is
 * paused meanwhile when asked (and unpaused after, unless it was paused before) and keeps
 * running. id gets "sha256:...". Errors: no such container (ENOENT), a container being removed
 * (EBUSY), a bad change or config (EINVAL); then no image is made. */
int eng_commit(struct eng *e, const char *ref, const struct eng_commit_opts *o,
               char id[IMG_DIGEST_MAX], struct berr **err);
