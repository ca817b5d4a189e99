#!/usr/bin/python3
"""Side-by-side benchmark of OCI runtimes: berth-runc, runc and crun on the same bundle.

Measures, per runtime: `run` of /bin/true (create+start+wait+delete in one command), the
separate create / start / exec / delete steps, 200 sequential runs, the peak RSS of the runtime
process, and the memory each idle container costs with many running. Prints medians and ratios
against berth-runc. Every loop is bounded in count; run as root.

usage: sudo /usr/bin/python3 bench/runtime.py [--runs N] [--idle N] [--only berth,runc,crun]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_runtimes(only):
    cands = {
        "berth": os.environ.get("BERTH_RUNC", os.path.join(REPO, "build/src/runtime/cli/berth-runc")),
        "crun": shutil.which("crun"),
        "runc": shutil.which("runc"),
    }
    out = {}
    for name, path in cands.items():
        if only and name not in only:
            continue
        if path and os.access(path, os.X_OK):
            out[name] = path
        else:
            print(f"# {name}: not found, skipped", file=sys.stderr)
    return out


def make_bundle(base, args):
    rootfs = os.path.join(base, "rootfs")
    for d in ("bin", "proc", "sys", "dev", "tmp", "etc"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    shutil.copy("/bin/busybox", os.path.join(rootfs, "bin/busybox"))
    for applet in ("sh", "true", "sleep", "cat"):
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))
    spec = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False, "user": {"uid": 0, "gid": 0}, "args": args,
            "env": ["PATH=/bin"], "cwd": "/",
            "capabilities": {k: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
                             for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "bench",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }
    with open(os.path.join(base, "config.json"), "w") as f:
        json.dump(spec, f)
    return base


# A fork of this Python process would carry Python's own RSS into the child's high-water mark
# (the kernel keeps the pre-exec maximum), so peak RSS is taken through a tiny static launcher.
MAXRSS_C = r"""
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[1], argv + 1);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0)
        return 126;
    fprintf(stderr, "maxrss_kib=%ld\n", ru.ru_maxrss);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
"""
MAXRSS = None


def build_maxrss(tmp):
    global MAXRSS
    src = os.path.join(tmp, "maxrss.c")
    with open(src, "w") as f:
        f.write(MAXRSS_C)
    MAXRSS = os.path.join(tmp, "maxrss")
    subprocess.run(["cc", "-O2", "-static", "-o", MAXRSS, src], check=True)


def peak_rss(cmd):
    with tempfile.TemporaryFile() as errf:
        subprocess.run([MAXRSS] + cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=errf)
        errf.seek(0)
        text = errf.read().decode(errors="replace")
    for line in text.splitlines():
        if line.startswith("maxrss_kib="):
            return int(line.split("=")[1])
    raise RuntimeError(f"{' '.join(cmd)}: {text.strip()}")


def timed(cmd):
    """Run cmd; return (seconds, rusage max RSS of the direct child in KiB)."""
    # stderr goes to a file, not a pipe: a detached container keeps its copy open.
    with tempfile.TemporaryFile() as errf:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=errf)
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        errf.seek(0)
        err = errf.read().decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err.strip()}")
    return dt, ru.ru_maxrss


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def ensure_crun_hugetlb():
    """crun 1.8.1 refuses the hybrid layout unless a v1 hugetlb hierarchy exists."""
    path = "/sys/fs/cgroup/hugetlb"
    if os.path.ismount(path) or not os.path.ismount("/sys/fs/cgroup/unified"):
        return None
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", path])
    return path if r.returncode == 0 else None


def bench_runtime(name, rt, bundle_true, bundle_sleep, runs, idle):
    root = tempfile.mkdtemp(prefix=f"bench-{name}-root-")
    base = [rt, "--root", root]
    res = {}
    try:
        # Warm the page cache and the binary once.
        timed(base + ["run", "--bundle", bundle_true, f"warm-{name}"])
        run_t = []
        for i in range(runs):
            dt, _ = timed(base + ["run", "--bundle", bundle_true, f"r{i}"])
            run_t.append(dt)
        res["run"] = statistics.median(run_t)
        # Peak RSS of the runtime process itself, for run, create and exec.
        rss = [peak_rss(base + ["run", "--bundle", bundle_true, "rss-run"])]
        rss.append(peak_rss(base + ["create", "--bundle", bundle_sleep, "rss-c"]))
        subprocess.run(base + ["start", "rss-c"], check=True)
        rss.append(peak_rss(base + ["exec", "rss-c", "/bin/true"]))
        subprocess.run(base + ["delete", "--force", "rss-c"], check=True)
        res["peak_rss_kib"] = max(rss)

        create_t, start_t, exec_t, delete_t = [], [], [], []
        for i in range(runs):
            cid = f"c{i}"
            dt, _ = timed(base + ["create", "--bundle", bundle_sleep, cid])
            create_t.append(dt)
            dt, _ = timed(base + ["start", cid])
            start_t.append(dt)
            dt, _ = timed(base + ["exec", cid, "/bin/true"])
            exec_t.append(dt)
            dt, _ = timed(base + ["delete", "--force", cid])
            delete_t.append(dt)
        res["create"] = statistics.median(create_t)
        res["start"] = statistics.median(start_t)
        res["exec"] = statistics.median(exec_t)
        res["delete"] = statistics.median(delete_t)

        t0 = time.perf_counter()
        for i in range(200):
            timed(base + ["run", "--bundle", bundle_true, f"s{i}"])
        res["200_runs"] = time.perf_counter() - t0

        if idle:
            before = mem_available_kib()
            started = []
            try:
                for i in range(idle):
                    cid = f"idle{i}"
                    timed(base + ["run", "--detach", "--bundle", bundle_sleep, cid])
                    started.append(cid)
                time.sleep(1)
                after = mem_available_kib()
                res["idle_kib_per_container"] = (before - after) / max(1, len(started))
            finally:
                for cid in started:
                    r = subprocess.run(base + ["delete", "--force", cid],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                    if r.returncode != 0:
                        print(f"# {name}: could not delete {cid} (root {root}): "
                              f"{r.stderr.decode(errors='replace').strip()}", file=sys.stderr)
    finally:
        # Keep the state root if anything is left in it, so the containers can still be found.
        if not os.listdir(root):
            os.rmdir(root)
        else:
            print(f"# {name}: containers left under {root}", file=sys.stderr)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--idle", type=int, default=500)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    rts = find_runtimes([x for x in a.only.split(",") if x])
    tmp = tempfile.mkdtemp(prefix="bench-bundles-")
    mounted = None
    try:
        build_maxrss(tmp)
        bt = make_bundle(os.path.join(tmp, "true"), ["/bin/true"])
        bs = make_bundle(os.path.join(tmp, "sleep"), ["/bin/sleep", "100000"])
        if "crun" in rts:
            mounted = ensure_crun_hugetlb()
        results = {}
        for name, rt in rts.items():
            print(f"# {name}: {rt}", file=sys.stderr)
            results[name] = bench_runtime(name, rt, bt, bs, a.runs, a.idle)
        keys = ["run", "create", "start", "exec", "delete", "200_runs", "peak_rss_kib",
                "idle_kib_per_container"]
        names = list(results)
        print(f"{'metric':<24}" + "".join(f"{n:>14}" for n in names) +
              "".join(f"{'berth/' + n:>14}" for n in names if n != "berth"))
        for k in keys:
            row = f"{k:<24}"
            for n in names:
                v = results[n].get(k)
                if v is None:
                    row += f"{'-':>14}"
                elif k.endswith("kib") or k.endswith("container"):
                    row += f"{v:>14.0f}"
                else:
                    row += f"{v * 1000:>12.2f}ms"
            for n in names:
                if n == "berth":
                    continue
                b, o = results.get("berth", {}).get(k), results[n].get(k)
                row += f"{(b / o if b is not None and o else float('nan')):>14.2f}"
            print(row)
        print(json.dumps(results), file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if mounted:
            subprocess.run(["umount", mounted])
            try:
                os.rmdir(mounted)
            except OSError:
                pass


if __name__ == "__main__":
    main()
