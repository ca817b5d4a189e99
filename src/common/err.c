/* Error object construction and context wrapping. */
#include "common/err.h"
#include "common/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 0))) static int berr_vset(struct berr **err, int errnum,
                                                          const char *fmt, va_list ap)
{
    if (err == NULL || *err != NULL)
        return -1;
    char *base = xvasprintf(fmt, ap);
    struct berr *e = xmalloc(sizeof(*e));
    e->errnum = errnum;
    if (errnum != 0) {
        e->msg = xasprintf("%s: %s", base, strerror(errnum));
        free(base);
    } else {
        e->msg = base;
    }
    *err = e;
    return -1;
}

int berr_code(struct berr **err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = berr_vset(err, 0, fmt, ap);
    va_end(ap);
    if (err && *err && (*err)->errnum == 0)
        (*err)->errnum = errnum;
    return r;
}

int berr_set(struct berr **err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    berr_vset(err, errnum, fmt, ap);
    va_end(ap);
    return -1;
}

int berr_sys(struct berr **err, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    berr_vset(err, saved, fmt, ap);
    va_end(ap);
    errno = saved;
    return -1;
}

int berr_wrap(struct berr **err, const char *fmt, ...)
{
    if (err == NULL || *err == NULL)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    char *ctx = xvasprintf(fmt, ap);
    va_end(ap);
    char *msg = xasprintf("%s: %s", ctx, (*err)->msg);
    free(ctx);
    free((*err)->msg);
    (*err)->msg = msg;
    return -1;
}

struct berr *berr_new(int errnum, const char *fmt, ...)
{
    struct berr *e = NULL;
    va_list ap;
    va_start(ap, fmt);
    berr_vset(&e, errnum, fmt, ap);
    va_end(ap);
    return e;
}

void berr_free(struct berr *e)
{
    if (e == NULL)
        return;
    free(e->msg);
    free(e);
}

void berr_freep(struct berr **e)
{
    berr_free(*e);
    *e = NULL;
}
