"""Failures: a clear message on stderr, a non-zero exit, the same message in the --log file (one
JSON object per line with --log-format json), and nothing left behind."""

import json
import re
import shutil

import pytest

from helpers import RUNTIME, Runtime, assert_no_leftovers, new_id


@pytest.fixture
def logged(rt, test_dir):
    """The runtime under test writing JSON logs to a file (same root as `rt`, whose teardown
    removes what is left there)."""
    log = test_dir / "runtime.log"
    return Runtime(RUNTIME, test_dir / "state", log=log, log_format="json"), log


def log_entries(log):
    if not log.exists():
        return []
    entries = []
    for line in log.read_text().splitlines():
        if line.strip():
            entries.append(json.loads(line))  # every line must be one JSON object
    return entries


def assert_error_logged(log):
    entries = log_entries(log)
    assert entries, "nothing in the --log file"
    for e in entries:
        assert {"level", "msg", "time"} <= set(e), e
    errors = [e for e in entries if e["level"] in ("error", "fatal")]
    assert errors, entries
    assert all(e["msg"] for e in errors)
    return errors


MALFORMED = '{"ociVersion": "1.0.2",\n  "process": { bad }\n}\n'


@pytest.mark.known_failure(["runc", "crun"], "no line/column in the JSON parse error")
def test_malformed_config_reports_line_and_column(rt, bundle, cid):
    bundle.write()
    (bundle.path / "config.json").write_text(MALFORMED)
    r = rt("run", "--bundle", bundle.path, cid)
    assert r.rc != 0
    assert re.search(r"line:? ?2\b", r.err) or re.search(r"\b2:\d+", r.err), r.err
    assert re.search(r"col(umn)?:? ?\d+", r.err) or re.search(r"\b2:\d+", r.err), r.err


@pytest.mark.known_failure("crun", "crun 1.8.1 prints config parse errors to stderr only, not "
                           "to --log")
def test_malformed_config_logged(logged, bundle, cid):
    rt, log = logged
    bundle.write()
    (bundle.path / "config.json").write_text(MALFORMED)
    rt.fails("run", "--bundle", bundle.path, cid)
    assert_error_logged(log)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def _unknown_ns(b):
    b.linux["namespaces"].append({"type": "bogus"})


def _dup_ns(b):
    b.linux["namespaces"].append({"type": "network"})


def _missing_rootfs(b):
    shutil.rmtree(b.rootfs)


def _rootfs_is_file(b):
    shutil.rmtree(b.rootfs)
    b.rootfs.write_text("not a directory")


def _args_not_list(b):
    b.process["args"] = "sh -c true"


def _no_args(b):
    b.process["args"] = []


def _no_process(b):
    del b.config["process"]


def _bad_uid_type(b):
    b.process["user"]["uid"] = "root"


def _relative_cwd(b):
    b.process["cwd"] = "relative/dir"


def _missing_executable(b):
    b.process["args"] = ["/no/such/binary"]


BAD_CONFIGS = {
    "unknown-namespace": _unknown_ns,
    "duplicate-namespace": _dup_ns,
    "missing-rootfs": _missing_rootfs,
    "rootfs-is-a-file": _rootfs_is_file,
    "args-not-a-list": _args_not_list,
    "empty-args": _no_args,
    "no-process": _no_process,
    "uid-not-a-number": _bad_uid_type,
    "relative-cwd": _relative_cwd,
    "missing-executable": _missing_executable,
}

CRUN_ACCEPTS = {"duplicate-namespace": "crun 1.8.1 accepts a namespace listed twice",
                "relative-cwd": "crun 1.8.1 accepts a relative process.cwd",
                "args-not-a-list": "crun 1.8.1 accepts a string for process.args",
                "uid-not-a-number": "crun 1.8.1 accepts a string for process.user.uid"}


@pytest.mark.parametrize("case", [
    pytest.param(k, marks=[pytest.mark.known_failure("crun", CRUN_ACCEPTS[k])]
                 if k in CRUN_ACCEPTS else []) for k in BAD_CONFIGS])
@pytest.mark.parametrize("cmd", ["create", "run"])
def test_bad_config_fails_cleanly(logged, bundle, cid, case, cmd):
    rt, log = logged
    BAD_CONFIGS[case](bundle)
    r = rt.fails(cmd, "--bundle", bundle, cid)
    assert r.err.strip()
    assert_error_logged(log)
    assert cid not in rt.ok("list", "-q").out.split()
    assert_no_leftovers(rt, cid, bundle, bundle.token)


@pytest.mark.known_failure("crun", "crun 1.8.1 prints this error to stderr only, not to --log")
def test_missing_config_json(logged, test_dir, cid):
    rt, log = logged
    (test_dir / "empty-bundle").mkdir()
    rt.fails("run", "--bundle", test_dir / "empty-bundle", cid)
    assert_error_logged(log)


@pytest.mark.known_failure("crun", "crun 1.8.1 prints this error to stderr only, not to --log")
def test_missing_bundle_dir(logged, test_dir, cid):
    rt, log = logged
    rt.fails("run", "--bundle", test_dir / "no-such-bundle", cid)
    assert_error_logged(log)


BAD_IDS = ["../escape", "a/b", "..", ".", "with space", "x" * 1024, "new\nline"]


@pytest.mark.parametrize("bad", [
    pytest.param(b, id=i, marks=[pytest.mark.known_failure(
        "crun", "crun 1.8.1 accepts an id with a space")] if i == "space"
        else []) for b, i in zip(BAD_IDS, ["dotdot-slash", "slash", "dotdot", "dot", "space",
                                          "too-long", "newline"])])
def test_bad_container_id(logged, bundle, test_dir, bad):
    rt, log = logged
    bundle.args("sleep", "10")
    before = sorted(p.name for p in test_dir.iterdir())
    rt.fails("create", "--bundle", bundle, bad)
    # Nothing created outside (or inside) the state root under a mangled name.
    assert sorted(p.name for p in test_dir.iterdir() if p.name != "runtime.log"
                  and p.name != "state") == sorted(n for n in before if n != "state")
    assert rt.ok("list", "-q").out.split() == []
    assert_error_logged(log)


def test_empty_container_id(logged, bundle):
    rt, log = logged
    rt.fails("create", "--bundle", bundle, "")
    assert_error_logged(log)


def test_missing_container_id(rt, bundle):
    rt.fails("create", "--bundle", bundle)


CRUN_NOT_LOGGED = pytest.mark.known_failure("crun", "crun 1.8.1 prints this error to stderr "
                                            "only, not to --log")


@pytest.mark.parametrize("cmd", [["state"], ["kill"], ["delete"], ["start"], ["exec", "-"],
                                 pytest.param(["ps"], marks=CRUN_NOT_LOGGED),
                                 ["pause"], ["resume"],
                                 pytest.param(["update", "--pids-limit", "5"],
                                              marks=CRUN_NOT_LOGGED)],
                         ids=["state", "kill", "delete", "start", "exec", "ps", "pause", "resume",
                              "update"])
def test_unknown_container_logged(logged, cmd):
    rt, log = logged
    cid = new_id("nosuch")
    args = cmd[:1] + cmd[2:] + [cid] + (["true"] if cmd[0] == "exec" else [])
    rt.fails(*args)
    assert_error_logged(log)


def test_unknown_command_fails(rt):
    rt.fails("not-a-command")


def test_unknown_global_flag_fails(rt):
    r = rt("--not-a-flag", "list")
    assert r.rc != 0


def test_log_format_text(test_dir, cid):
    log = test_dir / "text.log"
    rt = Runtime(RUNTIME, test_dir / "state", log=log, log_format="text")
    rt.fails("state", cid)
    text = log.read_text()
    assert text.strip() and not text.lstrip().startswith("{")


def test_log_format_invalid_fails(test_dir, cid):
    rt = Runtime(RUNTIME, test_dir / "state", log=test_dir / "x.log", log_format="yaml")
    rt.fails("list")


@pytest.mark.known_failure("crun", "crun 1.8.1 writes no debug-level entries with --debug")
def test_debug_logs_debug_entries(test_dir, bundle, cid):
    log = test_dir / "debug.log"
    rt = Runtime(RUNTIME, test_dir / "state", log=log, log_format="json")
    bundle.helper("exit", "0")
    rt.ok("run", "--bundle", bundle, cid, global_args=("--debug",))
    levels = {e["level"] for e in log_entries(log)}
    assert "debug" in levels, levels


def test_success_logs_no_errors(logged, bundle, cid):
    rt, log = logged
    bundle.helper("exit", "0")
    rt.ok("run", "--bundle", bundle, cid)
    assert not [e for e in log_entries(log) if e["level"] in ("error", "fatal")]
