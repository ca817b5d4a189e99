#!/usr/bin/env bash
# From a fresh Debian 12 machine to a running container, offline except for apt: installs the
# build dependencies, builds berth, makes an image from busybox-static (`berth import`), mounts
# its layers (`berth image mount`) as the root of an OCI bundle, and runs that with
# `berth-runc run`. Run as root:   ./scripts/demo.sh [COMMAND [ARG...]]
#
# Environment:
#   BERTH_SKIP_APT=1     do not run apt-get
#   BERTH_RUNC=PATH      run the bundle with another runtime (e.g. /usr/sbin/runc) to compare
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

if [[ $EUID -ne 0 ]]; then
    echo "demo.sh must run as root (containers need namespaces, mounts and cgroups)" >&2
    exit 1
fi

if [[ "${BERTH_SKIP_APT:-0}" != 1 ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends meson ninja-build pkg-config gcc libc6-dev \
        libjansson-dev libseccomp-dev libcap-dev libcmocka-dev libcurl4-openssl-dev libmicrohttpd-dev \
        libarchive-dev libssl-dev nettle-dev busybox-static >/dev/null
fi

[[ -f build/build.ninja ]] || meson setup build
ninja -C build
RUNTIME=${BERTH_RUNC:-$ROOT/build/src/runtime/cli/berth-runc}
BERTH=$ROOT/build/src/cli/berth

WORK=$(mktemp -d /tmp/berth-demo.XXXXXX)
STATE=$WORK/state
IMAGES=$WORK/images
ID=demo-$$
cleanup() {
    "$RUNTIME" --root "$STATE" delete --force "$ID" >/dev/null 2>&1 || true
    "$BERTH" --root "$IMAGES" image unmount demo/busybox:1 >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The image's one layer: busybox-static and a link per applet, nothing else.
ROOTFS=$WORK/rootfs-src
mkdir -p "$ROOTFS"/{bin,dev,proc,sys,tmp,etc,root}
chmod 1777 "$ROOTFS/tmp"
cp /bin/busybox "$ROOTFS/bin/busybox"
for applet in $("$ROOTFS/bin/busybox" --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$ROOTFS/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" >"$ROOTFS/etc/passwd"
echo "root:x:0:" >"$ROOTFS/etc/group"
tar -C "$ROOTFS" -czf "$WORK/busybox.tar.gz" .
echo "+ $BERTH --root $IMAGES import -c 'CMD [\"sh\"]' busybox.tar.gz demo/busybox:1" >&2
"$BERTH" --root "$IMAGES" import -c 'CMD ["sh"]' "$WORK/busybox.tar.gz" demo/busybox:1 >/dev/null
"$BERTH" --root "$IMAGES" images >&2
ROOTFS=$("$BERTH" --root "$IMAGES" image mount demo/busybox:1)
mkdir -p "$WORK/bundle"

# The command, as a JSON array of strings.
if [[ $# -eq 0 ]]; then
    set -- sh -c 'echo "hello from a berth container: $(hostname), pid $$, uid $(id -u)"
echo "mounts:"; mount | sed "s/^/  /"
echo "processes:"; ps'
fi
ARGS=""
for a in "$@"; do
    a=${a//\\/\\\\}
    a=${a//\"/\\\"}
    a=${a//$'\n'/\\n}
    a=${a//$'\t'/\\t}
    ARGS+="${ARGS:+, }\"$a\""
done

# The configuration `runc spec` writes, with terminal off so output can be piped.
cat >"$WORK/bundle/config.json" <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": [$ARGS],
    "env": ["PATH=/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "$ROOTFS", "readonly": true},
  "hostname": "berth-demo",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}],
                  "memory": {"limit": 134217728}, "pids": {"limit": 64}},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                   {"type": "mount"}, {"type": "cgroup"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                    "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
EOF

echo "+ $RUNTIME --root $STATE run --bundle $WORK/bundle $ID" >&2
rc=0
"$RUNTIME" --root "$STATE" run --bundle "$WORK/bundle" "$ID" </dev/null || rc=$?
echo "container exited with status $rc" >&2
exit "$rc"
