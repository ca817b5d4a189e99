/* What the image commands share: opening the data root and the registry options. */
#pragma once

#include <time.h>

#include "cli/cli.h"
#include "image/imagedb.h"
#include "image/snapshot.h"
#include "image/store.h"
#include "registry/client.h"

struct cli_images {
    struct img_store *store;
    struct img_snapshotter *sn;
    struct reg_options reg;
    char *auth_file;
    char **insecure;
};

/* $BERTH_INSECURE_REGISTRIES as a NULL-terminated list (strv_free). */
char **cli_insecure_registries(void);
/* Opens the data root named by cli (and, with snapshots, its snapshotter: the storage driver
 * comes from $BERTH_STORAGE_DRIVER for a new root). */
int cli_images_open(struct cli *cli, bool snapshots, struct cli_images *ci, struct berr **err);
void cli_images_close(struct cli_images *ci);

/* Undoes "image mount" of image id (nothing mounted is fine). */
int cli_image_unmount(struct cli_images *ci, const char *id, struct berr **err);

/* An RFC 3339 time (an image's "created") as seconds since the epoch: 0, or -1 if invalid. */
int cli_parse_created(const char *s, int64_t *sec);
/* docker's "2 hours ago" for a time in the past. */
char *cli_since(time_t t);
/* A Go duration ("24h", "1h30m", "90s", "1.5h") in nanoseconds: 0, or -1 if invalid. */
int cli_parse_duration(const char *s, int64_t *nanos);

/* Go's name (GOARCH) for a uname machine: amd64 for x86_64, arm64 for aarch64... */
const char *cli_go_arch(const char *machine);
