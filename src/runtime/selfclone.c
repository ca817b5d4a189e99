/* Sealed in-memory copy of the runtime binary (CVE-2019-5736). A write through /proc/PID/exe
 * of any runtime process reaches only this memfd, whose seals forbid writes and resizes; the
 * host binary is never the executable of a process that lives in a container's namespaces. */
#include "runtime/selfclone.h"
#include "common/cleanup.h"

#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>

#define CLONE_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static bool is_sealed_copy(void)
{
    _cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    int seals = fcntl(fd, F_GET_SEALS);
    return seals >= 0 && (seals & CLONE_SEALS) == CLONE_SEALS;
}

int rt_selfclone_ensure(char **argv, char **envp, struct berr **err)
{
    if (is_sealed_copy())
        return 0;
    _cleanup_close_ int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (src < 0)
        return berr_sys(err, "open /proc/self/exe");
    struct stat st;
    if (fstat(src, &st) < 0)
        return berr_sys(err, "stat /proc/self/exe");
    _cleanup_close_ int mfd = memfd_create("berth-runc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0)
        return berr_sys(err, "memfd_create");
    off_t off = 0;
    while (off < st.st_size) {
        ssize_t n = sendfile(mfd, src, &off, (size_t)(st.st_size - off));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return berr_sys(err, "copy the runtime binary into a memfd");
    }
    /* F_SEAL_WRITE fails with EBUSY while a page of the file still has a transient extra
     * reference (the copy's pipe buffers, a CPU's LRU batch); the kernel waits a little
     * itself, and on a loaded machine that is not always enough: try again, briefly. */
    int tries = 0;
    while (fcntl(mfd, F_ADD_SEALS, CLONE_SEALS) < 0) {
        if (errno != EBUSY || ++tries > 200)
            return berr_sys(err, "seal the runtime memfd");
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    fexecve(mfd, argv, envp);
    return berr_sys(err, "re-execute from the sealed runtime copy");
}
