"""berth save, load and import, through a berthd of their own: archives berth writes are read by
skopeo and podman, archives they write (and the legacy docker-archive layout) are loaded by
berth, digests survive the round trip, and broken archives leave nothing behind."""

import gzip
import json
import subprocess
import tarfile

import pytest

import ocimage
from berthcli import check_rootfs
from registry import require_tools, skopeo


def _load_layout(berth, test_dir, img, name="berth-test/app:1"):
    """Gets img into berth through an OCI archive load."""
    arc = test_dir / "in.tar"
    img.write_oci_archive(arc, "1")
    out = berth.ok("load", "-i", arc).out
    assert "Loaded image" in out
    rec, = berth.records()
    berth.ok("tag", rec["id"], name)
    return name


def test_oci_archive_load_and_save_round_trip(berth, berths, test_dir):
    require_tools("skopeo")
    img = ocimage.multilayer_image()
    name = _load_layout(berth, test_dir, img)
    check_rootfs(berth, name, img)
    out = test_dir / "saved.tar"
    berth.ok("save", "-o", out, name)
    # skopeo reads it both as a docker-archive and as an OCI archive, digest intact.
    skopeo("copy", f"docker-archive:{out}", f"oci:{test_dir / 'via-docker'}:x")
    skopeo("copy", "--preserve-digests", f"oci-archive:{out}", f"oci:{test_dir / 'via-oci'}:x")
    idx = json.loads((test_dir / "via-oci/index.json").read_text())
    assert idx["manifests"][0]["digest"] == img.digest
    # And berth loads it back into a fresh root: same image, same name.
    other = berths()
    r = other.ok("load", "-i", out)
    assert "Loaded image: berth-test/app:1" in r.out
    rec, = other.records()
    assert rec["id"] == img.config_digest and rec["manifest"] == img.digest
    check_rootfs(other, name, img)


def test_save_to_stdout_and_load_from_stdin(berth, berths, test_dir):
    img = ocimage.busybox_image()
    name = _load_layout(berth, test_dir, img)
    p = subprocess.run(berth.argv("save", name), capture_output=True, timeout=60,
                       env=berth.env)
    assert p.returncode == 0, p.stderr
    other = berths()
    r = other.ok("load", input=gzip.compress(p.stdout))
    assert "Loaded image: berth-test/app:1" in r.out


def test_legacy_docker_archive_loads(berth, test_dir):
    img = ocimage.multilayer_image()
    arc = test_dir / "legacy.tar"
    img.write_docker_archive(arc, ["legacy/app:2"])
    r = berth.ok("load", "-i", arc)
    assert "Loaded image: legacy/app:2" in r.out
    rec, = berth.records()
    assert rec["id"] == img.config_digest
    check_rootfs(berth, "legacy/app:2", img)


def test_podman_reads_berth_save(berth, test_dir):
    require_tools("podman")
    img = ocimage.busybox_image()
    name = _load_layout(berth, test_dir, img)
    out = test_dir / "saved.tar"
    berth.ok("save", "-o", out, name)
    import tempfile
    run = tempfile.mkdtemp(prefix="bp-", dir="/tmp")  # podman wants a short runroot
    store = test_dir / "podman"
    base = ["podman", "--root", str(store / "root"), "--runroot", run,
            "--storage-driver", "vfs"]
    p = subprocess.run(base + ["load", "-i", str(out)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    p = subprocess.run(base + ["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"],
                       capture_output=True, text=True, timeout=60)
    assert "berth-test/app:1" in p.stdout
    assert img.config_digest.split(":")[1][:12] in p.stdout
    subprocess.run(base + ["rmi", "-a", "-f"], capture_output=True, timeout=60)
    subprocess.run(["rm", "-rf", run])


@pytest.mark.parametrize("what", ["garbage", "truncated", "escape", "bad-diffid"])
def test_bad_archive_leaves_nothing(berth, test_dir, what):
    img = ocimage.busybox_image()
    arc = test_dir / "bad.tar"
    if what == "garbage":
        arc.write_bytes(b"this is not a tar archive\n" * 100)
    elif what == "truncated":
        img.write_oci_archive(arc, "1")
        data = arc.read_bytes()
        arc.write_bytes(data[: len(data) // 2])
    elif what == "escape":
        with tarfile.open(arc, "w") as t:
            ti = tarfile.TarInfo("../outside")
            ti.size = 2
            import io
            t.addfile(ti, io.BytesIO(b"x\n"))
    elif what == "bad-diffid":
        cfg = json.loads(img.config_bytes)
        cfg["rootfs"]["diff_ids"] = ["sha256:" + "0" * 64]
        bad = ocimage.Image(img.layers, raw_config=json.dumps(cfg).encode())
        bad.write_docker_archive(arc, ["bad/diffid:1"])
    r = berth.fails("load", "-i", arc)
    assert r.err.strip()
    assert berth.records() == []
    assert not berth.scratch()
    assert not (berth.root.parent / "outside").exists()


def test_import_with_changes(berth, test_dir):
    tarball = test_dir / "rootfs.tar"
    with tarfile.open(tarball, "w") as t:
        t.add("/bin/busybox", arcname="bin/busybox")
        ti = tarfile.TarInfo("etc/motd")
        data = b"imported\n"
        ti.size = len(data)
        import io
        t.addfile(ti, io.BytesIO(data))
    r = berth.ok("import", "-c", "CMD [\"/bin/busybox\", \"sh\"]", "-c", "ENV A=1 B=\"two words\"",
                 "-c", "WORKDIR /srv", "-c", "EXPOSE 8080/tcp", "-c", "LABEL team=berth",
                 "-m", "from a tarball", tarball, "imported/app:1")
    image_id = r.out.strip()
    assert image_id.startswith("sha256:")
    info, = json.loads(berth.ok("image", "inspect", "imported/app:1").out)
    assert info["Id"] == image_id
    cfg = info["Config"]
    assert cfg["Cmd"] == ["/bin/busybox", "sh"]
    assert "A=1" in cfg["Env"] and "B=two words" in cfg["Env"]
    assert cfg["WorkingDir"] == "/srv"
    assert "8080/tcp" in cfg["ExposedPorts"]
    assert cfg["Labels"] == {"team": "berth"}
    hist = berth.ok("history", "--format", "{{.Comment}}", "imported/app:1").out
    assert "from a tarball" in hist
    mnt = berth.mount("imported/app:1")
    try:
        assert (mnt / "etc/motd").read_text() == "imported\n"
    finally:
        berth.unmount("imported/app:1")
    # From stdin, gzip-compressed.
    r = berth.ok("import", "-", "imported/stdin:1", input=gzip.compress(tarball.read_bytes()))
    assert r.out.strip().startswith("sha256:")
    e = berth.fails("import", "-c", "FROM busybox", tarball)
    assert "not a valid change command" in e.err
