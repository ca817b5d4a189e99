"""berthd's /networks endpoints for its predefined networks, "host" and "none", through the
docker CLI and python3-docker: ls with Docker's filters, inspect with the containers attached,
Docker's refusals (removing or re-creating a predefined network, (dis)connecting host or none),
prune, `docker system prune` (which calls network and build-cache prune), and containers'
NetworkSettings.Networks. Bridge networks are not there yet: creating one is refused clearly."""

import json

import pytest

from daemon import EXTERNAL, unique_name


def _ls(daemon, *filters, fmt="{{.Name}}"):
    args = ["network", "ls", "--format", fmt]
    for f in filters:
        args += ["--filter", f]
    return sorted(daemon.docker(*args).stdout.split())


def _fails(result, *words):
    assert result.returncode != 0, f"unexpectedly succeeded: {result}"
    for w in words:
        assert w in result.stderr, f"{w!r} not in: {result.stderr}"


def _inspect(daemon, ref):
    return json.loads(daemon.docker("network", "inspect", ref).stdout)[0]


def test_predefined_networks_listed_and_filtered(daemon):
    assert {"host", "none"} <= set(_ls(daemon))
    host = _inspect(daemon, "host")
    assert host["Driver"] == "host" and host["Scope"] == "local"
    assert len(host["Id"]) == 64 and host["Created"].endswith("Z")
    assert host["IPAM"] == {"Driver": "default", "Options": None, "Config": []}
    assert _inspect(daemon, "none")["Driver"] == "null"
    assert _ls(daemon, "type=custom") == []
    assert {"host", "none"} <= set(_ls(daemon, "type=builtin"))
    assert _ls(daemon, "driver=null") == ["none"]
    assert _ls(daemon, "name=ho") == ["host"]
    assert _ls(daemon, f"id={host['Id'][:12]}") == ["host"]
    assert _ls(daemon, "dangling=true") == []
    assert _ls(daemon, "label=a=b") == []
    _fails(daemon.docker("network", "ls", "--filter", "type=weird", check=False),
           "invalid filter: 'type'='weird'")
    _fails(daemon.docker("network", "ls", "--filter", "colour=red", check=False),
           "invalid filter 'colour'")
    # the SDK's view
    names = {n["Name"] for n in daemon.client.networks()}
    assert {"host", "none"} <= names


def test_inspect_by_id_prefix_and_not_found(daemon):
    host = _inspect(daemon, "host")
    assert _inspect(daemon, host["Id"])["Name"] == "host"
    assert _inspect(daemon, host["Id"][:10])["Name"] == "host"
    _fails(daemon.docker("network", "inspect", "nosuchnet", check=False),
           "network nosuchnet not found")
    r = daemon.client.get(daemon.client._url("/networks/{0}", "nosuchnet"))
    assert r.status_code == 404


def test_predefined_cannot_be_removed_or_made(daemon):
    _fails(daemon.docker("network", "rm", "host", check=False),
           "host is a pre-defined network and cannot be removed")
    _fails(daemon.docker("network", "rm", "nosuchnet", check=False), "not found")
    for name in ("none", "bridge"):
        _fails(daemon.docker("network", "create", name, check=False),
               f"operation is not permitted on predefined {name} network")


@pytest.mark.skipif(EXTERNAL is not None, reason="Docker has bridge networks")
def test_create_user_network_refused_clearly(daemon):
    name = unique_name()
    _fails(daemon.docker("network", "create", name, check=False),
           f"cannot create network {name}", "--network none")
    assert name not in _ls(daemon)


def test_containers_on_host_and_none(daemon):
    a, b = unique_name(), unique_name()
    daemon.docker("run", "-d", "--name", a, "--network", "none", "busybox", "sleep", "100")
    daemon.docker("run", "-d", "--name", b, "--network", "host", "busybox", "sleep", "100")
    try:
        none, host = _inspect(daemon, "none"), _inspect(daemon, "host")
        ida, idb = daemon.inspect(a)["Id"], daemon.inspect(b)["Id"]
        assert none["Containers"][ida]["Name"] == a and ida not in host["Containers"]
        assert host["Containers"][idb]["Name"] == b and idb not in none["Containers"]
        nets = daemon.inspect(a)["NetworkSettings"]["Networks"]
        assert list(nets) == ["none"] and nets["none"]["NetworkID"] == none["Id"]
        nets = daemon.inspect(b)["NetworkSettings"]["Networks"]
        assert list(nets) == ["host"] and nets["host"]["NetworkID"] == host["Id"]
        fmt = ["--format", "{{.Names}} {{.Networks}}"]
        out = daemon.docker("ps", "--filter", "network=host", *fmt).stdout.split("\n")
        assert f"{b} host" in out and not [x for x in out if x.startswith(a)]
        out = daemon.docker("ps", "--filter", f"network={none['Id'][:12]}", *fmt).stdout
        assert f"{a} none" in out.split("\n")
        _fails(daemon.docker("network", "disconnect", "host", b, check=False),
               "cannot be disconnected from host network")
        _fails(daemon.docker("network", "connect", "none", b, check=False),
               "connected to none network")
        _fails(daemon.docker("network", "connect", "none", "nosuch" + a, check=False),
               "No such container")
    finally:
        daemon.docker("rm", "-f", a, b)
    assert ida not in _inspect(daemon, "none")["Containers"]


def test_prune_and_system_prune(daemon):
    out = daemon.docker("network", "prune", "-f").stdout
    assert "host" not in out and "none" not in out
    _fails(daemon.docker("network", "prune", "-f", "--filter", "colour=red", check=False),
           "invalid filter 'colour'")
    assert daemon.client.prune_networks()["NetworksDeleted"] is None
    assert daemon.client.prune_builds()["SpaceReclaimed"] == 0
    name = unique_name()
    daemon.docker("create", "--name", name, "busybox", "true")
    p = daemon.docker("system", "prune", "-f")
    assert "Total reclaimed space" in p.stdout
    assert daemon.docker("ps", "-a", "-q", "--filter", f"name={name}").stdout == ""
    assert {"host", "none"} <= set(_ls(daemon))


@pytest.mark.skipif(EXTERNAL is not None, reason="restarts the daemon under test")
def test_ids_kept_across_restart(daemon):
    before = {n: _inspect(daemon, n)["Id"] for n in ("host", "none")}
    daemon.restart()
    assert {n: _inspect(daemon, n)["Id"] for n in ("host", "none")} == before


@pytest.mark.skipif(EXTERNAL is not None, reason="Docker publishes ports")
def test_published_ports_warn_until_bridge_networking(daemon):
    """A -p that cannot be honoured yet is said so, not silently dropped."""
    p = daemon.docker("run", "--rm", "-p", "18080:80", "-p", "53:53/udp", "busybox", "true")
    assert "bridge networking is not available yet" in p.stderr
    assert "53/udp, 80/tcp are not published on the host" in p.stderr
    p = daemon.docker("run", "--rm", "-p", "18080:80", "--network", "host", "busybox", "true")
    assert "Published ports are discarded when using host network mode" in p.stderr
    p = daemon.docker("run", "--rm", "--network", "none", "busybox", "true")
    assert "WARNING" not in p.stderr
