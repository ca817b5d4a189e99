"""Checks of the image-test scaffolding itself (registry.py, tokenissuer.py, ocimage.py), with
skopeo and urllib only: every registry mode serves /v2/ and enforces its auth, the token flow
happens as recorded, and images built here reach a registry byte for byte."""

import gzip
import io
import json
import os
import ssl
import subprocess
import tarfile
import urllib.error
import urllib.request

import pytest

import registry as registry_mod
from ocimage import (DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, Image,
                     Layer, busybox_image, hostile_layer_images, multiarch_index,
                     multilayer_image, sha256)
from registry import Registry, SkopeoError, require_tools, skopeo
from tokenissuer import decode_jwt

pytestmark = pytest.mark.time_limit(60)


@pytest.fixture(autouse=True)
def tools():
    require_tools("docker-registry", "skopeo", "htpasswd", "openssl", "zstd")
    yield
    # Every registry a test started is gone afterwards, whatever the test did.
    left = list(registry_mod._live)
    for r in left:
        r.stop()
    assert not left, f"registries left running: {[r.host for r in left]}"


@pytest.fixture
def make_registry():
    made = []

    def make(mode="plain", **kw):
        r = Registry(mode, **kw)
        made.append(r)
        return r.start()

    yield make
    for r in made:
        r.stop()


def assert_pushed(reg, repo, tag, img):
    """The registry serves exactly what ocimage built: manifest bytes, config, layers."""
    raw = reg.skopeo_inspect(f"{repo}:{tag}", raw=True)
    assert raw == img.manifest_bytes and sha256(raw) == img.digest
    body, ctype, digest = reg.get_manifest(repo, tag)
    assert (body, ctype, digest) == (img.manifest_bytes, img.media_type, img.digest)
    if isinstance(img, Image):
        assert reg.get_blob(repo, img.config_digest) == img.config_bytes
        for layer in img.layers:
            assert reg.get_blob(repo, layer.digest) == layer.blob


# ---------------------------------------------------------------------------------------------
# registries

@pytest.mark.parametrize("mode", ["plain", "basic", "token", "tls"])
def test_registry_mode_serves_v2(make_registry, mode):
    reg = make_registry(mode)
    anon = reg.request("GET", "/v2/", anonymous=True)
    if mode == "basic":
        assert anon.status == 401
        assert anon.headers["www-authenticate"].startswith("Basic ")
    elif mode == "token":
        # /v2/ itself needs no access, only a token: an anonymous one will do.
        raw = reg._http("GET", reg.url + "/v2/", None, {}, 5)
        assert raw.status == 401
        challenge = raw.headers["www-authenticate"]
        assert challenge.startswith("Bearer ") and reg.issuer.realm in challenge
        assert anon.status == 200
    else:
        assert anon.status == 200
    assert reg.request("GET", "/v2/").status == 200
    assert reg.url.startswith("https://" if mode == "tls" else "http://")
    assert reg.host == f"127.0.0.1:{reg.port}"
    pid = reg.pid
    reg.stop()
    assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read()


def test_tls_needs_the_ca(make_registry, tmp_path):
    reg = make_registry("tls")
    with pytest.raises(urllib.error.URLError) as e:  # the system trust store lacks our CA
        urllib.request.urlopen(reg.url + "/v2/", timeout=5)
    assert isinstance(e.value.reason, ssl.SSLCertVerificationError)
    r, _ = skopeo("inspect", "--tls-verify=true", "--no-creds", reg.docker_ref("x", "1"),
                  check=False)
    assert r.rc != 0 and "certificate" in r.err
    ca = reg.install_ca(tmp_path / "certs.d")
    assert ca == tmp_path / "certs.d" / reg.host / "ca.crt"
    assert ca.read_bytes() == reg.ca_cert.read_bytes()
    ctx = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(reg.url + "/v2/", timeout=5, context=ctx) as resp:
        assert resp.status == 200
    img = busybox_image()
    assert img.push(reg, "app", "1") == img.digest
    assert_pushed(reg, "app", "1", img)


def test_startup_failure_says_why_and_leaves_nothing(make_registry):
    class Broken(Registry):
        def config(self):
            cfg = super().config()
            cfg["storage"] = {"no-such-driver": {}}
            return cfg

    reg = Broken("plain")
    with pytest.raises(RuntimeError, match="no-such-driver"):
        reg.start()
    assert reg.proc is None and not reg.dir.exists()


def test_stopped_when_the_body_fails():
    with pytest.raises(ZeroDivisionError):
        with Registry("token") as reg:
            pid, issuer = reg.pid, reg.issuer
            1 / 0
    assert reg.proc is None and issuer._server is None
    assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read()


# ---------------------------------------------------------------------------------------------
# pushes per mode

def test_push_plain(make_registry):
    reg = make_registry("plain")
    img = busybox_image()
    assert img.push(reg, "library/busybox", "latest") == img.digest
    assert_pushed(reg, "library/busybox", "latest", img)
    assert reg.tags("library/busybox") == ["latest"]
    assert reg.catalog() == ["library/busybox"]
    cfg = reg.skopeo_inspect("library/busybox:latest", config=True)
    assert cfg["config"]["Cmd"] == ["sh"] and cfg["architecture"] == "amd64"


def test_push_basic(make_registry):
    reg = make_registry("basic", user="alice", password="pa:ss w0rd")
    img = busybox_image()
    r = img.try_push(reg, "app", "1", anonymous=True)
    assert r.rc != 0 and "authentication required" in r.err
    r = img.try_push(reg, "app", "1", creds="alice:wrong")
    assert r.rc != 0 and "unauthorized" in r.err
    assert img.push(reg, "app", "1") == img.digest
    assert_pushed(reg, "app", "1", img)
    with pytest.raises(SkopeoError):
        reg.skopeo_inspect("app:1", anonymous=True)
    assert reg.request("GET", "/v2/app/manifests/1", anonymous=True).status == 401
    assert reg.auth_config()["auths"][reg.host]["auth"] == "YWxpY2U6cGE6c3MgdzByZA=="


def test_push_token_flow(make_registry):
    reg = make_registry("token")
    issuer = reg.issuer
    img = busybox_image()

    r = img.try_push(reg, "app", "1", anonymous=True)
    assert r.rc != 0 and "denied" in r.err
    anon = issuer.requests_of(None)
    assert anon and all(q["status"] == 200 for q in anon)
    assert "repository:app:pull,push" in anon[0]["scopes"]
    assert all(a["actions"] == [] for q in anon for a in q["granted"])

    issuer.clear()
    r = img.try_push(reg, "app", "1", creds=f"{reg.user}:wrong")
    assert r.rc != 0 and issuer.requests[0]["status"] == 401

    issuer.clear()
    assert img.push(reg, "app", "1") == img.digest
    reqs = issuer.requests_of(reg.user)
    assert reqs and reqs[0]["path"] == "/token" and reqs[0]["service"] == issuer.service
    assert "repository:app:pull,push" in reqs[0]["scopes"]
    assert {"type": "repository", "name": "app", "actions": ["pull", "push"]} in \
        reqs[0]["granted"]
    assert issuer.requests_of(None) == []

    assert_pushed(reg, "app", "1", img)
    with pytest.raises(SkopeoError):  # anonymous pull is off by default
        reg.skopeo_inspect("app:1", anonymous=True)

    # The token itself: RS256 with our certificate in x5c, claims the registry checks.
    token = reg.fetch_token({"realm": issuer.realm, "service": issuer.service,
                             "scope": "repository:app:pull"}, reg.creds)
    header, claims = decode_jwt(token)
    assert header["alg"] == "RS256" and len(header["x5c"]) == 1
    assert claims["iss"] == issuer.issuer and claims["aud"] == issuer.service
    assert claims["sub"] == reg.user and claims["nbf"] <= claims["iat"] < claims["exp"]
    assert claims["access"] == [{"type": "repository", "name": "app", "actions": ["pull"]}]


def test_token_anonymous_pull(make_registry):
    reg = make_registry("token", anonymous_pull=True)
    img = busybox_image()
    assert img.push(reg, "app", "1") == img.digest
    reg.issuer.clear()
    assert sha256(reg.skopeo_inspect("app:1", raw=True, anonymous=True)) == img.digest
    assert reg.issuer.requests and all(q["user"] is None for q in reg.issuer.requests)
    assert reg.get_manifest("app", "1", anonymous=True)[2] == img.digest
    r = img.try_push(reg, "other", "1", anonymous=True)
    assert r.rc != 0 and "denied" in r.err


def test_token_server_failure_is_seen(make_registry):
    reg = make_registry("token")
    reg.issuer.fail_status = 503
    r = busybox_image().try_push(reg, "app", "1")
    assert r.rc != 0 and reg.issuer.requests[-1]["status"] == 503


# ---------------------------------------------------------------------------------------------
# what gets pushed

def test_multiarch_index_keeps_every_entry(make_registry):
    reg = make_registry("plain")
    idx = multiarch_index()
    assert idx.push(reg, "multi", "1") == idx.digest
    assert_pushed(reg, "multi", "1", idx)
    entries = json.loads(reg.skopeo_inspect("multi:1", raw=True))["manifests"]
    assert [(e["platform"]["architecture"], e["platform"].get("variant")) for e in entries] == \
        [("amd64", None), ("arm64", "v8"), ("arm", "v7")]
    for e, img in zip(entries, idx.images):
        assert e["digest"] == img.digest
        assert_pushed(reg, "multi", img.digest, img)
        cfg = json.loads(reg.get_blob("multi", img.config_digest))
        assert (cfg["architecture"], cfg.get("variant")) == (img.arch, img.variant)
        marker = tarfile.open(fileobj=io.BytesIO(gzip.decompress(
            reg.get_blob("multi", img.layers[-1].digest))))
        want = img.arch + (f"/{img.variant}" if img.variant else "") + "\n"
        assert marker.extractfile("arch").read().decode() == want
    # The busybox layer is shared, not stored once per platform.
    assert len({img.layers[0].digest for img in idx.images}) == 1


@pytest.mark.parametrize("compression", ["zstd", "none"])
def test_zstd_and_uncompressed_layers_push(make_registry, compression):
    reg = make_registry("plain")
    img = busybox_image(compression=compression)
    assert img.push(reg, "c", "1") == img.digest
    assert_pushed(reg, "c", "1", img)
    layer = json.loads(reg.skopeo_inspect("c:1", raw=True))["layers"][0]
    assert layer["mediaType"] == OCI_LAYER[compression]
    blob = reg.get_blob("c", layer["digest"])
    if compression == "zstd":
        assert blob[:4] == b"\x28\xb5\x2f\xfd"
        out = subprocess.run(["zstd", "-dc"], input=blob, capture_output=True, check=True)
        assert sha256(out.stdout) == img.diff_ids[0]
    else:
        assert blob[257:262] == b"ustar" and sha256(blob) == img.diff_ids[0]


def test_docker_media_types_push(make_registry):
    reg = make_registry("plain")
    img = busybox_image(docker=True)
    assert img.push(reg, "d", "1") == img.digest
    assert_pushed(reg, "d", "1", img)
    assert reg.get_manifest("d", "1")[1] == DOCKER_MANIFEST
    lst = multiarch_index(docker=True)
    assert lst.push(reg, "dl", "1") == lst.digest
    assert reg.get_manifest("dl", "1")[1] == DOCKER_LIST
    assert [reg.get_manifest("dl", i.digest)[1] for i in lst.images] == [DOCKER_MANIFEST] * 3


def test_multilayer_and_hostile_images_push_intact(make_registry):
    reg = make_registry("plain")
    ml = multilayer_image()
    assert ml.push(reg, "ml", "1") == ml.digest
    assert_pushed(reg, "ml", "1", ml)
    for name, case in hostile_layer_images(marker="berth-hostile-fixed").items():
        assert case.image.push(reg, "hostile", name) == case.image.digest, name
        assert reg.get_blob("hostile", case.image.layers[0].digest) == \
            case.image.layers[0].blob
        assert case.violations() == []


def test_raw_http_helpers(make_registry):
    reg = make_registry("token", delete=True)
    img = busybox_image()
    for d, data in img.blobs().items():
        if d != img.digest:
            assert reg.put_blob("raw", data) == d
    assert reg.has_blob("raw", img.config_digest)
    with pytest.raises(AssertionError, match="HTTP 400"):
        reg.put_blob("raw", b"not what the digest says", digest=img.config_digest)
    assert reg.put_manifest("raw", "1", img.manifest_bytes, OCI_MANIFEST) == img.digest
    assert reg.get_manifest("raw", "1")[2] == img.digest
    assert reg.delete_manifest("raw", img.digest) == 202
    assert reg.request("GET", "/v2/raw/manifests/1").status == 404


# ---------------------------------------------------------------------------------------------
# the images themselves

def test_images_are_deterministic():
    a, b = multilayer_image(), multilayer_image()
    assert a.digest == b.digest and a.layer_digests == b.layer_digests
    assert Layer().file("x", b"1").digest == Layer().file("x", b"1").digest
    assert Layer("zstd").file("x", b"1").digest == Layer("zstd").file("x", b"1").digest
    assert multiarch_index().digest == multiarch_index().digest
    # gzip carries no timestamp; the layer's tar has no owner names.
    assert a.layers[1].blob[4:8] == b"\0\0\0\0"
    t = tarfile.open(fileobj=io.BytesIO(a.layers[1].tar))
    assert {(m.uname, m.gname) for m in t.getmembers()} == {("", "")}


def test_layer_entries_are_what_was_asked():
    ml = multilayer_image()
    members = {m.name: m for m in tarfile.open(fileobj=io.BytesIO(ml.layers[1].tar))}
    assert members["data/null"].ischr() and (members["data/null"].devmajor,
                                             members["data/null"].devminor) == (1, 3)
    assert members["data/fifo"].isfifo()
    assert members["data/hard"].islnk() and members["data/hard"].linkname == "data/hello.txt"
    assert members["data/suid"].mode == 0o4755
    assert members["data/sub"].uid == 1000
    assert members["data/xattr.txt"].pax_headers["SCHILY.xattr.user.berth"] == "layer2"
    upper = [m.name for m in tarfile.open(fileobj=io.BytesIO(ml.layers[2].tar))]
    for name in ("data/.wh.gone.txt", "data/.wh.gonedir", "data/opq/.wh..wh..opq"):
        assert name in upper
    assert upper.index("data/opq/.wh..wh..opq") < upper.index("data/opq/upper.txt")

    fs = ml.flatten()
    for gone in ("data/gone.txt", "data/gonedir", "data/gonedir/a.txt", "data/opq/lower1.txt",
                 "data/opq/lowerdir"):
        assert gone not in fs
    assert sorted(p for p in fs if p.startswith("data/opq/")) == ["data/opq/upper.txt"]
    assert fs["data/hello.txt"].data == b"hello from layer 3\n"
    assert fs["data/hard"].data == b"hello from layer 2\n"  # the link kept the old inode
    assert fs["data/becomes-dir"].type == "dir" and "data/becomes-dir/inside" in fs
    assert fs["bin/sh"].linkname == "busybox"

    hostile = hostile_layer_images(marker="m")
    names = {n: [m.name for m in tarfile.open(fileobj=io.BytesIO(c.image.layers[0].tar))]
             for n, c in hostile.items()}
    assert names["dotdot"] == ["../m"] and names["absolute"] == ["/tmp/m"]
    assert names["symlink_root"] == ["escape", "escape/tmp/m"]
    assert names["symlink_file"] == ["f", "f"]


def test_archives_read_by_skopeo(tmp_path):
    img = multilayer_image()
    oci = img.write_oci_archive(tmp_path / "img.tar", tag="v1")
    assert sha256(skopeo("inspect", "--raw", f"oci-archive:{oci}:v1")[1]) == img.digest
    dock = img.write_docker_archive(tmp_path / "docker.tar", ["berth-test/ml:v1"])
    cfg = json.loads(skopeo("inspect", "--config", f"docker-archive:{dock}")[1])
    assert cfg["rootfs"]["diff_ids"] == img.diff_ids
    layout = img.write_layout(tmp_path / "layout", "a")
    busybox_image().write_layout(layout, "b")
    tags = [m["annotations"]["org.opencontainers.image.ref.name"]
            for m in json.loads((layout / "index.json").read_text())["manifests"]]
    assert tags == ["a", "b"]
    assert sha256(skopeo("inspect", "--raw", f"oci:{layout}:b")[1]) == busybox_image().digest
    idx = multiarch_index()
    idx.write_layout(tmp_path / "idx", "m")
    raw = skopeo("inspect", "--raw", f"oci:{tmp_path / 'idx'}:m")[1]
    assert json.loads(raw)["mediaType"] == OCI_INDEX and sha256(raw) == idx.digest
