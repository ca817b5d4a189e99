/* linux.seccomp: compile the profile with libseccomp before the container exists (so bad
 * profiles fail early and nothing is left behind), load it in the container just before
 * execve. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"

/* A compiled filter: plain BPF plus the seccomp(2) flags to load it with. Owned by the caller of
 * rt_seccomp_compile() or rt_seccomp_compile_cached(), freed with rt_seccomp_free(). */
struct rt_seccomp;

/* Validate and compile linux.seccomp. NULL (or JSON null) -> NULL with *err left empty: no
 * filter; so on NULL the caller tells "no filter" from failure by *err. `where` names the
 * document (NULL: "config.json") and prefixes every message, which also names the field:
 * "config.json: linux.seccomp.syscalls[3].action: unknown action \"SCMP_ACT_FOO\"".
 * Follows runc: unknown syscall names are skipped, rules whose action equals defaultAction are
 * skipped, several args on one index give one rule per arg, architectures that this libseccomp
 * cannot add are skipped (their syscalls then get the bad-arch action: kill). The seccomp user
 * notifier (SCMP_ACT_NOTIFY, listenerPath, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) is refused.
 * no_new_privs is not set here: the caller sets it per process.noNewPrivileges. */
struct rt_seccomp *rt_seccomp_compile(json_t *seccomp, const char *where, struct berr **err);
/* The same, keeping compiled filters as files in cache_dirfd (a directory only the runtime can
 * write, e.g. under its state root; -1: no cache), so that a profile seen before costs a file
 * read instead of a libseccomp compile (about 12 ms for Docker's default profile on three x86
 * ABIs). The profile is validated in full every time; a missing, foreign (other owner, group- or
 * world-writable), stale (other libseccomp) or damaged file is a miss, and a cache that cannot
 * be written only costs the compile (log_debug). Files are not evicted: one per distinct
 * profile, a few tens of KiB each. */
struct rt_seccomp *rt_seccomp_compile_cached(json_t *seccomp, const char *where, int cache_dirfd,
                                             struct berr **err);
/* Load into the calling process (sc == NULL: nothing to do). Does not allocate on success, so it
 * is safe right after fork. With no_new_privs unset this needs CAP_SYS_ADMIN, so the caller
 * loads it before dropping capabilities. */
int rt_seccomp_load(struct rt_seccomp *sc, struct berr **err);
void rt_seccomp_free(struct rt_seccomp *sc);
void rt_seccomp_freep(struct rt_seccomp **sc);

/* For `features`: the "seccomp" object (enabled, actions, operators, archs, knownFlags,
 * supportedFlags). New reference. */
json_t *rt_seccomp_features(void);

#define _cleanup_seccomp_ __attribute__((cleanup(rt_seccomp_freep)))
