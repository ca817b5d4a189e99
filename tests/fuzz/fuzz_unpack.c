/* Fuzz target for layer unpack (a registry or an archive hands us the tar stream). The first
 * byte picks the whiteout mode; the rest is the (possibly compressed) stream, unpacked into a
 * scratch directory that is then removed. Beyond not crashing, nothing may appear beside the
 * layer's directory. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "image/unpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1 << 20))
        return 0;
    char base[] = "/tmp/berth-fuzz-unpack-XXXXXX";
    if (mkdtemp(base) == NULL)
        abort();
    _cleanup_free_ char *dest = NULL;
    if (asprintf(&dest, "%s/layer", base) < 0 || mkdir(dest, 0755) < 0)
        abort();
    int in = memfd_create("layer", MFD_CLOEXEC);
    if (in < 0 || write_all(in, data + 1, size - 1) < 0 || lseek(in, 0, SEEK_SET) < 0)
        abort();
    int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct img_unpack_opts o = {.whiteouts = data[0] & 1 ? IMG_WHITEOUT_APPLY
                                                         : IMG_WHITEOUT_OVERLAY};
    struct berr *err = NULL;
    (void)img_unpack_layer(in, dfd, &o, NULL, &err);
    berr_free(err);
    close(dfd);
    close(in);
    /* The seeds aim at "../escaped": it must not exist beside the layer. */
    int bfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (fstatat(bfd, "escaped", &st, AT_SYMLINK_NOFOLLOW) == 0)
        abort();
    close(bfd);
    rm_rf_at(AT_FDCWD, base, NULL);
    return 0;
}
