/* Pull and push: moving images between the local store and a registry. Pull streams every
 * layer from the network through decompression into its snapshot as it arrives (several
 * layers at once), keeping the compressed blob for later pushes and saves. */
#pragma once

#include <stdint.h>

#include "common/err.h"
#include "image/imagedb.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "image/snapshot.h"
#include "image/store.h"
#include "registry/client.h"

enum reg_event_kind {
    REG_EV_RESOLVED,   /* ref resolved: msg is the digest */
    REG_EV_WAITING,    /* layer queued */
    REG_EV_EXISTS,     /* layer already here (pull) or in the registry (push) */
    REG_EV_MOUNTED,    /* push: blob mounted from another repository */
    REG_EV_PROGRESS,   /* bytes moved: current of total */
    REG_EV_VERIFYING,  /* pull: download done, checking */
    REG_EV_EXTRACTING, /* pull: unpacking from a stored blob */
    REG_EV_LAYER_DONE, /* "Pull complete" / "Pushed" */
};

struct reg_event {
    enum reg_event_kind kind;
    const char *id; /* short layer digest (12 hex), NULL for image-level events */
    uint64_t current, total;
    const char *msg;
};

/* Called from transfer threads, one call at a time (the caller need not lock). */
typedef void (*reg_event_fn)(void *ctx, const struct reg_event *ev);

struct reg_pull_opts {
    const struct img_platform *platform; /* NULL: the host's */
    reg_event_fn on_event;               /* may be NULL */
    void *ctx;
    int parallel; /* layers transferred at once; 0: 3, as docker */
};

struct reg_pull_result {
    char id[IMG_DIGEST_MAX];     /* the image ID */
    char digest[IMG_DIGEST_MAX]; /* what the reference resolved to */
    bool updated;                /* false: the name already pointed at this image */
};

int reg_pull(struct img_store *s, struct img_snapshotter *sn, const struct reg_options *ro,
             const struct img_ref *ref, const struct reg_pull_opts *o, struct reg_pull_result *res,
             struct berr **err);

struct reg_push_opts {
    reg_event_fn on_event;
    void *ctx;
    int parallel;
    uint64_t chunk_size; /* 0: monolithic uploads */
};

struct reg_push_result {
    char digest[IMG_DIGEST_MAX];
    int64_t size; /* of the manifest */
};

/* Pushes the image rec under ref (a name with a tag). */
int reg_push(struct img_store *s, const struct reg_options *ro, struct img_record *rec,
             const struct img_ref *ref, const struct reg_push_opts *o, struct reg_push_result *res,
             struct berr **err);
