"""The image commands through a berthd of their own: images (filters, formats), tag, rmi (untag
versus delete, GC), inspect, history, image prune, image mount holds, and docker's usage errors.
(system df: test_cli_system.py.)"""

import json
import shutil

import pytest

import ocimage


def load(berth, test_dir, img, names):
    arc = test_dir / f"{img.config_digest[7:19]}.tar"
    img.write_docker_archive(arc, names)
    berth.ok("load", "-q", "-i", arc)
    return img.config_digest


@pytest.fixture
def two_images(berth, test_dir):
    a = ocimage.busybox_image(labels={"tier": "base"})
    b = ocimage.multilayer_image()
    ida = load(berth, test_dir, a, ["app/base:1"])
    idb = load(berth, test_dir, b, ["app/multi:1"])
    return ida, idb


def test_images_of_an_empty_store(berth):
    """A fresh store: the header alone, as docker prints it (berthd once passed memcpy the
    empty store's NULL vector here: the sanitizer build's report fails the test)."""
    out = berth.ok("images").out
    assert out.split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert berth.ok("images", "-q").out == ""
    if shutil.which("docker"):
        assert out == berth.daemon.docker("images").stdout


def test_images_table_and_quiet(berth, two_images):
    ida, idb = two_images
    out = berth.ok("images").out.splitlines()
    assert out[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    rows = {line.split()[0]: line.split() for line in out[1:]}
    assert rows["app/base"][1] == "1" and rows["app/base"][2] == ida[7:19]
    assert rows["app/multi"][2] == idb[7:19]
    q = berth.ok("images", "-q").out.split()
    assert sorted(q) == sorted([ida[7:19], idb[7:19]])
    full = berth.ok("images", "-q", "--no-trunc").out.split()
    assert sorted(full) == sorted([ida, idb])


def test_images_filters_and_format(berth, two_images):
    ida, idb = two_images
    out = berth.ok("images", "--filter", "label=tier=base", "--format", "{{.Repository}}").out
    assert out.split() == ["app/base"]
    out = berth.ok("images", "--filter", "reference=app/mul*", "-q").out
    assert out.split() == [idb[7:19]]
    out = berth.ok("images", "app/base").out.splitlines()
    assert len(out) == 2 and out[1].startswith("app/base")
    out = berth.ok("images", "--format", "{{json .}}").out.splitlines()
    rows = [json.loads(line) for line in out]
    assert {r["Repository"] for r in rows} == {"app/base", "app/multi"}
    assert berth.ok("images", "--filter", "dangling=true", "-q").out.strip() == ""
    e = berth.fails("images", "--filter", "bogus=1")
    assert "invalid filter" in e.err


def test_tag_and_rmi_untag_then_delete(berth, two_images):
    ida, _ = two_images
    blobs_before = berth.blobs()
    berth.ok("tag", "app/base:1", "app/base:2")
    berth.ok("tag", ida[7:19], "other/name")
    inspect, = json.loads(berth.ok("image", "inspect", "app/base:2").out)
    assert sorted(inspect["RepoTags"]) == ["app/base:1", "app/base:2", "other/name:latest"]
    # By ID with several names: refused unless forced.
    e = berth.fails("rmi", ida[7:19])
    assert "referenced in multiple repositories" in e.err
    # By name: only that name goes.
    r = berth.ok("rmi", "app/base:2")
    assert r.out.strip() == "Untagged: app/base:2"
    berth.ok("rmi", "other/name")
    # The last name removes the image, and GC its blobs and snapshots (berthd collects right
    # after it answers).
    snaps_before = berth.snapshots()
    r = berth.ok("rmi", "app/base:1")
    assert "Untagged: app/base:1" in r.out and f"Deleted: {ida}" in r.out
    berth.wait_collected(ida)
    assert berth.blobs() < blobs_before
    # The busybox layer is shared with app/multi, so its snapshot stays.
    assert berth.snapshots() == snaps_before
    e = berth.fails("rmi", "app/base:1")
    assert "No such image" in e.err


def test_rmi_refuses_mounted_image(berth, two_images):
    _, idb = two_images
    berth.mount("app/multi:1")
    e = berth.fails("rmi", "app/multi:1")
    assert "in use" in e.err
    r = berth.ok("rmi", "-f", "app/multi:1")
    assert f"Deleted: {idb}" in r.out
    assert not (berth.root / "mounts" / idb[7:]).exists()


def test_inspect_shape_and_format(berth, two_images):
    ida, _ = two_images
    info, = json.loads(berth.ok("image", "inspect", "app/base:1").out)
    for key in ("Id", "RepoTags", "RepoDigests", "Created", "Config", "Architecture", "Os",
                "Size", "RootFS", "GraphDriver", "Metadata"):
        assert key in info, key
    assert info["Id"] == ida
    assert info["Config"]["Labels"] == {"tier": "base"}
    assert info["RootFS"]["Type"] == "layers"
    out = berth.ok("inspect", "--format", "{{.Id}} {{.Os}}/{{.Architecture}}", "app/base:1").out
    assert out.strip() == f"{ida} linux/amd64"
    e = berth.fails("image", "inspect", "app/base:1", "no/such:image")
    assert "No such image: no/such:image" in e.err


def test_history(berth, test_dir):
    img = ocimage.multilayer_image()
    load(berth, test_dir, img, ["hist/app:1"])
    out = berth.ok("history", "hist/app:1").out.splitlines()
    assert out[0].split()[:2] == ["IMAGE", "CREATED"]
    assert len(out) - 1 == len(json.loads(img.config_bytes).get("history", [])) or len(out) > 1
    ids = berth.ok("history", "-q", "hist/app:1").out.split()
    assert ids[0] == img.config_digest[7:19] and set(ids[1:]) <= {"<missing>"}


def test_prune_dangling_and_all(berth, two_images, test_dir):
    ida, idb = two_images
    # Make app/base dangling by moving its only name to the other image.
    berth.ok("tag", "app/multi:1", "app/base:1")
    assert berth.ok("images", "--filter", "dangling=true", "-q").out.split() == [ida[7:19]]
    r = berth.ok("image", "prune", "-f")
    assert f"deleted: {ida}" in r.out and "Total reclaimed space" in r.out
    assert [x["id"] for x in berth.records()] == [idb]
    # Without -f, a "no" answer keeps everything.
    r = berth.ok("image", "prune", "-a", input=b"n\n")
    assert "Are you sure" in r.out and [x["id"] for x in berth.records()] == [idb]
    r = berth.ok("image", "prune", "-a", "-f")
    assert "untagged: app/multi:1" in r.out
    assert berth.records() == [] and berth.blobs() == set() and berth.snapshots() == set()


def test_usage_errors(berth):
    r = berth("images", "--bogus")
    assert r.rc == 125 and "unknown flag: --bogus" in r.err
    r = berth("tag", "only-one")
    assert r.rc == 1 and "'berth tag' requires 2 arguments" in r.err
    r = berth("login", "--password-stdin", "127.0.0.1:1")
    assert r.rc != 0 and "--username" in r.err
    r = berth("nosuchcommand")
    assert r.rc != 0
    r = berth("save", "no/such:image", "-o", str(berth.root.parent / "x.tar"))
    assert r.rc != 0 and "No such image" in r.err
    assert not (berth.root.parent / "x.tar").exists()
    h = berth.ok("images", "--help").out
    assert "Usage:" in h and "--filter" in h
