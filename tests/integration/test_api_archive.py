"""`docker cp` and `docker export` against berthd, through the real docker CLI and python3-docker
(get_archive, put_archive, export): files and directories both ways with modes and symlinks,
created, running and stopped containers, named volumes, Docker's errors, read-only targets,
and paths that try to leave the container. Set BERTH_API_SOCKET to run them against Docker."""

import io
import os
import socket
import tarfile
import time
import uuid

import docker
import pytest

from daemon import EXTERNAL, unique_name


def name():
    return unique_name("bt-")


@pytest.fixture
def ctrs(daemon):
    """Names of containers to remove after the test."""
    made = []
    yield made
    for n in made:
        daemon.docker("rm", "-f", "-v", n, check=False)


def running(daemon, ctrs, *args, script="sleep 1000"):
    n = name()
    ctrs.append(n)
    daemon.docker("run", "-d", "--name", n, *args, "busybox", "sh", "-c", script)
    return n


def sh_in(daemon, ctr, script):
    return daemon.docker("exec", ctr, "sh", "-c", script).stdout


def untar(data):
    """{name: (TarInfo, bytes or None)} of a tar held in memory."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf.getmembers():
            out[m.name] = (m, tf.extractfile(m).read() if m.isfile() else None)
    return out


def make_tar(*members):
    """members: (name, bytes) for files, (name, None) for dirs, (name, '->target') symlinks,
    (name, '=>target') hard links."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for n, content in members:
            ti = tarfile.TarInfo(n)
            ti.mtime = 1700000000
            if content is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            elif isinstance(content, str) and content.startswith("->"):
                ti.type, ti.linkname = tarfile.SYMTYPE, content[2:]
                tf.addfile(ti)
            elif isinstance(content, str) and content.startswith("=>"):
                ti.type, ti.linkname = tarfile.LNKTYPE, content[2:]
                tf.addfile(ti)
            else:
                ti.size, ti.mode = len(content), 0o644
                tf.addfile(ti, io.BytesIO(content))
    return buf.getvalue()


def get_archive(daemon, ctr, path):
    stream, stat = daemon.client.get_archive(ctr, path)
    return b"".join(stream), stat


def fails(result, *words):
    assert result.returncode != 0, f"unexpectedly succeeded: {result}"
    for w in words:
        assert w in result.stderr, f"{w!r} not in: {result.stderr}"


# ---------------------------------------------------------------------------------------------
# files and directories

def test_cp_file_out_and_in(daemon, ctrs, tmp_path):
    c = running(daemon, ctrs, script="echo hello > /tmp/f; chmod 640 /tmp/f; sleep 1000")
    deadline = time.monotonic() + 10
    while "hello" not in sh_in(daemon, c, "cat /tmp/f 2>/dev/null || true"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    daemon.docker("cp", f"{c}:/tmp/f", tmp_path / "f")
    assert (tmp_path / "f").read_text() == "hello\n"
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o640
    # into a directory (keeps the name) and onto a new name
    (tmp_path / "g").write_text("from host\n")
    os.chmod(tmp_path / "g", 0o600)
    daemon.docker("cp", tmp_path / "g", f"{c}:/tmp/")
    daemon.docker("cp", tmp_path / "g", f"{c}:/tmp/renamed")
    assert sh_in(daemon, c, "cat /tmp/g /tmp/renamed; stat -c %a /tmp/g") == \
        "from host\nfrom host\n600\n"
    # replacing a file
    (tmp_path / "g").write_text("second\n")
    daemon.docker("cp", tmp_path / "g", f"{c}:/tmp/renamed")
    assert sh_in(daemon, c, "cat /tmp/renamed") == "second\n"


def test_cp_directory_both_ways(daemon, ctrs, tmp_path):
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("A\n")
    (src / "sub" / "b.sh").write_text("#!/bin/sh\n")
    os.chmod(src / "sub" / "b.sh", 0o755)
    os.chmod(src / "sub", 0o710)
    os.symlink("sub/b.sh", src / "link")
    os.symlink("/etc/passwd", src / "abs")
    c = running(daemon, ctrs)
    daemon.docker("cp", src, f"{c}:/opt")  # /opt is new: it becomes the copy
    out = sh_in(daemon, c, "cd /opt && cat a.txt sub/b.sh && stat -c '%n %a' sub sub/b.sh "
                           "&& readlink link && readlink abs")
    assert out == "A\n#!/bin/sh\nsub 710\nsub/b.sh 755\nsub/b.sh\n/etc/passwd\n"
    # back out, with changes made inside
    sh_in(daemon, c, "echo made inside > /opt/sub/new; ln -s ../a.txt /opt/sub/rel")
    daemon.docker("cp", f"{c}:/opt", tmp_path / "back")
    back = tmp_path / "back"
    assert (back / "a.txt").read_text() == "A\n"
    assert (back / "sub" / "new").read_text() == "made inside\n"
    assert os.readlink(back / "link") == "sub/b.sh"
    assert os.readlink(back / "sub" / "rel") == "../a.txt"
    assert os.readlink(back / "abs") == "/etc/passwd"
    assert (back / "sub").stat().st_mode & 0o777 == 0o710
    assert (back / "sub" / "b.sh").stat().st_mode & 0o777 == 0o755
    # the "dir/." form copies the contents
    daemon.docker("cp", f"{c}:/opt/.", tmp_path / "contents")
    assert sorted(os.listdir(tmp_path / "contents")) == ["a.txt", "abs", "link", "sub"]


def test_archive_names_and_stat_header(daemon, ctrs):
    c = running(daemon, ctrs, script="mkdir -p /d/e; echo x > /d/e/f; ln -s e /d/l; sleep 1000")
    time.sleep(0.3)
    data, stat = get_archive(daemon, c, "/d")
    assert stat["name"] == "d" and stat["mode"] & (1 << 31)
    assert sorted(untar(data)) == ["d", "d/e", "d/e/f", "d/l"]
    data, stat = get_archive(daemon, c, "/d/.")
    assert stat["name"] == "."
    assert sorted(n.rstrip("/") for n in untar(data)) == [".", "./e", "./e/f", "./l"]
    data, stat = get_archive(daemon, c, "/d/l")
    members = untar(data)
    assert list(members) == ["l"] and members["l"][0].issym() and members["l"][0].linkname == "e"
    assert stat["mode"] & (1 << 27) and stat["linkTarget"] == "/d/e"
    data, stat = get_archive(daemon, c, "d/l/")  # relative to /, the link followed
    assert sorted(untar(data)) == ["l", "l/f"]
    data, stat = get_archive(daemon, c, "/d/e/f")
    assert stat["name"] == "f" and stat["size"] == 2 and stat["mode"] == 0o644
    assert stat["mtime"].endswith("Z")
    assert untar(data)["f"][1] == b"x\n"


def test_cp_hostname_to_stdout(daemon, ctrs):
    c = running(daemon, ctrs)
    p = daemon.docker("cp", f"{c}:/etc/hostname", "-", input=b"")
    members = untar(p.stdout)
    assert list(members) == ["hostname"]
    info, content = members["hostname"]
    assert info.isfile()
    short = daemon.inspect(c)["Id"][:12]
    assert content == f"{short}\n".encode()


def test_put_entry_kinds_and_times(daemon, ctrs):
    c = running(daemon, ctrs, script="mkdir /k; sleep 1000")
    time.sleep(0.3)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:  # Docker takes compressed tars too
        d = tarfile.TarInfo("dir")
        d.type, d.mode, d.mtime, d.uid, d.gid = tarfile.DIRTYPE, 0o750, 1600000000, 7, 8
        tf.addfile(d)
        f = tarfile.TarInfo("dir/file")
        f.size, f.mode, f.mtime = 3, 0o4755, 1500000000
        tf.addfile(f, io.BytesIO(b"abc"))
        h = tarfile.TarInfo("dir/hard")
        h.type, h.linkname = tarfile.LNKTYPE, "dir/file"
        tf.addfile(h)
        p = tarfile.TarInfo("fifo")
        p.type, p.mode, p.mtime = tarfile.FIFOTYPE, 0o600, 1700000000
        tf.addfile(p)
    assert daemon.client.put_archive(c, "/k", buf.getvalue())
    out = sh_in(daemon, c, "cd /k && stat -c '%n %a %u:%g %Y %h %F' dir dir/file dir/hard fifo")
    assert out.splitlines() == [
        "dir 750 7:8 1600000000 2 directory",
        "dir/file 4755 0:0 1500000000 2 regular file",
        "dir/hard 4755 0:0 1500000000 2 regular file",
        "fifo 600 0:0 1700000000 1 fifo",
    ]
    # hard links come back out as links
    data, _ = get_archive(daemon, c, "/k/dir")
    members = untar(data)
    assert members["dir/file"][1] == b"abc"
    assert members["dir/hard"][0].islnk() and members["dir/hard"][0].linkname == "dir/file"


# ---------------------------------------------------------------------------------------------
# container states and volumes

def test_cp_created_and_stopped(daemon, ctrs, tmp_path):
    (tmp_path / "in").write_text("copied in\n")
    created = name()
    ctrs.append(created)
    daemon.docker("create", "--name", created, "busybox", "cat", "/in", "/etc/hostname")
    daemon.docker("cp", tmp_path / "in", f"{created}:/in")
    daemon.docker("cp", f"{created}:/etc/hostname", tmp_path / "h")
    assert (tmp_path / "h").read_text() == "berth-test\n"
    daemon.docker("start", "-a", created)
    assert daemon.docker("logs", created).stdout.startswith("copied in\n")

    stopped = name()
    ctrs.append(stopped)
    daemon.docker("run", "--name", stopped, "busybox", "sh", "-c", "echo left > /left")
    daemon.docker("cp", f"{stopped}:/left", tmp_path / "left")
    assert (tmp_path / "left").read_text() == "left\n"
    daemon.docker("cp", tmp_path / "in", f"{stopped}:/in")
    data, _ = get_archive(daemon, stopped, "/in")
    assert untar(data)["in"][1] == b"copied in\n"
    if not EXTERNAL:
        # the root filesystem mounted for the copy is unmounted again
        from helpers import mounts_under
        cid = daemon.inspect(stopped)["Id"]
        assert not mounts_under(daemon.root / "containers" / cid)


def test_cp_into_named_volume(daemon, ctrs, tmp_path):
    vol = name()
    c = running(daemon, ctrs, "-v", f"{vol}:/data")
    (tmp_path / "v").write_text("in the volume\n")
    daemon.docker("cp", tmp_path / "v", f"{c}:/data/v")
    out = daemon.docker("run", "--rm", "-v", f"{vol}:/data", "busybox", "cat", "/data/v")
    assert out.stdout == "in the volume\n"
    # a directory above the mount point shows the volume's content under it
    data, _ = get_archive(daemon, c, "/")
    assert untar(data)["/data/v"][1] == b"in the volume\n"
    # and out of it, the container stopped
    daemon.docker("stop", "-t", "0", c)
    daemon.docker("run", "--rm", "-v", f"{vol}:/data", "busybox", "sh", "-c",
                  "echo other > /data/w")
    daemon.docker("cp", f"{c}:/data/w", tmp_path / "w")
    assert (tmp_path / "w").read_text() == "other\n"
    daemon.docker("rm", "-f", c)
    daemon.docker("volume", "rm", vol)


def test_readonly_targets(daemon, ctrs, tmp_path):
    (tmp_path / "x").write_text("x\n")
    c = running(daemon, ctrs, "--read-only", "-v", f"{name()}:/rw", "-v", f"{name()}:/ro:ro")
    fails(daemon.docker("cp", tmp_path / "x", f"{c}:/tmp/", check=False),
          "container rootfs is marked read-only")
    fails(daemon.docker("cp", tmp_path / "x", f"{c}:/ro/", check=False),
          "mounted volume is marked read-only")
    daemon.docker("cp", tmp_path / "x", f"{c}:/rw/")
    assert sh_in(daemon, c, "cat /rw/x") == "x\n"


# ---------------------------------------------------------------------------------------------
# errors

def test_missing_path_and_container(daemon, ctrs, tmp_path):
    c = running(daemon, ctrs)
    p = daemon.docker("cp", f"{c}:/nope", tmp_path / "x", check=False)
    assert p.returncode == 1
    assert f"Could not find the file /nope in container {c}" in p.stderr
    (tmp_path / "f").write_text("f")
    fails(daemon.docker("cp", tmp_path / "f", f"{c}:/no/such/dir/f", check=False),
          f"Could not find the file /no/such/dir in container {c}")
    fails(daemon.docker("cp", tmp_path / "f", f"{c}:/etc/passwd/x", check=False))
    with pytest.raises(docker.errors.NotFound):
        daemon.client.get_archive(c, "/nope")
    with pytest.raises(docker.errors.APIError) as e:
        daemon.client.get_archive(c, "")
    assert e.value.status_code == 400
    with pytest.raises(docker.errors.APIError) as e:
        daemon.client.put_archive(c, "/etc/passwd", make_tar(("x", b"x")))
    assert e.value.status_code == 400 and "not a directory" in str(e.value)
    fails(daemon.docker("cp", f"nosuch{uuid.uuid4().hex[:6]}:/etc/passwd", tmp_path, check=False),
          "No such container")


def test_no_overwrite_dir_non_dir(daemon, ctrs):
    c = running(daemon, ctrs, script="mkdir -p /t/d; echo f > /t/f; sleep 1000")
    time.sleep(0.3)
    cid = daemon.inspect(c)["Id"]
    url = daemon.client._url("/containers/{0}/archive", cid)
    r = daemon.client._put(url, params={"path": "/t", "noOverwriteDirNonDir": "true"},
                           data=make_tar(("d", b"now a file")))
    assert r.status_code >= 400 and "cannot overwrite directory" in r.json()["message"]
    r = daemon.client._put(url, params={"path": "/t", "noOverwriteDirNonDir": "1"},
                           data=make_tar(("f", None)))
    assert r.status_code >= 400 and "cannot overwrite non-directory" in r.json()["message"]
    # without the flag both are replaced
    r = daemon.client._put(url, params={"path": "/t"},
                           data=make_tar(("d", b"now a file\n"), ("f", None)))
    assert r.status_code == 200, r.text
    assert sh_in(daemon, c, "cat /t/d; test -d /t/f && echo dir") == "now a file\ndir\n"


def test_copy_uid_gid(daemon, ctrs, tmp_path):
    c = running(daemon, ctrs, "--user", "1000:1000")
    (tmp_path / "o").write_text("o\n")
    os.chown(tmp_path / "o", 1234, 2345)
    daemon.docker("cp", tmp_path / "o", f"{c}:/tmp/plain")
    daemon.docker("cp", "-a", tmp_path / "o", f"{c}:/tmp/archive")
    out = sh_in(daemon, c, "stat -c %u:%g /tmp/plain /tmp/archive")
    # Docker keeps the archive's owners, or with -a makes them the container's user
    assert out == "1234:2345\n1000:1000\n"


# ---------------------------------------------------------------------------------------------
# staying inside

@pytest.mark.skipif(EXTERNAL is not None, reason="checks the daemon host's files")
def test_symlinks_stay_inside(daemon, ctrs, tmp_path):
    c = running(daemon, ctrs, script="echo container-shadow > /etc/shadow; "
                "ln -s /../../../etc/shadow /tmp/evil; ln -s ../../../../../etc /tmp/etc; "
                "sleep 1000")
    time.sleep(0.3)
    daemon.docker("cp", "-L", f"{c}:/tmp/evil", tmp_path / "got")
    assert (tmp_path / "got").read_text() == "container-shadow\n"
    # a target only the host has is not found, never read from the host
    sh_in(daemon, c, "ln -s /../../../etc/gshadow /tmp/host-only")
    fails(daemon.docker("cp", "-L", f"{c}:/tmp/host-only", tmp_path / "not", check=False),
          "Could not find the file /etc/gshadow")
    assert not (tmp_path / "not").exists()
    _, stat = daemon.client.get_archive(c, "/tmp/evil")
    assert stat["linkTarget"] == "/etc/shadow"
    data, _ = get_archive(daemon, c, "/tmp/etc/.")
    assert untar(data)["./shadow"][1] == b"container-shadow\n"
    assert "./hostname" in untar(data)
    # writes through the links land in the container too
    marker = f"berth-cp-{uuid.uuid4().hex[:8]}"
    assert daemon.client.put_archive(c, "/tmp/etc", make_tar((marker, b"inside")))
    assert daemon.client.put_archive(c, "/tmp", make_tar(("etc/" + marker + "2", b"inside")))
    assert not os.path.exists(f"/etc/{marker}") and not os.path.exists(f"/etc/{marker}2")
    assert sh_in(daemon, c, f"cat /etc/{marker} /etc/{marker}2") == "insideinside"


@pytest.mark.skipif(EXTERNAL is not None, reason="checks the daemon host's files")
def test_tar_entries_cannot_leave(daemon, ctrs):
    c = running(daemon, ctrs, script="mkdir /t; sleep 1000")
    time.sleep(0.3)
    marker = f"berth-cp-{uuid.uuid4().hex[:8]}"
    for bad in (make_tar((f"../../../../../../tmp/{marker}", b"out")),
                make_tar((f"a/../../{marker}", b"out")),
                make_tar(("l", "->../../../../../tmp")),
                make_tar((f"h-{marker}", "=>../../../etc/passwd"))):
        with pytest.raises(docker.errors.APIError):
            daemon.client.put_archive(c, "/t", bad)
        assert not os.path.exists(f"/tmp/{marker}")
    # an absolute name is taken under the extraction directory; an absolute symlink resolves
    # in the container, and entries through it stay there
    ok = make_tar((f"/{marker}", b"abs"), ("root", "->/"), (f"root/tmp/{marker}-via", b"via"))
    assert daemon.client.put_archive(c, "/t", ok)
    assert sh_in(daemon, c, f"cat /t/{marker} /tmp/{marker}-via") == "absvia"
    assert not os.path.exists(f"/tmp/{marker}-via")
    # a symlink already in the container that points out is followed inside it
    sh_in(daemon, c, "ln -s /../../../../tmp /t/up")
    assert daemon.client.put_archive(c, "/t/up", make_tar((f"{marker}-up", b"up")))
    assert not os.path.exists(f"/tmp/{marker}-up")
    assert sh_in(daemon, c, f"cat /tmp/{marker}-up") == "up"


# ---------------------------------------------------------------------------------------------
# export

def test_export(daemon, ctrs, tmp_path):
    c = name()
    ctrs.append(c)
    daemon.docker("run", "--name", c, "busybox", "sh", "-c",
                  "echo exported > /marker; rm /etc/group; mkdir -p /var/x")
    daemon.docker("export", "-o", tmp_path / "out.tar", c)
    members = untar((tmp_path / "out.tar").read_bytes())
    assert members["marker"][1] == b"exported\n"
    assert "etc/group" not in members and "etc/passwd" in members
    assert members["bin/busybox"][0].isfile() and members["bin/sh"][0].issym()
    assert members["var/x"][0].isdir()
    assert not any(n.startswith("/") or n.startswith("./") for n in members)
    # a running container, through the SDK
    r = running(daemon, ctrs, script="echo live > /live; sleep 1000")
    time.sleep(0.3)
    members = untar(b"".join(daemon.client.export(r)))
    assert members["live"][1] == b"live\n"


def test_export_unknown_container(daemon, tmp_path):
    p = daemon.docker("export", "-o", tmp_path / "x.tar", "nosuch" + uuid.uuid4().hex[:8],
                      check=False)
    fails(p, "No such container")


# ---------------------------------------------------------------------------------------------
# the client going away

def test_client_gone_mid_stream(daemon, ctrs):
    c = running(daemon, ctrs, script="dd if=/dev/zero of=/big bs=1M count=64 2>/dev/null; "
                "touch /done; sleep 1000")
    deadline = time.monotonic() + 20
    while "yes" not in sh_in(daemon, c, "test -e /done && echo yes || true"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(daemon.sock))
    s.sendall(f"GET /containers/{c}/archive?path=/big HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert s.recv(65536).startswith(b"HTTP/1.1 200")
    s.close()
    # the copy gave up its hold on the container: removal goes through at once
    t = time.monotonic()
    daemon.docker("rm", "-f", c, timeout=30)
    assert time.monotonic() - t < 15
