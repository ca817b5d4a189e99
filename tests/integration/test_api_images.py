"""berthd's image endpoints through real clients: the docker 28 CLI and python3-docker against
the daemon's socket, with Debian's docker-registry on 127.0.0.1 for pull, push and login, and
images made offline by ocimage.py. Every test names its images uniquely (a run label makes
their IDs unique too) and removes what it added, so tests do not depend on each other."""

import fcntl
import io
import json
import time
import subprocess
import tarfile
import uuid
from pathlib import Path

import docker
import pytest

import ocimage
from registry import Registry, require_tools


# ---------------------------------------------------------------------------------------------
# helpers

def _run_id():
    return uuid.uuid4().hex[:10]


def _image(run, layers=None, created=ocimage.DEFAULT_CREATED, labels=None, cmd=("sh",)):
    """A busybox-based image whose config (so its ID) is this run's own."""
    return ocimage.Image(layers or [ocimage.busybox_layer()], config={"Cmd": list(cmd)},
                         created=created, labels={"berth.test.run": run, **(labels or {})})


def _unique_image(run, layers=2):
    """An image none of whose layers any other test has."""
    return ocimage.Image([ocimage.Layer().file(f"etc/run-{i}", f"{run} {i}\n")
                          for i in range(layers)], config={"Cmd": ["sh"]},
                         labels={"berth.test.run": run})


def _ids(daemon):
    out = daemon.docker("images", "-a", "-q", "--no-trunc").stdout.split()
    return set(out)


def _load(daemon, tmp_path, img, *names):
    """Brings img in through `docker load` of a docker-archive carrying names."""
    arc = tmp_path / f"in-{uuid.uuid4().hex[:8]}.tar"
    img.write_docker_archive(arc, repo_tags=names or ())
    r = daemon.docker("load", "-i", str(arc))
    for n in names:
        assert f"Loaded image: {n}" in r.stdout, r
    return img.config_digest


def _inspect(daemon, name):
    return json.loads(daemon.docker("image", "inspect", name).stdout)[0]


def _image_events(daemon, since):
    """The image events from since until now, as (Action, Actor.ID, Attributes)."""
    r = daemon.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
                      "--filter", "type=image", "--format", "{{json .}}")
    evs = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    return [(e["Action"], e["Actor"]["ID"], e["Actor"].get("Attributes") or {}) for e in evs]


def _fails(result, *words):
    assert result.returncode != 0, f"unexpectedly succeeded: {result}"
    for w in words:
        assert w in result.stderr, f"{w!r} not in: {result.stderr}"


def _store_root(daemon):
    """The image store's directory under the daemon's data root (where images/ lives)."""
    found = sorted(Path(daemon.root).rglob("images/images.json"))
    assert found, f"no image records under {daemon.root}"
    return found[0].parent.parent


def _needs_root(daemon):
    if daemon.root is None:
        pytest.skip("needs the daemon's data root (not an external daemon)")


def _hold(daemon, holder, image_id):
    d = _store_root(daemon) / "images/holds"
    d.mkdir(parents=True, exist_ok=True)
    (d / holder).write_text(image_id + "\n")
    return d / holder


def _docker_with_config(daemon, config_dir, *args, input=None):
    """The docker CLI with its own client config dir (login keeps credentials there)."""
    env = dict(daemon.env, DOCKER_CONFIG=str(config_dir))
    return subprocess.run(["docker", *map(str, args)], input=input, capture_output=True,
                          text=True, env=env, timeout=120)


@pytest.fixture
def added(daemon):
    """Removes, after the test, every image the test added."""
    before = _ids(daemon)
    yield
    for i in _ids(daemon) - before:
        daemon.docker("rmi", "-f", i, check=False)


@pytest.fixture(scope="module")
def reg():
    require_tools("docker-registry", "skopeo")
    with Registry("plain") as r:
        yield r


@pytest.fixture(scope="module")
def pushed(reg):
    """name -> (image, reference), pushed once per module."""
    run = _run_id()
    out = {}
    for name, img in [("busybox", _image(run)),
                      ("multi", ocimage.multilayer_image()),
                      ("arch", ocimage.multiarch_index())]:
        img.push(reg, f"test/{name}", "1")
        out[name] = (img, reg.image_ref(f"test/{name}", "1"))
    return out


# ---------------------------------------------------------------------------------------------
# pull

@pytest.mark.time_limit(120)
def test_docker_pull_from_registry(daemon, reg, added):
    run = _run_id()
    img = ocimage.Image(ocimage.multilayer_image().layers + [
        ocimage.Layer().file("etc/run", run)], config={"Cmd": ["sh"], "WorkingDir": "/data"})
    img.push(reg, f"pull-{run}/multi", "1")
    ref = reg.image_ref(f"pull-{run}/multi", "1")
    r = daemon.docker("pull", ref)
    out = r.stdout
    assert f"1: Pulling from pull-{run}/multi" in out
    assert "Pull complete" in out
    assert f"Digest: {img.digest}" in out
    assert f"Status: Downloaded newer image for {ref}" in out
    assert out.strip().splitlines()[-1] == ref
    info = _inspect(daemon, ref)
    assert info["Id"] == img.config_digest
    assert info["RepoTags"] == [ref]
    assert info["RepoDigests"] == [f"{reg.host}/pull-{run}/multi@{img.digest}"]
    assert info["RootFS"]["Layers"] == img.diff_ids
    assert info["Config"]["WorkingDir"] == "/data"
    # Again: nothing to fetch.
    r = daemon.docker("pull", ref)
    assert f"Status: Image is up to date for {ref}" in r.stdout


@pytest.mark.time_limit(120)
def test_pull_shares_layers_and_picks_platform(daemon, reg, pushed, added):
    daemon.docker("pull", pushed["busybox"][1])
    idx, ref = pushed["arch"]
    r = daemon.docker("pull", "--platform", "linux/arm64", ref)
    assert "Already exists" in r.stdout
    assert _inspect(daemon, ref)["Architecture"] == "arm64"
    # A platform the index lacks is refused before anything streams.
    r = daemon.docker("pull", "--platform", "linux/s390x", ref, check=False)
    _fails(r, "s390x")
    # A single-platform image comes whatever was asked for, with Docker's warning.
    r = daemon.docker("pull", "--platform", "linux/arm64", pushed["busybox"][1])
    assert "WARNING: image with reference" in r.stdout
    assert "(linux/amd64) does not match the specified platform (linux/arm64)" in r.stdout


def test_pull_by_digest(daemon, reg, pushed, added):
    img, ref = pushed["busybox"]
    by_digest = f"{reg.host}/test/busybox@{img.digest}"
    r = daemon.docker("pull", by_digest)
    assert f"{img.digest}: Pulling from test/busybox" in r.stdout
    info = _inspect(daemon, by_digest)
    assert info["RepoTags"] == [] and info["RepoDigests"] == [by_digest]


def test_pull_errors(daemon, reg, added):
    r = daemon.docker("pull", reg.image_ref("test/nothing-here", "1"), check=False)
    _fails(r, "not found")
    from registry import free_port
    r = daemon.docker("pull", f"127.0.0.1:{free_port()}/x:1", check=False)
    _fails(r, "127.0.0.1")
    # What the CLI would refuse itself, sent straight to the API.
    with pytest.raises(docker.errors.APIError) as e:
        daemon.client.pull("Not A Name", tag="1")
    assert e.value.status_code == 400
    with pytest.raises(docker.errors.NotFound):
        daemon.client.pull(f"{reg.host}/test/nothing-here", tag="1")


@pytest.mark.time_limit(120)
def test_python_pull_stream(daemon, reg, added):
    run = _run_id()
    img = _unique_image(run, layers=5)
    img.push(reg, f"stream-{run}/app", "1")
    ref = reg.image_ref(f"stream-{run}/app", "1")
    repo = ref.rsplit(":", 1)[0]
    msgs = list(daemon.client.pull(repo, tag="1", stream=True, decode=True))
    assert {"status": f"Pulling from stream-{run}/app", "id": "1"} in msgs
    by_layer = {}
    for m in msgs:
        assert "error" not in m, m
        if "id" in m and m.get("status") != f"Pulling from stream-{run}/app":
            by_layer.setdefault(m["id"], []).append(m)
    assert set(by_layer) == {d.split(":")[1][:12] for d in img.layer_digests}
    for layer, ms in by_layer.items():
        statuses = [m["status"] for m in ms]
        assert statuses[0] == "Pulling fs layer"
        assert statuses.count("Waiting") <= 1
        assert statuses[-1] == "Pull complete"
        assert "Download complete" in statuses
        downloads = [m for m in ms if m["status"] == "Downloading"]
        assert downloads and downloads[-1]["progressDetail"]["total"] > 0
        assert downloads[-1]["progressDetail"]["current"] == downloads[-1]["progressDetail"][
            "total"]
    assert {"status": f"Digest: {img.digest}"} in msgs
    assert msgs[-1] == {"status": f"Status: Downloaded newer image for {ref}"}
    # Five layers, three at a time: two of them wait.
    assert sum(1 for m in msgs if m.get("status") == "Waiting") == 2
    # Pulled again: every layer is there.
    msgs = list(daemon.client.pull(repo, tag="1", stream=True, decode=True))
    assert msgs[-1] == {"status": f"Status: Image is up to date for {ref}"}


# ---------------------------------------------------------------------------------------------
# login and credentials

@pytest.mark.time_limit(120)
def test_login_then_pull_and_push(daemon, tmp_path, added):
    require_tools("docker-registry", "skopeo", "htpasswd")
    with Registry("basic") as reg:
        img = _image(_run_id())
        img.push(reg, "private/app", "1")
        ref = reg.image_ref("private/app", "1")
        cfg = tmp_path / "docker-config"
        r = _docker_with_config(daemon, cfg, "pull", ref)
        assert r.returncode != 0 and r.stderr.strip(), r
        r = _docker_with_config(daemon, cfg, "login", reg.host, "-u", reg.user,
                                "--password-stdin", input="wrong\n")
        assert r.returncode != 0 and "401 Unauthorized" in r.stderr, r
        r = _docker_with_config(daemon, cfg, "login", reg.host, "-u", reg.user,
                                "--password-stdin", input=reg.password + "\n")
        assert r.returncode == 0 and "Login Succeeded" in r.stdout, r
        r = _docker_with_config(daemon, cfg, "pull", ref)
        assert r.returncode == 0 and f"Digest: {img.digest}" in r.stdout, r
        target = reg.image_ref("private/copy", "2")
        daemon.docker("tag", ref, target)
        r = _docker_with_config(daemon, cfg, "push", target)
        assert r.returncode == 0 and f"2: digest: {img.digest}" in r.stdout, r
        assert reg.get_manifest("private/copy", "2")[2] == img.digest


def test_auth_endpoint(daemon):
    require_tools("docker-registry", "htpasswd")
    with Registry("basic") as reg:
        ok = daemon.client.login(reg.user, reg.password, registry=reg.host, reauth=True)
        assert ok["Status"] == "Login Succeeded"
        with pytest.raises(docker.errors.APIError) as e:
            daemon.client.login(reg.user, "nope", registry=reg.host, reauth=True)
        assert e.value.status_code == 401
        assert "401 Unauthorized" in str(e.value)


# ---------------------------------------------------------------------------------------------
# list, inspect, history, tag

def test_images_filters_and_format(daemon, tmp_path, added):
    run = _run_id()
    old = _image(run, created="2019-01-01T00:00:00Z", labels={"age": "old"})
    mid = _image(run, created="2020-06-01T00:00:00Z", labels={"age": "mid", "keep": "yes"})
    new = _image(run, created="2022-01-01T00:00:00Z", labels={"age": "new"})
    _load(daemon, tmp_path, old, f"apit-{run}/old:1")
    _load(daemon, tmp_path, mid, f"apit-{run}/mid:1", f"apit-{run}/mid:2")
    _load(daemon, tmp_path, new, f"apit-{run}/new:1")

    def names(*args):
        r = daemon.docker("images", "--format", "{{.Repository}}:{{.Tag}}", *args)
        return [n for n in r.stdout.split() if n.startswith(f"apit-{run}/")]

    # Newest first, one row per name.
    assert names() == [f"apit-{run}/new:1", f"apit-{run}/mid:1", f"apit-{run}/mid:2",
                       f"apit-{run}/old:1"] or names() == [
        f"apit-{run}/new:1", f"apit-{run}/mid:2", f"apit-{run}/mid:1", f"apit-{run}/old:1"]
    assert set(names("--filter", "label=keep")) == {f"apit-{run}/mid:1", f"apit-{run}/mid:2"}
    assert set(names("--filter", "label=age=old")) == {f"apit-{run}/old:1"}
    assert set(names("--filter", f"reference=apit-{run}/mid")) == {
        f"apit-{run}/mid:1", f"apit-{run}/mid:2"}
    assert set(names("--filter", f"reference=apit-{run}/*:1")) == {
        f"apit-{run}/old:1", f"apit-{run}/mid:1", f"apit-{run}/new:1"}
    assert set(names("--filter", f"before=apit-{run}/mid:1")) == {f"apit-{run}/old:1"}
    assert set(names("--filter", f"since=apit-{run}/mid:1")) == {f"apit-{run}/new:1"}
    assert set(names("--filter", "until=2021-01-01T00:00:00Z",
                     "--filter", f"label=berth.test.run={run}")) == {
        f"apit-{run}/old:1", f"apit-{run}/mid:1", f"apit-{run}/mid:2"}
    assert set(names(f"apit-{run}/new")) == {f"apit-{run}/new:1"}
    # A name moved to another image leaves the first one dangling.
    daemon.docker("tag", f"apit-{run}/new:1", f"apit-{run}/old:1")
    dangling = daemon.docker("images", "-q", "--no-trunc", "--filter", "dangling=true").stdout
    assert old.config_digest in dangling.split()
    assert names("--filter", "dangling=true") == []
    r = daemon.docker("images", "--filter", "nonsense=1", check=False)
    _fails(r, "invalid filter 'nonsense'")
    r = daemon.docker("images", "--filter", "dangling=maybe", check=False)
    _fails(r, "invalid filter 'dangling=")
    # Through the API: sizes, shared sizes, labels.
    listed = {i["Id"]: i for i in daemon.client.images(filters={"label": f"berth.test.run={run}"})}
    assert set(listed) == {old.config_digest, mid.config_digest, new.config_digest}
    assert listed[mid.config_digest]["Labels"]["keep"] == "yes"
    assert listed[mid.config_digest]["Created"] == 1590969600
    assert listed[mid.config_digest]["SharedSize"] == -1
    assert listed[mid.config_digest]["Containers"] == -1
    assert listed[mid.config_digest]["Size"] > 0
    resp = daemon.client.get(
        daemon.client._url("/images/json"),
        params={"shared-size": "1", "filters": json.dumps({"label": [f"berth.test.run={run}"]})})
    assert resp.status_code == 200, resp.text
    shared = {i["Id"]: i for i in resp.json()}
    # The three share their one layer.
    assert shared[mid.config_digest]["SharedSize"] == shared[mid.config_digest]["Size"]


def test_image_inspect(daemon, tmp_path, added):
    run = _run_id()
    img = _image(run)
    name = f"apit-{run}/inspect:1"
    _load(daemon, tmp_path, img, name)
    info = _inspect(daemon, name)
    assert info["Id"] == img.config_digest
    assert info["RepoTags"] == [name]
    assert info["Config"]["Cmd"] == ["sh"]
    assert info["Config"]["Labels"] == {"berth.test.run": run}
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    assert info["Created"] == ocimage.DEFAULT_CREATED
    assert info["RootFS"] == {"Type": "layers", "Layers": img.diff_ids}
    assert info["Size"] > 0
    r = daemon.docker("image", "inspect", "--format", "{{.Id}} {{.Config.Cmd}}", name)
    assert r.stdout.strip() == f"{img.config_digest} [sh]"
    # By ID, short ID and "sha256:" prefix.
    hexid = img.config_digest.split(":")[1]
    for what in (img.config_digest, hexid, hexid[:12]):
        assert _inspect(daemon, what)["Id"] == img.config_digest
    r = daemon.docker("image", "inspect", f"apit-{run}/nothing:1", check=False)
    _fails(r, "No such image")
    with pytest.raises(docker.errors.ImageNotFound):
        daemon.client.inspect_image(f"apit-{run}/nothing:1")


def test_history(daemon, tmp_path, added):
    run = _run_id()
    l2 = ocimage.Layer().file("etc/motd", b"two\n")
    img = ocimage.Image([ocimage.busybox_layer(), l2], config={"Cmd": ["sh"]},
                        labels={"berth.test.run": run},
                        history=[{"created": "2020-01-01T00:00:00Z", "created_by": "base layer"},
                                 {"created": "2020-01-02T00:00:00Z", "created_by": "set env",
                                  "empty_layer": True},
                                 {"created": "2020-01-03T00:00:00Z", "created_by": "add motd",
                                  "comment": "the second layer"}])
    name = f"apit-{run}/history:1"
    _load(daemon, tmp_path, img, name)
    r = daemon.docker("history", "--no-trunc", "--format",
                      "{{.ID}}|{{.CreatedBy}}|{{.Comment}}", name)
    rows = [line.split("|") for line in r.stdout.strip().splitlines()]
    assert rows == [[img.config_digest, "add motd", "the second layer"],
                    ["<missing>", "set env", ""],
                    ["<missing>", "base layer", ""]]
    hist = daemon.client.history(name)
    assert hist[0]["Tags"] == [name] and hist[1]["Tags"] is None
    assert hist[0]["Created"] == 1578009600
    assert hist[1]["Size"] == 0 and hist[0]["Size"] > 0 and hist[2]["Size"] > 0


def test_tag(daemon, tmp_path, added):
    run = _run_id()
    img = _image(run)
    src = f"apit-{run}/src:1"
    _load(daemon, tmp_path, img, src)
    daemon.docker("tag", src, f"apit-{run}/dst:2")
    daemon.docker("tag", img.config_digest[7:19], f"apit-{run}/dst")
    assert set(_inspect(daemon, src)["RepoTags"]) == {
        src, f"apit-{run}/dst:2", f"apit-{run}/dst:latest"}
    r = daemon.docker("tag", f"apit-{run}/nothing:1", f"apit-{run}/x:1", check=False)
    _fails(r, "No such image")
    with pytest.raises(docker.errors.APIError) as e:
        daemon.client.tag(src, f"apit-{run}/Bad")
    assert e.value.status_code == 400
    with pytest.raises(docker.errors.APIError) as e:
        daemon.client.tag(src, f"apit-{run}/x", tag="-bad")
    assert e.value.status_code == 400


def test_search_is_refused_clearly(daemon):
    with pytest.raises(docker.errors.APIError) as e:
        daemon.client.search("busybox")
    assert e.value.status_code == 501
    assert "not supported" in str(e.value)


def test_image_events(daemon, tmp_path, added):
    run = _run_id()
    img = _image(run, labels={"purpose": "events"})
    iid = img.config_digest
    since = time.time()
    name = f"apit-{run}/ev:1"
    _load(daemon, tmp_path, img, name)
    daemon.docker("tag", name, f"apit-{run}/ev:2")
    daemon.docker("save", "-o", tmp_path / "ev.tar", name)
    daemon.docker("rmi", f"apit-{run}/ev:2")
    daemon.docker("rmi", name)
    mine = [(a, at) for a, i, at in _image_events(daemon, since) if i == iid]
    assert [a for a, _ in mine] == ["load", "tag", "save", "untag", "untag", "delete"]
    load = mine[0][1]
    assert load == {"name": iid, "purpose": "events", "berth.test.run": run}
    assert mine[1][1]["name"] == f"apit-{run}/ev:2"


# ---------------------------------------------------------------------------------------------
# remove and prune

def test_rmi_untag_conflict_force(daemon, tmp_path, added):
    run = _run_id()
    img = _image(run)
    a, b = f"apit-{run}/a:1", f"apit-{run}/b:1"
    _load(daemon, tmp_path, img, a, b)
    r = daemon.docker("rmi", a)
    assert r.stdout.strip() == f"Untagged: {a}"
    assert _inspect(daemon, b)["RepoTags"] == [b]
    daemon.docker("tag", b, a)
    r = daemon.docker("rmi", img.config_digest, check=False)
    _fails(r, "conflict: unable to delete", "(must be forced) - image is referenced in "
           "multiple repositories")
    r = daemon.docker("rmi", "-f", img.config_digest)
    lines = r.stdout.strip().splitlines()
    assert set(lines[:2]) == {f"Untagged: {a}", f"Untagged: {b}"}
    assert lines[2:] == [f"Deleted: {img.config_digest}"]
    assert img.config_digest not in _ids(daemon)
    r = daemon.docker("rmi", a, check=False)
    _fails(r, "No such image")


def test_rmi_of_image_a_container_uses(daemon, tmp_path, added):
    run = _run_id()
    img = _image(run)
    name = f"apit-{run}/used:1"
    _load(daemon, tmp_path, img, name)
    _needs_root(daemon)
    cid = uuid.uuid4().hex + uuid.uuid4().hex
    hold = _hold(daemon, f"ctr-{cid}", img.config_digest)
    try:
        r = daemon.docker("rmi", name, check=False)
        _fails(r, f'unable to remove repository reference "{name}" (must force) - container '
                  f'{cid[:12]} is using its referenced image {img.config_digest[7:19]}')
        r = daemon.docker("rmi", "-f", img.config_digest, check=False)
        _fails(r, "cannot be forced", cid[:12])
        # Forced by name: the name goes, the image stays for its container.
        r = daemon.docker("rmi", "-f", name)
        assert r.stdout.strip() == f"Untagged: {name}"
        assert img.config_digest in _ids(daemon)
    finally:
        hold.unlink()
    r = daemon.docker("rmi", img.config_digest)
    assert f"Deleted: {img.config_digest}" in r.stdout
    # DELETE answers Docker's list of what it did.
    with pytest.raises(docker.errors.ImageNotFound):
        daemon.client.remove_image(img.config_digest)


def test_rmi_of_image_a_real_container_uses(daemon, tmp_path, added):
    run = _run_id()
    img = _image(run)
    name = f"apit-{run}/ctr:1"
    _load(daemon, tmp_path, img, name)
    cid = daemon.docker("create", name, "true").stdout.strip()
    try:
        r = daemon.docker("rmi", name, check=False)
        _fails(r, f"container {cid[:12]} is using its referenced image")
        r = daemon.docker("rmi", img.config_digest, check=False)
        _fails(r, "(must be forced) - image is being used by stopped container " + cid[:12])
        # Forced: Docker deletes the image record, berthd keeps it nameless for the
        # container; either way the name is gone and the container still works.
        r = daemon.docker("rmi", "-f", img.config_digest)
        assert f"Untagged: {name}" in r.stdout
        assert daemon.docker("inspect", "--format", "{{.Image}}", cid).stdout.strip() == \
            img.config_digest
    finally:
        daemon.docker("rm", "-f", cid, check=False)


def test_rmi_does_not_wait_for_transfers(daemon, tmp_path, added):
    """A pull, load or import in progress holds a shared lease that keeps GC off: removing an
    image meanwhile answers at once, and the space comes back once the lease goes."""
    _needs_root(daemon)
    run = _run_id()
    img = _unique_image(run, layers=1)
    name = f"apit-{run}/gc:1"
    _load(daemon, tmp_path, img, name)
    # A docker-archive carries its layers uncompressed: stored under their diff ID.
    blob = _store_root(daemon) / "content/blobs/sha256" / img.diff_ids[0].split(":")[1]
    assert blob.exists()
    with open(_store_root(daemon) / "images/gc.lock", "a") as lease:
        fcntl.flock(lease, fcntl.LOCK_SH)
        start = time.monotonic()
        r = daemon.docker("rmi", name)
        assert f"Deleted: {img.config_digest}" in r.stdout
        daemon.docker("images")
        assert time.monotonic() - start < 10
        time.sleep(0.5)
        assert blob.exists()
    deadline = time.monotonic() + 20
    while blob.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not blob.exists()


def test_image_prune(daemon, tmp_path, added):
    run = _run_id()
    keep = _image(run, labels={"prune": "no"})
    tagged = _image(run, labels={"prune": "yes", "n": "1"})
    dangling = _image(run, labels={"prune": "yes", "n": "2"})
    held = _image(run, labels={"prune": "yes", "n": "3"})
    _load(daemon, tmp_path, keep, f"apit-{run}/keep:1")
    _load(daemon, tmp_path, tagged, f"apit-{run}/tagged:1")
    _load(daemon, tmp_path, dangling, f"apit-{run}/dangling:1")
    _load(daemon, tmp_path, held, f"apit-{run}/held:1")
    _needs_root(daemon)
    daemon.docker("tag", f"apit-{run}/keep:1", f"apit-{run}/dangling:1")
    hold = _hold(daemon, f"ctr-{uuid.uuid4().hex}", held.config_digest)
    try:
        # Dangling only (the default), scoped to this test's images by label.
        r = daemon.docker("image", "prune", "-f", "--filter", "label=prune=yes")
        assert f"deleted: {dangling.config_digest}" in r.stdout
        assert tagged.config_digest in _ids(daemon)
        r = daemon.docker("image", "prune", "-a", "-f", "--filter", "label=prune=yes")
        assert f"untagged: apit-{run}/tagged:1" in r.stdout
        assert f"deleted: {tagged.config_digest}" in r.stdout
        assert "Total reclaimed space:" in r.stdout
        left = _ids(daemon)
        assert held.config_digest in left and keep.config_digest in left
        assert tagged.config_digest not in left and dangling.config_digest not in left
        # label! and until through the API.
        rep = daemon.client.prune_images(filters={"dangling": False, "label!": "prune=no",
                                                  "until": "2000-01-01T00:00:00Z"})
        assert not rep["ImagesDeleted"]
        with pytest.raises(docker.errors.APIError) as e:
            daemon.client.prune_images(filters={"until": "yesterday-ish"})
        assert e.value.status_code == 400
    finally:
        hold.unlink()


# ---------------------------------------------------------------------------------------------
# push

@pytest.mark.time_limit(120)
def test_docker_push(daemon, reg, pushed, added):
    img, ref = pushed["busybox"]
    since = time.time()
    daemon.docker("pull", ref)
    run = _run_id()
    target = reg.image_ref(f"pushed-{run}/app", "2")
    daemon.docker("tag", ref, target)
    r = daemon.docker("push", target)
    assert f"The push refers to repository [{reg.host}/pushed-{run}/app]" in r.stdout
    assert "Mounted from test/busybox" in r.stdout
    assert f"2: digest: {img.digest} size: {len(img.manifest_bytes)}" in r.stdout
    assert reg.get_manifest(f"pushed-{run}/app", "2")[2] == img.digest
    r = daemon.docker("push", target)
    assert "Layer already exists" in r.stdout
    r = daemon.docker("push", reg.image_ref(f"pushed-{run}/never", "1"), check=False)
    _fails(r, "does not exist locally")
    events = [(a, i, at.get("name")) for a, i, at in _image_events(daemon, since)]
    assert ("pull", ref, f"{reg.host}/test/busybox") in events
    assert events.count(("push", target, f"{reg.host}/pushed-{run}/app")) == 2


@pytest.mark.time_limit(120)
def test_python_push_stream_reports_aux(daemon, reg, pushed, added):
    img, ref = pushed["multi"]
    daemon.docker("pull", ref)
    run = _run_id()
    repo = f"{reg.host}/pushed-{run}/multi"
    daemon.client.tag(ref, repo, tag="3")
    msgs = list(daemon.client.push(repo, tag="3", stream=True, decode=True))
    assert not [m for m in msgs if "error" in m], msgs
    assert msgs[0] == {"status": f"The push refers to repository [{repo}]"}
    layers = {d.split(":")[1][:12] for d in img.layer_digests}
    assert {m["id"] for m in msgs if m.get("status") == "Preparing"} == layers
    done = {m["id"] for m in msgs if m.get("status") in ("Pushed", "Layer already exists")
            or m.get("status", "").startswith("Mounted from")}
    assert done == layers
    aux = [m["aux"] for m in msgs if "aux" in m]
    assert aux == [{"Tag": "3", "Digest": img.digest, "Size": len(img.manifest_bytes)}]


# ---------------------------------------------------------------------------------------------
# save, load, import

@pytest.mark.time_limit(120)
def test_save_load_round_trip(daemon, tmp_path, added):
    run = _run_id()
    img = ocimage.Image(ocimage.multilayer_image().layers, config={"Cmd": ["sh"]},
                        labels={"berth.test.run": run})
    a, b = f"apit-{run}/saved:1", f"apit-{run}/other:1"
    _load(daemon, tmp_path, img, a, b)
    out = tmp_path / "saved.tar"
    daemon.docker("save", "-o", str(out), a)
    with tarfile.open(out) as t:
        names = t.getnames()
        manifest = json.load(t.extractfile("manifest.json"))
    assert "index.json" in names and "oci-layout" in names
    assert manifest[0]["RepoTags"] == [a]
    daemon.docker("rmi", "-f", img.config_digest)
    r = daemon.docker("load", "-i", str(out))
    assert f"Loaded image: {a}" in r.stdout
    info = _inspect(daemon, a)
    assert info["Id"] == img.config_digest and info["RepoTags"] == [a]
    # Through pipes, as `docker save | docker load`.
    daemon.docker("rmi", "-f", img.config_digest)
    daemon.docker("load", "-i", str(out))
    env = daemon.env
    save = subprocess.Popen(["docker", "save", a], stdout=subprocess.PIPE, env=env)
    load = subprocess.run(["docker", "load"], stdin=save.stdout, capture_output=True,
                          text=True, env=env, timeout=120)
    save.stdout.close()
    assert save.wait(60) == 0 and load.returncode == 0, load
    assert f"Loaded image: {a}" in load.stdout
    # Several names at once, through GET /images/get.
    data = b"".join(daemon.client.get_image(a))
    assert data[257:262] == b"ustar"
    r = daemon.docker("save", "-o", str(tmp_path / "x.tar"), f"apit-{run}/nothing:1",
                      check=False)
    _fails(r, "No such image")


def test_load_refuses_garbage(daemon, tmp_path, added):
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"this is not an archive\n" * 100)
    r = daemon.docker("load", "-i", str(bad), check=False)
    assert r.returncode != 0 and r.stderr.strip(), r


def test_import_with_changes(daemon, tmp_path, added):
    run = _run_id()
    rootfs = tmp_path / "rootfs.tar"
    with tarfile.open(rootfs, "w") as t:
        data = f"imported {run}\n".encode()
        ti = tarfile.TarInfo("etc/message")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    name = f"apit-{run}/imported:1"
    r = daemon.docker("import", "--change", 'CMD ["/bin/sh", "-c", "cat /etc/message"]',
                      "--change", "ENV GREETING=hello", "--change", f"LABEL run={run}",
                      "-m", "from a test", str(rootfs), name)
    image_id = r.stdout.strip()
    assert image_id.startswith("sha256:")
    info = _inspect(daemon, name)
    assert info["Id"] == image_id
    assert info["Config"]["Cmd"] == ["/bin/sh", "-c", "cat /etc/message"]
    assert "GREETING=hello" in info["Config"]["Env"]
    assert info["Config"]["Labels"] == {"run": run}
    assert daemon.client.history(name)[0]["Comment"] == "from a test"
    r = daemon.docker("import", "--change", "RUN true", str(rootfs), check=False)
    _fails(r, "not a valid change command")
    r = daemon.docker("import", "http://127.0.0.1:9/rootfs.tar", check=False)
    _fails(r, "not supported")
