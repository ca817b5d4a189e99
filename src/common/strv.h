/* NULL-terminated string vectors; the vector and every string are owned by whoever holds it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

size_t strv_length(char *const *v);
char **strv_dup(char *const *v);
/* Append a copy of s, reallocating; *v may be NULL. */
void strv_append(char ***v, const char *s);
bool strv_contains(char *const *v, const char *s);
/* For env-style "KEY=VALUE" vectors: replace or add. */
void strv_env_set(char ***v, const char *kv);
