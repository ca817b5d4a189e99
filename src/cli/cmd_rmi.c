/* berth rmi: remove names and images, as docker does: a name of an image that has others is
 * only untagged; the last name, or the ID, removes the image, and GC frees what it alone used. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/gc.h"
#include "image/ref.h"

static void print_names(struct cli *cli, char **names)
{
    for (size_t i = 0; names[i]; i++) {
        _cleanup_ref_ struct img_ref *r = NULL;
        _cleanup_free_ char *f = NULL;
        if (img_ref_parse(names[i], &r, NULL) == 0)
            f = img_ref_familiar(r);
        fprintf(cli->out, "Untagged: %s\n", f ? f : names[i]);
    }
}

/* A repo digest printed as docker does: familiar repository @ digest. */
static void print_digests(struct cli *cli, char **digests)
{
    for (size_t i = 0; digests[i]; i++) {
        _cleanup_ref_ struct img_ref *r = NULL;
        _cleanup_free_ char *f = NULL;
        if (img_ref_parse(digests[i], &r, NULL) == 0) {
            _cleanup_free_ char *repo = img_ref_familiar_repo(r);
            f = xasprintf("%s@%s", repo, r->digest);
        }
        fprintf(cli->out, "Untagged: %s\n", f ? f : digests[i]);
    }
}

static int remove_one(struct cli *cli, struct cli_images *ci, const char *what, bool force,
                      struct berr **err)
{
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    if (img_db_begin(ci->store, &db, err) < 0)
        return -1;
    struct img_record *rec = NULL;
    if (img_db_resolve(db, what, &rec, err) < 0)
        return -1;
    char sid[13];
    img_short_id(rec->id, sid);
    /* Given by one of several names: that name goes, the image stays. */
    _cleanup_ref_ struct img_ref *ref = NULL;
    _cleanup_free_ char *name = NULL;
    if (!img_ref_looks_like_id(what) && img_ref_parse(what, &ref, NULL) == 0 && !ref->digest)
        name = img_ref_string(ref);
    if (name && !strv_contains(rec->names, name)) {
        free(name); /* no name of this image: what matched was a short ID */
        name = NULL;
    }
    if (name && strv_contains(rec->names, name) && strv_length(rec->names) > 1) {
        img_db_untag(db, name);
        if (img_db_commit(db, err) < 0)
            return -1;
        char *one[] = {name, NULL};
        print_names(cli, one);
        return 0;
    }
    if (name == NULL && strv_length(rec->names) > 1 && !force)
        return berr_set(err, EBUSY,
                        "conflict: unable to delete %s (must be forced) - image is referenced in "
                        "multiple repositories",
                        sid);
    _cleanup_strv_ char **holders = img_holders(ci->store, rec->id);
    for (size_t i = 0; holders[i]; i++) {
        /* A mount is ours to undo when forced; other holders (containers) never are. */
        bool is_mount = strncmp(holders[i], "mount-", 6) == 0;
        if (!force || !is_mount)
            return berr_set(err, EBUSY,
                            "conflict: unable to delete %s (%s) - image is in use by %s", sid,
                            is_mount ? "must be forced" : "cannot be forced", holders[i]);
        if (cli_image_unmount(ci, rec->id, err) < 0)
            return -1;
    }
    _cleanup_strv_ char **names = strv_dup(rec->names);
    _cleanup_strv_ char **digests = strv_dup(rec->repo_digests);
    _cleanup_free_ char *id = xstrdup(rec->id);
    img_db_remove(db, rec);
    if (img_db_commit(db, err) < 0)
        return -1;
    img_db_freep(&db);
    print_names(cli, names);
    print_digests(cli, digests);
    fprintf(cli->out, "Deleted: %s\n", id);
    return 0;
}

static int run_rmi(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    struct cli_images ci;
    if (cli_images_open(cli, true, &ci, &err) < 0)
        return cli_fail(cli, err);
    bool force = cli_bool(cli, "force");
    int status = 0;
    bool removed = false;
    for (int i = 0; i < argc; i++) {
        if (remove_one(cli, &ci, argv[i], force, &err) < 0) {
            fprintf(cli->err, "Error response from daemon: %s\n", err->msg);
            berr_free(err);
            err = NULL;
            status = 1;
        } else {
            removed = true;
        }
    }
    if (removed) {
        struct img_gc_result gc;
        if (img_gc(ci.store, ci.sn, &gc, &err) < 0) {
            fprintf(cli->err, "cleaning up unused layers: %s\n", err->msg);
            berr_free(err);
            status = 1;
        }
    }
    cli_images_close(&ci);
    return status;
}

static const struct cli_flag rmi_flags[] = {
    {"force", 'f', CLI_FLAG_BOOL, "Force removal of the image"},
    {"no-prune", 0, CLI_FLAG_BOOL, "Do not delete untagged parents"},
    {NULL},
};

static const char *const rmi_aliases[] = {"remove", NULL};

const struct cli_command cli_cmd_rmi = {
    .name = "rm",
    .aliases = rmi_aliases,
    .usage = "[OPTIONS] IMAGE [IMAGE...]",
    .short_desc = "Remove one or more images",
    .flags = rmi_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_rmi,
};
