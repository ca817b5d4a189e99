"""docker diff and docker commit through berthd with the real docker 28 CLI and python3-docker:
changes listed as Docker lists them (over a one-layer and a multi-layer image, with the overlay
and the copy storage driver), images made from stopped and running containers with --change,
-m and -a, and Docker's errors. Set BERTH_API_SOCKET to run them against another daemon."""

import gzip
import hashlib
import io
import json
import os
import tarfile
import time
import uuid

import docker.errors
import pytest

import ocimage
from daemon import Daemon, EXTERNAL, poll_until as wait_for, unique_name

# What the scenario below changes, in the order berthd lists it (Docker's own order among
# siblings is its map order, so against Docker only the set is compared).
SCRIPT = ("echo hello > /tmp/new; rm /etc/group; echo more >> /etc/passwd; "
          "mkdir -p /a/b; touch /a/b/f")
EXPECTED = ["A /a", "A /a/b", "A /a/b/f", "C /etc", "D /etc/group", "C /etc/passwd", "C /tmp",
            "A /tmp/new"]


def name():
    return unique_name("bt-")


def img_name():
    return "bt-commit-" + uuid.uuid4().hex[:8]



def check_order(lines, expected):
    """Every listed path comes after its parent directory; berthd's order is exactly expected."""
    paths = [l.split(" ", 1)[1] for l in lines]
    for i, p in enumerate(paths):
        parent = os.path.dirname(p)
        if parent != "/":
            assert parent in paths[:i], (p, lines)
    if EXTERNAL:
        assert sorted(lines) == sorted(expected)
    else:
        assert lines == expected


def image_ids(d):
    return set(d.docker("images", "-a", "-q", "--no-trunc").stdout.split())


@pytest.fixture
def scratch(daemon):
    """Names of containers and images a test makes, removed after it."""
    made = {"containers": [], "images": []}
    yield made
    for c in made["containers"]:
        daemon.docker("rm", "-f", c, check=False)
    for i in made["images"]:
        daemon.docker("rmi", "-f", i, check=False)


def run_scenario(d, made, detach=False):
    n = name()
    made["containers"].append(n)
    if detach:
        d.docker("run", "-d", "--name", n, "busybox", "sh", "-c", SCRIPT + "; exec sleep 60")
        assert wait_for(lambda: "A /tmp/new" in d.docker("diff", n).stdout)
    else:
        d.docker("run", "--name", n, "busybox", "sh", "-c", SCRIPT)
    return n


# ---- docker diff ----

def test_diff_of_exited_and_running_container(daemon, scratch):
    for detach in (False, True):
        n = run_scenario(daemon, scratch, detach=detach)
        check_order(daemon.docker("diff", n).stdout.splitlines(), EXPECTED)
    # the API's numbers: 0 modified, 1 added, 2 deleted
    got = daemon.client.diff(n)
    kinds = {c["Path"]: c["Kind"] for c in got}
    assert kinds["/etc/passwd"] == 0 and kinds["/tmp/new"] == 1 and kinds["/etc/group"] == 2


def test_diff_of_unchanged_container_is_empty(daemon, scratch):
    """The mount points the runtime makes (/etc/hosts, /etc/resolv.conf...) are not changes."""
    n = name()
    scratch["containers"].append(n)
    daemon.docker("create", "--name", n, "busybox", "true")
    assert daemon.docker("diff", n).stdout == ""
    daemon.docker("start", "-a", n)
    assert daemon.docker("diff", n).stdout == ""
    assert daemon.client.diff(n) is None  # Docker answers null, not []


def test_diff_unknown_container(daemon):
    p = daemon.docker("diff", "bt-no-such-container", check=False)
    assert p.returncode != 0
    assert "No such container: bt-no-such-container" in p.stderr
    with pytest.raises(docker.errors.NotFound):
        daemon.client.diff("bt-no-such-container")


def test_diff_over_layers_with_whiteouts_and_opaque_dirs(daemon, scratch):
    """The image's view comes from all its layers: what a lower layer had and an upper one
    whited out is absent (so re-creating it is an addition), an opaque directory hides the
    layers below."""
    if not EXTERNAL:
        daemon.load_image(ocimage.multilayer_image(), "bt-multilayer:1")
    n = name()
    scratch["containers"].append(n)
    daemon.docker("run", "--name", n, "bt-multilayer:1", "sh", "-c",
                  "echo changed > /data/hello.txt; rm /data/opq/upper.txt; "
                  "mkdir /data/gonedir; echo new > /data/gonedir/new; rm -r /data/sub")
    lines = daemon.docker("diff", n).stdout.splitlines()
    check_order(lines, ["C /data", "A /data/gonedir", "A /data/gonedir/new", "C /data/hello.txt",
                        "C /data/opq", "D /data/opq/upper.txt", "D /data/sub"])
    img = img_name()
    scratch["images"].append(img)
    daemon.docker("commit", n, img)
    out = daemon.docker("run", "--rm", img, "sh", "-c",
                        "cat /data/hello.txt; ls -A /data/opq; ls /data/gonedir; "
                        "test -e /data/gone.txt || echo no-gone; test -e /data/sub || echo no-sub"
                        ).stdout
    assert out == "changed\nnew\nno-gone\nno-sub\n"


# ---- docker commit ----

def test_commit_keeps_new_files_and_deletions(daemon, scratch):
    n = run_scenario(daemon, scratch)
    img = img_name() + ":v1"
    scratch["images"].append(img)
    out = daemon.docker("commit", n, img).stdout.strip()
    assert out.startswith("sha256:") and len(out) == 71
    assert daemon.inspect(img)["Id"] == out
    p = daemon.docker("run", "--rm", img, "sh", "-c",
                      "cat /tmp/new; test -e /etc/group || echo no-group; tail -n 1 /etc/passwd")
    assert p.stdout == "hello\nno-group\nmore\n"
    # the container's config came along (Cmd of the container, busybox's Env)
    cfg = daemon.inspect(img)["Config"]
    assert cfg["Cmd"] == ["sh", "-c", SCRIPT]
    assert any(e.startswith("PATH=") for e in cfg["Env"])
    layers = daemon.inspect(img)["RootFS"]["Layers"]
    assert layers[:-1] == daemon.inspect("busybox")["RootFS"]["Layers"]
    # a container of the new image starts with no changes of its own
    m = name()
    scratch["containers"].append(m)
    daemon.docker("run", "--name", m, img, "true")
    assert daemon.docker("diff", m).stdout == ""


def test_commit_with_changes_message_and_author(daemon, scratch):
    n = name()
    scratch["containers"].append(n)
    daemon.docker("run", "--name", n, "busybox", "sh", "-c", "echo from-x > /x")
    img = img_name()
    scratch["images"].append(img)
    daemon.docker("commit", "-c", 'CMD ["cat","/x"]', "-c", "ENV GREETING=hi", "-c",
                  "LABEL made.by=commit", "-m", "a message", "-a", "Ann <ann@example.com>", n,
                  img)
    assert daemon.docker("run", "--rm", img).stdout == "from-x\n"
    info = daemon.inspect(img)
    assert info["Config"]["Cmd"] == ["cat", "/x"]
    assert "GREETING=hi" in info["Config"]["Env"]
    assert info["Config"]["Labels"] == {"made.by": "commit"}
    assert info["Author"] == "Ann <ann@example.com>"
    assert info["Comment"] == "a message"
    hist = daemon.docker("history", "--no-trunc", "--format",
                         "{{.CreatedBy}}|{{.Comment}}", img).stdout.splitlines()
    assert hist[0] == "sh -c echo from-x > /x|a message"
    assert len(hist) == len(daemon.docker("history", "-q", "busybox").stdout.split()) + 1
    # through the API: a Config in the body is completed from the container's
    r = daemon.client.commit(n, repository=img, tag="api", conf={"WorkingDir": "/tmp"},
                             changes=["ENV MORE=1"])
    scratch["images"].append(img + ":api")
    api_cfg = daemon.inspect(r["Id"])["Config"]
    assert api_cfg["WorkingDir"] == "/tmp" and api_cfg["Cmd"] == ["sh", "-c", "echo from-x > /x"]
    assert "MORE=1" in api_cfg["Env"] and any(e.startswith("PATH=") for e in api_cfg["Env"])


def test_commit_of_unchanged_container_adds_no_layer(daemon, scratch):
    n = name()
    scratch["containers"].append(n)
    daemon.docker("create", "--name", n, "busybox", "true")
    img = img_name()
    scratch["images"].append(img)
    daemon.docker("commit", n, img)
    assert daemon.inspect(img)["RootFS"]["Layers"] == daemon.inspect("busybox")["RootFS"]["Layers"]
    sizes = daemon.docker("history", "--format", "{{.Size}}", img).stdout.split()
    assert sizes[0] == "0B"


def test_commit_of_running_container_pauses_and_keeps_it_running(daemon, scratch):
    n = run_scenario(daemon, scratch, detach=True)
    since = time.time() - 1
    img = img_name()
    scratch["images"].append(img)
    iid = daemon.docker("commit", n, img).stdout.strip()
    st = daemon.inspect(n)["State"]
    assert st["Running"] and not st["Paused"] and st["Status"] == "running"
    assert daemon.docker("exec", n, "cat", "/tmp/new").stdout == "hello\n"
    assert daemon.docker("run", "--rm", img, "cat", "/tmp/new").stdout == "hello\n"
    evs = daemon.client.events(since=int(since), until=int(time.time()) + 1, decode=True,
                               filters={"container": n})
    actions = [e["Action"] for e in evs]
    # Docker's order: the commit event comes before the unpause
    i = actions.index("pause")
    assert actions[i:i + 3] == ["pause", "commit", "unpause"], actions
    commit_ev = [e for e in daemon.client.events(since=int(since), until=int(time.time()) + 1,
                                                 decode=True, filters={"event": "commit"})
                 if e["Actor"]["ID"] == daemon.inspect(n)["Id"]][0]
    assert commit_ev["Actor"]["Attributes"]["imageID"] == iid
    assert commit_ev["Actor"]["Attributes"]["imageRef"] == img + ":latest"
    # --pause=false reads it without pausing; a paused container stays paused
    daemon.docker("commit", "--pause=false", n, img + ":nopause")
    scratch["images"].append(img + ":nopause")
    daemon.docker("pause", n)
    daemon.docker("commit", n, img + ":paused")
    scratch["images"].append(img + ":paused")
    assert daemon.inspect(n)["State"]["Paused"]
    daemon.docker("unpause", n)


def test_commit_bad_reference_or_change_leaves_no_image(daemon, scratch):
    n = run_scenario(daemon, scratch)
    before = image_ids(daemon)
    p = daemon.docker("commit", n, "Bad/Name:x", check=False)
    assert p.returncode != 0 and "invalid reference format" in p.stderr
    # the CLI checks references itself: the daemon's own answers, through the API
    with pytest.raises(docker.errors.APIError) as ei:
        daemon.client.commit(n, repository="Upper")
    assert ei.value.status_code == 400 and "invalid reference format" in str(ei.value)
    with pytest.raises(docker.errors.APIError) as ei:
        daemon.client.commit(n, repository="fine", tag="no good!")
    assert ei.value.status_code == 400 and "invalid tag format" in str(ei.value)
    with pytest.raises(docker.errors.APIError) as ei:
        daemon.client.commit(n, repository="fine@sha256:" + "a" * 64)
    assert ei.value.status_code == 400
    p = daemon.docker("commit", "-c", "FROM busybox", n, "fine", check=False)
    assert p.returncode != 0 and "not a valid change command" in p.stderr
    with pytest.raises(docker.errors.APIError) as ei:
        daemon.client.commit(n, repository="fine", conf={"Env": "not-a-list"})
    assert ei.value.status_code == 400
    assert image_ids(daemon) == before
    p = daemon.docker("commit", "bt-no-such-container", "fine", check=False)
    assert p.returncode != 0 and "No such container: bt-no-such-container" in p.stderr
    with pytest.raises(docker.errors.NotFound):
        daemon.client.commit("bt-no-such-container")
    assert image_ids(daemon) == before


def test_committed_image_can_be_saved(daemon, scratch, tmp_path):
    n = run_scenario(daemon, scratch)
    img = img_name() + ":saved"
    scratch["images"].append(img)
    iid = daemon.docker("commit", n, img).stdout.strip()
    out = tmp_path / "img.tar"
    daemon.docker("save", "-o", out, img)
    with tarfile.open(out) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        assert manifest[0]["RepoTags"] == [img]
        cfg = json.load(t.extractfile(manifest[0]["Config"]))
        assert "sha256:" + os.path.basename(manifest[0]["Config"]) == iid
        diff_ids = cfg["rootfs"]["diff_ids"]
        assert len(manifest[0]["Layers"]) == len(diff_ids) == 2
        # the new layer: gzip, whose tar hashes to the config's diff ID, with a whiteout for
        # the deleted file and the new one's content
        raw = t.extractfile(manifest[0]["Layers"][-1]).read()
    assert raw[:2] == b"\x1f\x8b"
    tar_bytes = gzip.decompress(raw)
    assert "sha256:" + hashlib.sha256(tar_bytes).hexdigest() == diff_ids[-1]
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as lt:
        names = lt.getnames()
        assert "etc/.wh.group" in names
        assert lt.extractfile("tmp/new").read() == b"hello\n"
        assert lt.getmember("tmp").isdir() and lt.getmember("tmp").mode == 0o1777
        assert names.index("a") < names.index("a/b") < names.index("a/b/f")
    assert cfg["history"][-1]["created_by"] == "sh -c " + SCRIPT


# ---- the copy storage driver ----

@pytest.fixture(scope="module")
def copy_daemon():
    if EXTERNAL:
        pytest.skip("needs a berthd of its own")
    d = Daemon(["--storage-driver", "copy"])
    try:
        d.start()
        d.load_image(ocimage.busybox_image(), "busybox:latest")
        yield d
    finally:
        d.cleanup()


def test_copy_driver_diff_and_commit(copy_daemon):
    d = copy_daemon
    made = {"containers": [], "images": []}
    n = run_scenario(d, made)
    check_order(d.docker("diff", n).stdout.splitlines(), EXPECTED)
    img = img_name()
    d.docker("commit", "-c", 'CMD ["cat","/tmp/new"]', n, img)
    assert d.docker("run", "--rm", img).stdout == "hello\n"
    assert d.docker("run", "--rm", img, "sh", "-c",
                    "test -e /etc/group || echo gone").stdout == "gone\n"
    m = name()
    d.docker("create", "--name", m, img)
    assert d.docker("diff", m).stdout == ""
    d.docker("rm", "-f", n, m)
    d.docker("rmi", img)
