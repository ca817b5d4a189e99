"""process.terminal with --console-socket: the runtime sends the pty master over an AF_UNIX
socket (SCM_RIGHTS), and the test talks to the container through it."""

import json

import pytest

from helpers import ConsoleSocket, HELPER_IN_CTR, assert_no_leftovers


@pytest.fixture
def console():
    c = ConsoleSocket()
    yield c
    c.close()


def json_lines(text):
    res = []
    for line in text.replace("\r", "").splitlines():
        line = line.strip()
        if line.startswith("{"):
            res.append(json.loads(line))
    return res


def test_interactive_shell_over_console_socket(rt, bundle, cid, console):
    bundle.process["terminal"] = True
    bundle.args("sh")
    rt.ok("create", "--console-socket", console.path, "--bundle", bundle, cid)
    console.receive()
    rt.ok("start", cid)
    console.write("echo hello-$((6*7))\n")
    console.read_until("hello-42")
    console.write("exit 3\n")
    rt.wait_status(cid, "stopped")
    rt.ok("delete", cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_terminal_facts_inside(rt, bundle, cid, console):
    bundle.process["terminal"] = True
    bundle.process["consoleSize"] = {"height": 40, "width": 120}
    bundle.args("sh", "-c", f"{HELPER_IN_CTR} tty; {HELPER_IN_CTR} stat /dev/console; "
                            f"{HELPER_IN_CTR} pid")
    rt.ok("run", "-d", "--console-socket", console.path, "--bundle", bundle, cid)
    console.receive()
    reps = json_lines(console.read_all())
    assert len(reps) == 3, reps
    tty, con, pid = reps
    assert all(f["isatty"] for f in tty["tty"]), tty
    assert {f["ttyname"] for f in tty["tty"]} == {"/dev/pts/0"}
    assert (tty["rows"], tty["cols"]) == (40, 120)
    # /dev/console is the same pty (a bind mount of /dev/pts/0, major 136).
    assert con["type"] == "char" and con["major"] == 136 and con["minor"] == 0
    # The pty is the controlling terminal of a new session led by the container's init.
    assert tty["foreground_pgrp"] == pid["pgid"]


def test_terminal_echo_and_line_discipline(rt, bundle, cid, console):
    bundle.process["terminal"] = True
    bundle.args("sh", "-c", "read line; echo got:$line")
    rt.ok("run", "-d", "--console-socket", console.path, "--bundle", bundle, cid)
    console.receive()
    console.write("abc\n")
    out = console.read_until("got:abc")
    assert "abc" in out.split("got:abc")[0], "input was not echoed by the pty"


def test_terminal_requires_console_socket_when_detached(rt, bundle, cid):
    bundle.process["terminal"] = True
    bundle.args("sh")
    rt.fails("create", "--bundle", bundle, cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


@pytest.mark.known_failure("crun", "crun 1.8.1 ignores --console-socket when terminal is false")
def test_console_socket_without_terminal_fails(rt, bundle, cid, console):
    bundle.args("sleep", "10")
    rt.fails("create", "--console-socket", console.path, "--bundle", bundle, cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_console_socket_missing_fails(rt, bundle, cid, test_dir):
    bundle.process["terminal"] = True
    bundle.args("sh")
    rt.fails("create", "--console-socket", test_dir / "nope.sock", "--bundle", bundle, cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)
