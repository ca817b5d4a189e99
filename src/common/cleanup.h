/* Scope-bound cleanup for owned locals, and explicit ownership transfer. */
#pragma once

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>

#include "common/err.h"

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
    free(*(void **)p);
}

static inline void closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
    *fd = -1;
}

static inline void closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
    *d = NULL;
}

static inline void fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
    *f = NULL;
}

void strv_free(char **v);
static inline void strv_freep(char ***v)
{
    strv_free(*v);
    *v = NULL;
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
/* json_decrefp comes from jansson itself. */
#define _cleanup_json_ _cleanup_(json_decrefp)
#define _cleanup_strv_ _cleanup_(strv_freep)
#define _cleanup_berr_ _cleanup_(berr_freep)

/* Take ownership of *pp, leaving NULL behind; type-checked. */
#define steal_ptr(pp)                                                                              \
    ({                                                                                             \
        __typeof__(*(pp)) _stolen = *(pp);                                                         \
        *(pp) = NULL;                                                                              \
        _stolen;                                                                                   \
    })

static inline int steal_fd(int *fd)
{
    int r = *fd;
    *fd = -1;
    return r;
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
