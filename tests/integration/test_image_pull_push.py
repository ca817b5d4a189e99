"""berth pull and push, through a berthd of their own, against Debian's docker-registry: images
made offline by ocimage.py and pushed by skopeo are pulled by berth (and the reverse), with
digests identical; unpacked layers match what the image says, through overlay and the copy
driver; hostile layers are refused without leaving anything behind; a berthd killed in the middle
of a pull or push leaves nothing half-visible, and the retry completes. The progress berth shows
is docker's, and what berth pulls is the daemon's (its events, its image list)."""

import json
import os
import re
import shlex
import shutil
import subprocess
import time

import pytest

import daemon
import ocimage
from berthcli import check_rootfs
from registry import Registry, require_tools


@pytest.fixture(scope="module")
def reg():
    require_tools("docker-registry", "skopeo")
    with Registry("plain") as r:
        yield r


@pytest.fixture(scope="module")
def pushed(reg):
    """Images pushed once per module: name -> (Image or Index, reference for berth)."""
    out = {}
    for name, img in [("busybox", ocimage.busybox_image()),
                      ("multi", ocimage.multilayer_image()),
                      ("zstd", ocimage.multilayer_image(compression="zstd")),
                      ("plain-tar", ocimage.busybox_image(compression="none")),
                      ("docker", ocimage.multilayer_image(docker=True)),
                      ("arch", ocimage.multiarch_index())]:
        img.push(reg, f"test/{name}", "1")
        out[name] = (img, reg.image_ref(f"test/{name}", "1"))
    return out



@pytest.mark.parametrize("name", ["busybox", "multi", "zstd", "plain-tar", "docker"])
@pytest.mark.parametrize("driver", ["overlay", "copy"])
def test_pull_unpacks_exactly(berths, pushed, name, driver):
    img, ref = pushed[name]
    berth = berths(driver=driver)
    r = berth.ok("pull", ref)
    assert f"Digest: {img.digest}" in r.out
    assert r.out.strip().splitlines()[-1] == ref
    rec, = berth.records()
    assert rec["id"] == img.config_digest
    assert rec["manifest"] == img.digest
    assert (berth.root / "snapshots/driver").read_text().strip() == driver
    check_rootfs(berth, ref, img)
    assert not berth.scratch()


def test_pull_again_is_up_to_date(berth, pushed):
    img, ref = pushed["busybox"]
    berth.ok("pull", ref)
    r = berth.ok("pull", ref)
    assert "Image is up to date" in r.out
    assert "Already exists" in r.out


def test_pull_shares_layers(berth, pushed):
    """The busybox layer is in several images: unpacked once."""
    berth.ok("pull", pushed["busybox"][1])
    before = berth.snapshots()
    r = berth.ok("pull", pushed["arch"][1])
    assert "Already exists" in r.out
    after = berth.snapshots()
    assert before < after and len(after - before) == 1


def test_multiarch_index_pulls_host_platform(berth, pushed):
    idx, ref = pushed["arch"]
    r = berth.ok("pull", ref)
    assert f"Digest: {idx.digest}" in r.out
    mnt = berth.mount(ref)
    try:
        assert (mnt / "arch").read_text() == "amd64\n"
    finally:
        berth.unmount(ref)
    rec, = berth.records()
    assert rec["manifest"] == idx.image_for("amd64").digest
    assert rec["target"] == idx.digest


def test_platform_flag_picks_variant(berth, pushed):
    idx, ref = pushed["arch"]
    berth.ok("pull", "--platform", "linux/arm64", ref)
    mnt = berth.mount(ref)
    try:
        assert (mnt / "arch").read_text() == "arm64/v8\n"
    finally:
        berth.unmount(ref)
    r = berth.fails("pull", "--platform", "linux/s390x", ref)
    assert "s390x" in r.err and "arm64" in r.err


def test_pull_by_digest(berth, pushed):
    img, ref = pushed["busybox"]
    by_digest = ref.rsplit(":", 1)[0] + "@" + img.digest
    r = berth.ok("pull", by_digest)
    assert r.out.strip().splitlines()[-1] == by_digest
    rec, = berth.records()
    assert rec["names"] == []
    assert rec["repoDigests"] == [by_digest]


@pytest.mark.parametrize("bad,why", [
    ("Busybox", "invalid reference format"),
    ("a:b:c", "invalid reference format"),
    ("busybox@sha256:123", "invalid"),
])
def test_bad_reference(berth, bad, why):
    r = berth.fails("pull", bad)
    assert why in r.err
    assert berth.records() == []


def test_missing_image_and_unreachable_registry(berth, reg):
    r = berth.fails("pull", reg.image_ref("test/nothing-here", "1"))
    assert "not found" in r.err or "unknown" in r.err
    assert berth.records() == [] and not berth.scratch()
    from registry import free_port
    r = berth.fails("pull", f"127.0.0.1:{free_port()}/x:1")
    assert "127.0.0.1" in r.err
    assert berth.records() == []


def test_push_then_skopeo_sees_same_digest(berth, reg, pushed):
    img, ref = pushed["multi"]
    berth.ok("pull", ref)
    target = reg.image_ref("test/pushed-by-berth", "v2")
    berth.ok("tag", ref, target)
    r = berth.ok("push", target)
    assert f"v2: digest: {img.digest}" in r.out
    raw = reg.skopeo_inspect(reg.docker_ref("test/pushed-by-berth", "v2"), raw=True)
    assert ocimage.sha256(raw) == img.digest
    # A second push: every layer is already there.
    r = berth.ok("push", target)
    assert "Layer already exists" in r.out


def test_push_mounts_from_source_repository(berth, reg, pushed):
    img, ref = pushed["busybox"]
    berth.ok("pull", ref)
    target = reg.image_ref("test/mounted-copy", "1")
    berth.ok("tag", ref, target)
    r = berth.ok("push", target)
    assert "Mounted from test/busybox" in r.out
    raw = reg.skopeo_inspect(reg.docker_ref("test/mounted-copy", "1"), raw=True)
    assert ocimage.sha256(raw) == img.digest


def test_chunked_push(berths, reg, pushed, monkeypatch):
    img, ref = pushed["zstd"]
    with monkeypatch.context() as m:
        m.setenv("BERTH_PUSH_CHUNK_SIZE", "4096")  # berthd's, for its uploads
        berth = berths()
    berth.ok("pull", ref)
    # Another registry, so that the layers are uploaded rather than mounted.
    with Registry("plain") as other:
        target = other.image_ref("test/chunked", "1")
        berth.ok("tag", ref, target)
        berth.ok("push", target)
        patches = re.findall(r'"PATCH /v2/test/chunked/blobs/uploads/', other.log_path.read_text())
        assert len(patches) > len(img.layers), "the layers did not go up in chunks"
        raw = other.skopeo_inspect(other.docker_ref("test/chunked", "1"), raw=True)
        assert ocimage.sha256(raw) == img.digest
        fresh = berths()
        fresh.ok("pull", target)
        check_rootfs(fresh, target, img)


def test_push_unknown_tag(berth, reg):
    r = berth.fails("push", reg.image_ref("test/never-pulled", "1"))
    assert "does not exist locally" in r.err


@pytest.mark.parametrize("case", sorted(ocimage.hostile_layer_images()))
@pytest.mark.parametrize("driver", ["overlay", "copy"])
def test_hostile_layer_refused(berths, reg, test_dir, case, driver):
    marker = f"berth-hostile-{os.getpid()}-{case}-{driver}"
    hc = ocimage.hostile_layer_images(marker=marker)[case]
    hc.image.push(reg, f"hostile/{case}", driver)
    berth = berths(driver=driver)
    ref = reg.image_ref(f"hostile/{case}", driver)
    try:
        if case == "symlink_file":
            # Not an escape when done right: the file replaces the symlink, inside.
            berth.ok("pull", ref)
            mnt = berth.mount(ref)
            try:
                assert (mnt / "f").is_file() and not (mnt / "f").is_symlink()
                assert (mnt / "f").read_bytes() == b"escaped\n"
            finally:
                berth.unmount(ref)
        else:
            r = berth.fails("pull", ref)
            assert "layer" in r.err
            assert berth.records() == []
            assert berth.snapshots() == set()
        assert not berth.scratch()
        assert not hc.violations(), hc.violations()
    finally:
        hc.cleanup()


@pytest.mark.parametrize("cut", ["one-byte", "half", "all-but-one", "all", "wrong-bytes"])
def test_resume_from_partial_download(berth, pushed, cut):
    """What a killed pull leaves in content/ingest is continued, whatever its length; a partial
    that is not a prefix of the blob fails the digest check once, and the retry starts over."""
    img, ref = pushed["busybox"]
    layer = img.layers[0]
    n = {"one-byte": 1, "half": layer.size // 2, "all-but-one": layer.size - 1,
         "all": layer.size, "wrong-bytes": layer.size // 2}[cut]
    data = layer.blob[:n] if cut != "wrong-bytes" else bytes(n)
    ingest = berth.root / "content/ingest"
    ingest.mkdir(parents=True, exist_ok=True)
    (ingest / ("sha256-" + layer.digest[7:])).write_bytes(data)
    if cut == "wrong-bytes":
        e = berth.fails("pull", ref)
        assert "digest" in e.err
        assert berth.records() == []
    berth.ok("pull", ref)
    check_rootfs(berth, ref, img)
    assert not list(ingest.iterdir())


def test_concurrent_pulls_download_each_layer_once(berth):
    """Two pulls of images sharing layers, at the same time, on one store: each blob is
    fetched from the registry once; the second pull waits for the first's download."""
    a = ocimage.big_image(total_mb=32, layers=2, seed=11)
    b = ocimage.Image(a.layers + [ocimage.Layer().file("extra", b"b\n")], config={"Cmd": ["sh"]})
    with Registry("plain") as r:
        a.push(r, "conc/a", "1")
        b.push(r, "conc/b", "1")
        before = r.log_path.read_text().count('"GET')
        procs = [berth.popen("pull", r.image_ref(f"conc/{n}", "1"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE) for n in ("a", "b")]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        log = r.log_path.read_text()
        for digest in a.layer_digests:
            gets = [line for line in log.splitlines()
                    if "GET" in line and f"blobs/{digest}" in line and "response completed" in line]
            assert len(gets) == 1, (digest, gets)
        assert log.count('"GET') > before
    assert {x["id"] for x in berth.records()} == {a.config_digest, b.config_digest}
    check_rootfs(berth, r.image_ref("conc/b", "1"), b)


def _size(path):
    """A file's size, 0 once it is gone (an ingest file is renamed when its blob completes)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def test_kill_during_pull_then_retry(berth, reg, test_dir):
    """berthd, the store's writer, killed with -9 in the middle of a pull: nothing is visible,
    the partial download is on disk, and once berthd is back the retry completes."""
    img = ocimage.big_image(total_mb=48, layers=2)
    img.push(reg, "test/big", "1")
    ref = reg.image_ref("test/big", "1")
    p = berth.popen("pull", ref, stdout=open(os.devnull, "w"), stderr=subprocess.PIPE)
    ingest = berth.root / "content/ingest"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(_size(f) > 4 << 20 for f in ingest.glob("sha256-*")):
            break
        if p.poll() is not None:
            pytest.fail("pull finished before berthd could be killed")
        time.sleep(0.01)
    berth.daemon.kill()
    _, err = p.communicate(timeout=30)
    assert p.returncode != 0, "the pull succeeded although its daemon was killed"
    assert err.strip(), "the pull failed without a message"
    assert berth.records() == []
    partial = {f.name: f.stat().st_size for f in ingest.glob("sha256-*")}
    assert partial, "no partial download was kept"
    berth.daemon.start()
    assert berth("images", "-q").out.strip() == ""
    berth.ok("pull", ref)
    rec, = berth.records()
    assert rec["manifest"] == img.digest
    assert not list(ingest.glob("sha256-*"))
    assert not berth.scratch()
    check_rootfs(berth, ref, img)


def test_kill_during_push_then_retry(berth, berths, reg):
    """berthd killed with -9 while it uploads: once it is back, the push completes and the
    registry holds the image, digest intact."""
    img = ocimage.big_image(total_mb=48, layers=2, seed=7)
    img.push(reg, "test/big-src", "1")
    src = reg.image_ref("test/big-src", "1")
    berth.ok("pull", src)
    target = reg.image_ref("test/big-dst", "1")
    berth.ok("tag", src, target)
    # Another registry, so nothing can be mounted across repositories.
    with Registry("plain") as other:
        target = other.image_ref("test/big-dst", "1")
        berth.ok("tag", src, target)
        p = berth.popen("push", target, stdout=open(os.devnull, "w"), stderr=subprocess.PIPE)
        uploads = other.storage / "docker/registry/v2/repositories/test/big-dst/_uploads"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and p.poll() is None:
            if uploads.is_dir() and any(uploads.iterdir()):
                break
            time.sleep(0.005)
        if p.poll() is not None:
            pytest.fail("push finished before berthd could be killed")
        berth.daemon.kill()
        _, err = p.communicate(timeout=30)
        assert p.returncode != 0 and err.strip(), "the push did not fail with its daemon"
        berth.daemon.start()
        berth.ok("push", target)
        raw = other.skopeo_inspect(other.docker_ref("test/big-dst", "1"), raw=True)
        assert ocimage.sha256(raw) == img.digest
        again = berths()
        again.ok("pull", target)
        check_rootfs(again, target, img)


# --- through the daemon ---------------------------------------------------------------------

def test_pull_is_the_daemons(berth, pushed):
    """berth pull asks berthd: the pull is in the daemon's events and in its image list, as
    the docker CLI sees them."""
    require_docker()
    img, ref = pushed["multi"]
    since = int(time.time())
    berth.ok("pull", ref)
    d = berth.daemon
    events = d.docker("events", "--since", str(since), "--until", str(int(time.time()) + 1),
                      "--filter", "type=image", "--format", "{{.Action}} {{.Actor.ID}}").stdout
    assert f"pull {ref}" in events.splitlines(), events
    listed = d.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout
    assert f"{ref} {img.config_digest[7:19]}" in listed.splitlines(), listed


def require_docker():
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI")


def test_pull_and_push_output_are_dockers(berth, reg, pushed):
    """Without a terminal, berth prints what the docker CLI prints for the same pull and push
    (layers finish in any order, so lines are compared as sets)."""
    require_docker()
    img, ref = pushed["multi"]
    d = berth.daemon
    theirs = d.docker("pull", ref).stdout
    d.docker("rmi", ref)
    berth.wait_collected(img.config_digest)
    ours = berth.ok("pull", ref).out
    assert sorted(ours.splitlines()) == sorted(theirs.splitlines())
    assert ours.splitlines()[-3:] == theirs.splitlines()[-3:]
    assert "Pull complete" in ours and ours.splitlines()[-1] == ref
    target = reg.image_ref("test/output-push", "1")
    berth.ok("tag", ref, target)
    d.docker("push", target)
    # the layers are there now: both pushes find them so
    ours = berth.ok("push", target).out
    theirs = d.docker("push", target).stdout
    assert sorted(ours.splitlines()) == sorted(theirs.splitlines())
    assert "Layer already exists" in ours
    assert berth.ok("pull", "-q", ref).out == ref + "\n"


def screen(text):
    """The lines a terminal shows after text: newlines, carriage returns, cursor up and down
    (ESC[nA, ESC[nB) and line clears (ESC[2K), which is what jsonmessage writes."""
    lines, row, col = [""], 0, 0
    for tok in re.findall(r"\x1b\[(\d*)([ABK])|(\r\n|\n)|(\r)|([^\x1b\r\n]+)", text):
        n, code, nl, cr, chars = tok
        if code == "A":
            row -= int(n or 1)
        elif code == "B":
            row += int(n or 1)
        elif code == "K":
            lines[row] = ""
        elif nl:
            row, col = row + 1, 0
        elif cr:
            col = 0
        elif chars:
            line = lines[row]
            lines[row] = line[:col] + chars + line[col + len(chars):]
            col += len(chars)
        assert 0 <= row, repr(text)
        while len(lines) <= row:
            lines.append("")
    return [line.rstrip() for line in lines if line.strip()]


def test_pull_on_a_terminal_updates_rows_in_place(berth, pushed):
    """On a terminal each layer keeps one line, rewritten in place, as docker's: what the
    screen shows in the end is one row per layer with its last status."""
    img, ref = pushed["multi"]
    rc, out = berth.pty("pull", ref, size=(40, 120))
    assert rc == 0, out
    assert "\x1b[1A" in out and "\x1b[2K" in out
    shown = screen(out)
    layers = [d[7:19] for d in img.layer_digests]
    assert shown[0] == "1: Pulling from test/multi"
    assert sorted(shown[1:1 + len(layers)]) == sorted(f"{x}: Pull complete" for x in layers)
    assert shown[-3].startswith("Digest: ") and shown[-1] == ref
    assert len(shown) == len(layers) + 4, shown


# --- auth ---------------------------------------------------------------------------------

def test_basic_auth_login_pull_push_logout(berth, test_dir):
    with Registry("basic") as r:
        ocimage.busybox_image().push(r, "private/bb", "1")
        ref = r.image_ref("private/bb", "1")
        e = berth.fails("pull", ref)
        assert "unauthorized" in e.err.lower() or "authentication" in e.err.lower()
        e = berth.fails("login", "-u", r.user, "--password-stdin", r.host, input=b"wrong\n")
        assert "unauthorized" in e.err.lower() or "incorrect" in e.err.lower()
        berth.ok("login", "-u", r.user, "--password-stdin", r.host,
                 input=(r.password + "\n").encode())
        cfg = json.loads((berth.config / "config.json").read_text())
        assert r.host in cfg["auths"]
        assert (berth.config / "config.json").stat().st_mode & 0o077 == 0
        berth.ok("pull", ref)
        berth.ok("tag", ref, r.image_ref("private/copy", "1"))
        berth.ok("push", r.image_ref("private/copy", "1"))
        out = berth.ok("logout", r.host).out
        assert "Removing login credentials" in out
        assert r.host not in json.loads((berth.config / "config.json").read_text())["auths"]
        assert "Not logged in" in berth.ok("logout", r.host).out


def test_token_auth_flow(berth):
    with Registry("token") as r:
        ocimage.busybox_image().push(r, "tok/bb", "1")
        ref = r.image_ref("tok/bb", "1")
        r.issuer.clear()
        berth.fails("pull", ref)
        berth.ok("login", "-u", r.user, "--password-stdin", r.host,
                 input=(r.password + "\n").encode())
        r.issuer.clear()
        berth.ok("pull", ref)
        seen = r.issuer.requests_of(r.user)
        assert any("repository:tok/bb:pull" in q["scopes"] for q in seen), seen
        target = r.image_ref("tok/other", "1")
        berth.ok("tag", ref, target)
        r.issuer.clear()
        berth.ok("push", target)
        scopes = r.issuer.scopes_seen()
        assert any("tok/other" in s and "push" in s for s in scopes), scopes
        raw = r.skopeo_inspect(r.docker_ref("tok/other", "1"), raw=True)
        assert ocimage.sha256(raw) == ocimage.busybox_image().digest


def test_tls_registry(berth, test_dir):
    # Loopback registries are insecure by default (as Docker's): TLS is used without checking
    # the certificate. Verification against a certs.d CA needs a non-loopback name.
    with Registry("basic", tls=True) as r:
        ocimage.busybox_image().push(r, "tls/bb", "1")
        ref = r.image_ref("tls/bb", "1")
        berth.ok("login", "-u", r.user, "--password-stdin", r.host,
                 input=(r.password + "\n").encode())
        berth.ok("pull", ref)


def test_tls_verified_against_certs_d(berths, test_dir, monkeypatch):
    """A registry that is not on a loopback name is verified: refused without its CA, pulled
    once the CA is in /etc/berth/certs.d/<host:port>/. berthd (which talks to the registry)
    runs in a private mount namespace whose /etc/hosts maps berth-registry.test to 127.0.0.1
    and whose certs.d is the test's."""
    with Registry("tls") as r:
        img = ocimage.busybox_image()
        img.push(r, "secure/bb", "1")
        host = f"berth-registry.test:{r.port}"
        hosts = test_dir / "hosts"
        hosts.write_text("127.0.0.1 berth-registry.test\n" + open("/etc/hosts").read())
        certs = test_dir / "certs.d"
        certs.mkdir()
        os.makedirs("/etc/berth/certs.d", exist_ok=True)
        script = ("mount --make-rprivate / && mount --bind \"$1\" /etc/hosts && "
                  "mount --bind \"$2\" /etc/berth/certs.d && shift 2 && exec \"$@\"")
        wrapper = test_dir / "berthd-in-namespace"
        wrapper.write_text("#!/bin/sh\nexec unshare -m sh -c " + shlex.quote(script) + " sh "
                           + " ".join(shlex.quote(str(x)) for x in (hosts, certs, daemon.BERTHD))
                           + ' "$@"\n')
        wrapper.chmod(0o755)
        monkeypatch.setattr(daemon, "BERTHD", str(wrapper))
        berth = berths()
        p = berth("pull", f"{host}/secure/bb:1")
        assert p.rc != 0
        assert "certificate" in p.err.lower() or "ssl" in p.err.lower(), p.err
        assert berth.records() == []
        (certs / host).mkdir()
        shutil.copy(r.ca_cert, certs / host / "ca.crt")
        p = berth("pull", f"{host}/secure/bb:1")
        assert p.rc == 0, p.err
        rec, = berth.records()
        assert rec["manifest"] == img.digest
