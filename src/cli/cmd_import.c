/* berth import: a root filesystem tarball (a file or standard input) into a one-layer image. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/archive.h"
#include "image/manifest.h"
#include "image/ref.h"

static int run_import(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    const char *src = argv[0];
    if (strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0)
        return cli_fail(cli, berr_new(ENOTSUP,
                                      "importing from a URL is not supported yet: "
                                      "download %s and import the file",
                                      src));
    _cleanup_ref_ struct img_ref *ref = NULL;
    _cleanup_free_ char *name = NULL;
    if (argc > 1) {
        if (img_ref_parse(argv[1], &ref, &err) < 0)
            return cli_fail(cli, err);
        if (ref->digest)
            return cli_fail(cli, berr_new(EINVAL, "refusing to create a tag with a digest "
                                                  "reference"));
        name = img_ref_string(ref);
    }
    _cleanup_platform_ struct img_platform *plat = NULL;
    const char *p = cli_string(cli, "platform");
    if (p[0] && img_platform_parse(p, &plat, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_close_ int fd = -1;
    if (strcmp(src, "-") != 0) {
        fd = open(src, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return cli_fail(cli, berr_new(errno, "open %s: %m", src));
    }
    struct img_import_opts o = {
        .changes = (char **)cli_list(cli, "change"),
        .message = cli_string(cli, "message")[0] ? cli_string(cli, "message") : NULL,
        .name = name,
        .platform_os = plat ? plat->os : NULL,
        .platform_arch = plat ? plat->architecture : NULL,
        .platform_variant = plat ? plat->variant : NULL,
        .source_label = src,
    };
    struct cli_images ci;
    if (cli_images_open(cli, true, &ci, &err) < 0)
        return cli_fail(cli, err);
    struct img_record *rec = NULL;
    int r = img_import(ci.store, ci.sn, fd >= 0 ? fd : STDIN_FILENO, &o, &rec, &err);
    cli_images_close(&ci);
    if (r < 0)
        return cli_fail(cli, err);
    fprintf(cli->out, "%s\n", rec->id);
    img_record_free(rec);
    return 0;
}

static const struct cli_flag import_flags[] = {
    {"change", 'c', CLI_FLAG_LIST, "Apply Dockerfile instruction to the created image"},
    {"message", 'm', CLI_FLAG_STRING, "Set commit message for imported image"},
    {"platform", 0, CLI_FLAG_STRING, "Set platform if server is multi-platform capable"},
    {NULL},
};

const struct cli_command cli_cmd_import = {
    .name = "import",
    .usage = "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
    .short_desc = "Import the contents from a tarball to create a filesystem image",
    .flags = import_flags,
    .min_args = 1,
    .max_args = 2,
    .run = run_import,
};
