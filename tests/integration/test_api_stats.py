"""Container top, stats and update through berthd, with the real docker 28 CLI and
python3-docker: the container's processes and no others, usage samples in Docker's JSON (one
shot, two samples, a stream), new limits seen inside the container, in inspect and after a
restart, and Docker's errors and statuses. Set BERTH_API_SOCKET to run them against another
daemon."""

import os
import subprocess
import time

import docker
import pytest

MIB = 1024 * 1024
V2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
from daemon import poll_until as wait_for, unique_name


def name():
    return unique_name("bt-")



@pytest.fixture
def ctr(daemon):
    """Runs a container (docker run -d ARGS) and removes it afterwards."""
    made = []

    def run(*args):
        n = name()
        daemon.docker("run", "-d", "--name", n, *args)
        made.append(n)
        return n

    yield run
    for n in made:
        daemon.docker("rm", "-f", n, check=False)


def limits_inside(daemon, n):
    """(memory limit, cpu quota, cpu period, pids limit) as the container reads them."""
    if V2:
        out = daemon.docker("exec", n, "cat", "/sys/fs/cgroup/memory.max",
                            "/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/pids.max").stdout.split()
        return out[0], out[1], out[2], out[3]
    out = daemon.docker("exec", n, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                        "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
                        "/sys/fs/cgroup/cpu/cpu.cfs_period_us",
                        "/sys/fs/cgroup/pids/pids.max").stdout.split()
    return tuple(out)


# ---- top ----

def test_top_lists_the_container_processes_only(daemon, ctr):
    decoy = subprocess.Popen(["sleep", "4243"])
    try:
        n = ctr("busybox", "sh", "-c", "sleep 4242 & exec sleep 4241")
        assert wait_for(lambda: "4242" in daemon.docker("top", n).stdout)
        out = daemon.docker("top", n).stdout
        lines = out.splitlines()
        assert lines[0].split()[:3] == ["UID", "PID", "PPID"] and "CMD" in lines[0]
        assert any(line.endswith("sleep 4241") for line in lines)
        assert any(line.endswith("sleep 4242") for line in lines)
        assert "4243" not in out and len(lines) == 3, out
        # the API's shape, and ps arguments of the caller's choosing
        top = daemon.client.top(n, ps_args="-o pid,comm")
        assert top["Titles"] == ["PID", "COMMAND"]
        pids = {int(p[0]) for p in top["Processes"]}
        assert decoy.pid not in pids and len(pids) == 2
        assert daemon.inspect(n)["State"]["Pid"] in pids
        assert all(p[1] == "sleep" for p in top["Processes"])
        # a forest listing refuses -q: ps lists everything and the filter alone picks
        forest = daemon.client.top(n, ps_args="axf")
        assert "PID" in forest["Titles"]
        col = forest["Titles"].index("PID")
        assert {int(p[col]) for p in forest["Processes"]} == pids
    finally:
        decoy.kill()
        decoy.wait()


def test_top_bad_ps_args(daemon, ctr):
    n = ctr("busybox", "sleep", "100")
    p = daemon.docker("top", n, "-o", "comm=PID", check=False)
    assert p.returncode != 0 and 'specifying "comm=PID" is not allowed' in p.stderr
    p = daemon.docker("top", n, "-o", "comm", check=False)
    assert p.returncode != 0 and "Couldn't find PID field in ps output" in p.stderr
    p = daemon.docker("top", n, "--no-such-ps-option", check=False)
    assert p.returncode != 0 and "ps:" in p.stderr


def test_top_stopped_is_409_and_unknown_404(daemon):
    n = name()
    daemon.docker("create", "--name", n, "busybox", "true")
    try:
        with pytest.raises(docker.errors.APIError) as e:
            daemon.client.top(n)
        assert e.value.status_code == 409
        assert "is not running" in e.value.explanation
        p = daemon.docker("top", n, check=False)
        assert p.returncode != 0 and "is not running" in p.stderr
    finally:
        daemon.docker("rm", n)
    with pytest.raises(docker.errors.NotFound):
        daemon.client.top("no-such-container-x")


# ---- stats ----

def test_stats_no_stream_shows_memory_usage_and_limit(daemon, ctr):
    n = ctr("--memory", "64m", "busybox", "sleep", "100")
    out = daemon.docker("stats", "--no-stream", n).stdout.splitlines()
    assert out[0].split()[:3] == ["CONTAINER", "ID", "NAME"]
    row = out[1].split()
    assert row[1] == n and row[2].endswith("%")
    usage = daemon.docker("stats", "--no-stream", "--format", "{{.MemUsage}}|{{.PIDs}}",
                          n).stdout.strip()
    mem, pids = usage.split("|")
    used, limit = (s.strip() for s in mem.split("/"))
    assert limit == "64MiB" and not used.startswith("0B"), usage
    assert pids == "1"


def test_stats_one_sample_has_dockers_keys(daemon, ctr):
    # a busy second, then idle
    n = ctr("--memory", "64m", "busybox", "sh", "-c",
            "end=$(($(date +%s)+1)); while [ $(date +%s) -lt $end ]; do :; done; exec sleep 100")
    s = daemon.client.stats(n, stream=False)
    for key in ("read", "preread", "pids_stats", "blkio_stats", "num_procs", "storage_stats",
                "cpu_stats", "precpu_stats", "memory_stats", "name", "id"):
        assert key in s, key
    assert s["name"] == "/" + n and s["id"] == daemon.inspect(n)["Id"]
    assert s["num_procs"] == 0 and s["storage_stats"] == {}
    assert s["pids_stats"]["current"] >= 1
    assert "io_service_bytes_recursive" in s["blkio_stats"]
    cpu = s["cpu_stats"]
    assert cpu["cpu_usage"]["total_usage"] > 0
    assert cpu["system_cpu_usage"] > 0 and cpu["online_cpus"] >= 1
    assert set(cpu["throttling_data"]) == {"periods", "throttled_periods", "throttled_time"}
    # two samples a second apart: precpu_stats is the first one's
    assert s["preread"] != "0001-01-01T00:00:00Z" and s["preread"] < s["read"]
    pre = s["precpu_stats"]
    assert 0 < pre["system_cpu_usage"] < cpu["system_cpu_usage"]
    assert pre["cpu_usage"]["total_usage"] <= cpu["cpu_usage"]["total_usage"]
    mem = s["memory_stats"]
    assert mem["usage"] > 0 and mem["limit"] == 64 * MIB
    assert ("inactive_file" if V2 else "total_inactive_file") in mem["stats"]
    # no interface but lo (no network yet): no "networks", as Docker for --network none
    assert "networks" not in s
    # one-shot: a single sample, nothing before it
    url = daemon.client._url("/containers/{0}/stats", n)
    one = daemon.client._result(daemon.client._get(
        url, params={"stream": "false", "one-shot": "true"}), json=True)
    assert one["preread"] == "0001-01-01T00:00:00Z"
    assert "system_cpu_usage" not in one["precpu_stats"]
    assert one["cpu_stats"]["cpu_usage"]["total_usage"] >= cpu["cpu_usage"]["total_usage"]


def test_stats_stream_fills_precpu_from_the_previous_sample(daemon, ctr):
    n = ctr("busybox", "sleep", "100")
    gen = daemon.client.stats(n, stream=True, decode=True)
    first, second = next(gen), next(gen)
    gen.close()
    assert first["preread"] == "0001-01-01T00:00:00Z"
    assert first["precpu_stats"]["cpu_usage"]["total_usage"] == 0
    assert second["preread"] == first["read"]
    assert second["precpu_stats"] == first["cpu_stats"]
    assert second["cpu_stats"]["system_cpu_usage"] > first["cpu_stats"]["system_cpu_usage"]


def test_stats_stopped_container_is_zeroed_and_ends_the_stream(daemon):
    n = name()
    daemon.docker("create", "--name", n, "busybox", "true")
    try:
        s = daemon.client.stats(n, stream=False)
        assert s["read"] == "0001-01-01T00:00:00Z" and s["memory_stats"] == {}
        assert s["name"] == "/" + n and s["cpu_stats"]["cpu_usage"]["total_usage"] == 0
        t0 = time.monotonic()
        samples = list(daemon.client.stats(n, stream=True, decode=True))
        assert len(samples) == 1 and samples[0]["pids_stats"] == {}
        assert time.monotonic() - t0 < 5
    finally:
        daemon.docker("rm", n)
    with pytest.raises(docker.errors.NotFound):
        daemon.client.stats("no-such-container-x", stream=False)
    p = daemon.docker("stats", "--no-stream", "no-such-container-x", check=False)
    assert p.returncode != 0 and "No such container" in p.stderr


# ---- update ----

def test_update_limits_inside_in_inspect_and_after_restart(daemon, ctr):
    n = ctr("--memory", "64m", "busybox", "sleep", "100")
    mem0 = limits_inside(daemon, n)[0]
    assert mem0 == str(64 * MIB)
    daemon.docker("update", "--memory", "32m", "--cpus", "0.5", "--pids-limit", "50", n)
    want = (str(32 * MIB), "50000", "100000", "50")
    assert limits_inside(daemon, n) == want
    hc = daemon.inspect(n)["HostConfig"]
    assert hc["Memory"] == 32 * MIB and hc["NanoCpus"] == 500000000 and hc["PidsLimit"] == 50
    usage = daemon.docker("stats", "--no-stream", "--format", "{{.MemUsage}}", n).stdout
    assert usage.strip().endswith("/ 32MiB"), usage
    daemon.docker("restart", "-t", "1", n)
    assert limits_inside(daemon, n) == want
    hc = daemon.inspect(n)["HostConfig"]
    assert hc["Memory"] == 32 * MIB and hc["NanoCpus"] == 500000000 and hc["PidsLimit"] == 50
    # a stopped container takes the update at its next start
    daemon.docker("stop", "-t", "1", n)
    daemon.docker("update", "--pids-limit", "60", n)
    daemon.docker("start", n)
    assert limits_inside(daemon, n)[3] == "60"


def test_update_restart_policy_applies_to_the_running_container(daemon, ctr):
    n = ctr("busybox", "sleep", "100")
    out = daemon.client.update_container(n, restart_policy={"Name": "always"})
    assert out["Warnings"] == []
    assert daemon.inspect(n)["HostConfig"]["RestartPolicy"]["Name"] == "always"
    pid = daemon.inspect(n)["State"]["Pid"]
    daemon.docker("kill", n)
    st = wait_for(lambda: (lambda s: s["Running"] and s["Pid"] != pid and s)(
        daemon.inspect(n)["State"]), timeout=15)
    assert st, daemon.inspect(n)["State"]
    assert daemon.inspect(n)["RestartCount"] >= 1


def test_update_errors(daemon, ctr):
    n = ctr("busybox", "sleep", "100")
    p = daemon.docker("update", "--memory", "1m", n, check=False)
    assert p.returncode != 0 and "Minimum memory limit allowed is 6MB" in p.stderr
    with pytest.raises(docker.errors.APIError) as e:
        daemon.client.update_container(n, cpu_quota=500)
    assert e.value.status_code == 400
    assert "CPU cfs quota can not be less than 1ms" in e.value.explanation
    with pytest.raises(docker.errors.APIError) as e:
        daemon.client.update_container(n, restart_policy={"Name": "sometimes"})
    assert e.value.status_code == 400 and "invalid restart policy" in e.value.explanation
    url = daemon.client._url("/containers/{0}/update", n)
    r = daemon.client._post_json(url, data={"Memory": "lots"})
    assert r.status_code == 400 and "Memory: expected an integer" in r.json()["message"]
    # no swap limit to fit under (Docker's rule): memory alone is refused
    p = daemon.docker("update", "--memory", "32m", n, check=False)
    assert p.returncode != 0 and "update the memoryswap at the same time" in p.stderr
    daemon.docker("update", "--memory", "32m", "--memory-swap", "64m", n)
    # --cpus against a CPU quota already set
    daemon.docker("update", "--cpu-quota", "20000", n)
    p = daemon.docker("update", "--cpus", "0.5", n, check=False)
    assert p.returncode != 0 and "Conflicting options" in p.stderr
    # nothing of the refused updates was kept
    hc = daemon.inspect(n)["HostConfig"]
    assert hc["Memory"] == 32 * MIB and hc["CpuQuota"] == 20000 and hc["NanoCpus"] == 0
    with pytest.raises(docker.errors.NotFound):
        daemon.client.update_container("no-such-container-x", mem_limit="32m")


def test_update_restart_policy_refused_with_auto_remove(daemon):
    n = name()
    daemon.docker("run", "-d", "--rm", "--name", n, "busybox", "sleep", "100")
    try:
        with pytest.raises(docker.errors.APIError) as e:
            daemon.client.update_container(n, restart_policy={"Name": "always"})
        assert e.value.status_code == 409
        assert "Restart policy cannot be updated because AutoRemove is enabled" in \
            e.value.explanation
        assert daemon.inspect(n)["HostConfig"]["RestartPolicy"]["Name"] == "no"
    finally:
        daemon.docker("rm", "-f", n, check=False)
