/* Error objects: every fallible function takes `struct berr **err` last, returns < 0 (or NULL)
 * and fills *err with errno and a message that carries its context. Libraries never print. */
#pragma once

#include <stdarg.h>

struct berr {
    int errnum; /* 0 when the failure is not a system error */
    char *msg;  /* full message, including strerror(errnum) when errnum != 0 */
};

/* Set *err (if err is non-NULL and *err is empty) and return -1. */
int berr_set(struct berr **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, but errnum only classifies the failure (ENOENT: not found, EACCES: refused...) and
 * adds no strerror text: for messages that already say what happened. */
int berr_code(struct berr **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, with errnum taken from errno. */
int berr_sys(struct berr **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix an existing error with context: "ctx: old message". Returns -1. */
int berr_wrap(struct berr **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A new error object (for callers that report rather than return). */
struct berr *berr_new(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void berr_free(struct berr *e);
void berr_freep(struct berr **e);
