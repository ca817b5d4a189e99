/* Matching values of Docker's API filters ({"key": ["value", ...]}), as its filters.Args does. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

/* Whether s is one of the values (an array of strings). */
bool filter_has(json_t *vals, const char *s);
/* Whether pattern, an unanchored POSIX extended regular expression, matches s; an invalid
 * pattern matches nothing (Docker skips patterns its regexp package refuses). */
bool filter_regex(const char *pattern, const char *s);
/* Whether any of the values matches s exactly or as filter_regex. */
bool filter_any_regex(json_t *vals, const char *s);
