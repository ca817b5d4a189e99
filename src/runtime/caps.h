/* Capabilities and identity of the container process: bounding set, user and groups, the
 * effective/permitted/inheritable sets and ambient capabilities, in the order the kernel needs. */
#pragma once

#include <stdbool.h>

#include "common/err.h"
#include "runtime/spec.h"

/* Switch to the process's uid/gid/additionalGids and leave exactly the capability sets it asks
 * for. Must run in the container after everything that needs privilege, but before seccomp
 * is loaded when noNewPrivileges is set (that filter may forbid capset). setgroups_allowed is
 * false in a user namespace where setgroups was denied: additionalGids are then an error, and
 * without them the supplementary groups are left alone (otherwise they are replaced, or
 * cleared when none are given).
 * Capabilities above the kernel's last one are skipped (log_debug). Capabilities the calling
 * process does not hold (not in its bounding and permitted sets; e.g. CAP_SYS_RESOURCE on a VM
 * whose bounding set lacks it) are left out with one log_warn instead of failing. Ambient
 * capabilities not both permitted and inheritable are left out with a log_warn (crun ignores
 * them; the kernel would refuse them). p->has_caps false means every set empty. Only errors
 * and warnings allocate; no /proc access. */
int rt_caps_apply_identity(const struct rt_process *p, bool setgroups_allowed, struct berr **err);

/* Check, in the parent, what the kernel would refuse in any case: effective outside permitted,
 * inheritable outside bounding. Messages start with `where` and name the field. */
int rt_caps_validate(const struct rt_process *p, const char *where, struct berr **err);

/* For `features`: the names ("CAP_CHOWN", ...) of every capability both this build and the
 * running kernel know. New reference. */
json_t *rt_caps_features(void);
/* The calling process's bounding set as a bit mask (the CapBnd of /proc/self/status, read with
 * prctl so it works without /proc). */
uint64_t rt_caps_host_bounding(void);
