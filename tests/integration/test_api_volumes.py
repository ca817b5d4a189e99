"""berthd's /volumes endpoints through real clients: the docker CLI (`docker volume create, ls,
inspect, rm, prune`) and python3-docker's APIClient, with Docker's filters, status codes and
messages. Every test labels its volumes with its own run id and removes what it made, so the
module can also run against Docker itself (BERTH_API_SOCKET) to check that a test is right."""

import json
import uuid

import docker
import pytest


def _run():
    return uuid.uuid4().hex[:10]


def _fails(result, *words):
    assert result.returncode != 0, f"unexpectedly succeeded: {result}"
    for w in words:
        assert w in result.stderr, f"{w!r} not in: {result.stderr}"


def _ls(daemon, *filters):
    args = ["volume", "ls", "-q"]
    for f in filters:
        args += ["--filter", f]
    return sorted(daemon.docker(*args).stdout.split())


@pytest.fixture
def run(daemon):
    """A run id; afterwards every volume labelled with it is removed."""
    r = _run()
    yield r
    for name in _ls(daemon, f"label=berth.test.run={r}"):
        daemon.docker("volume", "rm", "-f", name, check=False)


def _create(daemon, run, name=None, *extra):
    args = ["volume", "create", "--label", f"berth.test.run={run}", *extra]
    if name:
        args.append(name)
    return daemon.docker(*args).stdout.strip()


# ---------------------------------------------------------------------------------------------
# the CLI

def test_create_inspect_rm(daemon, run):
    name = f"vol-{run}"
    assert _create(daemon, run, name, "--label", "color=blue") == name
    info = json.loads(daemon.docker("volume", "inspect", name).stdout)[0]
    assert info["Name"] == name
    assert info["Driver"] == "local"
    assert info["Scope"] == "local"
    assert info["Labels"] == {"berth.test.run": run, "color": "blue"}
    assert info["Mountpoint"].endswith(f"/volumes/{name}/_data")
    assert info["CreatedAt"]
    # a second create of the same name is the same volume, labels unchanged
    assert _create(daemon, run, name, "--label", "color=red") == name
    again = json.loads(daemon.docker("volume", "inspect", name).stdout)[0]
    assert again["Labels"]["color"] == "blue"
    assert again["CreatedAt"] == info["CreatedAt"]
    fmt = daemon.docker("volume", "inspect", "--format", "{{.Driver}} {{.Name}}", name)
    assert fmt.stdout.strip() == f"local {name}"
    assert daemon.docker("volume", "rm", name).stdout.strip() == name
    _fails(daemon.docker("volume", "inspect", name, check=False), "no such volume")
    _fails(daemon.docker("volume", "rm", name, check=False), "no such volume")
    daemon.docker("volume", "rm", "-f", name)  # force: a missing volume is fine


def test_anonymous_create(daemon, run):
    name = _create(daemon, run)
    assert len(name) == 64 and all(c in "0123456789abcdef" for c in name)
    info = json.loads(daemon.docker("volume", "inspect", name).stdout)[0]
    assert "com.docker.volume.anonymous" in info["Labels"]


def test_create_errors(daemon, run):
    _fails(daemon.docker("volume", "create", "x/y", check=False),
           '"x/y" includes invalid characters for a local volume name, only '
           '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed')
    _fails(daemon.docker("volume", "create", "a", check=False), "volume name is too short")
    _fails(daemon.docker("volume", "create", "-d", "nosuchplugin", f"p-{run}", check=False),
           'plugin "nosuchplugin" not found')
    _fails(daemon.docker("volume", "create", "--opt", "bogus=1", f"o-{run}", check=False),
           'invalid option: "bogus"')
    _fails(daemon.docker("volume", "create", "--opt", "type=tmpfs", f"o-{run}", check=False),
           'missing required option: "device"')
    assert _ls(daemon, f"name=o-{run}") == []
    assert _ls(daemon, f"name=p-{run}") == []


def test_ls_filters(daemon, run):
    a = _create(daemon, run, f"a-{run}", "--label", "tier=web")
    b = _create(daemon, run, f"b-{run}", "--label", "tier=db", "--label", "backup")
    c = _create(daemon, run, f"c-{run}")
    mine = f"label=berth.test.run={run}"
    assert _ls(daemon, mine) == sorted([a, b, c])
    assert _ls(daemon, mine, "label=tier") == sorted([a, b])
    assert _ls(daemon, mine, "label=tier=db") == [b]
    assert _ls(daemon, mine, "label=tier", "label=backup") == [b]
    assert _ls(daemon, f"name=b-{run}") == [b]
    assert _ls(daemon, mine, "driver=local") == sorted([a, b, c])
    assert _ls(daemon, mine, "dangling=true") == sorted([a, b, c])
    assert _ls(daemon, mine, "dangling=false") == []
    _fails(daemon.docker("volume", "ls", "--filter", "bogus=1", check=False),
           "invalid filter 'bogus'")
    _fails(daemon.docker("volume", "ls", "--filter", "dangling=maybe", check=False),
           "invalid filter 'dangling=[maybe]'")
    out = daemon.docker("volume", "ls", "--filter", mine, "--format", "{{.Driver}}:{{.Name}}")
    assert sorted(out.stdout.split()) == sorted(f"local:{n}" for n in (a, b, c))


def test_in_use(daemon, run):
    name = _create(daemon, run, f"used-{run}")
    ctr = daemon.docker("create", "-v", f"{name}:/data", "busybox:latest", "true").stdout.strip()
    try:
        mine = f"label=berth.test.run={run}"
        assert _ls(daemon, mine, "dangling=false") == [name]
        r = daemon.docker("volume", "rm", name, check=False)
        _fails(r, f"remove {name}: volume is in use - [{ctr}]")
        _fails(daemon.docker("volume", "rm", "-f", name, check=False), "volume is in use")
        pruned = daemon.docker("volume", "prune", "-f", "--all", "--filter", mine)
        assert name not in pruned.stdout
    finally:
        daemon.docker("rm", "-f", ctr, check=False)
    assert daemon.docker("volume", "rm", name).stdout.strip() == name


def test_prune(daemon, run):
    mine = f"label=berth.test.run={run}"
    anon = _create(daemon, run)
    named = _create(daemon, run, f"named-{run}")
    keep = _create(daemon, run, f"keep-{run}", "--label", "keep")
    # API >= 1.42: anonymous volumes only
    out = daemon.docker("volume", "prune", "-f", "--filter", mine).stdout
    assert anon in out and named not in out
    assert _ls(daemon, mine) == sorted([named, keep])
    # --all with label!: named goes, keep stays
    out = daemon.docker("volume", "prune", "-f", "--all", "--filter", mine,
                        "--filter", "label!=keep").stdout
    assert named in out and keep not in out
    assert "Total reclaimed space" in out
    assert _ls(daemon, mine) == [keep]


# ---------------------------------------------------------------------------------------------
# the API

def test_api_create_list_remove(daemon, run):
    c = daemon.client
    name = f"api-{run}"
    v = c.create_volume(name, driver="local", labels={"berth.test.run": run, "k": "v"},
                        driver_opts={})
    assert v["Name"] == name and v["Driver"] == "local" and v["Labels"]["k"] == "v"
    assert v["Options"] == {}
    listed = c.volumes(filters={"label": [f"berth.test.run={run}"]})
    assert [x["Name"] for x in listed["Volumes"]] == [name]
    assert listed.get("Warnings") in (None, [])
    assert c.inspect_volume(name)["Mountpoint"] == v["Mountpoint"]
    c.remove_volume(name)
    with pytest.raises(docker.errors.NotFound) as e:
        c.inspect_volume(name)
    assert e.value.status_code == 404
    assert f"get {name}: no such volume" in str(e.value.explanation)
    with pytest.raises(docker.errors.NotFound):
        c.remove_volume(name)
    # docker-py's remove_volume(force=True) never sends the parameter; ask for it directly.
    resp = c._delete(c._url("/volumes/{0}", name) + "?force=1")
    assert resp.status_code == 204, resp.text


def test_api_errors(daemon, run):
    c = daemon.client
    with pytest.raises(docker.errors.APIError) as e:
        c.create_volume("x/y")
    assert e.value.status_code == 400
    with pytest.raises(docker.errors.APIError) as e:
        c.create_volume(f"t-{run}", driver_opts={"type": "tmpfs"})
    assert e.value.status_code == 400
    with pytest.raises(docker.errors.NotFound) as e:
        c.create_volume(f"d-{run}", driver="nosuchplugin")
    with pytest.raises(docker.errors.APIError) as e:
        c.volumes(filters={"bogus": ["1"]})
    assert e.value.status_code == 400
    with pytest.raises(docker.errors.APIError) as e:
        c.prune_volumes(filters={"all": ["maybe"]})
    assert e.value.status_code == 400
    # a body that is not JSON, and a field of the wrong type
    r = c.post(c._url("/volumes/create"), data="{not json",
               headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = c.post(c._url("/volumes/create"), json={"Name": 5})
    assert r.status_code == 400
    # cluster volumes need swarm
    r = c.put(c._url("/volumes/{0}", f"any-{run}"), params={"version": 1}, json={})
    assert r.status_code == 503
    assert "swarm" in r.json()["message"]


def test_api_in_use_conflict(daemon, run):
    c = daemon.client
    name = f"busy-{run}"
    c.create_volume(name, labels={"berth.test.run": run})
    ctr = c.create_container("busybox:latest", "true",
                             host_config=c.create_host_config(binds=[f"{name}:/data"]))["Id"]
    try:
        with pytest.raises(docker.errors.APIError) as e:
            c.remove_volume(name)
        assert e.value.status_code == 409
        assert ctr in str(e.value.explanation)
    finally:
        c.remove_container(ctr, force=True)
    c.remove_volume(name)


def test_api_prune_versions(daemon, run):
    """Clients older than 1.42 prune every unused volume; newer ones anonymous ones only."""
    mine = {"label": [f"berth.test.run={run}"]}
    c = daemon.client
    named = f"old-{run}"
    c.create_volume(named, labels={"berth.test.run": run})
    anon = c.create_volume(None, labels={"berth.test.run": run})["Name"]
    rep = c.prune_volumes(filters=mine)
    assert rep["VolumesDeleted"] == [anon]
    assert isinstance(rep["SpaceReclaimed"], int)
    old = docker.APIClient(base_url=f"unix://{daemon.sock}", version="1.41", timeout=60)
    rep = old.prune_volumes(filters=mine)
    assert rep["VolumesDeleted"] == [named]
    assert c.volumes(filters=mine)["Volumes"] in (None, [])
