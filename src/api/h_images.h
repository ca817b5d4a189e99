/* The image part of berthd's GET /system/df, for the system handlers to include. */
#pragma once

#include <jansson.h>

#include "api/api.h"
#include "common/err.h"

/* {"LayersSize": bytes of every unpacked layer the images use, each counted once,
 *  "Images": [image summaries as GET /images/json gives them, with SharedSize computed and
 *  Containers counting the containers that hold the image]}. A new reference; NULL with *err
 *  set when the image records cannot be read. */
json_t *api_images_df(struct api_daemon *d, struct berr **err);
