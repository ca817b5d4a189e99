/* Named volumes with Docker's local driver: the store under <root>/volumes (one directory per
 * volume: _data, opts.json, holds/<container id>), Docker's names, filters, prune rules and
 * error texts, mounting of volumes created with type/device/o options, and seeding a new volume
 * from image content. Thread-safe, and safe between processes sharing a data root (a lock file).
 * Nothing is cached: every call reads the disk, so holds and options survive restarts. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct vol_store;
struct ev_bus;

/* The label Docker puts on a volume created without a name; prune (API >= 1.42) takes only
 * volumes that carry it unless asked for all. */
#define VOL_ANON_LABEL "com.docker.volume.anonymous"

/* Opens (creating <root>/volumes if needed) and sweeps leftovers of interrupted creations and
 * removals. events may be NULL (no events are published). */
int vol_store_open(const char *root, struct ev_bus *events, struct vol_store **out,
                   struct berr **err);
void vol_store_free(struct vol_store *vs);
void vol_store_freep(struct vol_store **vs);

/* How --volumes-from finds the other container: its full ID (*id, caller frees) and its
 * "Mounts" array as container inspect shows it (*mounts, caller decrefs). Fails with ENOENT
 * and Docker's "No such container: NAME" when there is none. */
typedef int (*vol_container_lookup_fn)(void *ctx, const char *name_or_id, char **id,
                                       json_t **mounts, struct berr **err);
/* Set by the engine before it calls vol_resolve_mounts for containers with VolumesFrom. */
void vol_store_set_container_lookup(struct vol_store *vs, vol_container_lookup_fn fn, void *ctx);
/* Calls that lookup (EINVAL when none is set). */
int vol_lookup_container(struct vol_store *vs, const char *name_or_id, char **id, json_t **mounts,
                         struct berr **err);

/* Docker's rule for local volume names, [a-zA-Z0-9][a-zA-Z0-9_.-]+, with its message
 * (EINVAL) prefixed "create NAME: ". */
int vol_validate_name(const char *name, struct berr **err);

/* Creates a volume, or returns the existing one of that name unchanged (Docker ignores the
 * options and labels of a second create). name NULL or "": an anonymous volume with a random
 * 64-hex name and VOL_ANON_LABEL. driver NULL, "" or "local"; driver_opts: local driver
 * options (type, device, o; size is refused: no quota support), strings only; labels: strings
 * only. Both may be NULL and are copied. hold_for (may be NULL): a container that takes a hold
 * in the same step, so a concurrent prune cannot take a new anonymous volume before its
 * first use. *created (may be NULL) tells whether it was new. Returns the volume as Docker's
 * inspect shows it (caller decrefs). Publishes "create" for a new volume. */
json_t *vol_create(struct vol_store *vs, const char *name, const char *driver, json_t *driver_opts,
                   json_t *labels, const char *hold_for, bool *created, struct berr **err);
/* Docker's inspect object: {CreatedAt, Driver, Labels, Mountpoint, Name, Options, Scope},
 * plus UsageData {Size, RefCount} with usage (the size walk happens on this call; Size is -1
 * for volumes with mount options). ENOENT: "get NAME: no such volume". */
json_t *vol_get(struct vol_store *vs, const char *name, bool usage, struct berr **err);
/* Every volume matching filters (Docker's {"key":["value",...]}, may be NULL): dangling
 * (true/false/1/0), driver, label (key or key=value, all must match), name (exact, or an
 * unanchored regular expression as Docker matches it). Sorted by name. Unknown filter keys
 * and bad values fail with EINVAL and Docker's "invalid filter ..." texts. */
json_t *vol_list(struct vol_store *vs, json_t *filters, bool usage, struct berr **err);
/* Removes a volume and its data. A volume with holds is refused whatever force says (EBUSY,
 * "remove NAME: volume is in use - [ID, ...]"); a missing one is ENOENT "get NAME: no such
 * volume" unless force. Publishes "destroy". */
int vol_remove(struct vol_store *vs, const char *name, bool force, struct berr **err);
/* Removes local volumes without holds and without mount options that match filters (label,
 * label! and all, as Docker's prune takes them). Only anonymous ones unless all_volumes (the
 * handler sets it for API < 1.42) or the filter all=true. Returns {"VolumesDeleted":[names],
 * "SpaceReclaimed":bytes} (caller decrefs) and publishes "prune" with the bytes reclaimed. */
json_t *vol_prune(struct vol_store *vs, json_t *filters, bool all_volumes, struct berr **err);

/* Holds: container_id uses the volume; kept as files, so they survive restarts. vol_hold
 * returns 1 when the hold is new, 0 when the container held it already. */
int vol_hold(struct vol_store *vs, const char *name, const char *container_id, struct berr **err);
bool vol_held_by(struct vol_store *vs, const char *name, const char *container_id);
/* Drops the hold (a missing one is fine); the last release unmounts a volume that has mount
 * options. */
int vol_release(struct vol_store *vs, const char *name, const char *container_id,
                struct berr **err);
/* The containers holding a volume, sorted (NULL-terminated; caller frees with strv_free). */
char **vol_holders(struct vol_store *vs, const char *name, struct berr **err);
/* Drops container_id's holds (unmounting local volumes with options no longer used); with
 * remove_anonymous (docker rm -v), removes the anonymous volumes it held unless another
 * container still holds them. Goes on past failures and returns the first. */
int vol_release_container(struct vol_store *vs, const char *container_id, bool remove_anonymous,
                          struct berr **err);
/* Holds the volume for container_id and mounts it on its _data first when it was created
 * with type/device/o and is not mounted yet. Returns the _data path (caller frees). */
char *vol_mount_for(struct vol_store *vs, const char *name, const char *container_id,
                    struct berr **err);

/* Copies image content into a volume as Docker does on first use: the directory at path
 * (resolved beneath rootfs_fd, never outside it) into the volume's _data, only when _data is
 * empty and was never seeded before. Returns 1 when it copied, 0 when there was nothing to do
 * (path missing or not a directory, volume not empty). A failed copy leaves _data empty. */
int vol_seed(struct vol_store *vs, const char *name, int rootfs_fd, const char *path,
             struct berr **err);

/* Docker's volume events for a container's start ("mount", with container, destination,
 * driver, propagation and read/write) and stop ("unmount", with container and driver), one
 * per volume entry of inspect_mounts (as vol_resolve_mounts returns them). */
void vol_publish_mount_events(struct vol_store *vs, const char *container_id,
                              json_t *inspect_mounts, bool mounted);

/* mount(8) option names as moby reads them: each sets or clears a flag (the propagation
 * ones set MS_SHARED, MS_PRIVATE, MS_SLAVE or MS_UNBINDABLE; bind and rbind MS_BIND);
 * anything else is filesystem data. Ends with a NULL name. */
struct vol_mount_flag {
    const char *name;
    bool clear;
    unsigned long flag;
};
extern const struct vol_mount_flag vol_mount_flags[];
/* The entry for name, or NULL when it is filesystem data. */
const struct vol_mount_flag *vol_mount_flag_find(const char *name);

/* seed.c: copies the directory tree at path beneath rootfs_fd (openat2 RESOLVE_IN_ROOT, so a
 * symlink in the image resolves inside the image) into dst_fd: owners, modes, times,
 * extended attributes, symlinks as symlinks, devices and fifos; hardlinks become copies and
 * sockets are skipped. dst_fd takes the source directory's owner, mode and times. Returns 1
 * when copied, 0 when path is missing or not a directory. */
int vol_copy_tree(int rootfs_fd, const char *path, int dst_fd, struct berr **err);
/* seed.c: the size of everything beneath dirfd but directories (a hardlinked inode once), as
 * Docker reports a volume's size. Unreadable parts are skipped. */
int64_t vol_tree_size(int dirfd);
/* seed.c: 1 when dirfd has no entries, 0 when it has, -1 (errno) when unreadable. */
int vol_dir_is_empty(int dirfd);
/* seed.c: removes everything beneath dirfd (never following symlinks), keeping dirfd. */
int vol_clear_dir(int dirfd, struct berr **err);
