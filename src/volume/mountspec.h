/* A container's mounts as the Docker API sends them (HostConfig.Binds, HostConfig.Mounts,
 * HostConfig.Tmpfs, HostConfig.VolumesFrom, Config.Volumes): parsed and validated with
 * Docker's rules and error texts, then resolved against the volume store into OCI mounts for
 * the runtime spec and Docker's "Mounts" for container inspect. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"

struct vol_store;

enum vol_mount_type {
    VOL_MOUNT_BIND,
    VOL_MOUNT_VOLUME,
    VOL_MOUNT_TMPFS,
};

/* One parsed mount; every string is owned (vol_mount_clear frees them). */
struct vol_mount {
    enum vol_mount_type type;
    char *source;      /* bind: host path, cleaned; volume: name, NULL when anonymous */
    char *destination; /* absolute and cleaned */
    char *mode;        /* Docker's Mode for inspect: the Binds mode text, "z" for volumes */
    char *propagation; /* bind: as given or "rprivate"; NULL otherwise */
    bool rw;
    bool copy_data;        /* volume: seed from the image on first use (no nocopy) */
    bool non_recursive;    /* bind: "bind" instead of "rbind" */
    bool ro_non_recursive; /* read-only at the top mount only ("ro", not "rro") */
    bool create_source;    /* bind: create a missing source directory (Binds, CreateMountpoint) */
    char *driver;          /* volume: driver name, NULL for the default */
    json_t *driver_opts;   /* volume: options for a volume this mount creates, or NULL */
    json_t *labels;        /* volume: labels for a volume this mount creates, or NULL */
    char *subpath;         /* volume: relative path inside the volume, or NULL */
    char *tmpfs_data;      /* tmpfs: mount data ("size=64m,mode=1777"), "" when none */
};

void vol_mount_clear(struct vol_mount *m);

/* A HostConfig.Binds entry: "src:dst[:mode]" (src an absolute host path or a volume name) or
 * "dst" (an anonymous volume). mode: ro|rw, z|Z, a propagation, nocopy, consistency, comma
 * separated, one of each kind. volume_driver: HostConfig.VolumeDriver, may be NULL. Errors
 * (EINVAL) as Docker words them: "invalid mode: x", "invalid volume specification: '...'". */
int vol_parse_bind(const char *spec, const char *volume_driver, struct vol_mount *out,
                   struct berr **err);
/* A HostConfig.Mounts object ({Type, Source, Target, ReadOnly, BindOptions, VolumeOptions,
 * TmpfsOptions}); a bind source must exist unless BindOptions.CreateMountpoint. Errors as
 * "invalid mount config for type "bind": ...". */
int vol_parse_mount(json_t *spec, struct vol_mount *out, struct berr **err);
/* A HostConfig.Tmpfs entry: destination and its options ("rw,size=64m"). */
int vol_parse_tmpfs(const char *destination, const char *options, struct vol_mount *out,
                    struct berr **err);
/* A HostConfig.VolumesFrom entry, "container[:mode]": the container (caller frees) and
 * whether its mounts stay writable (mode without "ro"; propagation and nocopy refused). */
int vol_parse_volumes_from(const char *spec, char **container, bool *rw, struct berr **err);
/* The OCI options of a tmpfs mount: Docker's defaults (noexec, nosuid, nodev, rprivate)
 * merged with data, a later option replacing an earlier one of its kind. */
json_t *vol_tmpfs_options(const char *data, struct berr **err);

/* Resolves every mount of a container: validates all of them first, then creates named
 * volumes that don't exist yet and anonymous ones (Config.Volumes destinations no other mount
 * covers), takes holds for container_id (mounting local volumes with options), creates
 * missing Binds source directories, and seeds new or never-seeded empty volumes from the image
 * content at the destination beneath rootfs_fd (the container's mounted root filesystem; -1:
 * no seeding) unless nocopy. VolumesFrom needs vol_store_set_container_lookup. Returns
 * *oci_mounts, OCI mount objects ({destination, type, source, options}) sorted parents first,
 * and *inspect_mounts, Docker's "Mounts" ({Type, Name, Source, Destination, Driver, Mode, RW,
 * Propagation}); caller decrefs both. Calling it again for the same container (create, then
 * start) is fine. On error nothing is left: holds this call took are released, volumes it
 * created removed, directories it made removed. */
int vol_resolve_mounts(struct vol_store *vs, json_t *host_config, json_t *config_volumes,
                       int rootfs_fd, const char *container_id, json_t **oci_mounts,
                       json_t **inspect_mounts, struct berr **err);
