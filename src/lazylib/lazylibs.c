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
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lazylib/lazylibs.h"

/* A library can also be let go again (lazylibs_release): libarchive brings libxml2 and ICU,
 * some 1.6 MB resident once used, and berthd handles archives now and then. Calls into an
 * unloadable library hold its `use` lock shared; unloading takes it exclusively, and only while
 * nothing the library made is alive (objects counts what its constructors returned and its
 * destructors took back). Each load has a generation; a function bound in an older one is bound
 * again. */
struct lazylib {
    const char *soname;
    const char *needed_for;
    bool unloadable;
    pthread_mutex_t open_mu;
    pthread_rwlock_t use;
    void *_Atomic handle;
    _Atomic unsigned gen;
    atomic_long objects;
    atomic_bool pinned; /* something the counting cannot follow happened: never unloaded */
    char error[256];
};

#define LIB_INIT(so, why, unl)                                                                     \
    {                                                                                              \
        .soname = so, .needed_for = why, .unloadable = unl, .open_mu = PTHREAD_MUTEX_INITIALIZER,  \
        .use = PTHREAD_RWLOCK_INITIALIZER                                                          \
    }
static struct lazylib lib_archive =
    LIB_INIT("libarchive.so.13", "images, cp, export and commit", true);
/* curl keeps global state from curl_global_init, and OpenSSL pins itself in memory: both stay */
static struct lazylib lib_curl = LIB_INIT("libcurl.so.4", "talking to registries", false);
static struct lazylib lib_crypto = LIB_INIT("libcrypto.so.3", "image digests", false);

/* The library loaded (or NULL with l->error set); *gen gets the generation of this load. */
static void *lib_handle(struct lazylib *l, unsigned *gen)
{
    void *h = atomic_load_explicit(&l->handle, memory_order_acquire);
    if (h == NULL) {
        pthread_mutex_lock(&l->open_mu);
        h = atomic_load_explicit(&l->handle, memory_order_acquire);
        if (h == NULL) {
            h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
            if (h == NULL) {
                snprintf(l->error, sizeof(l->error), "%s", dlerror());
            } else {
                atomic_fetch_add(&l->gen, 1);
                atomic_store_explicit(&l->handle, h, memory_order_release);
            }
        }
        pthread_mutex_unlock(&l->open_mu);
    }
    if (gen)
        *gen = atomic_load(&l->gen);
    return h;
}

static inline void lib_enter(struct lazylib *l)
{
    if (l->unloadable)
        pthread_rwlock_rdlock(&l->use);
}

static inline void lib_leave(struct lazylib *l)
{
    if (l->unloadable)
        pthread_rwlock_unlock(&l->use);
}

/* A library that cannot be loaded is what a missing one is to the dynamic linker: fatal. The
 * package's dependencies make it present; the message says what to install. */
static void *bind_sym(struct lazylib *l, const char *name, unsigned *gen)
{
    void *h = lib_handle(l, gen);
    void *sym = h ? dlsym(h, name) : NULL;
    if (sym == NULL) {
        fprintf(stderr, "%s: cannot use %s from %s (needed for %s): %s\n",
                program_invocation_short_name, name, l->soname, l->needed_for,
                h ? dlerror() : l->error);
        abort();
    }
    return sym;
}

/* Under lib_enter. The bound address is cached per function with the generation it belongs to;
 * threads racing on a binding store the same values. */
#define LAZY_SYM(l, name)                                                                          \
    static void *_Atomic bound;                                                                    \
    static _Atomic unsigned bound_gen;                                                             \
    unsigned gen_now = 0;                                                                          \
    void *sym = NULL;                                                                              \
    if (lib_handle(&lib_##l, &gen_now) != NULL &&                                                  \
        atomic_load_explicit(&bound_gen, memory_order_acquire) == gen_now)                         \
        sym = atomic_load_explicit(&bound, memory_order_relaxed);                                  \
    if (sym == NULL) {                                                                             \
        sym = bind_sym(&lib_##l, #name, &gen_now);                                                 \
        atomic_store_explicit(&bound, sym, memory_order_relaxed);                                  \
        atomic_store_explicit(&bound_gen, gen_now, memory_order_release);                          \
    }

/* made is 1 for a constructor (a non-NULL result is a new object), 0 otherwise; destructors
 * are LAZY_FREE_FN and LAZY_VFREE_FN. */
#define LAZY_FN(l, made, ret, name, params, args)                                                  \
    ret name params                                                                                \
    {                                                                                              \
        lib_enter(&lib_##l);                                                                       \
        LAZY_SYM(l, name)                                                                          \
        ret r = ((ret(*) params)sym)args;                                                          \
        if ((made) > 0 && (void *)(uintptr_t)r != NULL)                                            \
            atomic_fetch_add(&lib_##l.objects, 1);                                                 \
        lib_leave(&lib_##l);                                                                       \
        return r;                                                                                  \
    }
#define LAZY_VFN(l, name, params, args)                                                            \
    void name params                                                                               \
    {                                                                                              \
        lib_enter(&lib_##l);                                                                       \
        LAZY_SYM(l, name)                                                                          \
        ((void(*) params)sym) args;                                                                \
        lib_leave(&lib_##l);                                                                       \
    }
#define LAZY_VFREE_FN(l, name, A)                                                                  \
    void name(A a)                                                                                 \
    {                                                                                              \
        lib_enter(&lib_##l);                                                                       \
        LAZY_SYM(l, name)                                                                          \
        if (a != NULL)                                                                             \
            atomic_fetch_sub(&lib_##l.objects, 1);                                                 \
        ((void (*)(A))sym)(a);                                                                     \
        lib_leave(&lib_##l);                                                                       \
    }
#define LAZY_FREE_FN(l, ret, name, A)                                                              \
    ret name(A a)                                                                                  \
    {                                                                                              \
        lib_enter(&lib_##l);                                                                       \
        LAZY_SYM(l, name)                                                                          \
        if (a != NULL)                                                                             \
            atomic_fetch_sub(&lib_##l.objects, 1);                                                 \
        ret r = ((ret(*)(A))sym)(a);                                                               \
        lib_leave(&lib_##l);                                                                       \
        return r;                                                                                  \
    }

#define LAZY0(l, r, n)             LAZY_FN(l, 0, r, n, (void), ())
#define LAZY1(l, r, n, A)          LAZY_FN(l, 0, r, n, (A a), (a))
#define LAZY2(l, r, n, A, B)       LAZY_FN(l, 0, r, n, (A a, B b), (a, b))
#define LAZY3(l, r, n, A, B, C)    LAZY_FN(l, 0, r, n, (A a, B b, C c), (a, b, c))
#define LAZY4(l, r, n, A, B, C, D) LAZY_FN(l, 0, r, n, (A a, B b, C c, D d), (a, b, c, d))
#define LAZY5(l, r, n, A, B, C, D, E)                                                              \
    LAZY_FN(l, 0, r, n, (A a, B b, C c, D d, E e), (a, b, c, d, e))
#define LAZY6(l, r, n, A, B, C, D, E, F)                                                           \
    LAZY_FN(l, 0, r, n, (A a, B b, C c, D d, E e, F f), (a, b, c, d, e, f))
#define LAZYV0(l, n)             LAZY_VFN(l, n, (void), ())
#define LAZYV1(l, n, A)          LAZY_VFN(l, n, (A a), (a))
#define LAZYV2(l, n, A, B)       LAZY_VFN(l, n, (A a, B b), (a, b))
#define LAZYV3(l, n, A, B, C)    LAZY_VFN(l, n, (A a, B b, C c), (a, b, c))
#define LAZYV4(l, n, A, B, C, D) LAZY_VFN(l, n, (A a, B b, C c, D d), (a, b, c, d))
#define LAZYNEW0(l, r, n)        LAZY_FN(l, 1, r, n, (void), ())
#define LAZYFREE1(l, r, n, A)    LAZY_FREE_FN(l, r, n, A)
#define LAZYVFREE1(l, n, A)      LAZY_VFREE_FN(l, n, A)

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
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    lib_enter(&lib_archive);
    LAZY_SYM(archive, archive_set_error)
    ((void (*)(struct archive *, int, const char *, ...))sym)(a, err, "%s", msg);
    lib_leave(&lib_archive);
}

/* The link resolver may keep an entry of the caller's, or hand one back to free: the object
 * count cannot follow that, so libarchive then stays loaded. (The tar strategy berth uses does
 * neither.) */
void archive_entry_linkify(struct archive_entry_linkresolver *r, struct archive_entry **e,
                           struct archive_entry **spare)
{
    struct archive_entry *given = *e;
    lib_enter(&lib_archive);
    LAZY_SYM(archive, archive_entry_linkify)
    ((void (*)(struct archive_entry_linkresolver *, struct archive_entry **,
               struct archive_entry **))sym)(r, e, spare);
    if (*e != given || *spare != NULL)
        atomic_store(&lib_archive.pinned, true);
    lib_leave(&lib_archive);
}

int lazylibs_release(void)
{
    struct lazylib *const libs[] = {&lib_archive, &lib_curl, &lib_crypto};
    int n = 0;
    for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        struct lazylib *l = libs[i];
        if (!l->unloadable || atomic_load(&l->pinned) ||
            atomic_load_explicit(&l->handle, memory_order_acquire) == NULL ||
            pthread_rwlock_trywrlock(&l->use) != 0)
            continue;
        void *h = atomic_load(&l->handle);
        if (h != NULL && atomic_load(&l->objects) == 0) {
            atomic_store(&l->handle, NULL);
            dlclose(h);
            n++;
        }
        pthread_rwlock_unlock(&l->use);
    }
    return n;
}

long lazylibs_objects(const char *soname)
{
    struct lazylib *const libs[] = {&lib_archive, &lib_curl, &lib_crypto};
    for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
        if (strcmp(libs[i]->soname, soname) == 0)
            return atomic_load(&libs[i]->objects);
    return -1;
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
#undef LAZYNEW0
#undef LAZYFREE1
#undef LAZYVFREE1
#define ENTRY(l, n)             {&lib_##l, #n},
#define LAZY0(l, r, n)          ENTRY(l, n)
#define LAZY1(l, r, n, ...)     ENTRY(l, n)
#define LAZY2(l, r, n, ...)     ENTRY(l, n)
#define LAZY3(l, r, n, ...)     ENTRY(l, n)
#define LAZY4(l, r, n, ...)     ENTRY(l, n)
#define LAZY5(l, r, n, ...)     ENTRY(l, n)
#define LAZY6(l, r, n, ...)     ENTRY(l, n)
#define LAZYV0(l, n)            ENTRY(l, n)
#define LAZYV1(l, n, ...)       ENTRY(l, n)
#define LAZYV2(l, n, ...)       ENTRY(l, n)
#define LAZYV3(l, n, ...)       ENTRY(l, n)
#define LAZYV4(l, n, ...)       ENTRY(l, n)
#define LAZYNEW0(l, r, n)       ENTRY(l, n)
#define LAZYFREE1(l, r, n, ...) ENTRY(l, n)
#define LAZYVFREE1(l, n, ...)   ENTRY(l, n)

static const struct {
    struct lazylib *lib;
    const char *name;
} all_fns[] = {
#include "lazylib/lazylibs.def"
    ENTRY(curl, curl_easy_setopt) ENTRY(curl, curl_easy_getinfo) ENTRY(curl, curl_share_setopt)
        ENTRY(archive, archive_set_error) ENTRY(archive, archive_entry_linkify)};

int lazylibs_check(char *missing, size_t len)
{
    size_t used = 0;
    int n = 0;
    if (len > 0)
        missing[0] = '\0';
    for (size_t i = 0; i < sizeof(all_fns) / sizeof(all_fns[0]); i++) {
        void *h = lib_handle(all_fns[i].lib, NULL);
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
