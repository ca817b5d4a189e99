"""create / start / state / kill / delete / run / list / ps / pause / resume, as runc does them."""

import json
import os
import signal
import time

import pytest

from helpers import (RUNTIME, Runtime, assert_no_leftovers, cgroup_mounts, new_id,
                     parse_json_output, pid_alive, read_cgroup_value,
                     wait_file_contains, wait_for)


def test_create_start_kill_delete(rt, bundle, cid):
    bundle.args("sleep", "60")
    rt.ok("create", "--bundle", bundle, cid)
    st = rt.state(cid)
    assert st["status"] == "created"
    assert st["pid"] > 0 and pid_alive(st["pid"])
    rt.ok("start", cid)
    assert rt.state(cid)["status"] == "running"
    rt.ok("kill", cid, "KILL")
    rt.wait_status(cid, "stopped")
    assert not pid_alive(st["pid"])
    rt.ok("delete", cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_created_container_has_not_run_user_process(rt, bundle, cid, test_dir):
    marker = "/hostdir/started"
    (test_dir / "hostdir").mkdir()
    bundle.add_mount("/hostdir", "bind", test_dir / "hostdir", ["rbind", "rw"])
    bundle.args("sh", "-c", f"echo yes > {marker}; sleep 60")
    rt.ok("create", "--bundle", bundle, cid)
    time.sleep(0.3)
    assert not (test_dir / "hostdir/started").exists(), "process ran before start"
    rt.ok("start", cid)
    wait_file_contains(test_dir / "hostdir/started", "yes")


def test_state_fields(rt, bundle, cid):
    bundle.config["annotations"] = {"org.berth.test": "yes", "other": "1"}
    bundle.args("sleep", "60")
    rt.ok("create", "--bundle", bundle, cid)
    st = rt.state(cid)
    assert st["ociVersion"]
    assert st["id"] == cid
    assert st["status"] == "created"
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert os.path.realpath(st["bundle"]) == os.path.realpath(bundle.path)
    assert st["annotations"] == {"org.berth.test": "yes", "other": "1"}


def test_run_exit_code_propagates(rt, bundle, cid):
    bundle.helper("exit", "42")
    r = rt("run", "--bundle", bundle, cid)
    assert r.rc == 42, r
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_run_exit_by_signal_is_128_plus_signal(rt, bundle, cid):
    # Without a pid namespace the process is not an init, so it can signal itself to death.
    bundle.drop_namespace("pid")
    bundle.args("sh", "-c", "kill -KILL $$")
    r = rt("run", "--bundle", bundle, cid)
    assert r.rc == 128 + signal.SIGKILL, r


def test_run_stdout_and_stderr_pass_through(rt, bundle, cid):
    bundle.args("sh", "-c", "echo to-out; echo to-err >&2")
    r = rt.ok("run", "--bundle", bundle, cid)
    assert r.out == "to-out\n"
    assert "to-err" in r.err


def test_run_detach(rt, bundle, cid):
    bundle.args("sleep", "60")
    t0 = time.monotonic()
    rt.ok("run", "--detach", "--bundle", bundle, cid)
    assert time.monotonic() - t0 < 10
    st = rt.state(cid)
    assert st["status"] == "running" and pid_alive(st["pid"])
    rt.ok("delete", "--force", cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_pid_file(rt, bundle, cid, test_dir):
    pidfile = test_dir / "ctr.pid"
    bundle.args("sleep", "60")
    rt.ok("create", "--pid-file", pidfile, "--bundle", bundle, cid)
    assert int(pidfile.read_text().strip()) == rt.state(cid)["pid"]


@pytest.mark.known_failure("crun", "crun 1.8.1 titles the first column NAME, runc ID")
def test_list_table_json_quiet(rt, make_bundle):
    ids = [new_id(), new_id()]
    for i in ids:
        b = make_bundle(["sleep", "60"])
        rt.ok("create", "--bundle", b, i)
    rt.ok("start", ids[0])
    table = rt.ok("list").out.splitlines()
    assert table[0].split()[:3] == ["ID", "PID", "STATUS"]
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert set(rows) == set(ids)
    assert rows[ids[0]][2] == "running" and rows[ids[1]][2] == "created"

    listed = json.loads(rt.ok("list", "--format", "json").out)
    by_id = {c["id"]: c for c in listed}
    assert set(by_id) == set(ids)
    assert by_id[ids[0]]["status"] == "running"
    assert by_id[ids[0]]["pid"] == rt.state(ids[0])["pid"]
    assert "bundle" in by_id[ids[0]]

    assert sorted(rt.ok("list", "-q").out.split()) == sorted(ids)


def test_list_empty_root(rt):
    assert rt.ok("list", "-q").out.strip() == ""
    out = rt.ok("list", "--format", "json").out.strip()
    assert json.loads(out) in ([], None)


def test_ps_json(rt, bundle, cid):
    bundle.args("sh", "-c", "sleep 60 & sleep 60")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    init = rt.state(cid)["pid"]

    def two():
        ps = json.loads(rt.ok("ps", "--format", "json", cid).out)
        return ps if len(ps) >= 2 else None
    ps = wait_for(two, what="two processes in ps")
    assert init in ps
    assert all(isinstance(p, int) and pid_alive(p) for p in ps)


def test_create_twice_same_id_fails(rt, make_bundle, cid):
    b1, b2 = make_bundle(["sleep", "60"]), make_bundle(["sleep", "60"])
    rt.ok("create", "--bundle", b1, cid)
    pid = rt.state(cid)["pid"]
    rt.fails("create", "--bundle", b2, cid)
    st = rt.state(cid)
    assert st["pid"] == pid and os.path.realpath(st["bundle"]) == os.path.realpath(b1.path)


def test_start_twice_fails(rt, bundle, cid):
    bundle.args("sleep", "60")
    rt.ok("create", "--bundle", bundle, cid)
    rt.ok("start", cid)
    rt.fails("start", cid)
    assert rt.state(cid)["status"] == "running"


def test_start_stopped_fails(rt, bundle, cid):
    bundle.helper("exit", "0")
    rt.ok("create", "--bundle", bundle, cid)
    rt.ok("start", cid)
    rt.wait_status(cid, "stopped")
    rt.fails("start", cid)


def test_delete_running_needs_force(rt, bundle, cid):
    bundle.args("sleep", "60")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    pid = rt.state(cid)["pid"]
    rt.fails("delete", cid)
    assert rt.state(cid)["status"] == "running" and pid_alive(pid)
    rt.ok("delete", "--force", cid)
    assert not pid_alive(pid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_delete_created_container(rt, bundle, cid):
    bundle.args("sleep", "60")
    rt.ok("create", "--bundle", bundle, cid)
    pid = rt.state(cid)["pid"]
    rt.ok("delete", "--force", cid)
    assert not pid_alive(pid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


@pytest.mark.parametrize("cmd", [["state"], ["start"], ["kill"], ["delete"], ["pause"],
                                 ["resume"], ["ps"], ["events", "--stats"]])
def test_unknown_container(rt, cmd):
    cid = new_id("nosuch")
    rt.fails(*cmd, cid)


@pytest.mark.parametrize("sig", ["TERM", "SIGTERM", "15"])
def test_kill_signal_spellings(rt, bundle, cid, test_dir, sig):
    out, err = test_dir / "out", test_dir / "err"
    bundle.helper("wait-signal", "TERM")
    with open(out, "w") as o, open(err, "w") as e:
        rt.ok("run", "-d", "--bundle", bundle, cid, stdout=o, stderr=e)
    wait_file_contains(err, "ready")
    rt.ok("kill", cid, sig)
    rt.wait_status(cid, "stopped")
    assert parse_json_output(out.read_text())["signal"] == signal.SIGTERM


def test_kill_default_signal_is_term(rt, bundle, cid, test_dir):
    out, err = test_dir / "out", test_dir / "err"
    bundle.helper("wait-signal", "TERM")
    with open(out, "w") as o, open(err, "w") as e:
        rt.ok("run", "-d", "--bundle", bundle, cid, stdout=o, stderr=e)
    wait_file_contains(err, "ready")
    rt.ok("kill", cid)
    rt.wait_status(cid, "stopped")
    assert parse_json_output(out.read_text())["signal"] == signal.SIGTERM


def test_kill_usr1_reaches_process(rt, bundle, cid, test_dir):
    out, err = test_dir / "out", test_dir / "err"
    bundle.helper("wait-signal", "USR1")
    with open(out, "w") as o, open(err, "w") as e:
        rt.ok("run", "-d", "--bundle", bundle, cid, stdout=o, stderr=e)
    wait_file_contains(err, "ready")
    rt.ok("kill", cid, "USR1")
    rt.wait_status(cid, "stopped")
    assert parse_json_output(out.read_text())["signal"] == signal.SIGUSR1


@pytest.mark.known_failure("crun", "crun 1.8.1 accepts an unknown signal name and exits 0")
def test_kill_unknown_signal_fails(rt, bundle, cid):
    bundle.args("sleep", "60")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    rt.fails("kill", cid, "NOTASIGNAL")
    assert rt.state(cid)["status"] == "running"


def test_kill_all(rt, bundle, cid):
    bundle.args("sh", "-c", "sleep 60 & sleep 60 & sleep 60")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    procs = wait_for(lambda: (lambda p: p if len(p) >= 3 else None)(
        json.loads(rt.ok("ps", "--format", "json", cid).out)), what="3 processes")
    rt.ok("kill", "--all", cid, "KILL")
    rt.wait_status(cid, "stopped")
    wait_for(lambda: not any(pid_alive(p) for p in procs), what="all processes gone")


def test_pause_resume(rt, bundle, cid):
    bundle.args("sleep", "60")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    pid = rt.state(cid)["pid"]
    v1, _ = cgroup_mounts()
    freezer_state = (lambda: read_cgroup_value(pid, "freezer", "freezer.state")) \
        if "freezer" in v1 else (lambda: read_cgroup_value(pid, "freezer", "cgroup.freeze"))
    rt.ok("pause", cid)
    assert rt.state(cid)["status"] == "paused"
    assert freezer_state() in ("FROZEN", "1")
    rt.fails("start", cid)
    rt.ok("resume", cid)
    assert rt.state(cid)["status"] == "running"
    assert freezer_state() in ("THAWED", "0")
    rt.ok("delete", "--force", cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_delete_force_paused(rt, bundle, cid):
    bundle.args("sleep", "60")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    rt.ok("pause", cid)
    rt.ok("delete", "--force", cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_stopped_container_deleted_without_force(rt, bundle, cid):
    bundle.helper("exit", "3")
    rt.ok("create", "--bundle", bundle, cid)
    rt.ok("start", cid)
    rt.wait_status(cid, "stopped")
    rt.ok("delete", cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_run_removes_container_after_exit(rt, bundle, cid):
    bundle.helper("exit", "0")
    rt.ok("run", "--bundle", bundle, cid)
    assert cid not in rt.ok("list", "-q").out.split()
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_bundle_defaults_to_cwd(rt, bundle, cid):
    bundle.helper("exit", "7")
    bundle.write()
    r = rt("run", cid, cwd=bundle.path)
    assert r.rc == 7, r


def test_root_option_isolates_containers(rt, make_bundle, test_dir, cid):
    other = Runtime(RUNTIME, test_dir / "other-root")
    b = make_bundle(["sleep", "60"])
    rt.ok("create", "--bundle", b, cid)
    try:
        assert cid not in other.ok("list", "-q").out.split()
        other.fails("state", cid)
    finally:
        other.force_cleanup()
