"""`spec` (a starter config.json) and `features` (what the runtime supports, as JSON)."""

import json
import shutil

import pytest

from helpers import default_spec


def load(path):
    return json.loads(path.read_text())


def test_spec_in_cwd(rt, test_dir):
    d = test_dir / "spec-cwd"
    d.mkdir()
    rt.ok("spec", cwd=str(d))
    spec = load(d / "config.json")
    assert spec["ociVersion"].startswith("1.")
    assert spec["root"] == {"path": "rootfs", "readonly": True}
    assert spec["process"]["args"] == ["sh"]
    assert spec["process"]["cwd"] == "/"
    assert spec["process"]["terminal"] is True
    assert spec["process"]["user"] == {"uid": 0, "gid": 0}
    types = [n["type"] for n in spec["linux"]["namespaces"]]
    # runc 1.1 lists five; newer runc adds a cgroup namespace.
    assert sorted(set(types) - {"cgroup"}) == sorted(["pid", "network", "ipc", "uts", "mount"])
    assert len(types) == len(set(types))
    dests = [m["destination"] for m in spec["mounts"]]
    for d_ in ("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"):
        assert d_ in dests
    assert "/proc/kcore" in spec["linux"]["maskedPaths"]
    assert "/proc/sys" in spec["linux"]["readonlyPaths"]


def test_spec_matches_generated_default(rt, test_dir):
    """The suite's own default config mirrors `spec` (terminal aside); if this fails, one of
    the two drifted."""
    d = test_dir / "spec-cmp"
    d.mkdir()
    rt.ok("spec", "--bundle", d)
    spec = load(d / "config.json")
    ours = default_spec()
    ours["process"]["terminal"] = True
    for key in ("root", "mounts"):
        assert spec[key] == ours[key], key
    spec_ns = [n for n in spec["linux"]["namespaces"] if n["type"] != "cgroup"]
    assert spec_ns == ours["linux"]["namespaces"]
    for key in ("maskedPaths", "readonlyPaths"):
        assert spec["linux"][key] == ours["linux"][key], key
    for key in ("user", "args", "cwd", "noNewPrivileges", "rlimits"):
        assert spec["process"][key] == ours["process"][key], key
    for s in ("bounding", "effective", "permitted"):
        assert sorted(spec["process"]["capabilities"][s]) == sorted(
            ours["process"]["capabilities"][s]), s


def test_spec_bundle_option(rt, test_dir):
    d = test_dir / "spec-bundle"
    d.mkdir()
    rt.ok("spec", "--bundle", d)
    assert (d / "config.json").exists()
    assert not (test_dir / "config.json").exists()


def test_spec_refuses_to_overwrite(rt, test_dir):
    d = test_dir / "spec-exists"
    d.mkdir()
    (d / "config.json").write_text("keep me")
    rt.fails("spec", "--bundle", d)
    assert (d / "config.json").read_text() == "keep me"


@pytest.mark.known_failure("crun", "crun 1.8.1's rootless spec has no uid/gid mappings")
def test_spec_rootless(rt, test_dir):
    d = test_dir / "spec-rootless"
    d.mkdir()
    rt.ok("spec", "--rootless", "--bundle", d)
    spec = load(d / "config.json")
    types = [n["type"] for n in spec["linux"]["namespaces"]]
    assert "user" in types
    assert spec["linux"]["uidMappings"][0]["containerID"] == 0
    assert spec["linux"]["gidMappings"][0]["containerID"] == 0
    assert "resources" not in spec["linux"] or not spec["linux"]["resources"].get("devices")


def test_spec_output_runs(rt, test_dir, rootfs_template, cid):
    """What `spec` writes is a config the runtime runs (once terminal is off)."""
    d = test_dir / "spec-run"
    d.mkdir()
    rt.ok("spec", "--bundle", d)
    shutil.copytree(rootfs_template, d / "rootfs", symlinks=True)
    spec = load(d / "config.json")
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["sh", "-c", "echo spec-ok"]
    (d / "config.json").write_text(json.dumps(spec))
    assert rt.ok("run", "--bundle", d, cid).out == "spec-ok\n"


@pytest.fixture
def features(rt):
    r = rt("features")
    if r.rc != 0 and "unknown command" in (r.err + r.out).lower():
        pytest.fail(f"the runtime has no features command: {r.err.strip()}")
    assert r.rc == 0, r
    return json.loads(r.out)


@pytest.mark.known_failure("crun", "crun 1.8.1 has no features command")
def test_features_shape(features):
    assert features["ociVersionMin"].startswith("1.")
    assert features["ociVersionMax"].startswith("1.")
    assert set(features["hooks"]) >= {"prestart", "createRuntime", "createContainer",
                                      "startContainer", "poststart", "poststop"}
    assert {"bind", "rbind", "ro", "nosuid", "nodev", "noexec"} <= set(features["mountOptions"])
    linux = features["linux"]
    assert {"pid", "network", "ipc", "uts", "mount", "user", "cgroup"} <= set(
        linux["namespaces"])
    assert "CAP_SYS_ADMIN" in linux["capabilities"] and "CAP_CHOWN" in linux["capabilities"]
    assert set(linux["cgroup"]) >= {"v1", "v2"}
    sec = linux["seccomp"]
    assert sec["enabled"] is True
    assert {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL"} <= set(sec["actions"])
    assert {"SCMP_CMP_EQ", "SCMP_CMP_MASKED_EQ"} <= set(sec["operators"])
    assert "SCMP_ARCH_X86_64" in sec["archs"]


@pytest.mark.known_failure("crun", "crun 1.8.1 has no features command")
def test_features_is_deterministic(rt, features):
    assert json.loads(rt.ok("features").out) == features
