"""The berth CLI's top, stats, update, cp, export, diff and commit against berthd, compared
with the docker 28 CLI on the same daemon where their output can be: the same tables, the same
files copied with the same path rules, the same messages and exit statuses. cp's extraction is
also fed crafted archives by a stand-in daemon: nothing may be written outside the
destination."""

import base64
import io
import json
import os
import re
import shutil
import socketserver
import subprocess
import tarfile
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from berthcli import Berth
from daemon import EXTERNAL, poll_until as wait_for, unique_name

HAVE_DOCKER = shutil.which("docker") is not None
needs_docker = pytest.mark.skipif(not HAVE_DOCKER, reason="no docker CLI")

STATS_HEADER = (r"CONTAINER ID   NAME +CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   "
                r"BLOCK I/O   PIDS")
STATS_KEYS = ["BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO",
              "PIDs"]


def name():
    return unique_name("bm-")


@pytest.fixture(scope="module")
def berth(daemon):
    root = daemon.root or Path(tempfile.mkdtemp(prefix="berth-cli-"))
    return Berth(root).container_env(daemon.sock)


@pytest.fixture
def work():
    d = Path(tempfile.mkdtemp(prefix="bm-work-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def raw(berth, *args, input=None, timeout=60):
    """berth's exit status and its stdout as bytes (for tars)."""
    p = subprocess.run(berth.argv(*args), input=input, capture_output=True, env=berth.env,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def docker(daemon, *args, input=None):
    """docker's (rc, stdout, stderr), whatever the status; its own log lines (a tar writer
    that lost its reader) left out of stderr."""
    p = daemon.docker(*args, input=input, check=False)
    err = p.stderr
    if isinstance(err, bytes):
        err = err.decode(errors="replace")
    err = "".join(line for line in err.splitlines(True) if not line.startswith('time="'))
    return p.returncode, p.stdout, err


def run_sleeper(berth, script="sleep 1000", *flags):
    n = name()
    berth.ok("run", "-d", "--name", n, *flags, "busybox", "sh", "-c", script)
    return n


def tree(root):
    """What a copy left: per path, its type, permissions, size, mtime, link target, content."""
    out = {}
    root = Path(root)
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = Path(dirpath) / n
            st = p.lstat()
            rel = str(p.relative_to(root))
            kind = ("l" if p.is_symlink() else "d" if p.is_dir() else "f" if p.is_file()
                    else "o")
            info = [kind, oct(st.st_mode & 0o7777)]
            if kind == "l":
                info.append(os.readlink(p))
            elif kind == "f":
                info += [p.read_bytes(), recent_or(int(st.st_mtime)), st.st_nlink]
            elif kind == "d":
                info.append(recent_or(int(st.st_mtime)))
            out[rel] = info
    return out


def recent_or(mtime):
    """A time the copy itself set (a directory it wrote into) differs from run to run."""
    return "recent" if mtime > time.time() - 86400 else mtime


def ctr_tree(berth, ctr, path):
    r = berth.ok("exec", ctr, "find", path, "-exec", "stat", "-c",
                 "%Y %n %F %a %s %u:%g %h %N", "{}", "+")
    lines = []
    for line in r.out.splitlines():
        mtime, rest = line.split(" ", 1)
        lines.append(f"{recent_or(int(mtime))} {rest}")
    return sorted(lines, key=lambda l: l.split(" ", 1)[1])


# ---- top ----

@needs_docker
def test_top_prints_docker_table(daemon, berth):
    n = run_sleeper(berth)
    try:
        # until sh has exec'd sleep, the two tables could show different commands
        assert wait_for(lambda: berth.ok("top", n, "-o", "pid,comm").out.split()[3:] == ["sleep"])
        r = berth.ok("top", n)
        lines = r.out.splitlines()
        assert re.match(r"^UID {17}PID {17}PPID {16}C {19}STIME {15}TTY {17}TIME {16}CMD$",
                        lines[0]), lines[0]
        assert lines[1].endswith("sleep 1000")
        # the same table as docker's, but for C (CPU use, which moves between the two runs)
        # (and its width: a C of 10 is one character wider than a C of 0)
        mask = lambda text: [re.sub(r"^(\S+\s+\S+\s+\S+\s+)\d+\s+", r"\1C ", line)
                             for line in text.splitlines()[1:]]
        dout = docker(daemon, "top", n)[1]
        assert dout.splitlines()[0] == lines[0] and mask(dout) == mask(r.out)
        assert [len(line) for line in dout.splitlines()] == [len(line) for line in lines]
        # ps options follow the container; the columns are as wide as docker makes them
        r = berth.ok("top", n, "-o", "pid,comm")
        assert r.out.splitlines()[0] == "PID                 COMMAND"
        assert r.out == docker(daemon, "top", n, "-o", "pid,comm")[1]
        assert berth.ok("container", "top", n, "-o", "pid").out == \
            docker(daemon, "container", "top", n, "-o", "pid")[1]
        bad = berth("top", n, "-o", "comm=PID")
        assert bad.rc == 1
        assert bad.err == 'Error response from daemon: specifying "comm=PID" is not allowed\n'
    finally:
        berth("rm", "-f", n)


def test_top_errors(berth):
    r = berth("top", "nope-" + name())
    assert r.rc == 1 and r.err.startswith("Error response from daemon: No such container: ")
    n = name()
    berth.ok("create", "--name", n, "busybox", "true")
    try:
        r = berth("top", n)
        assert r.rc == 1 and re.match(r"Error response from daemon: Container [0-9a-f]{64} is not "
                                      r"running\n", r.err), r
    finally:
        berth("rm", "-f", n)
    r = berth("top")
    assert r.rc == 1 and "'berth top' requires at least 1 argument" in r.err
    r = berth("top", " ")
    assert r.rc == 1 and r.err == "invalid container name or ID: value is empty\n"


# ---- stats ----

def test_stats_no_stream_table_and_json(daemon, berth):
    n = run_sleeper(berth, "sleep 1000", "--memory", "64m")
    stopped = name()
    berth.ok("create", "--name", stopped, "busybox", "true")
    try:
        r = berth.ok("stats", "--no-stream", n)
        lines = r.out.splitlines()
        assert re.fullmatch(STATS_HEADER, lines[0]), lines[0]
        assert len(lines) == 2
        if HAVE_DOCKER:
            assert docker(daemon, "stats", "--no-stream", n)[1].splitlines()[0] == lines[0]
        cols = re.split(r"\s{2,}", lines[1])
        full_id = berth.ok("inspect", "--format", "{{.Id}}", n).out.strip()
        assert cols[0] == full_id[:12] and cols[1] == n
        assert re.fullmatch(r"\d+\.\d\d%", cols[2])
        assert re.fullmatch(r"[\d.]+[KMG]?i?B / 64MiB", cols[3]), cols[3]
        assert cols[5] == "0B / 0B" and cols[7] == "1"
        row = json.loads(berth.ok("stats", "--no-stream", "--format", "json", n).out)
        assert list(row) == STATS_KEYS
        assert row["Container"] == n and row["Name"] == n and row["PIDs"] == "1"
        assert row["MemUsage"].endswith(" / 64MiB")
        # the memory percentage is usage over the limit
        used = row["MemUsage"].split(" / ")[0]
        units = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}
        num, unit = re.fullmatch(r"([\d.]+)(\w+)", used).groups()
        assert abs(float(num) * units[unit] / (64 << 20) * 100 -
                   float(row["MemPerc"].rstrip("%"))) < 0.1
        if HAVE_DOCKER:
            drow = json.loads(docker(daemon, "stats", "--no-stream", "--format", "json", n)[1])
            assert list(drow) == list(row)
            assert {k: drow[k] for k in ("Container", "ID", "Name", "PIDs")} == \
                {k: row[k] for k in ("Container", "ID", "Name", "PIDs")}
        # a stopped container reads zeros, as with docker
        r = berth.ok("stats", "--no-stream", "--format",
                     "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}", stopped)
        assert r.out == f"{stopped}|0.00%|0B / 0B|0\n"
        r = berth.ok("stats", "--no-stream", "--no-trunc", "--format", "{{.ID}}", n)
        assert r.out == full_id + "\n"
        # without names: running containers, or all with -a, by short ID
        r = berth.ok("stats", "--no-stream", "--format", "{{.Container}} {{.Name}}")
        assert f"{full_id[:12]} {n}\n" in r.out and stopped not in r.out
        r = berth.ok("stats", "--no-stream", "-a", "--format", "{{.Name}}")
        assert n in r.out.split() and stopped in r.out.split()
        r = berth.ok("container", "stats", "--no-stream", "--format", "table {{.Name}}", n)
        assert r.out == f"NAME\n{n}\n"
    finally:
        berth("rm", "-f", n, stopped)


def test_stats_cpu_percentage_of_a_busy_container(berth):
    n = run_sleeper(berth, "while :; do :; done")
    try:
        time.sleep(0.5)
        r = berth.ok("stats", "--no-stream", "--format", "{{.CPUPerc}}", n)
        assert float(r.out.strip().rstrip("%")) > 10, r.out
    finally:
        berth("rm", "-f", n)


def test_stats_errors(berth):
    missing = "nope-" + name()
    r = berth("stats", "--no-stream", missing)
    assert r.rc == 1 and r.out == ""
    assert r.err == f"Error response from daemon: No such container: {missing}\n"
    n = run_sleeper(berth)
    try:
        # one missing container fails the command and prints no table, as with docker
        r = berth("stats", "--no-stream", n, missing, missing + "x")
        assert r.rc == 1 and r.out == ""
        assert r.err.splitlines() == [
            f"Error response from daemon: No such container: {missing}",
            f"Error response from daemon: No such container: {missing}x"]
        r = berth("stats", "--no-stream", "--format", "{{.Nope}}", n)
        assert r.rc == 1 and r.err.startswith("template parsing error: ")
        r = berth("stats", "--no-stream", "--format", "{{", n)
        assert r.rc == 1 and r.err == "template parsing error: template: :1: unclosed action\n"
        r = berth("stats", "--bogus")
        assert r.rc == 125 and r.err.startswith("unknown flag: --bogus\n")
    finally:
        berth("rm", "-f", n)


def test_stats_streams_until_interrupted(berth):
    n = run_sleeper(berth)
    try:
        p = berth.popen("stats", "--format", "{{.Name}} {{.PIDs}}", n, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE)
        time.sleep(2.6)
        p.terminate()
        out, err = p.communicate(timeout=10)
        lines = out.decode().splitlines()
        # a frame every half second, plain text when stdout is no terminal
        assert len(lines) >= 3 and set(lines) == {f"{n} 1"}, out
        assert b"\033" not in out
        # on a terminal each frame redraws the last one, as docker's does
        rc, text = berth.pty("stats", n, timeout=3)
        assert "\x1b[H" in text and "\x1b[K" in text and "\x1b[J" in text
        assert text.count("CONTAINER ID") >= 2 and n in text
    finally:
        berth("rm", "-f", n)


# ---- update ----

@needs_docker
def test_update_sets_limits_as_docker(daemon, berth):
    a, b = run_sleeper(berth), run_sleeper(berth)
    flags = ["--memory", "64m", "--memory-swap", "128m", "--cpus", "1.5", "--cpu-shares", "512",
             "--pids-limit", "50", "--restart", "on-failure:3", "--memory-reservation", "32m",
             "--blkio-weight", "300"]
    try:
        r = berth.ok("update", *flags, a)
        assert r.out == f"{a}\n" and r.err == ""
        daemon.docker("update", *flags, b)
        da, db = json.loads(berth.ok("inspect", a, b).out)
        keys = ("Memory", "MemorySwap", "NanoCpus", "CpuShares", "PidsLimit", "RestartPolicy",
                "MemoryReservation", "BlkioWeight")
        assert {k: da["HostConfig"][k] for k in keys} == {k: db["HostConfig"][k] for k in keys}
        assert da["HostConfig"]["Memory"] == 64 << 20
        assert da["HostConfig"]["NanoCpus"] == 1_500_000_000
        assert da["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
        # rational CPU counts, as docker parses them
        berth.ok("update", "--cpus", "3/4", a)
        assert berth.ok("inspect", "--format", "{{.HostConfig.NanoCpus}}", a).out == \
            "750000000\n"
        # the deprecated kernel memory flag is accepted and changes nothing
        assert berth.ok("update", "--kernel-memory", "10m", a).out == f"{a}\n"
        # the container keeps running under its new limits
        assert berth.ok("inspect", "--format", "{{.State.Running}}", a).out == "true\n"
    finally:
        berth("rm", "-f", a, b)


def test_update_errors(berth):
    n = run_sleeper(berth)
    missing = "nope-" + name()
    try:
        r = berth("update", n)
        assert r.rc == 1 and r.err == "you must provide one or more flags when using this command\n"
        r = berth("update", "--cpus", "x", n)
        assert r.rc == 125
        assert r.err.startswith('invalid argument "x" for "--cpus" flag: failed to parse x as a '
                                'rational number\n\nUsage:  berth update [OPTIONS] CONTAINER')
        r = berth("update", "--cpus", "0.0000000001", n)
        assert r.rc == 125 and "value is too precise" in r.err
        r = berth("update", "--memory", "lots", n)
        assert r.rc == 125
        assert r.err.startswith('invalid argument "lots" for "-m, --memory" flag: invalid size: '
                                "'lots'\n")
        r = berth("update", "--blkio-weight", "70000", n)
        assert r.rc == 125 and 'strconv.ParseUint: parsing "70000": value out of range' in r.err
        r = berth("update", "--restart", ":3", n)
        assert r.rc == 1
        assert r.err == "invalid restart policy format: no policy provided before colon\n"
        r = berth("update", "--restart", "always:x", n)
        assert r.rc == 1
        assert r.err == ("invalid restart policy format: maximum retry count must be an "
                         "integer\n")
        r = berth("update", "--restart", "bogus", n)
        assert r.rc == 1 and "invalid restart policy" in r.err
        # each container is tried; the good ones are named, the errors follow
        r = berth("update", "--pids-limit", "40", n, missing)
        assert r.rc == 1 and r.out == f"{n}\n"
        assert r.err == f"Error response from daemon: No such container: {missing}\n"
        assert berth.ok("inspect", "--format", "{{.HostConfig.PidsLimit}}", n).out == "40\n"
    finally:
        berth("rm", "-f", n)


# ---- diff and commit ----

@needs_docker
def test_diff_lists_changes_as_docker(daemon, berth):
    n = name()
    berth.ok("run", "--name", n, "busybox", "sh", "-c",
             "mkdir /data && echo hi > /data/f && echo x >> /etc/group && rm /bin/touch")
    try:
        r = berth.ok("diff", n)
        lines = r.out.splitlines()
        for want in ("A /data", "A /data/f", "C /etc", "C /etc/group", "C /bin",
                     "D /bin/touch"):
            assert want in lines, r.out
        assert r.out == docker(daemon, "diff", n)[1]
        assert berth.ok("container", "diff", n).out == r.out
    finally:
        berth("rm", "-f", n)


def test_diff_errors(berth):
    missing = "nope-" + name()
    r = berth("diff", missing)
    assert r.rc == 1 and r.err == f"Error response from daemon: No such container: {missing}\n"
    r = berth("diff", "")
    assert r.rc == 1 and r.err == "Container name cannot be empty\n"
    r = berth("diff")
    assert r.rc == 1 and "'berth diff' requires 1 argument" in r.err


def test_commit_makes_an_image(daemon, berth):
    n = run_sleeper(berth, "echo made > /made; sleep 1000")
    repo = "bm-commit-" + name()[3:]
    untagged = None
    try:
        time.sleep(0.3)
        r = berth.ok("commit", "-a", "Ann <ann@example.com>", "-m", "a message", "-c",
                     "ENV COMMITTED=1", "--change", 'CMD ["cat", "/made"]', n, f"{repo}:v1")
        assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", r.out), r
        image_id = r.out.strip()
        info = json.loads(daemon.docker("image", "inspect", f"{repo}:v1").stdout)[0]
        assert info["Id"] == image_id
        assert info["Author"] == "Ann <ann@example.com>" and info["Comment"] == "a message"
        assert "COMMITTED=1" in info["Config"]["Env"]
        assert info["Config"]["Cmd"] == ["cat", "/made"]
        # the container keeps running (it was paused only while its layer was read)
        assert berth.ok("inspect", "--format", "{{.State.Status}}", n).out == "running\n"
        out = berth.ok("run", "--rm", f"{repo}:v1").out
        assert out == "made\n"
        # no reference: an untagged image; --pause=false; a repository without a tag is :latest
        untagged = berth.ok("commit", "--pause=false", n).out.strip()
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", untagged)
        berth.ok("container", "commit", n, repo)
        daemon.docker("image", "inspect", f"{repo}:latest")
    finally:
        berth("rm", "-f", n)
        daemon.docker("rmi", "-f", f"{repo}:v1", f"{repo}:latest", check=False)
        if untagged:
            daemon.docker("rmi", "-f", untagged, check=False)


def test_commit_errors(berth):
    n = name()
    berth.ok("create", "--name", n, "busybox", "true")
    missing = "nope-" + name()
    try:
        r = berth("commit", missing)
        assert r.rc == 1 and r.err == f"Error response from daemon: No such container: {missing}\n"
        r = berth("commit", n, "Bad:x")
        assert r.rc == 1
        assert r.err == ("invalid reference format: repository name (library/Bad) must be "
                         "lowercase\n")
        r = berth("commit", n, "busybox@sha256:" + "0" * 64)
        assert r.rc == 1 and r.err == "refusing to create a tag with a digest reference\n"
        r = berth("commit", "-c", "BOGUS x", n)
        assert r.rc == 1 and r.err.startswith("Error response from daemon: ")
        r = berth("commit")
        assert r.rc == 1 and "'berth commit' requires at least 1 and at most 2 arguments" in r.err
    finally:
        berth("rm", "-f", n)


# ---- cp ----

LAYOUT = ("mkdir -p /src/sub /src/empty && echo one > /src/a && echo two > /src/sub/b && "
          "ln -s a /src/lnk && ln /src/a /src/hard && chown -R 1234:55 /src && "
          "chmod 4750 /src/sub/b && mknod /src/fifo p && ln -s /src /srclink && "
          "touch -d '2001-02-03 04:05:06' /src/sub /src/a && echo f > /file && ln -s / /root-link")


@pytest.fixture(scope="module")
def source(berth):
    """A running container with a file layout to copy from."""
    n = run_sleeper(berth, LAYOUT + " && sleep 1000")
    deadline = time.monotonic() + 20
    while berth("exec", n, "test", "-e", "/root-link").rc != 0:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    yield n
    berth("rm", "-f", n)


COPY_OUT_CASES = [
    ([], "/src", "new"),            # a directory to a new name
    ([], "/src", "existing"),       # into an existing directory
    ([], "/src/.", "existing"),     # its contents into an existing directory
    ([], "/src/.", "fresh"),        # its contents as a new directory
    ([], "/src/", "slash"),
    ([], "/src/a", "existing"),     # a file into a directory
    ([], "/src/a", "renamed"),      # a file to a new name
    ([], "/src/a", "afile"),        # a file over an existing file
    ([], "/src/lnk", "l"),          # a symlink stays a symlink
    ([], "/srclink", "sl"),
    ([], "/srclink/", "sl2"),       # ... unless it is asked for as a directory
    (["-L"], "/srclink", "followed"),  # or followed
    (["-L"], "/src/lnk", "existing"),
    (["-a"], "/src", "archived"),
    ([], "/src/fifo", "existing"),
]


@needs_docker
@pytest.mark.time_limit(120)
def test_cp_out_matches_docker(daemon, berth, source, work):
    for i, (flags, src, dst) in enumerate(COPY_OUT_CASES):
        results = {}
        for tool in ("docker", "berth"):
            d = work / f"{i}-{tool}"
            (d / "existing").mkdir(parents=True)
            (d / "afile").write_text("old\n")
            args = ["cp", *flags, f"{source}:{src}", str(d / dst)]
            if tool == "docker":
                rc, out, err = docker(daemon, *args)
            else:
                rc, out, err = berth(*args)
            results[tool] = (rc, out, err.replace(str(d), "D"), tree(d))
        assert results["berth"] == results["docker"], (flags, src, dst)
        assert results["berth"][0] == 0
    # the archive's times and modes: a directory's mtime, setuid bits, hard links
    t = tree(work / "0-berth")
    assert t["new/sub"] == ["d", "0o755", 981173106]
    assert t["new/sub/b"][:2] == ["f", "0o4750"]
    assert t["new/a"][3:] == [981173106, 2] and t["new/hard"][3:] == [981173106, 2]


@needs_docker
def test_cp_out_errors_match_docker(daemon, berth, source, work):
    (work / "file").write_text("x")
    cases = [
        (f"{source}:/src/a", str(work / "no" / "such")),
        (f"{source}:/src/a", str(work / "newdir") + "/"),
        (f"{source}:/src", str(work / "file")),
        (f"{source}:/src/a", str(work / "file") + "/"),
        (f"{source}:/nonexistent", str(work)),
        (f"{source}:/src/a/", str(work / "x")),
        ("nope-" + name() + ":/src", str(work)),
        (f"{source}:/src", f"{source}:/x"),
        ("a", "b"),
        ("", "b"),
        ("a", ""),
    ]
    for src, dst in cases:
        b = berth("cp", src, dst)
        d = docker(daemon, "cp", src, dst)
        assert b.rc == 1 and b.err.strip(), (src, dst, b)
        assert (b.rc, b.out, b.err) == d, (src, dst)
    r = berth("cp", f"{source}:/src/a", str(work / "no" / "such"))
    assert r.err == f'invalid output path: directory "{work}/no" does not exist\n'
    assert berth("cp", f"{source}:/src/a", str(work / "newdir") + "/").err == "no such directory\n"
    assert berth("cp", f"{source}:/src", str(work / "file")).err == "cannot copy directory\n"
    assert not (work / "no").exists() and not (work / "newdir").exists()


@needs_docker
def test_cp_to_stdout_is_the_daemons_tar(daemon, berth, source):
    rc, out, err = raw(berth, "cp", f"{source}:/src", "-")
    assert rc == 0 and err == ""
    drc, dout, _ = docker(daemon, "cp", f"{source}:/src", "-", input=b"")
    assert drc == 0 and out == dout
    names = tarfile.open(fileobj=io.BytesIO(out)).getnames()
    assert "src" in names and "src/sub/b" in names


@needs_docker
@pytest.mark.time_limit(120)
def test_cp_in_matches_docker(daemon, berth, work):
    n = run_sleeper(berth)
    try:
        local = work / "local"
        (local / "dir" / "sub").mkdir(parents=True)
        (local / "dir" / "a").write_text("a\n")
        (local / "dir" / "sub" / "b").write_text("b\n")
        os.symlink("a", local / "dir" / "lnk")
        os.link(local / "dir" / "a", local / "dir" / "hard")
        os.symlink("dir", local / "dirlink")
        (local / "file").write_text("f\n")
        os.chmod(local / "dir" / "sub" / "b", 0o4750)
        for p in local.rglob("*"):
            os.lchown(p, 1234, 55)
            os.utime(p, (1_000_000, 1_000_000), follow_symlinks=False)
        cases = [
            ([], "dir", "new"), ([], "dir", "existing"), ([], "dir/.", "existing"),
            ([], "dir/.", "fresh"), ([], "file", "existing"), ([], "file", "cfile"),
            ([], "file", "flink"), ([], "file", "elink"), ([], "dirlink", "dl"),
            (["-L"], "dirlink", "dl"), ([], "dirlink/", "dl"), (["-a"], "dir", "owned"),
            ([], "file", "nodir/x"), ([], "file", "newdir/"), ([], "dir", "cfile"),
            ([], "missing", "x"),
        ]
        prep = ("rm -rf /w && mkdir -p /w/docker/existing /w/berth/existing && "
                "for t in docker berth; do echo c > /w/$t/cfile; ln -s existing /w/$t/elink; "
                "ln -s cfile /w/$t/flink; touch -d '2001-01-01 00:00:00' /w/$t/* /w/$t; done")
        for flags, src, dst in cases:
            berth.ok("exec", n, "sh", "-c", prep)
            results = {}
            for tool in ("docker", "berth"):
                args = ["cp", *flags, str(local / src), f"{n}:/w/{tool}/{dst}"]
                rc, out, err = docker(daemon, *args) if tool == "docker" else berth(*args)
                listing = [line.replace(f"/w/{tool}", "W")
                           for line in ctr_tree(berth, n, f"/w/{tool}")]
                results[tool] = (rc, out, err.replace(f"/w/{tool}", "W"), listing)
            assert results["berth"] == results["docker"], (flags, src, dst)
    finally:
        berth("rm", "-f", n)


def test_cp_in_from_stdin_and_errors(berth, work):
    n = run_sleeper(berth, "mkdir /in && echo c > /in/f && sleep 1000")
    missing = "nope-" + name()
    try:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            ti = tarfile.TarInfo("from-stdin")
            data = b"streamed\n"
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        time.sleep(0.3)
        rc, out, err = raw(berth, "cp", "-", f"{n}:/in", input=buf.getvalue())
        assert rc == 0 and out == b"" and err == "", err
        assert berth.ok("exec", n, "cat", "/in/from-stdin").out == "streamed\n"
        rc, _, err = raw(berth, "cp", "-", f"{n}:/in/f", input=buf.getvalue())
        assert rc == 1 and err == f'destination "{n}:/in/f" must be a directory\n'
        rc, _, err = raw(berth, "cp", "-", f"{n}:/in", input=b"not a tar")
        assert rc == 1 and err.startswith("Error response from daemon: ")
        (work / "f").write_text("x")
        r = berth("cp", str(work / "f"), f"{n}:/nodir/x")
        assert r.rc == 1
        assert r.err == f"Error response from daemon: Could not find the file /nodir in container {n}\n"
        r = berth("cp", str(work / "f"), f"{missing}:/in")
        assert r.rc == 1 and r.err == f"Error response from daemon: No such container: {missing}\n"
        r = berth("cp", str(work / "absent"), f"{n}:/in")
        assert r.rc == 1 and r.err == f"lstat {work}/absent: no such file or directory\n"
        r = berth("cp", str(work), f"{n}:/in/f")
        assert r.rc == 1 and r.err == "cannot copy directory\n"
    finally:
        berth("rm", "-f", n)


def test_cp_summary_line(berth, source, work):
    # docker prints it to stderr only when stdout is a terminal, or when told to
    r = berth.ok("cp", f"{source}:/src", str(work / "quietly"))
    assert r.out == "" and r.err == ""
    r = berth.ok("cp", "--quiet=false", f"{source}:/src", str(work / "loud"))
    assert re.fullmatch(rf"Successfully copied [\d.]+kB to {work}/loud\n", r.err), r.err
    rc, text = berth.pty("cp", f"{source}:/file", str(work / "tty"))
    # the size is that of the tar: a header, a block of data and the two closing blocks
    assert rc == 0 and f"Successfully copied 2.05kB to {work}/tty" in text, text
    rc, text = berth.pty("cp", "-q", f"{source}:/file", str(work / "tty2"))
    assert rc == 0 and "Successfully" not in text and (work / "tty2").read_text() == "f\n"
    r = berth.ok("cp", "--quiet=false", str(work / "tty"), f"{source}:/tmp/")
    assert r.err == f"Successfully copied 2.05kB to {source}:/tmp/\n"


def test_cp_never_writes_outside_the_destination(berth, work):
    """Symlinks the container holds, even one to "/", are copied as symlinks; an archive whose
    directory would replace such a symlink fails, and nothing lands where the symlink points."""
    outside = work / "outside"
    outside.mkdir()
    marker = "bm-escape-" + name()[3:]
    script = (f"mkdir -p /o1 /o2/evil /o3/root && ln -s {outside} /o1/evil && ln -s / /o1/root && "
              f"echo pwned > /o2/evil/file && echo pwned > /o3/root/{marker} && sleep 1000")
    n = run_sleeper(berth, script)
    try:
        time.sleep(0.3)
        dest = work / "dest"
        dest.mkdir()
        r = berth.ok("cp", "-a", f"{n}:/o1/.", str(dest))
        assert os.readlink(dest / "evil") == str(outside)
        assert os.readlink(dest / "root") == "/"
        r = berth("cp", "-a", f"{n}:/o2/.", str(dest))
        assert r.rc == 1
        assert r.err == (f'cannot overwrite non-directory "{dest}/evil" with directory '
                         f'"{dest}"\n')
        r = berth("cp", "-a", f"{n}:/o3/.", str(dest))
        assert r.rc == 1 and "cannot overwrite non-directory" in r.err
        assert os.listdir(outside) == []
        assert not os.path.exists("/" + marker)
        # a copy of the symlink to "/" with -L is a copy of the container's root
        r = berth.ok("cp", "-L", f"{n}:/o1/root", str(work / "ctr-root"))
        assert (work / "ctr-root" / "o3" / "root" / marker).read_text() == "pwned\n"
        assert not os.path.exists("/" + marker)
    finally:
        berth("rm", "-f", n)


# A stand-in daemon that answers cp's requests with a crafted archive, to feed the extraction
# what berthd itself never sends.

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def address_string(self):
        return "local"

    def _reply(self, body, ctype, extra=()):
        self.send_response(200)
        self.send_header("Api-Version", "1.47")
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        if self.path.endswith("/_ping"):
            return self._reply(b"OK", "text/plain")
        stat = {"name": "d", "size": 0, "mode": (1 << 31) | 0o755,
                "mtime": "2001-01-01T00:00:00Z", "linkTarget": ""}
        hdr = base64.b64encode(json.dumps(stat).encode()).decode()
        return self._reply(self.server.tar_bytes, "application/x-tar",
                           [("X-Docker-Container-Path-Stat", hdr)])


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def crafted_tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, kind, arg in entries:
            ti = tarfile.TarInfo(path)
            ti.mtime = 1_000_000
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif kind == "file":
                ti.size, ti.mode = len(arg), 0o644
                t.addfile(ti, io.BytesIO(arg))
            else:
                ti.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE
                ti.linkname = arg
                t.addfile(ti)
    return buf.getvalue()


@pytest.mark.skipif(EXTERNAL is not None, reason="starts a stand-in daemon")
def test_cp_refuses_crafted_archives(work):
    outside = work / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    cases = {
        "dotdot": ([("d", "dir", None), ("d/../../escape", "file", b"x")],
                   r'^"\.\./escape" is outside of "{dest}"$'),
        "through-symlink": ([("d", "dir", None), ("d/lnk", "sym", str(outside)),
                             ("d/lnk/pwned", "file", b"x")],
                            r'"d/lnk" leads outside of "{dest}" through a symbolic link$'),
        "hardlink-out": ([("d", "dir", None), ("d/h", "hard", "../../../../etc/passwd")],
                         r'^invalid hardlink ".*" -> "\.\./\.\./\.\./\.\./etc/passwd"$'),
        "hardlink-via-symlink": ([("d", "dir", None), ("d/l2", "sym", str(outside)),
                                  ("d/h2", "hard", "d/l2/secret")],
                                 r'"d/l2" leads outside of "{dest}" through a symbolic link$'),
        "relative-symlink-out": ([("d", "dir", None), ("d/up", "sym", "../../..")],
                                 r'^invalid symlink "{dest}/d/up" -> "\.\./\.\./\.\."$'),
    }
    for case, (entries, message) in cases.items():
        sock = work / f"{case}.sock"
        srv = _Server(str(sock), _Handler)
        srv.tar_bytes = crafted_tar(entries)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            dest = work / f"dest-{case}"
            dest.mkdir()
            b = Berth(work / "root").container_env(sock)
            r = b("cp", "x:/d", f"{dest}/")
            assert r.rc == 1, (case, r)
            assert re.search(message.format(dest=re.escape(str(dest))), r.err.strip()), (case, r)
            assert sorted(os.listdir(outside)) == ["secret"], case
            assert (outside / "secret").stat().st_nlink == 1, case
        finally:
            srv.shutdown()
            srv.server_close()
    # names that start with "/" stay beneath the destination
    sock = work / "abs.sock"
    srv = _Server(str(sock), _Handler)
    srv.tar_bytes = crafted_tar([("d", "dir", None), ("/d/abs", "file", b"inside")])
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        dest = work / "dest-abs"
        dest.mkdir()
        Berth(work / "root").container_env(sock).ok("cp", "x:/d", f"{dest}/")
        assert (dest / "d" / "abs").read_text() == "inside"
    finally:
        srv.shutdown()
        srv.server_close()


# ---- export ----

@needs_docker
def test_export_writes_the_filesystem(daemon, berth, work):
    n = run_sleeper(berth, "echo exported > /marker; sleep 1000")
    try:
        time.sleep(0.3)
        rc, out, err = raw(berth, "export", n)
        assert rc == 0 and err == ""
        drc, dout, _ = docker(daemon, "export", n, input=b"")
        assert drc == 0 and out == dout
        t = tarfile.open(fileobj=io.BytesIO(out))
        assert t.extractfile("marker").read() == b"exported\n"
        target = work / "fs.tar"
        berth.ok("container", "export", "-o", str(target), n)
        assert target.read_bytes() == out
        assert target.stat().st_mode & 0o777 == 0o600
        assert [p.name for p in work.iterdir()] == ["fs.tar"]
    finally:
        berth("rm", "-f", n)


def test_export_errors(berth, work):
    n = name()
    berth.ok("create", "--name", n, "busybox", "true")
    missing = "nope-" + name()
    try:
        rc, text = berth.pty("export", n)
        assert rc == 1
        assert "cowardly refusing to save to a terminal. Use the -o flag or redirect" in text
        r = berth("export", "-o", str(work / "no" / "x.tar"), n)
        assert r.rc == 1
        assert r.err == (f"failed to export container: invalid output path: stat {work}/no: no "
                         f"such file or directory\n")
        r = berth("export", "-o", str(work), n)
        assert r.rc == 1 and r.err == "failed to export container: cannot write to a directory\n"
        r = berth("export", "-o", str(work / "m.tar"), missing)
        assert r.rc == 1 and r.err == f"Error response from daemon: No such container: {missing}\n"
        assert list(work.iterdir()) == []
    finally:
        berth("rm", "-f", n)
