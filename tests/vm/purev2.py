#!/usr/bin/python3
"""Runs a command on a pure cgroup v2 kernel: Debian's own kernel booted under qemu (TCG: no
KVM is needed) with every v1 controller disabled (cgroup_no_v1=all), the host's root file
system shared read-only over 9p, and fresh tmpfs on /tmp, /run, /var/tmp and /root. The
command runs as root with that view as the root file system, with cgroup2 mounted on /sys/fs/cgroup and
nothing else using it: no systemd, so the runtime under test sets the hierarchy up itself.

The kernel and its 9p/virtio modules come from Debian's linux-image package, unpacked into
a directory (see kernel_dir()); .ci/run prepares it with `apt-get download`.

usage: purev2.py [--kernel-dir DIR] [--timeout S] [--memory MB] [--share DIR]... -- COMMAND...
Prints the command's output; exits with its status (124 on timeout, 125 if the VM failed).
"""
import argparse
import glob
import io
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time

# load order of what 9p over virtio-pci needs (each a module in Debian's kernel), and overlayfs
# for berthd's container roots
MODULES = ["virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
           "virtio_pci", "netfs", "fscache", "9pnet", "9pnet_virtio", "9p", "overlay"]
MARK = "BERTH-VM-EXIT"

INIT = r"""#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
for m in %(modules)s; do $B insmod /modules/$m.ko || echo "purev2: insmod $m failed"; done
$B mkdir -p /host
if ! $B mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose host /host; then
    echo "%(mark)s 125 (cannot mount the host's root over 9p)"; $B poweroff -f
fi
for d in tmp run var/tmp root; do $B mount -t tmpfs -o mode=1777 tmpfs /host/$d; done
# directories asked for by --share: visible at their own path even under those tmpfs
%(shares)s
$B mount -t proc proc /host/proc
$B mount -t sysfs sys /host/sys
$B mount -t devtmpfs dev /host/dev
$B mkdir -p /host/dev/pts /host/dev/shm
$B ln -sf /proc/self/fd /host/dev/fd
for i in 0:stdin 1:stdout 2:stderr; do $B ln -sf /proc/self/fd/${i%%:*} /host/dev/${i#*:}; done
$B mount -t devpts -o newinstance,ptmxmode=0666 devpts /host/dev/pts
$B mount -t tmpfs shm /host/dev/shm
$B mount -t cgroup2 cgroup2 /host/sys/fs/cgroup
$B cp /cmd.sh /host/tmp/.purev2-cmd.sh
$B cp /stage2.sh /host/tmp/.purev2-stage2.sh
# the host's root becomes the root (as an initramfs hands over to a real system), so that
# joining a mount namespace lands where a container's runtime expects, as it does on a host
exec $B switch_root /host /bin/busybox sh /tmp/.purev2-stage2.sh
"""

STAGE2 = r"""cd /
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
/bin/sh /tmp/.purev2-cmd.sh
echo "%(mark)s $?"
/bin/busybox sync
exec /bin/busybox poweroff -f
"""


def kernel_dir(given=None):
    """Where Debian's linux-image package is unpacked: --kernel-dir, $BERTH_VM_KERNEL_DIR, or
    /var/cache/berth-vm/kernel."""
    return given or os.environ.get("BERTH_VM_KERNEL_DIR") or "/var/cache/berth-vm/kernel"


def find_kernel(kdir):
    images = sorted(glob.glob(os.path.join(kdir, "boot/vmlinuz-*")))
    if not images:
        return None, None
    version = os.path.basename(images[-1])[len("vmlinuz-"):]
    return images[-1], os.path.join(kdir, "lib/modules", version)


def qemu_binary():
    return shutil.which("qemu-system-x86_64")


def _cpio_newc(entries):
    """A newc cpio archive of (name, mode, data or None for a directory) entries."""
    out = io.BytesIO()
    ino = 1
    for name, mode, data in entries + [("TRAILER!!!", 0, b"")]:
        data = data or b""
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
        out.write(b"070701" + b"".join(b"%08X" % f for f in fields))
        out.write(name.encode() + b"\0")
        out.write(b"\0" * ((4 - out.tell() % 4) % 4))
        out.write(data)
        out.write(b"\0" * ((4 - out.tell() % 4) % 4))
        ino += 1
    return out.getvalue()


def build_initramfs(moddir, command, path, shares=()):
    mods = []
    for m in MODULES:
        found = glob.glob(os.path.join(moddir, "kernel", "**", m + ".ko"), recursive=True)
        if not found:
            raise FileNotFoundError(f"module {m}.ko not under {moddir}")
        mods.append((m, open(found[0], "rb").read()))
    busybox = open("/bin/busybox", "rb").read()
    mounts = "".join(
        f"$B mkdir -p /host{p} && $B mount -t 9p -o "
        f"trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose share{i} /host{p} || "
        f"echo 'purev2: cannot share {p}'\n" for i, p in enumerate(shares))
    init = INIT % {"modules": " ".join(MODULES), "mark": MARK, "shares": mounts}
    entries = [("bin", stat.S_IFDIR | 0o755, None), ("proc", stat.S_IFDIR | 0o755, None),
               ("sys", stat.S_IFDIR | 0o755, None), ("dev", stat.S_IFDIR | 0o755, None),
               ("modules", stat.S_IFDIR | 0o755, None),
               ("bin/busybox", stat.S_IFREG | 0o755, busybox),
               ("init", stat.S_IFREG | 0o755, init.encode()),
               ("cmd.sh", stat.S_IFREG | 0o644, command.encode()),
               ("stage2.sh", stat.S_IFREG | 0o644, (STAGE2 % {"mark": MARK}).encode())]
    entries += [(f"modules/{m}.ko", stat.S_IFREG | 0o644, d) for m, d in mods]
    with open(path, "wb") as f:
        f.write(_cpio_newc(entries))


def run(command, kdir=None, timeout=900, memory=2048, cpus=2, stream=None, shares=()):
    """Boots, runs command (a shell script) there; returns (status, output). shares: host
    directories to show at their own paths even where the VM puts a tmpfs (a checkout in /tmp)."""
    shares = [os.path.realpath(p) for p in shares]
    for p in shares:
        if not os.path.isdir(p) or any(c in p for c in "'\"$`\\ ,\n"):
            return 125, f"cannot share {p!r}: not a directory, or a name qemu or sh cannot take"
    kernel, moddir = find_kernel(kernel_dir(kdir))
    if kernel is None:
        return 125, f"no kernel under {kernel_dir(kdir)}/boot (see tests/vm/purev2.py)"
    qemu = qemu_binary()
    if qemu is None:
        return 125, "qemu-system-x86_64 is not installed"
    with tempfile.TemporaryDirectory(prefix="purev2-") as tmp:
        initrd = os.path.join(tmp, "initrd.cpio")
        build_initramfs(moddir, command, initrd, shares)
        argv = [qemu, "-accel", "tcg,thread=multi", "-cpu", "max", "-smp", str(cpus),
                "-m", str(memory), "-nographic", "-no-reboot", "-nodefaults",
                "-serial", "stdio", "-kernel", kernel, "-initrd", initrd,
                "-append", "console=ttyS0 quiet loglevel=3 panic=-1 cgroup_no_v1=all "
                           "systemd.unified_cgroup_hierarchy=1",
                "-virtfs", "local,path=/,mount_tag=host,security_model=passthrough,readonly=on,multidevs=remap",
                "-device", "virtio-rng-pci"]
        for i, p in enumerate(shares):
            argv += ["-virtfs", f"local,path={p},mount_tag=share{i},security_model=passthrough,"
                                "readonly=on,multidevs=remap"]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        out = []
        deadline = time.monotonic() + timeout
        os.set_blocking(p.stdout.fileno(), False)
        buf = b""
        while p.poll() is None:
            if time.monotonic() > deadline:
                p.kill()
                p.wait()
                return 124, "".join(out) + buf.decode(errors="replace") + "\n(timed out)\n"
            chunk = p.stdout.read(65536)
            if chunk:
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    text = line.decode(errors="replace").rstrip("\r") + "\n"
                    out.append(text)
                    if stream:
                        stream.write(text)
                        stream.flush()
            else:
                time.sleep(0.05)
        rest = p.stdout.read() or b""
        out.append((buf + rest).decode(errors="replace"))
        text = "".join(out)
        for line in reversed(text.splitlines()):
            if line.startswith(MARK + " "):
                return int(line.split()[1]), text
        return 125, text + f"\n(the VM ended without {MARK}; qemu exited {p.returncode})\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel-dir")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--memory", type=int, default=2048)
    ap.add_argument("--share", action="append", default=[],
                    help="a host directory to show at its own path (repeatable)")
    ap.add_argument("command", nargs="+")
    a = ap.parse_args()
    rc, _ = run(" ".join(shlex.quote(c) for c in a.command), a.kernel_dir, a.timeout, a.memory,
                stream=sys.stdout, shares=a.share)
    sys.exit(rc)


if __name__ == "__main__":
    main()
