/* Private to manifest.c and platform.c: small helpers both need. Not part of the image API;
 * nothing outside those two files includes this. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "common/cleanup.h"

static inline bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

#define IN(s, list) in_list((s), (list), ARRAY_SIZE(list))

/* True for the media types of a single image manifest (OCI or Docker schema 2). */
bool img_is_image_manifest_type(const char *mt);
