/* Platforms: parsing and containerd-style normalisation of "os/arch/variant", the host's own
 * platform (with its x86-64 level), and choosing an index entry for a wanted platform with
 * containerd's fallback rules. The JSON form inside descriptors is parsed in manifest.c. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/manifest.h"
#include "image/manifest_internal.h"

/* ---- platforms ---- */

void img_platform_free(struct img_platform *p)
{
    if (p == NULL)
        return;
    free(p->os);
    free(p->architecture);
    free(p->variant);
    free(p->os_version);
    strv_free(p->os_features);
    free(p);
}

void img_platform_freep(struct img_platform **p)
{
    img_platform_free(*p);
    *p = NULL;
}

struct img_platform *img_platform_dup(const struct img_platform *p)
{
    struct img_platform *d = xzalloc(sizeof(*d));
    d->os = p->os ? xstrdup(p->os) : NULL;
    d->architecture = p->architecture ? xstrdup(p->architecture) : NULL;
    d->variant = p->variant ? xstrdup(p->variant) : NULL;
    d->os_version = p->os_version ? xstrdup(p->os_version) : NULL;
    d->os_features = p->os_features ? strv_dup(p->os_features) : NULL;
    return d;
}

char *img_platform_string(const struct img_platform *p)
{
    const char *v = p->variant && *p->variant ? p->variant : NULL;
    return xasprintf("%s/%s%s%s", p->os ? p->os : "", p->architecture ? p->architecture : "",
                     v ? "/" : "", v ? v : "");
}

/* Normalised (os, arch, variant); "" variant is the architecture's baseline. Buffers are fixed
 * so that matching never allocates; longer names than any real one simply never match. */
struct norm {
    char os[32], arch[32], variant[16];
};

static bool copy_lower(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
    dst[n] = '\0';
    return true;
}

static bool normalize(const char *os, const char *arch, const char *variant, struct norm *n)
{
    if (!copy_lower(n->os, sizeof(n->os), os) || !copy_lower(n->arch, sizeof(n->arch), arch) ||
        !copy_lower(n->variant, sizeof(n->variant), variant))
        return false;
    char *a = n->arch, *v = n->variant;
    if (strcmp(n->os, "macos") == 0)
        strcpy(n->os, "darwin");
    if (strcmp(a, "i386") == 0) {
        strcpy(a, "386");
        *v = '\0';
    } else if (strcmp(a, "x86_64") == 0 || strcmp(a, "x86-64") == 0 || strcmp(a, "amd64") == 0) {
        strcpy(a, "amd64");
        if (strcmp(v, "v1") == 0)
            *v = '\0';
    } else if (strcmp(a, "aarch64") == 0 || strcmp(a, "arm64") == 0) {
        strcpy(a, "arm64");
        if (strcmp(v, "8") == 0 || strcmp(v, "v8") == 0 || strcmp(v, "v8.0") == 0)
            *v = '\0';
        else if (strcmp(v, "9") == 0 || strcmp(v, "9.0") == 0 || strcmp(v, "v9.0") == 0)
            strcpy(v, "v9");
    } else if (strcmp(a, "armhf") == 0) {
        strcpy(a, "arm");
        strcpy(v, "v7");
    } else if (strcmp(a, "armel") == 0) {
        strcpy(a, "arm");
        strcpy(v, "v6");
    } else if (strcmp(a, "arm") == 0) {
        if (*v == '\0' || strcmp(v, "7") == 0)
            strcpy(v, "v7");
        else if (strcmp(v, "5") == 0 || strcmp(v, "6") == 0 || strcmp(v, "8") == 0) {
            char digit = v[0];
            snprintf(v, sizeof(n->variant), "v%c", digit);
        }
    }
    return true;
}

static bool component_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static bool known_os(const char *os)
{
    static const char *const list[] = {
        "aix",   "android", "darwin", "dragonfly", "freebsd", "hurd",    "illumos", "ios", "js",
        "linux", "nacl",    "netbsd", "openbsd",   "plan9",   "solaris", "windows", "zos"};
    return IN(os, list);
}

static bool known_arch(const char *arch)
{
    static const char *const list[] = {
        "386",     "amd64",    "amd64p32",  "arm",         "armbe",   "arm64",
        "arm64be", "ppc64",    "ppc64le",   "loong64",     "mips",    "mipsle",
        "mips64",  "mips64le", "mips64p32", "mips64p32le", "ppc",     "riscv",
        "riscv64", "s390",     "s390x",     "sparc",       "sparc64", "wasm"};
    return IN(arch, list);
}

static struct img_platform *platform_from_norm(const struct norm *n)
{
    struct img_platform *p = xzalloc(sizeof(*p));
    p->os = xstrdup(n->os);
    p->architecture = xstrdup(n->arch);
    p->variant = n->variant[0] ? xstrdup(n->variant) : NULL;
    return p;
}

int img_platform_parse(const char *s, struct img_platform **out, struct berr **err)
{
    *out = NULL;
    const char *part[3] = {NULL, NULL, NULL};
    size_t len[3] = {0, 0, 0}, n = 0;
    const char *p = s ? s : "";
    for (;;) {
        size_t l = strcspn(p, "/");
        if (n == 3 || !component_ok(p, l))
            return berr_set(err, 0,
                            "invalid platform \"%s\": expected os[/arch[/variant]], e.g. "
                            "linux/amd64 or linux/arm64/v8",
                            s ? s : "");
        part[n] = p;
        len[n++] = l;
        if (p[l] == '\0')
            break;
        p += l + 1;
    }
    _cleanup_free_ char *a = xstrndup(part[0], len[0]);
    _cleanup_free_ char *b = n > 1 ? xstrndup(part[1], len[1]) : NULL;
    _cleanup_free_ char *c = n > 2 ? xstrndup(part[2], len[2]) : NULL;
    _cleanup_platform_ struct img_platform *host = img_platform_host();
    struct norm nm;
    bool ok;
    if (n == 1) {
        /* One word is an OS (on the host's architecture, at its baseline) or an architecture
         * (on linux), as containerd reads it. */
        struct norm probe;
        if (!normalize(a, a, "", &probe))
            ok = false;
        else if (known_os(probe.os))
            ok = normalize(a, host->architecture,
                           strcmp(host->architecture, "amd64") == 0 ? "" : host->variant, &nm);
        else if (known_arch(probe.arch))
            ok = normalize("linux", a, "", &nm);
        else
            return berr_set(err, 0,
                            "invalid platform \"%s\": unknown operating system or architecture "
                            "(expected e.g. linux/amd64 or arm64)",
                            s);
    } else {
        ok = normalize(a, b, c, &nm);
    }
    if (!ok)
        return berr_set(err, 0, "invalid platform \"%s\": a component is too long", s);
    *out = platform_from_norm(&nm);
    return 0;
}

#if defined(__x86_64__)
/* The x86-64 micro-architecture level, judged from the features that define each level and
 * that both GCC and clang can test. */
static int amd64_level(void)
{
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("popcnt") && __builtin_cpu_supports("sse3") &&
          __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("sse4.1") &&
          __builtin_cpu_supports("sse4.2")))
        return 1;
    if (!(__builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") &&
          __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
          __builtin_cpu_supports("fma")))
        return 2;
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
          __builtin_cpu_supports("avx512vl")))
        return 3;
    return 4;
}
#endif

struct img_platform *img_platform_host(void)
{
    struct img_platform *p = xzalloc(sizeof(*p));
    p->os = xstrdup("linux");
#if defined(__x86_64__)
    p->architecture = xstrdup("amd64");
    int level = amd64_level();
    if (level > 1)
        p->variant = xasprintf("v%d", level);
#elif defined(__aarch64__)
    p->architecture = xstrdup("arm64");
#elif defined(__arm__)
    p->architecture = xstrdup("arm");
    p->variant = xasprintf("v%d", __ARM_ARCH);
#elif defined(__i386__)
    p->architecture = xstrdup("386");
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    p->architecture = xstrdup("ppc64le");
#elif defined(__s390x__)
    p->architecture = xstrdup("s390x");
#elif defined(__riscv) && __riscv_xlen == 64
    p->architecture = xstrdup("riscv64");
#elif defined(__loongarch64)
    p->architecture = xstrdup("loong64");
#elif defined(__mips64) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    p->architecture = xstrdup("mips64le");
#else
    p->architecture = xstrdup("unknown");
#endif
    return p;
}

/* ---- platform selection ---- */

struct want_entry {
    char arch[32], variant[16];
};

static void push_want(struct want_entry *v, size_t *n, size_t cap, const char *arch,
                      const char *variant)
{
    if (*n >= cap)
        return;
    snprintf(v[*n].arch, sizeof(v[*n].arch), "%s", arch);
    snprintf(v[*n].variant, sizeof(v[*n].variant), "%s", variant);
    (*n)++;
}

/* Parses "vN" or "vN.M"; false for anything else. */
static bool variant_version(const char *v, int *major, int *minor)
{
    char extra;
    *minor = 0;
    if (sscanf(v, "v%d.%d%c", major, minor, &extra) == 2)
        return *major >= 0 && *minor >= 0;
    return sscanf(v, "v%d%c", major, &extra) == 1 && *major >= 0;
}

/* The (arch, variant) pairs want accepts, most preferred first. */
static size_t want_vector(const struct norm *w, bool host, struct want_entry *v, size_t cap)
{
    size_t n = 0;
    int major, minor;
    bool versioned = variant_version(w->variant, &major, &minor);
    if (strcmp(w->arch, "amd64") == 0) {
        int level = w->variant[0] == '\0' ? 1 : (versioned && minor == 0 ? major : 0);
        /* Docker picks the baseline build on any amd64 host; only without one do we fall back
         * to the best level this host runs. */
        if (host)
            push_want(v, &n, cap, "amd64", "");
        if (level == 0)
            push_want(v, &n, cap, "amd64", w->variant);
        for (int l = level > 4 ? 4 : level; l >= 2; l--) {
            char name[8];
            snprintf(name, sizeof(name), "v%d", l);
            push_want(v, &n, cap, "amd64", name);
        }
        if (!host)
            push_want(v, &n, cap, "amd64", "");
        push_want(v, &n, cap, "386", "");
    } else if (strcmp(w->arch, "arm64") == 0) {
        push_want(v, &n, cap, "arm64", w->variant);
        if (versioned && (major == 8 || major == 9)) {
            int m8 = major == 9 ? (minor + 5 > 9 ? 9 : minor + 5) : minor - 1;
            for (int m = minor - 1; major == 9 && m >= 1; m--) {
                char name[16];
                snprintf(name, sizeof(name), "v9.%d", m);
                push_want(v, &n, cap, "arm64", name);
            }
            if (major == 9 && minor > 0)
                push_want(v, &n, cap, "arm64", "v9");
            for (int m = m8; m >= 1; m--) {
                char name[16];
                snprintf(name, sizeof(name), "v8.%d", m);
                push_want(v, &n, cap, "arm64", name);
            }
            push_want(v, &n, cap, "arm64", "");
        }
        if (w->variant[0] == '\0' || (versioned && (major == 8 || major == 9)))
            for (int l = 8; l >= 5; l--) {
                char name[8];
                snprintf(name, sizeof(name), "v%d", l);
                push_want(v, &n, cap, "arm", name);
            }
    } else if (strcmp(w->arch, "arm") == 0 && versioned && minor == 0 && major > 5 && major <= 8) {
        for (int l = major; l >= 5; l--) {
            char name[8];
            snprintf(name, sizeof(name), "v%d", l);
            push_want(v, &n, cap, "arm", name);
        }
    } else {
        push_want(v, &n, cap, w->arch, w->variant);
    }
    return n;
}

static char *offered_platforms(const struct img_index *ix)
{
    _cleanup_strv_ char **seen = NULL;
    size_t bare = 0;
    for (size_t i = 0; i < ix->n; i++) {
        const struct img_platform *p = ix->manifests[i].platform;
        if (p == NULL) {
            bare++;
            continue;
        }
        /* Attestation manifests (buildx) carry unknown/unknown: not a choice for the user. */
        if (p->os && strcmp(p->os, "unknown") == 0)
            continue;
        struct norm nm;
        _cleanup_free_ char *s = NULL;
        if (normalize(p->os, p->architecture, p->variant, &nm)) {
            _cleanup_platform_ struct img_platform *np = platform_from_norm(&nm);
            s = img_platform_string(np);
        } else {
            s = img_platform_string(p);
        }
        if (!strv_contains(seen, s))
            strv_append(&seen, s);
    }
    size_t total = 1;
    for (size_t i = 0; seen && seen[i]; i++)
        total += strlen(seen[i]) + 2;
    char *out = xzalloc(total + 64);
    for (size_t i = 0; seen && seen[i]; i++) {
        if (i)
            strcat(out, ", ");
        strcat(out, seen[i]);
    }
    if (seen == NULL)
        strcat(out, bare ? "only entries without a platform" : "nothing");
    return out;
}

int img_index_select(const struct img_index *ix, const struct img_platform *want, size_t *idx,
                     struct berr **err)
{
    _cleanup_platform_ struct img_platform *host = img_platform_host();
    bool use_host = want == NULL || want->architecture == NULL;
    const char *os = want && want->os ? want->os : "linux";
    struct norm w;
    bool ok = use_host ? normalize(os, host->architecture, host->variant, &w)
                       : normalize(os, want->architecture, want->variant, &w);
    if (!ok)
        return berr_set(err, 0, "invalid platform: a component is too long");
    struct want_entry vec[24];
    size_t nv = want_vector(&w, use_host, vec, ARRAY_SIZE(vec));

    for (size_t k = 0; k < nv; k++) {
        for (size_t i = 0; i < ix->n; i++) {
            const struct img_platform *p = ix->manifests[i].platform;
            struct norm e;
            if (p == NULL || !normalize(p->os, p->architecture, p->variant, &e))
                continue;
            if (strcmp(e.os, w.os) == 0 && strcmp(e.arch, vec[k].arch) == 0 &&
                strcmp(e.variant, vec[k].variant) == 0) {
                *idx = i;
                return 0;
            }
        }
    }
    for (size_t i = 0; i < ix->n; i++) {
        if (ix->manifests[i].platform == NULL &&
            img_is_image_manifest_type(ix->manifests[i].media_type)) {
            *idx = i;
            return 0;
        }
    }
    struct img_platform shown = {.os = w.os, .architecture = w.arch, .variant = w.variant};
    _cleanup_free_ char *name = img_platform_string(&shown);
    _cleanup_free_ char *offers = offered_platforms(ix);
    return berr_set(err, 0,
                    "no matching manifest for %s in the manifest list entries (the image offers "
                    "%s); choose one with --platform",
                    name, offers);
}
