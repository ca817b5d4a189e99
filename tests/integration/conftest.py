"""Fixtures for the black-box runtime suite.

The binary under test is $BERTH_RUNC (default: build/src/runtime/cli/berth-runc); point it at
/usr/sbin/runc or /usr/bin/crun to check that a test is right. The helper placed in bundles is
$BERTH_TESTHELPER (default: build/tests/helper/berth-testhelper, else compiled from
tests/helper/berth-testhelper.c into .cache/).
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from helpers import (REPO, RUNTIME, RUNTIME_NAME, Bundle, Runtime, build_rootfs, kill_pids,
                     mounts_under, processes_of, sh)

HERE = Path(__file__).resolve().parent
DEFAULT_TEST_TIME_LIMIT = 60


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "known_failure(runtimes, reason, strict=True): xfail when the runtime under "
        "test is one of `runtimes` (a name or a list of names: runc, crun, berth-runc)")
    config.addinivalue_line("markers", "time_limit(seconds): per-test wall-clock limit")


def pytest_report_header(config):
    version = ""
    if os.path.exists(RUNTIME):
        r = subprocess.run([RUNTIME, "--version"], capture_output=True, text=True)
        version = (r.stdout.splitlines() or [""])[0]
    return [f"runtime under test: {RUNTIME} ({RUNTIME_NAME or 'missing'}) {version}"]


def pytest_collection_modifyitems(config, items):
    for item in items:
        for m in item.iter_markers("known_failure"):
            names = m.args[0]
            names = [names] if isinstance(names, str) else list(names)
            if RUNTIME_NAME in names:
                reason = m.args[1] if len(m.args) > 1 else m.kwargs.get("reason", "")
                # strict=False only for a runtime's race: it fails sometimes, not always.
                item.add_marker(pytest.mark.xfail(reason=f"{RUNTIME_NAME}: {reason}",
                                                  strict=m.kwargs.get("strict", True)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


# ---------------------------------------------------------------------------------------------
# session-wide

def _unusable(reason):
    """Skips the whole session, or with BERTH_STRICT=1 (CI) stops it as a failure: a suite that
    skips everything must not look green."""
    if os.environ.get("BERTH_STRICT") == "1":
        pytest.exit(f"cannot run the integration suite: {reason}", returncode=3)
    pytest.skip(reason)


def _crun_hybrid_problem():
    """crun 1.8.1 refuses a hybrid layout (v1 controllers plus an empty cgroup2 at
    /sys/fs/cgroup/unified) unless a v1 hugetlb hierarchy is mounted."""
    if RUNTIME_NAME != "crun":
        return None
    fstypes = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstypes[fields[4]] = (fields[sep + 1], fields[sep + 3])
    hybrid = fstypes.get("/sys/fs/cgroup/unified", ("",))[0] == "cgroup2"
    hugetlb = any(t == "cgroup" and "hugetlb" in opts.split(",") for t, opts in fstypes.values())
    if hybrid and not hugetlb:
        return ("crun 1.8.1 refuses this hybrid cgroup layout without a v1 hugetlb hierarchy; "
                "mount one first: mkdir -p /sys/fs/cgroup/hugetlb && "
                "mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb")
    return None


@pytest.fixture(scope="session", autouse=True)
def runtime_binary():
    if not os.path.exists(RUNTIME):
        _unusable(f"runtime under test not found: {RUNTIME} (build it with `meson setup build "
                  f"&& ninja -C build`, or set BERTH_RUNC=/usr/sbin/runc)")
    if os.geteuid() != 0:
        _unusable("the integration suite needs root (it creates namespaces, cgroups, mounts)")
    problem = _crun_hybrid_problem()
    if problem:
        _unusable(problem)
    if os.environ.get("BERTH_PURE_V2") == "1":
        # the run on pure cgroup v2 (tests/vm/purev2.py) must really be on one
        with open("/proc/self/mountinfo") as f:
            kinds = {line.split(" - ")[1].split()[0] for line in f if " - " in line}
        controllers = Path("/sys/fs/cgroup/cgroup.controllers")
        if "cgroup" in kinds or not controllers.exists() or not controllers.read_text().split():
            _unusable("BERTH_PURE_V2=1 but this is not a pure cgroup v2 host "
                      f"(mounted: {sorted(kinds)})")
    return RUNTIME


def _build_helper_into_cache():
    src = REPO / "tests/helper/berth-testhelper.c"
    out = HERE / ".cache/berth-testhelper"
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        _unusable("no test helper: set BERTH_TESTHELPER or build it with ninja -C build")
    tmp = out.with_suffix(".tmp")
    r = subprocess.run([cc, "-std=gnu11", "-O2", "-Wall", "-Wextra", "-static",
                        "-o", str(tmp), str(src)], capture_output=True, text=True)
    if r.returncode != 0:
        _unusable(f"cannot build the test helper: {r.stderr}")
    tmp.rename(out)
    return out


@pytest.fixture(scope="session")
def helper_binary():
    env = os.environ.get("BERTH_TESTHELPER")
    if env:
        if not os.path.exists(env):
            _unusable(f"BERTH_TESTHELPER={env} does not exist")
        return Path(env)
    built = REPO / "build/tests/helper/berth-testhelper"
    return built if built.exists() else _build_helper_into_cache()


@pytest.fixture(scope="session")
def work_dir():
    """One directory for the session; 0755 so that user-namespaced containers can reach their
    rootfs (pytest's own tmp dirs are 0700)."""
    d = Path(tempfile.mkdtemp(prefix="berth-it-", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d
    if not os.environ.get("BERTH_KEEP") and not mounts_under(d):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def rootfs_template(work_dir, helper_binary):
    if not os.path.exists("/bin/busybox"):
        _unusable("busybox-static is not installed (apt-get install busybox-static)")
    t = work_dir / "rootfs-template"
    build_rootfs(t, helper_binary)
    return t


# ---------------------------------------------------------------------------------------------
# per test

@pytest.fixture(autouse=True)
def time_limit(request):
    m = request.node.get_closest_marker("time_limit")
    limit = int(m.args[0]) if m else DEFAULT_TEST_TIME_LIMIT

    def expired(signum, frame):
        raise TimeoutError(f"test exceeded its {limit}s limit")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(limit)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


_counter = [0]


@pytest.fixture
def test_dir(work_dir, request):
    _counter[0] += 1
    d = work_dir / f"{_counter[0]:04d}-{request.node.name[:48].replace('/', '_')}"
    d.mkdir()
    os.chmod(d, 0o755)
    yield d
    # Whatever the test did (an ad-hoc Runtime, a fixture without cleanup, a runtime that
    # wrongly accepted a config), containers in this test's default root are removed, and
    # processes still rooted in its bundles are killed.
    if (d / "state").is_dir():
        Runtime(RUNTIME, d / "state").force_cleanup()
    kill_pids(processes_of(under=d))
    passed = getattr(request.node, "rep_call", None) and request.node.rep_call.passed
    if passed and not os.environ.get("BERTH_KEEP"):
        for target, _, _ in reversed(mounts_under(d)):
            subprocess.run(["umount", "-l", target], capture_output=True)
        if not mounts_under(d):
            shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def token():
    """Put into every bundle's environment so leftover container processes can be found."""
    return f"BERTH_TEST_TOKEN={uuid.uuid4().hex}"


@pytest.fixture
def rt(test_dir, token):
    """The runtime under test with a private --root; whatever is left in that root is killed and
    deleted afterwards, and processes carrying this test's token are killed."""
    r = Runtime(RUNTIME, test_dir / "state")
    yield r
    r.force_cleanup()
    time.sleep(0.05)
    kill_pids(processes_of(token=token))


@pytest.fixture
def make_bundle(test_dir, rootfs_template, token):
    n = [0]

    def make(args=None, rootless=False):
        n[0] += 1
        b = Bundle(test_dir / f"bundle{n[0]}", rootfs_template, args, rootless=rootless)
        b.token = token
        b.process["env"].append(token)
        return b

    return make


@pytest.fixture
def bundle(make_bundle):
    return make_bundle()


@pytest.fixture
def cid():
    from helpers import new_id
    return new_id()


@pytest.fixture
def netns():
    """A named network namespace (ip netns add), removed afterwards."""
    if not shutil.which("ip"):
        pytest.skip("iproute2 is not installed")
    name = f"berth-it-{uuid.uuid4().hex[:8]}"
    r = sh("ip", "netns", "add", name, check=False)
    if r.rc != 0:
        pytest.skip(f"cannot create a network namespace: {r.err}")
    yield name, Path("/run/netns") / name
    sh("ip", "netns", "delete", name, check=False)


@pytest.fixture(scope="module")
def daemon():
    """A berthd with its own roots and socket for the tests of one module, holding the test
    image busybox:latest (an offline busybox-static image, Cmd ["sh"])."""
    from daemon import Daemon
    import ocimage
    d = Daemon()
    try:
        d.start()
        d.load_image(ocimage.busybox_image(), "busybox:latest")
        yield d
    finally:
        d.cleanup()


# ---------------------------------------------------------------------------------------------
# the berth CLI with daemons of its own (the image tests)

@pytest.fixture
def berths():
    """Makes Berths, each with a berthd on its own data root; stops them all afterwards."""
    from berthcli import Berths
    made = Berths()
    yield made
    made.close()


@pytest.fixture
def berth(berths):
    """One Berth with its own berthd (modules that drive a shared daemon define their own)."""
    return berths()
