/* What the image commands share: the credentials `berth login` stored, as the X-Registry-Auth
 * header the daemon's pull and push take; uploads of a file or standard input as a request
 * body (load, import); and the local image store that `image mount` works on directly. */
#pragma once

#include <time.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "image/imagedb.h"
#include "image/snapshot.h"
#include "image/store.h"

/* docker's X-Registry-Auth header ("X-Registry-Auth: <base64url JSON>") for the registry domain
 * (a reference's, "127.0.0.1:5000" or "docker.io"), from the credentials in the client config
 * file. *header is NULL when none are stored; -1 when the config file is unreadable. */
int cli_registry_auth(struct cli *cli, const char *domain, char **header, struct berr **err);

/* Sends the bytes of fd (to its end) as the chunked body of method path, then reads the
 * answer's head: *out is the connection its body is read from. A daemon that answers before the
 * whole body is sent (a refusal) is heard: its error is the one returned. */
int cli_upload(struct cli_api *api, const char *method, const char *path, const char *content_type,
               int fd, struct cli_conn **out, struct berr **err);

/* The image path of the API: "/images/<escaped name><suffix>" (a new string). */
char *cli_image_path(const char *name, const char *suffix);

/* The local store of the data root named by cli, for `image mount`, which has no API
 * counterpart, and with snapshots its snapshotter (the storage driver comes from
 * $BERTH_STORAGE_DRIVER for a new root). */
struct cli_images {
    struct img_store *store;
    struct img_snapshotter *sn;
};

int cli_images_open(struct cli *cli, bool snapshots, struct cli_images *ci, struct berr **err);
void cli_images_close(struct cli_images *ci);

/* Undoes "image mount" of image id (nothing mounted is fine). */
int cli_image_unmount(struct cli_images *ci, const char *id, struct berr **err);

/* A Go duration ("24h", "1h30m", "90s", "1.5h") in nanoseconds: 0, or -1 if invalid. */
int cli_parse_duration(const char *s, int64_t *nanos);

/* Go's name (GOARCH) for a uname machine: amd64 for x86_64, arm64 for aarch64... */
const char *cli_go_arch(const char *machine);
