/* OCI hooks: each runs with the container state JSON on stdin, its own args and env, and an
 * optional timeout after which it is killed. */
#pragma once

#include "common/err.h"
#include "runtime/spec.h"

/* Run every hook of a list in order; the first failure stops the list. state_json is the
 * state document (with the status the hook kind must see). */
int rt_hooks_run(const struct rt_hook_list *list, const char *kind, const char *state_json,
                 struct berr **err);
