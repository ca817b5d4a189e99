/* Sealed in-memory copy of the runtime binary (CVE-2019-5736). A write through /proc/PID/exe
 * of any runtime process reaches only this memfd, whose seals forbid writes and resizes; the
 * host binary is never the executable of a process that lives in a container's namespaces. */
#include "runtime/selfclone.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

#include <fcntl.h>
#include <stdbool.h>

static bool is_sealed_copy(void)
{
    _cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    int seals = fcntl(fd, F_GET_SEALS);
    return seals >= 0 && (seals & SEALED_COPY_SEALS) == SEALED_COPY_SEALS;
}

int rt_selfclone_ensure(char **argv, char **envp, struct berr **err)
{
    if (is_sealed_copy())
        return 0;
    _cleanup_close_ int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (src < 0)
        return berr_sys(err, "open /proc/self/exe");
    _cleanup_close_ int mfd = sealed_copy_fd(src, "berth-runc", err);
    if (mfd < 0)
        return -1;
    fexecve(mfd, argv, envp);
    return berr_sys(err, "re-execute from the sealed runtime copy");
}
