/* Docker's `--change` instructions (docker import, docker commit): a few Dockerfile instructions
 * applied to an image's container defaults, the object under "config" in an image config. */
#pragma once

#include <jansson.h>

#include "common/err.h"

/* Applies changes (a NULL-terminated vector of Dockerfile lines, joined as one Dockerfile: blank
 * lines and comments are skipped, a trailing backslash continues a line; may be NULL) to config,
 * a JSON object that is changed in place. Allowed, as in Docker: CMD, ENTRYPOINT, ENV, EXPOSE,
 * LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR; shell quoting, backslash escapes and $VAR /
 * ${VAR} / ${VAR:-x} / ${VAR:+x} expansion from the Env defined so far, where Docker applies
 * them. Any other instruction fails with Docker's "<instr> is not a valid change command". Every
 * line is applied to a copy first: on error config is left as it was. */
int img_changes_apply(json_t *config, char *const *changes, struct berr **err);
