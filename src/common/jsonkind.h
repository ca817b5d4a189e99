/* What kind of JSON value something is, in the words error messages use ("an object",
 * "a string"...), for "expected X, got Y" errors about untrusted JSON. */
#pragma once

#include <jansson.h>

const char *json_kind(const json_t *v);
