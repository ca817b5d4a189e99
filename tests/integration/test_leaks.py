"""Repeated lifecycles leave nothing behind: no mounts, cgroups, state entries, processes or
open files. BERTH_LEAK_CYCLES sets the count (default 50; 1000 for the soak run)."""

import json
import os
import uuid

import pytest

from helpers import (RUNTIME, RUNTIME_NAME, cgroup_dir_count, cgroup_dirs_named, host_mounts,
                     mounts_under, pids, processes_of, wait_for)

CYCLES = int(os.environ.get("BERTH_LEAK_CYCLES", "50"))
# Global counts may move a little with unrelated activity on the host; a leak of one object per
# cycle moves them by CYCLES.
SLACK = max(3, CYCLES // 4)


def open_files_under(*dirs):
    """Open fds, in any process, whose target is inside one of `dirs`."""
    prefixes = [str(d).rstrip("/") + "/" for d in dirs]
    n = 0
    for pid in pids():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                t = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if any(t.startswith(p) for p in prefixes):
                n += 1
    return n


def runtime_processes(test_dir, prefix):
    """Processes still running the runtime binary (a leaked monitor or init; found by their
    executable, or by name when the runtime re-executes from a sealed in-memory copy) that refer
    to this test: its directory in their cwd, command line or open files, or its container id
    prefix in their cgroup. Runtime processes of other sessions on the host are not counted."""
    real = os.path.realpath(RUNTIME)
    here = str(test_dir)
    n = 0
    for pid in pids():
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
            comm = open(f"/proc/{pid}/comm").read().strip()
        except OSError:
            continue
        if not (exe == real or (exe.startswith("/memfd:") and comm.startswith(RUNTIME_NAME[:4]))):
            continue
        refs = []
        for path in (f"/proc/{pid}/cmdline", f"/proc/{pid}/cgroup"):
            try:
                refs.append(open(path, "rb").read().decode(errors="replace"))
            except OSError:
                pass
        try:
            refs.append(os.readlink(f"/proc/{pid}/cwd"))
            refs += [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            pass
        if any(here in r or prefix in r for r in refs):
            n += 1
    return n


def snapshot(rt, test_dir, prefix, token):
    # Only counts that belong to this test are compared exactly: other work on the host (a
    # build, another test session) moves the global process and fd counts.
    return {
        "mounts_here": len(mounts_under(test_dir)),
        "mounts_named": len([m for m in host_mounts() if prefix in m[0] or prefix in m[2]]),
        "cgroups_named": len(cgroup_dirs_named(prefix)),
        "state_entries": len(os.listdir(rt.root)) if rt.root.is_dir() else 0,
        "processes_here": len(processes_of(token=token, under=test_dir)),
        "runtime_processes": runtime_processes(test_dir, prefix),
        "open_files_here": open_files_under(test_dir),
        "mounts_total": len(host_mounts()),
        "cgroups_total": cgroup_dir_count(),
    }


def compare(before, after):
    exact = ("mounts_here", "mounts_named", "cgroups_named", "state_entries", "processes_here",
             "runtime_processes", "open_files_here")
    problems = {k: (before[k], after[k]) for k in exact if after[k] != before[k]}
    problems.update({k: (before[k], after[k]) for k in before
                     if k not in exact and after[k] - before[k] > SLACK})
    assert not problems, f"after {CYCLES} cycles (before, after): {problems}"


@pytest.mark.time_limit(max(120, CYCLES * 2))
def test_create_start_delete_cycles(rt, bundle, test_dir):
    prefix = f"leak{uuid.uuid4().hex[:6]}"
    bundle.helper("exit", "0")
    bundle.resources()["memory"] = {"limit": 64 * 1024 * 1024}
    bundle.resources()["pids"] = {"limit": 100}
    bundle.write()
    # One warm-up cycle so that lazily created, long-lived things (a state root) exist before.
    rt.ok("run", "--bundle", bundle, f"{prefix}-warm")
    before = snapshot(rt, test_dir, prefix, bundle.token)
    for i in range(CYCLES):
        cid = f"{prefix}-{i}"
        rt.ok("create", "--bundle", bundle, cid)
        rt.ok("start", cid)
        rt.wait_status(cid, "stopped")
        rt.ok("delete", cid)
    after = snapshot(rt, test_dir, prefix, bundle.token)
    compare(before, after)


@pytest.mark.time_limit(max(120, CYCLES * 2))
def test_run_and_force_delete_cycles(rt, bundle, test_dir):
    prefix = f"leak{uuid.uuid4().hex[:6]}"
    bundle.args("sleep", "60")
    bundle.write()
    rt.ok("run", "-d", "--bundle", bundle, f"{prefix}-warm")
    rt.ok("delete", "--force", f"{prefix}-warm")
    before = snapshot(rt, test_dir, prefix, bundle.token)
    for i in range(max(1, CYCLES // 2)):
        cid = f"{prefix}-{i}"
        rt.ok("run", "-d", "--bundle", bundle, cid)
        rt.ok("delete", "--force", cid)
    after = snapshot(rt, test_dir, prefix, bundle.token)
    compare(before, after)


@pytest.mark.time_limit(max(120, CYCLES * 2))
def test_exec_cycles(rt, bundle, cid, test_dir):
    bundle.args("sleep", "600")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    init = rt.state(cid)["pid"]
    rt.ok("exec", cid, "true")
    init_fds = len(os.listdir(f"/proc/{init}/fd"))
    before = snapshot(rt, test_dir, "no-such-prefix", "no-such-token")
    for _ in range(CYCLES):
        rt.ok("exec", cid, "true")
    wait_for(lambda: json.loads(rt.ok("ps", "--format", "json", cid).out) == [init],
             what="only init left in the container")
    assert len(os.listdir(f"/proc/{init}/fd")) == init_fds
    after = snapshot(rt, test_dir, "no-such-prefix", "no-such-token")
    after["processes_here"] = before["processes_here"]  # init itself stays, by design
    compare(before, after)
