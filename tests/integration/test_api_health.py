"""Health checks through berthd with the real docker 28 CLI and python3-docker: probes that pass,
fail, hang past their timeout or run during a start period; State.Health in inspect; the
Status column and the health filter of `docker ps`; health_status events; restarts, pauses and
a berthd restart (live restore). Intervals are short (200 ms) to keep each test brief. Set
BERTH_API_SOCKET to run them against another daemon."""

import os
import time
from datetime import datetime, timezone

import pytest

import ocimage

FAST = ("--health-interval", "200ms")
IMAGE = "bt-health:latest"
from daemon import poll_until as wait_for, unique_name


def name():
    return unique_name("bt-h-")



@pytest.fixture
def names(daemon):
    """Container names for one test, force-removed afterwards."""
    made = []

    def make():
        made.append(name())
        return made[-1]

    yield make
    if made:
        daemon.docker("rm", "-f", *made, check=False)


@pytest.fixture(scope="module")
def health_image(daemon):
    """busybox whose image config carries a HEALTHCHECK (CMD-SHELL, 200 ms interval)."""
    cfg = {"Healthcheck": {"Test": ["CMD-SHELL", "echo from-image"], "Interval": 200_000_000}}
    daemon.load_image(ocimage.busybox_image(config=cfg), IMAGE)
    return IMAGE


def health(daemon, n):
    return daemon.client.inspect_container(n)["State"].get("Health")


def wait_status(daemon, n, want, timeout=8.0):
    got = wait_for(lambda: (health(daemon, n) or {}).get("Status") == want, timeout)
    assert got, f"{n}: health never became {want}: {health(daemon, n)}"


def ts(rfc3339):
    """Seconds since the epoch of an RFC 3339 time with up to nanoseconds."""
    main, _, frac = rfc3339.rstrip("Z").partition(".")
    base = datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return base + (float("0." + frac) if frac else 0.0)


def health_events(daemon, n, since):
    until = time.time() + 0.3
    out = daemon.docker("events", "--since", f"{since:.3f}", "--until", f"{until:.3f}",
                        "--filter", f"container={n}", "--filter", "event=health_status",
                        "--format", "{{.Action}}").stdout
    return out.split("\n")[:-1]


def test_passing_check_becomes_healthy(daemon, names):
    n = names()
    t0 = time.time() - 1
    daemon.docker("run", "-d", "--name", n, "--health-cmd", "echo ok; echo err >&2", *FAST,
                  "busybox", "sleep", "60")
    wait_status(daemon, n, "healthy")
    h = health(daemon, n)
    assert h["FailingStreak"] == 0
    assert 1 <= len(h["Log"]) <= 5
    entry = h["Log"][-1]
    assert entry["ExitCode"] == 0
    assert entry["Output"] == "ok\nerr\n"
    assert ts(entry["Start"]) <= ts(entry["End"])
    assert health_events(daemon, n, t0) == ["health_status: healthy"]
    # finished probes leave the container's ExecIDs (the one in flight may be listed)
    assert len(daemon.client.inspect_container(n)["ExecIDs"] or []) <= 1
    # the log keeps the last five results only
    assert wait_for(lambda: len(health(daemon, n)["Log"]) == 5)
    time.sleep(0.5)
    assert len(health(daemon, n)["Log"]) == 5


def test_failing_check_becomes_unhealthy(daemon, names):
    n, n3 = names(), names()
    t0 = time.time() - 1
    daemon.docker("run", "-d", "--name", n, "--health-cmd", "echo bad; exit 1",
                  "--health-retries", "2", *FAST, "busybox", "sleep", "60")
    # an exit code other than 0 and 1 is a failure too
    daemon.docker("run", "-d", "--name", n3, "--health-cmd", "exit 3", "--health-retries", "1",
                  *FAST, "busybox", "sleep", "60")
    wait_status(daemon, n, "unhealthy")
    h = health(daemon, n)
    assert h["FailingStreak"] >= 2
    assert all(e["ExitCode"] == 1 and e["Output"] == "bad\n" for e in h["Log"])
    # starting -> unhealthy after exactly `retries` failures
    assert len(h["Log"]) >= 2
    assert health_events(daemon, n, t0) == ["health_status: unhealthy"]
    wait_status(daemon, n3, "unhealthy")
    assert health(daemon, n3)["Log"][0]["ExitCode"] == 3


def test_start_period_does_not_count_failures(daemon, names):
    n = names()
    daemon.docker("run", "-d", "--name", n, "--health-cmd", "exit 1", "--health-retries", "1",
                  "--health-start-period", "2s", "--health-start-interval", "200ms",
                  "--health-interval", "200ms", "busybox", "sleep", "60")
    started = ts(daemon.client.inspect_container(n)["State"]["StartedAt"])
    assert wait_for(lambda: len((health(daemon, n) or {}).get("Log", [])) >= 2)
    h = health(daemon, n)
    if time.time() - started < 1.8:
        assert h["Status"] == "starting" and h["FailingStreak"] == 0
    wait_status(daemon, n, "unhealthy")
    counted = [e for e in health(daemon, n)["Log"] if ts(e["Start"]) - started >= 2.0]
    assert counted, "a failure inside the start period was counted"


def test_success_ends_start_period(daemon, names):
    n = names()
    daemon.docker("run", "-d", "--name", n, "--health-cmd", "test ! -e /tmp/fail",
                  "--health-retries", "2", "--health-start-period", "60s",
                  "--health-start-interval", "200ms", "--health-interval", "200ms",
                  "busybox", "sleep", "60")
    wait_status(daemon, n, "healthy", timeout=4)
    daemon.docker("exec", n, "touch", "/tmp/fail")
    # well inside the 60 s start period: failures count once a probe has passed
    wait_status(daemon, n, "unhealthy", timeout=4)
    assert health(daemon, n)["FailingStreak"] >= 2


def test_timeout_kills_hanging_probe(daemon, names):
    n = names()
    daemon.docker("run", "-d", "--name", n, "--health-cmd", "sleep 10", "--health-timeout",
                  "300ms", "--health-retries", "1", *FAST, "busybox", "sleep", "60")
    wait_status(daemon, n, "unhealthy")
    last = health(daemon, n)["Log"][-1]
    assert last["ExitCode"] == -1
    assert last["Output"] == "Health check exceeded timeout (300ms)"
    assert ts(last["End"]) - ts(last["Start"]) < 3
    # killed probes do not pile up: at most the one in flight is alive
    for _ in range(3):
        ps = daemon.docker("exec", n, "ps", "-o", "args").stdout
        assert ps.count("sleep 10") <= 1, ps
        time.sleep(0.3)


def test_output_is_truncated(daemon, names):
    n = names()
    daemon.docker("run", "-d", "--name", n, "--health-cmd",
                  "head -c 5000 /dev/zero | tr '\\0' a", *FAST, "busybox", "sleep", "60")
    wait_status(daemon, n, "healthy")
    out = health(daemon, n)["Log"][-1]["Output"]
    assert out == "a" * 4096 + "..."


def test_no_healthcheck_has_no_health(daemon, names, health_image):
    plain, none, img = names(), names(), names()
    daemon.docker("run", "-d", "--name", plain, "busybox", "sleep", "60")
    daemon.docker("run", "-d", "--name", none, "--no-healthcheck", health_image, "sleep", "60")
    daemon.docker("run", "-d", "--name", img, health_image, "sleep", "60")
    cfg = daemon.client.inspect_container(none)["Config"]
    assert cfg["Healthcheck"]["Test"] == ["NONE"]
    # the image's own check runs when nothing overrides it
    wait_status(daemon, img, "healthy")
    assert health(daemon, img)["Log"][-1]["Output"] == "from-image\n"
    time.sleep(0.5)
    assert health(daemon, plain) is None
    assert health(daemon, none) is None
    listed = daemon.docker("ps", "--filter", "health=none", "--format", "{{.Names}}").stdout
    assert plain in listed.split() and none in listed.split() and img not in listed.split()


def test_cmd_form_through_the_sdk(daemon, names):
    n = names()
    c = daemon.client.create_container(
        "busybox", ["sleep", "60"], name=n,
        healthcheck={"Test": ["CMD", "cat", "/etc/hostname"], "Interval": 200_000_000,
                     "Timeout": 2_000_000_000, "Retries": 2})
    daemon.client.start(c["Id"])
    wait_status(daemon, n, "healthy")
    assert health(daemon, n)["Log"][-1]["Output"] == c["Id"][:12] + "\n"


def test_ps_status_text_and_health_filter(daemon, names):
    good, slow, bad = names(), names(), names()
    daemon.docker("run", "-d", "--name", good, "--health-cmd", "true", *FAST, "busybox",
                  "sleep", "60")
    daemon.docker("run", "-d", "--name", slow, "--health-cmd", "true", "--health-interval",
                  "60s", "busybox", "sleep", "60")
    daemon.docker("run", "-d", "--name", bad, "--health-cmd", "false", "--health-retries", "1",
                  *FAST, "busybox", "sleep", "60")
    wait_status(daemon, good, "healthy")
    wait_status(daemon, bad, "unhealthy")

    def ps(*filters):
        out = daemon.docker("ps", *filters, "--format", "{{.Names}}|{{.Status}}").stdout
        return dict(line.split("|", 1) for line in out.splitlines())

    rows = ps()
    assert rows[good].startswith("Up ") and rows[good].endswith(" (healthy)")
    assert rows[slow].endswith(" (health: starting)")
    assert rows[bad].endswith(" (unhealthy)")
    for status, who in (("healthy", good), ("starting", slow), ("unhealthy", bad)):
        got = set(ps("--filter", f"health={status}")) & {good, slow, bad}
        assert got == {who}, (status, got)
    p = daemon.docker("ps", "--filter", "health=sick", check=False)
    assert p.returncode != 0
    assert "invalid filter 'health=sick'" in p.stderr


def test_create_rejects_tiny_intervals(daemon):
    p = daemon.docker("create", "--health-cmd", "true", "--health-interval", "500us", "busybox",
                      check=False)
    assert p.returncode != 0
    assert "Interval in Healthcheck cannot be less than 1ms" in p.stderr


def test_restart_and_stop_start_over(daemon, names):
    n = names()
    daemon.docker("run", "-d", "--name", n, "--health-cmd", "true", "--health-interval", "1s",
                  "busybox", "sleep", "60")
    wait_status(daemon, n, "healthy")
    before = health(daemon, n)["Log"]
    daemon.docker("restart", "-t", "0", n)
    h = health(daemon, n)
    assert h["Status"] == "starting" and h["FailingStreak"] == 0
    assert h["Log"][:len(before)] == before  # the log is kept across runs
    wait_status(daemon, n, "healthy")
    # a stopped container keeps its last results; Docker marks it unhealthy
    daemon.docker("stop", "-t", "0", n)
    h = health(daemon, n)
    assert h["Status"] == "unhealthy" and h["Log"]
    daemon.docker("start", n)
    assert health(daemon, n)["Status"] == "starting"


def test_no_probes_while_paused(daemon, names):
    n = names()
    daemon.docker("run", "-d", "--name", n, "--health-cmd", "true", *FAST, "busybox", "sleep",
                  "60")
    wait_status(daemon, n, "healthy")
    daemon.docker("pause", n)
    t_pause = time.time()
    last = health(daemon, n)["Log"][-1]["Start"]
    time.sleep(1.0)
    h = health(daemon, n)
    assert h["Log"][-1]["Start"] == last
    # Docker: a container whose checks stop is unhealthy (no event); ps shows it paused
    assert h["Status"] == "unhealthy"
    status = daemon.docker("ps", "--filter", f"name={n}", "--format", "{{.Status}}").stdout
    assert status.strip().endswith("(Paused)")
    daemon.docker("unpause", n)
    wait_status(daemon, n, "healthy")
    assert health(daemon, n)["Log"][-1]["Start"] != last
    assert health_events(daemon, n, t_pause) == ["health_status: healthy"]


@pytest.mark.skipif(bool(os.environ.get("BERTH_API_SOCKET")),
                    reason="restarts the daemon under test")
def test_checks_resume_after_live_restore(daemon, names):
    n = names()
    daemon.docker("run", "-d", "--name", n, "--health-cmd", "true", "--health-interval", "1s",
                  "busybox", "sleep", "60")
    wait_status(daemon, n, "healthy")
    before = health(daemon, n)["Log"]
    daemon.stop()
    daemon.start()
    st = daemon.client.inspect_container(n)["State"]
    assert st["Running"]
    h = st["Health"]
    # re-adopted: the results survived, and the checks start over as with Docker
    assert h["Status"] == "starting"
    assert h["Log"][:len(before)] == before
    wait_status(daemon, n, "healthy")
    assert len(health(daemon, n)["Log"]) > len(before)
