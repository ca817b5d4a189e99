/* An image as Docker's GET /images/{name}/json shows it: the one rendering shared by
 * `berth image inspect` and berthd's inspect endpoint. */
#pragma once

#include <jansson.h>

#include "common/err.h"
#include "image/imagedb.h"
#include "image/snapshot.h"
#include "image/store.h"

/* The inspect object of r (a new reference): Id, RepoTags, RepoDigests (familiar forms),
 * Parent, Comment, Created, DockerVersion, Author, Config, Architecture, Variant and OsVersion
 * (when the config has them), Os, Size, GraphDriver (LowerDir only when sn is non-NULL), RootFS
 * and Metadata. The config blob is read, and its digest checked, from s. Fields that depend on
 * the API version are the caller's to add. */
json_t *img_inspect_json(struct img_store *s, struct img_snapshotter *sn,
                         const struct img_record *r, struct berr **err);
