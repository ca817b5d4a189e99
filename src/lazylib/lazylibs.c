/* Late binding of libarchive, libcurl and libcrypto in berthd and the berth CLI.
 *
 * Linked normally, these three bring some thirty more libraries (TLS, Kerberos, LDAP, ICU,
 * libxml2, libstdc++, compressors) whose mapping and relocation cost berthd about 4 MB of
 * resident memory before it has done anything, and every run of the CLI some 15 ms before
 * main(), while most daemons spend most of their life never pulling an image and most CLI runs
 * only talk to the daemon. So both programs define each function they use from them
 * (lazylibs.def) with the library's own prototype: the definition here wins over the shared
 * library at link time, --as-needed then drops the library from the program's dependencies, and
 * the first call dlopen()s it and binds the real function. The prototypes come from the libraries'
 * headers, so a mismatch is a compile error; the sonames are the ABI versions we build
 * against. Other programs (berth-runc, the tests) link them as usual, or not at all. */
#define CURL_DISABLE_TYPECHECK 1

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "lazylib/lazylibs.h"

struct lazylib {
    const char *soname;
    const char *needed_for;
    pthread_once_t once;
    void *handle;
    char error[256];
};

static struct lazylib lib_archive = {"libarchive.so.13", "images, cp, export and commit",
                                     PTHREAD_ONCE_INIT, NULL, ""};
static struct lazylib lib_curl = {"libcurl.so.4", "talking to registries", PTHREAD_ONCE_INIT, NULL,
                                  ""};
static struct lazylib lib_crypto = {"libcrypto.so.3", "image digests", PTHREAD_ONCE_INIT, NULL, ""};

#define LIB_OPEN_FN(l)                                                                             \
    static void open_##l(void)                                                                     \
    {                                                                                              \
        lib_##l.handle = dlopen(lib_##l.soname, RTLD_NOW | RTLD_LOCAL);                            \
        if (lib_##l.handle == NULL)                                                                \
            snprintf(lib_##l.error, sizeof(lib_##l.error), "%s", dlerror());                       \
    }
LIB_OPEN_FN(archive)
LIB_OPEN_FN(curl)
LIB_OPEN_FN(crypto)

static void *lib_handle(struct lazylib *l, void (*open_fn)(void))
{
    pthread_once(&l->once, open_fn);
    return l->handle;
}

/* A library that cannot be loaded is what a missing one is to the dynamic linker: fatal. The
 * package's dependencies make it present; the message says what to install. */
static void *bind_sym(struct lazylib *l, void (*open_fn)(void), const char *name)
{
    void *h = lib_handle(l, open_fn);
    void *sym = h ? dlsym(h, name) : NULL;
    if (sym == NULL) {
        fprintf(stderr, "%s: cannot use %s from %s (needed for %s): %s\n",
                program_invocation_short_name, name, l->soname, l->needed_for,
                h ? dlerror() : l->error);
        abort();
    }
    return sym;
}

/* The bound address is cached per function; two threads racing on the first call both look it
 * up and store the same value. */
#define LAZY_SYM(l, name)                                                                          \
    static void *_Atomic bound;                                                                    \
    void *sym = atomic_load_explicit(&bound, memory_order_acquire);                                \
    if (sym == NULL) {                                                                             \
        sym = bind_sym(&lib_##l, open_##l, #name);                                                 \
        atomic_store_explicit(&bound, sym, memory_order_release);                                  \
    }

#define LAZY_FN(l, ret, name, params, args)                                                        \
    ret name params                                                                                \
    {                                                                                              \
        LAZY_SYM(l, name)                                                                          \
        return ((ret(*) params)sym)args;                                                           \
    }
#define LAZY_VFN(l, name, params, args)                                                            \
    void name params                                                                               \
    {                                                                                              \
        LAZY_SYM(l, name)                                                                          \
        ((void(*) params)sym) args;                                                                \
    }

#define LAZY0(l, r, n)                LAZY_FN(l, r, n, (void), ())
#define LAZY1(l, r, n, A)             LAZY_FN(l, r, n, (A a), (a))
#define LAZY2(l, r, n, A, B)          LAZY_FN(l, r, n, (A a, B b), (a, b))
#define LAZY3(l, r, n, A, B, C)       LAZY_FN(l, r, n, (A a, B b, C c), (a, b, c))
#define LAZY4(l, r, n, A, B, C, D)    LAZY_FN(l, r, n, (A a, B b, C c, D d), (a, b, c, d))
#define LAZY5(l, r, n, A, B, C, D, E) LAZY_FN(l, r, n, (A a, B b, C c, D d, E e), (a, b, c, d, e))
#define LAZY6(l, r, n, A, B, C, D, E, F)                                                           \
    LAZY_FN(l, r, n, (A a, B b, C c, D d, E e, F f), (a, b, c, d, e, f))
#define LAZYV1(l, n, A)          LAZY_VFN(l, n, (A a), (a))
#define LAZYV2(l, n, A, B)       LAZY_VFN(l, n, (A a, B b), (a, b))
#define LAZYV3(l, n, A, B, C)    LAZY_VFN(l, n, (A a, B b, C c), (a, b, c))
#define LAZYV4(l, n, A, B, C, D) LAZY_VFN(l, n, (A a, B b, C c, D d), (a, b, c, d))
#define LAZYV0(l, n)             LAZY_VFN(l, n, (void), ())

#include "lazylib/lazylibs.def"

/* ---- the variadic ones: the argument's type follows from the option, as curl documents ---- */

CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
    LAZY_SYM(curl, curl_easy_setopt)
    CURLcode (*fn)(CURL *, CURLoption, ...) = (CURLcode(*)(CURL *, CURLoption, ...))sym;
    va_list ap;
    va_start(ap, option);
    CURLcode rc;
    if (option < CURLOPTTYPE_OBJECTPOINT)
        rc = fn(curl, option, va_arg(ap, long));
    else if (option < CURLOPTTYPE_FUNCTIONPOINT)
        rc = fn(curl, option, va_arg(ap, void *));
    else if (option < CURLOPTTYPE_OFF_T)
        rc = fn(curl, option, va_arg(ap, void (*)(void)));
    else if (option < CURLOPTTYPE_BLOB)
        rc = fn(curl, option, va_arg(ap, curl_off_t));
    else
        rc = fn(curl, option, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    LAZY_SYM(curl, curl_easy_getinfo)
    CURLcode (*fn)(CURL *, CURLINFO, ...) = (CURLcode(*)(CURL *, CURLINFO, ...))sym;
    va_list ap;
    va_start(ap, info);
    CURLcode rc = fn(curl, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

CURLSHcode curl_share_setopt(CURLSH *share, CURLSHoption option, ...)
{
    LAZY_SYM(curl, curl_share_setopt)
    CURLSHcode (*fn)(CURLSH *, CURLSHoption, ...) = (CURLSHcode(*)(CURLSH *, CURLSHoption, ...))sym;
    va_list ap;
    va_start(ap, option);
    CURLSHcode rc;
    switch (option) {
    case CURLSHOPT_SHARE:
    case CURLSHOPT_UNSHARE:
        rc = fn(share, option, va_arg(ap, int));
        break;
    case CURLSHOPT_LOCKFUNC:
    case CURLSHOPT_UNLOCKFUNC:
        rc = fn(share, option, va_arg(ap, void (*)(void)));
        break;
    default:
        rc = fn(share, option, va_arg(ap, void *));
        break;
    }
    va_end(ap);
    return rc;
}

void archive_set_error(struct archive *a, int err, const char *fmt, ...)
{
    LAZY_SYM(archive, archive_set_error)
    void (*fn)(struct archive *, int, const char *, ...) =
        (void (*)(struct archive *, int, const char *, ...))sym;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fn(a, err, "%s", msg);
}

/* ---- the whole list, for the check that every function can be bound ---- */

#undef LAZY0
#undef LAZY1
#undef LAZY2
#undef LAZY3
#undef LAZY4
#undef LAZY5
#undef LAZY6
#undef LAZYV0
#undef LAZYV1
#undef LAZYV2
#undef LAZYV3
#undef LAZYV4
#define ENTRY(l, n)         {&lib_##l, open_##l, #n},
#define LAZY0(l, r, n)      ENTRY(l, n)
#define LAZY1(l, r, n, ...) ENTRY(l, n)
#define LAZY2(l, r, n, ...) ENTRY(l, n)
#define LAZY3(l, r, n, ...) ENTRY(l, n)
#define LAZY4(l, r, n, ...) ENTRY(l, n)
#define LAZY5(l, r, n, ...) ENTRY(l, n)
#define LAZY6(l, r, n, ...) ENTRY(l, n)
#define LAZYV0(l, n)        ENTRY(l, n)
#define LAZYV1(l, n, ...)   ENTRY(l, n)
#define LAZYV2(l, n, ...)   ENTRY(l, n)
#define LAZYV3(l, n, ...)   ENTRY(l, n)
#define LAZYV4(l, n, ...)   ENTRY(l, n)

static const struct {
    struct lazylib *lib;
    void (*open_fn)(void);
    const char *name;
} all_fns[] = {
#include "lazylib/lazylibs.def"
    ENTRY(curl, curl_easy_setopt) ENTRY(curl, curl_easy_getinfo) ENTRY(curl, curl_share_setopt)
        ENTRY(archive, archive_set_error)};

int lazylibs_check(char *missing, size_t len)
{
    size_t used = 0;
    int n = 0;
    if (len > 0)
        missing[0] = '\0';
    for (size_t i = 0; i < sizeof(all_fns) / sizeof(all_fns[0]); i++) {
        void *h = lib_handle(all_fns[i].lib, all_fns[i].open_fn);
        if (h != NULL && dlsym(h, all_fns[i].name) != NULL)
            continue;
        n++;
        if (used < len) {
            int w = snprintf(missing + used, len - used, "%s%s (%s)", used ? ", " : "",
                             all_fns[i].name, all_fns[i].lib->soname);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    return n;
}
