"""The berth CLI's volume, events, info, system df and system prune commands against berthd,
each compared with the docker 28 CLI on the same daemon where their output can be: volume
ls/inspect, events replayed between two times, info's fields and system df. Error paths: docker's
messages and exit statuses."""

import json
import re
import select
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

import ocimage
from berthcli import Berth
from daemon import EXTERNAL, unique_name

pytestmark = pytest.mark.skipif(EXTERNAL is not None,
                                reason="these tests load images into the daemon's own root")


def name():
    return unique_name("bs-")


@pytest.fixture(scope="module")
def berth(daemon):
    root = daemon.root or Path(tempfile.mkdtemp(prefix="berth-cli-"))
    return Berth(root).container_env(daemon.sock)


@pytest.fixture(scope="module")
def docker(daemon):
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI")
    return daemon.docker


def both(docker, berth, *args, input=None):
    """(docker's, berth's) results of the same command line."""
    d = docker(*args, check=False, input=input)
    b = berth(*args, input=input.encode() if isinstance(input, str) else input)
    return d, b


def same(docker, berth, *args):
    d, b = both(docker, berth, *args)
    assert (b.rc, b.out) == (d.returncode, d.stdout), f"berth: {b}\ndocker: {d}"
    return b.out


def remove_volumes(berth, *names):
    if names:
        berth("volume", "rm", "-f", *names)


# ---- volume ----

def test_volume_create_forms_and_errors(berth):
    n, m = name(), name()
    try:
        assert berth.ok("volume", "create", n).out == f"{n}\n"
        # a second create of the same name is no error (docker's rule)
        assert berth.ok("volume", "create", n).out == f"{n}\n"
        assert berth.ok("volume", "create", "--name", m, "--label", "a=1", "--label", "flag",
                        "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m").out == f"{m}\n"
        info, = json.loads(berth.ok("volume", "inspect", m).out)
        assert info["Labels"] == {"a": "1", "flag": ""}
        assert info["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
        anon = berth.ok("volume", "create").out.strip()
        assert re.fullmatch(r"[0-9a-f]{64}", anon)
        berth.ok("volume", "rm", anon)

        r = berth("volume", "create", "--name", "a", "b")
        assert r.rc == 1 and r.err == ("conflicting options: cannot specify a volume-name "
                                       "through both --name and as a positional arg\n")
        r = berth("volume", "create", "--label", "=x", "v")
        assert r.rc == 125
        assert r.err.startswith('invalid argument "=x" for "--label" flag: invalid label '
                                "'=x': empty name\n\nUsage:  berth volume create [OPTIONS] "
                                "[VOLUME]\n")
        r = berth("volume", "create", "-o", "bogus", name())
        assert r.rc == 1 and 'invalid option: "bogus"' in r.err
        r = berth("volume", "create", "bad name")
        assert r.rc == 1 and "includes invalid characters for a local volume name" in r.err
        r = berth("volume", "create", "-d", "nope", name())
        assert r.rc == 1 and r.err.startswith("Error response from daemon: ")
        r = berth("volume", "create", "a", "b")
        assert r.rc == 1 and "requires at most 1 argument" in r.err
    finally:
        remove_volumes(berth, n, m)


def test_volume_create_sends_what_docker_sends(docker, berth):
    a, b = name(), name()
    docker("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "--label", "k=v", a)
    berth.ok("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "--label", "k=v", b)
    c, d = name(), name()
    docker("volume", "create", c)
    berth.ok("volume", "create", d)
    try:
        for x, y in ((a, b), (c, d)):
            vx, vy = json.loads(berth.ok("volume", "inspect", x, y).out)
            for v in (vx, vy):
                del v["Name"], v["Mountpoint"], v["CreatedAt"]
            assert vx == vy
    finally:
        remove_volumes(berth, a, b, c, d)


def test_volume_ls_matches_docker(docker, berth):
    tag = uuid.uuid4().hex[:8]
    vols = [f"lsv{tag}-{i}" for i in (10, 9, 1)]
    berth.ok("volume", "create", "--label", f"t={tag}", "--label", "z=1", "--label", "a=2",
             vols[0])
    berth.ok("volume", "create", "--label", f"t={tag}", vols[1])
    berth.ok("volume", "create", vols[2])
    try:
        mine = ("-f", f"name=lsv{tag}")
        out = same(docker, berth, "volume", "ls", *mine)
        lines = out.splitlines()
        assert lines[0].split() == ["DRIVER", "VOLUME", "NAME"]
        # natural order: 1, 9, 10
        assert [ln.split()[1] for ln in lines[1:]] == [vols[2], vols[1], vols[0]]
        assert same(docker, berth, "volume", "ls", "-q", *mine).split() == \
            [vols[2], vols[1], vols[0]]
        # docker lists labels in Go's (random) map order, berth sorted
        d, b = both(docker, berth, "volume", "ls", "--format", "json", *mine)
        rows = [json.loads(x) for x in b.out.splitlines()]
        theirs = [json.loads(x) for x in d.stdout.splitlines()]
        for r in theirs:
            r["Labels"] = ",".join(sorted(r["Labels"].split(","))) if r["Labels"] else ""
        assert b.rc == 0 and rows == theirs
        assert rows[2]["Labels"] == f"a=2,t={tag},z=1" and rows[2]["Links"] == "N/A"
        same(docker, berth, "volume", "ls", "--format",
             "table {{.Name}}\t{{.Driver}}\t{{.Scope}}\t{{.Mountpoint}}\t{{.Size}}", *mine)
        same(docker, berth, "volume", "ls", "-q", "--format", "{{.Name}}:{{.Driver}}", *mine)
        same(docker, berth, "volume", "ls", "--format", "raw", *mine)
        assert same(docker, berth, "volume", "ls", "-q", "-f", f"label=t={tag}").split() == \
            [vols[1], vols[0]]
        same(docker, berth, "volume", "ls", "-q", "-f", "dangling=true", "-f", "driver=local",
             *mine)
        assert berth.ok("volume", "list", "-q", *mine).out.split() == [vols[2], vols[1], vols[0]]
    finally:
        remove_volumes(berth, *vols)


def test_volume_ls_errors(docker, berth):
    d, b = both(docker, berth, "volume", "ls", "-f", "bogus=1")
    assert b.rc == d.returncode == 1
    assert b.err == d.stderr == "Error response from daemon: invalid filter 'bogus'\n"
    d, b = both(docker, berth, "volume", "ls", "-f", "dangling=maybe")
    assert b.rc == 1 and b.err == d.stderr
    r = berth("volume", "ls", "-f", "noeq")
    assert r.rc == 125 and r.err.startswith(
        'invalid argument "noeq" for "-f, --filter" flag: bad format of filter (expected '
        "name=value)")
    v = name()
    berth.ok("volume", "create", v)
    try:
        d, r = both(docker, berth, "volume", "ls", "--format", "{{.Nope}}")
        assert r.rc == d.returncode == 1 and r.out == ""
        assert r.err.startswith("template parsing error: template: :1:2: executing \"\" at "
                                "<.Nope>: can't evaluate field Nope")
    finally:
        remove_volumes(berth, v)
    r = berth("volume", "ls", "extra")
    assert r.rc == 1 and "accepts no arguments" in r.err


def test_volume_inspect_matches_docker(docker, berth):
    a, b = name(), name()
    berth.ok("volume", "create", "--label", "x=<&>", a)
    berth.ok("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", b)
    try:
        out = same(docker, berth, "volume", "inspect", a, b)
        parsed = json.loads(out)
        assert [v["Name"] for v in parsed] == [a, b] and parsed[0]["Labels"] == {"x": "<&>"}
        assert "\\u003c\\u0026\\u003e" in out  # HTML-escaped, as docker's encoder writes it
        compact = same(docker, berth, "volume", "inspect", "-f", "json", a)
        assert compact.count("\n") == 1 and json.loads(compact)[0]["Name"] == a
        assert same(docker, berth, "volume", "inspect", "-f", "{{.Name}} {{.Labels}}", a) == \
            f"{a} map[x:<&>]\n"
        assert berth.ok("volume", "inspect", "--format", "{{.Driver}}/{{.Scope}}", a).out == \
            "local/local\n"
        # what is found is printed; the missing one is an error after it
        d, r = both(docker, berth, "volume", "inspect", a, "nope-" + a)
        assert r.rc == d.returncode == 1
        assert json.loads(r.out)[0]["Name"] == a
        assert r.err == d.stderr == f"Error response from daemon: get nope-{a}: no such volume\n"
        r = berth("volume", "inspect", "-f", "{{.Nope}}", a)
        assert r.rc == 1 and r.err.startswith("template parsing error: ")
        r = berth("volume", "inspect", "-f", "{{.Name", a)
        assert r.rc == 1 and r.err.startswith("template parsing error: ")
        r = berth("volume", "inspect")
        assert r.rc == 1 and "requires at least 1 argument" in r.err
    finally:
        remove_volumes(berth, a, b)


def test_volume_rm_in_use_missing_and_force(docker, berth):
    used, free_, ctr = name(), name(), name()
    berth.ok("volume", "create", free_)
    berth.ok("create", "--name", ctr, "-v", f"{used}:/data", "busybox", "true")
    try:
        r = berth("volume", "rm", used, free_, "nope-" + used)
        assert r.rc == 1 and r.out == f"{free_}\n"
        assert r.err.splitlines() == [
            f"Error response from daemon: remove {used}: volume is in use - "
            f"[{berth.ok('inspect', '-f', '{{.Id}}', ctr).out.strip()}]",
            f"Error response from daemon: get nope-{used}: no such volume"]
        # force does not take a volume in use, but is quiet about a missing one
        d, b = both(docker, berth, "volume", "rm", "-f", "nope-" + used)
        assert (b.rc, b.out) == (d.returncode, d.stdout) == (0, f"nope-{used}\n")
        r = berth("volume", "rm", "-f", used)
        assert r.rc == 1 and "volume is in use" in r.err
        berth.ok("rm", ctr)
        assert berth.ok("volume", "remove", used).out == f"{used}\n"
        r = berth("volume", "rm")
        assert r.rc == 1 and "requires at least 1 argument" in r.err
    finally:
        berth("rm", "-f", ctr)
        remove_volumes(berth, used, free_)


def test_volume_prune(berth):
    tag = uuid.uuid4().hex[:8]
    named, labelled = name(), name()
    ctr = name()
    berth.ok("volume", "create", named)
    berth.ok("volume", "create", "--label", f"p={tag}", labelled)
    anon = berth.ok("volume", "create", "--label", f"p={tag}").out.strip()
    try:
        r = berth("volume", "prune", input=b"n\n")
        assert r.rc == 0
        assert r.out == ("WARNING! This will remove anonymous local volumes not used by at "
                         "least one container.\nAre you sure you want to continue? [y/N] ")
        assert anon in berth.ok("volume", "ls", "-q").out.split()
        # only anonymous ones, and with the filter only those it matches
        r = berth.ok("volume", "prune", "-f", "--filter", f"label=p={tag}")
        assert r.out == f"Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 0B\n"
        left = berth.ok("volume", "ls", "-q").out.split()
        assert named in left and labelled in left and anon not in left
        # -a takes named ones too, but never one in use
        berth.ok("create", "--name", ctr, "-v", f"{named}:/d", "busybox", "true")
        r = berth("volume", "prune", "-a", "--filter", f"label!=p={tag}", input=b"y\n")
        assert r.rc == 0 and r.out.startswith(
            "WARNING! This will remove all local volumes not used by at least one container.\n"
            "Are you sure you want to continue? [y/N] ")
        left = berth.ok("volume", "ls", "-q").out.split()
        assert named in left and labelled in left
        r = berth.ok("volume", "prune", "-af", "--filter", f"label=p={tag}")
        assert r.out.startswith(f"Deleted Volumes:\n{labelled}\n\n")
        assert labelled not in berth.ok("volume", "ls", "-q").out.split()
        r = berth("volume", "prune", "-a", "-f", "--filter", "all=1")
        assert r.rc == 1 and r.err == ("conflicting options: cannot specify both --all and "
                                       "--filter all=1\n")
        r = berth("volume", "prune", "-f", "--filter", "until=1h")
        assert r.rc == 1 and "invalid filter" in r.err
    finally:
        berth("rm", "-f", ctr)
        remove_volumes(berth, named, labelled, anon)


# ---- events ----

def stamp():
    return f"{time.time():.9f}"


def test_events_replay_matches_docker(docker, berth):
    a, b = name(), name()
    since = stamp()
    berth.ok("volume", "create", "--label", "k=v", a)
    berth.ok("volume", "create", b)
    berth.ok("volume", "rm", a, b)
    time.sleep(0.05)
    until = stamp()
    window = ("--since", since, "--until", until)
    out = same(docker, berth, "events", *window)
    lines = [ln for ln in out.splitlines() if a in ln or b in ln]
    assert len(lines) == 4
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) volume create "
                        + a + r" \(driver=local\)", lines[0]), lines[0]
    assert lines[2].split()[1:4] == ["volume", "destroy", a]
    assert same(docker, berth, "events", *window, "-f", f"volume={b}").count("\n") == 2
    assert same(docker, berth, "events", *window, "-f", f"volume={b}", "-f",
                "event=destroy").count("\n") == 1
    js = same(docker, berth, "events", *window, "--format", "json", "-f", f"volume={a}")
    first = json.loads(js.splitlines()[0])
    assert first["Type"] == "volume" and first["Actor"]["ID"] == a
    same(docker, berth, "events", *window, "--format",
         "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes}} {{.Scope}} {{json .Actor}}")
    same(docker, berth, "system", "events", *window, "-f", "type=volume")
    # a duration is that long before now
    assert b in berth.ok("events", "--since", "5m", "--until", f"{time.time() + 0.5:.3f}").out


def test_events_streams_until_stopped(berth):
    v = name()
    p = berth.popen("events", "-f", f"volume={v}", "--format", "{{.Action}} {{.Actor.ID}}",
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        assert p.poll() is None
        berth.ok("volume", "create", v)
        ready, _, _ = select.select([p.stdout], [], [], 10)
        assert ready, "no event within 10s"
        assert p.stdout.readline() == f"create {v}\n".encode()
        assert p.poll() is None  # it keeps going: no --until
    finally:
        p.terminate()
        p.wait(timeout=10)
        remove_volumes(berth, v)
    # with --until in the future it ends by itself
    t0 = time.monotonic()
    r = berth.ok("events", "--until", f"{time.time() + 1:.3f}", timeout=20)
    assert time.monotonic() - t0 < 10, r


def test_events_errors(docker, berth):
    d, b = both(docker, berth, "events", "--format", "{{.Bad}}")
    assert b.rc == d.returncode == 64
    assert b.err.startswith('Error parsing format: template: :1:2: executing "" at <.Bad>: '
                            "can't evaluate field Bad")
    d, b = both(docker, berth, "events", "--since", "foo")
    assert b.rc == d.returncode == 1
    assert b.err == d.stderr == 'failed to parse value as time or duration: "foo"\n'
    r = berth("events", "--until", "2020-13-01")
    assert r.rc == 1 and r.err.startswith('parsing time "2020-13-01"')
    r = berth("events", "-f", "noeq")
    assert r.rc == 125 and "bad format of filter" in r.err
    r = berth("events", "extra")
    assert r.rc == 1 and "accepts no arguments" in r.err


# ---- info ----

SERVER_FIELDS = ("Containers", "Running", "Paused", "Stopped", "Images", "Server Version",
                 "Storage Driver", "Logging Driver", "Cgroup Driver", "Cgroup Version", "Swarm",
                 "Runtimes", "Default Runtime", "Kernel Version", "Operating System", "OSType",
                 "Architecture", "CPUs", "Total Memory", "Name", "ID", "Docker Root Dir",
                 "Debug Mode", "Experimental", "Live Restore Enabled")


def server_section(text):
    return text.split("\nServer:\n", 1)[1]


def test_info_matches_docker(docker, berth):
    b = berth.ok("info").out
    d = docker("info").stdout
    assert b.startswith(f"Client:\n Version:    {berth_version(berth)}\n Debug Mode: false\n"
                        "\nServer:\n")
    mine, theirs = server_section(b).splitlines(), server_section(d).splitlines()
    # every line berth shows, docker shows too, in the same order; docker adds only the lines
    # whose data berthd does not send (plugins, component commits)
    it = iter(theirs)
    assert all(line in it for line in mine), (mine, theirs)
    missing = [ln for ln in theirs if ln not in mine]
    assert all(re.match(r"( Plugins:|  (Volume|Network|Log):| \w+ version:)", ln)
               for ln in missing), missing
    for f in SERVER_FIELDS:
        assert any(ln.startswith(f" {f}:") or ln.startswith(f"  {f}:") for ln in mine), f
    assert " Security Options:" in mine
    assert b.endswith("\n\n")


def berth_version(berth):
    return berth.ok("version", "--format", "{{.Client.Version}}").out.strip()


def test_info_format(docker, berth):
    fmt = "{{.ServerVersion}} {{.NCPU}} {{.OSType}} {{json .Swarm.LocalNodeState}}"
    d, b = both(docker, berth, "info", "--format", fmt)
    assert (b.rc, b.out) == (d.returncode, d.stdout)
    data = json.loads(berth.ok("system", "info", "-f", "json").out)
    assert data["ClientInfo"]["Version"] == berth_version(berth)
    assert data["DockerRootDir"] == json.loads(docker("info", "-f", "json").stdout)[
        "DockerRootDir"]
    # a container shows in the counts
    c = name()
    berth.ok("create", "--name", c, "busybox", "true")
    try:
        n = int(berth.ok("info", "-f", "{{.Containers}}").out)
        stopped = int(berth.ok("info", "-f", "{{.ContainersStopped}}").out)
        assert n >= 1 and stopped >= 1
    finally:
        berth.ok("rm", c)
    r = berth("info", "-f", "{{.Name")
    assert r.rc == 1 and r.err.startswith("template parsing error: ")
    r = berth("info", "extra")
    assert r.rc == 1 and "accepts no arguments" in r.err


def test_info_without_a_daemon(berth, tmp_path):
    sock = tmp_path / "none.sock"
    r = berth("-H", f"unix://{sock}", "info")
    assert r.rc == 1
    assert r.out == f"Client:\n Version:    {berth_version(berth)}\n Debug Mode: false\n\nServer:\n"
    assert r.err.startswith(f"Cannot connect to the berth daemon at unix://{sock}")
    r = berth("-H", f"unix://{sock}", "-D", "info", "-f", "{{.ClientInfo.Debug}}")
    assert r.rc == 1 and r.out == "true\n" and "Cannot connect" in r.err


# ---- system df ----

def test_system_df_matches_docker(docker, berth):
    up, made, vol = name(), name(), name()
    berth.ok("run", "-d", "--name", up, "-v", f"{vol}:/data", "busybox", "sh", "-c",
             "echo hello > /data/f; exec sleep 100")
    berth.ok("create", "--name", made, "busybox", "true")
    try:
        deadline = time.monotonic() + 10
        while "hello" not in berth("exec", up, "cat", "/data/f").out:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        out = same(docker, berth, "system", "df")
        rows = {ln[:14].strip(): ln[14:].split() for ln in out.splitlines()}
        assert out.splitlines()[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
        assert int(rows["Images"][1]) >= 1
        # the old local-store df counted no containers and no volumes
        assert int(rows["Containers"][0]) >= 2 and int(rows["Containers"][1]) >= 1
        assert int(rows["Local Volumes"][0]) >= 1 and int(rows["Local Volumes"][1]) >= 1
        assert rows["Build Cache"][:2] == ["0", "0"]
        js = [json.loads(x) for x in same(docker, berth, "system", "df", "--format",
                                           "json").splitlines()]
        assert [r["Type"] for r in js] == ["Images", "Containers", "Local Volumes",
                                           "Build Cache"]
        same(docker, berth, "system", "df", "--format", "{{.Type}}: {{.Size}} {{.Reclaimable}}")
        same(docker, berth, "system", "df", "--format", "table {{.Type}}\t{{.Active}}")
        same(docker, berth, "system", "df", "--format", "raw")
        same(docker, berth, "system", "df", "-v", "--format",
             "{{range .Volumes}}{{.Name}} {{.Links}} {{.Size}}\n{{end}}")

        # -v: the same sections; the times in them may tick between the two runs
        def steady(text):
            text = re.sub(r"(Less than a second|About a minute|About an hour|\d+ \w+) ago", "T",
                          text)
            text = re.sub(r"Up (Less than a second|About a minute|\d+ \w+)", "Up T", text)
            return re.sub(r" {2,}", "\t", text)
        d, b = both(docker, berth, "system", "df", "-v")
        assert b.rc == 0 and steady(b.out) == steady(d.stdout)
        assert "\nLocal Volumes space usage:\n\nVOLUME NAME" in b.out
        assert re.search(rf"^{vol} +1 +6B$", b.out, re.M)
        d, b = both(docker, berth, "system", "df", "-v", "--format", "json")
        mine, theirs = json.loads(b.out), json.loads(d.stdout)
        assert not b.out.endswith("\n")
        for data in (mine, theirs):
            for c in data["Containers"]:
                del c["RunningFor"], c["Status"]
            for i in data["Images"]:
                del i["CreatedSince"]
        assert mine == theirs
    finally:
        berth("rm", "-f", up, made)
        remove_volumes(berth, vol)


def test_system_df_errors(berth):
    r = berth("system", "df", "--format", "{{.Nope}}")
    assert r.rc == 1 and r.err.startswith("template parsing error: ")
    r = berth("system", "df", "--format", "{{.Type")
    assert r.rc == 1 and r.err.startswith("template parsing error: ")
    r = berth("system", "df", "extra")
    assert r.rc == 1 and "accepts no arguments" in r.err


# ---- system prune ----

def load_dangling(daemon, tag):
    """Two images loaded under one name: the first is left dangling. Returns its ID."""
    first = ocimage.busybox_image(labels={"prune": tag, "n": "1"})
    daemon.load_image(first, f"prunetest-{tag}:1")
    daemon.load_image(ocimage.busybox_image(labels={"prune": tag, "n": "2"}),
                      f"prunetest-{tag}:1")
    return first.config_digest


def test_system_prune_confirmation_text(berth):
    r = berth("system", "prune", input=b"n\n")
    assert r.rc == 0
    assert r.out == ("WARNING! This will remove:\n  - all stopped containers\n"
                     "  - all dangling images\n\nAre you sure you want to continue? [y/N] ")
    r = berth("system", "prune", "-a", "--volumes", "--filter", "label=v=10", "--filter",
              "label=v=9", "--filter", "label!=x", input=b"\n")
    assert r.rc == 0
    assert r.out == ("WARNING! This will remove:\n  - all stopped containers\n"
                     "  - all anonymous volumes not used by at least one container\n"
                     "  - all images without at least one container associated to them\n\n"
                     "  Items to be pruned will be filtered with:\n  - label!=x\n"
                     "  - label=v=9\n  - label=v=10\n\n"
                     "Are you sure you want to continue? [y/N] ")


@pytest.mark.time_limit(120)
def test_system_prune(daemon, berth):
    tag = uuid.uuid4().hex[:8]
    dangling = load_dangling(daemon, tag)
    keep, stopped, named = name(), name(), name()
    berth.ok("run", "-d", "--name", keep, "busybox", "sleep", "100")
    sid = berth.ok("create", "--name", stopped, "-v", "/anon", "busybox", "true").out.strip()
    anon = json.loads(berth.ok("inspect", stopped).out)[0]["Mounts"][0]["Name"]
    berth.ok("volume", "create", named)
    try:
        r = berth("system", "prune", input=b"n\n")
        assert r.rc == 0 and stopped in berth.ok("ps", "-a", "--format", "{{.Names}}").out
        r = berth.ok("system", "prune", "-f")
        assert r.out.startswith("Deleted Containers:\n") and f"\n{sid}\n" in r.out
        assert f"Deleted Images:\n" in r.out and f"deleted: {dangling}\n" in r.out
        assert re.search(r"\n\nTotal reclaimed space: [\d.]+k?M?G?B\n$", r.out), r.out
        assert "Deleted Volumes" not in r.out
        names = berth.ok("ps", "-a", "--format", "{{.Names}}").out.split()
        assert keep in names and stopped not in names
        vols = berth.ok("volume", "ls", "-q").out.split()
        assert anon in vols and named in vols
        assert berth.ok("images", "-q", "--no-trunc").out.count(dangling) == 0
        # --volumes: anonymous volumes only, as docker's system prune asks the API
        r = berth.ok("system", "prune", "-f", "--volumes")
        assert f"Deleted Volumes:\n{anon}\n\n" in r.out
        vols = berth.ok("volume", "ls", "-q").out.split()
        assert anon not in vols and named in vols
        # nothing left: only the total
        assert berth.ok("system", "prune", "-f").out == "Total reclaimed space: 0B\n"
        # -a: images no container uses go, busybox (the running one's) stays
        berth.ok("tag", "busybox:latest", f"prunetest-{tag}:2")
        daemon.load_image(ocimage.busybox_image(labels={"prune": tag, "n": "3"}),
                          f"prunetest-{tag}:3")
        r = berth.ok("system", "prune", "-af", "--filter", f"label=prune={tag}")
        assert f"untagged: prunetest-{tag}:3\n" in r.out
        assert f"untagged: prunetest-{tag}:1\n" in r.out
        repos = berth.ok("images", "--format", "{{.Repository}}:{{.Tag}}").out.split()
        assert "busybox:latest" in repos and f"prunetest-{tag}:2" in repos
        assert not any(x.startswith(f"prunetest-{tag}:1") or x.startswith(f"prunetest-{tag}:3")
                       for x in repos)
    finally:
        berth("rm", "-f", keep, stopped)
        berth("rmi", f"prunetest-{tag}:2")
        remove_volumes(berth, named, anon)


def test_system_prune_errors(berth):
    r = berth("system", "prune", "-f", "--volumes", "--filter", "until=1h")
    assert r.rc == 1 and r.err == 'ERROR: The "until" filter is not supported with "--volumes"\n'
    r = berth("system", "prune", "-f", "--filter", "bogus=1")
    assert r.rc == 1 and r.err == "Error response from daemon: invalid filter 'bogus'\n"
    r = berth("system", "prune", "-f", "--filter", "nope")
    assert r.rc == 125 and "bad format of filter" in r.err
    r = berth("system", "prune", "extra")
    assert r.rc == 1 and "accepts no arguments" in r.err


def test_groups_and_aliases(berth):
    r = berth.ok("volume", "--help")
    for cmd in ("create", "inspect", "ls", "prune", "rm"):
        assert re.search(rf"^  {cmd} ", r.out, re.M), cmd
    assert "berth system events, berth events" in berth.ok("events", "--help").out
    assert "berth system info, berth info" in berth.ok("system", "info", "--help").out
    assert "berth volume rm, berth volume remove" in berth.ok("volume", "rm", "--help").out
    r = berth.ok("system", "--help")
    for cmd in ("df", "events", "info", "prune"):
        assert re.search(rf"^  {cmd} ", r.out, re.M), cmd
