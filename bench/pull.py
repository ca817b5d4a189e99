#!/usr/bin/python3
"""Side-by-side benchmark of image pulls: berth, skopeo (to an OCI layout) and podman pull the
same multi-layer image from Debian's docker-registry on 127.0.0.1, each into a fresh store, in
one run; the floor is `sha256sum` plus `tar -xzf` of the same layer blobs, one after the other.
berth's pull is berthd's: each run starts a berthd on a fresh data root (not timed), times
`berth pull` against it, and stops it.

The image is made offline from this machine's own files (/usr/bin, /usr/lib/go-1.19,
/usr/share/...), so it compresses like real software rather than like random bytes; it is built
once and kept in --cache. Prints the median of --runs runs per tool and the ratios the targets
are stated in. Run as root.

usage: sudo /usr/bin/python3 bench/pull.py [--runs N] [--min-mb 200] [--cache DIR]
                                          [--only berth,skopeo,podman,floor]
"""
import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests/integration"))

import ocimage  # noqa: E402
from registry import Registry  # noqa: E402

SOURCES = ["/usr/lib/python3", "/usr/share/perl", "/usr/share/doc", "/usr/share/locale",
           "/usr/lib/go-1.19", "/usr/share/vim", "/usr/bin"]
MIN_LAYERS = 4
BUILD = os.environ.get("BERTH_BUILD", os.path.join(REPO, "build"))
BERTH = os.environ.get("BERTH_CLI", os.path.join(BUILD, "src/cli/berth"))
CACHE_VERSION = "2"


def build_image(cache, min_mb):
    """An OCI layout with a layer per source directory, until the blobs reach min_mb and there
    are at least MIN_LAYERS layers."""
    layout = os.path.join(cache, f"layout-v{CACHE_VERSION}-{min_mb}")
    if os.path.exists(os.path.join(layout, "index.json")):
        return layout
    tmp = layout + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    layers, total = [], 0
    for src in SOURCES:
        if not os.path.isdir(src):
            continue
        t0 = time.monotonic()
        layer = ocimage.Layer("gzip", level=6).tree(src, src.lstrip("/"))
        total += layer.size
        layers.append(layer)
        print(f"# layer {src}: {layer.size / 1e6:.0f} MB compressed "
              f"({time.monotonic() - t0:.0f} s)", file=sys.stderr)
        if total >= min_mb * 1e6 and len(layers) >= MIN_LAYERS:
            break
    if total < min_mb * 1e6:
        sys.exit(f"only {total / 1e6:.0f} MB of layers could be made from {SOURCES}")
    img = ocimage.Image(layers, config={"Cmd": ["/usr/bin/true"]})
    img.write_layout(tmp, "1")
    os.rename(tmp, layout)
    return layout


def blobs_of(layout):
    idx = json.load(open(os.path.join(layout, "index.json")))
    mdigest = idx["manifests"][0]["digest"]
    man = json.load(open(os.path.join(layout, "blobs/sha256", mdigest.split(":")[1])))
    return [os.path.join(layout, "blobs/sha256", l["digest"].split(":")[1]) for l in man["layers"]]


def timed(argv, **kw):
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit(f"{argv[0]} failed: {p.stderr.decode(errors='replace')}")
    return dt


def berthd_engine():
    """bench/daemon.py's berthd (a fresh data root under the given directory, started and
    stopped around the work); loaded by path: tests/integration has a daemon.py of its own."""
    spec = importlib.util.spec_from_file_location(
        "bench_daemon", os.path.join(os.path.dirname(os.path.abspath(__file__)), "daemon.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Berth()


def run_berth(ref, work):
    d = berthd_engine()
    d.setup(work)
    try:
        env = dict(os.environ, BERTH_HOST=f"unix://{d.sock}")
        return timed([BERTH, "--root", os.path.join(d.dir, "root"), "--config",
                      os.path.join(work, "berth-cfg"), "pull", "-q", ref], env=env)
    finally:
        d.stop()


def run_skopeo(ref, work):
    dest = os.path.join(work, "skopeo-layout")
    shutil.rmtree(dest, ignore_errors=True)
    return timed(["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}",
                  f"oci:{dest}:1"])


def run_podman(ref, work):
    root = os.path.join(work, "podman-root")
    run = tempfile.mkdtemp(prefix="bpr-", dir="/tmp")
    try:
        subprocess.run(["podman", "--root", root, "--runroot", run, "system", "reset", "-f"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        return timed(["podman", "--root", root, "--runroot", run, "--storage-driver", "overlay",
                      "pull", "-q", "--tls-verify=false", ref])
    finally:
        subprocess.run(["podman", "--root", root, "--runroot", run, "system", "reset", "-f"],
                       capture_output=True)
        shutil.rmtree(run, ignore_errors=True)


def run_floor(blobs, work):
    dest = os.path.join(work, "floor")
    shutil.rmtree(dest, ignore_errors=True)
    t = 0.0
    for i, b in enumerate(blobs):
        d = os.path.join(dest, str(i))
        os.makedirs(d)
        t += timed(["sha256sum", b])
        t += timed(["tar", "-xzf", b, "-C", d])
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--min-mb", type=int, default=200)
    ap.add_argument("--cache", default="/var/tmp/berth-bench-pull")
    ap.add_argument("--only", default="berth,skopeo,podman,floor")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    only = a.only.split(",")
    os.makedirs(a.cache, exist_ok=True)
    layout = build_image(a.cache, a.min_mb)
    blobs = blobs_of(layout)
    size = sum(os.path.getsize(b) for b in blobs)
    work = tempfile.mkdtemp(prefix="work-", dir=a.cache)
    results = {k: [] for k in only}
    try:
        with Registry("plain") as reg:
            subprocess.run(["skopeo", "--insecure-policy", "copy", "--preserve-digests",
                            "--dest-tls-verify=false", f"oci:{layout}:1",
                            f"docker://{reg.host}/bench/big:1"], check=True,
                           capture_output=True)
            ref = f"{reg.host}/bench/big:1"
            print(f"# image: {len(blobs)} layers, {size / 1e6:.0f} MB compressed; "
                  f"{a.runs} runs each, tools interleaved", file=sys.stderr)
            for i in range(a.runs):
                for tool in only:
                    if tool == "berth":
                        dt = run_berth(ref, work)
                    elif tool == "skopeo":
                        dt = run_skopeo(ref, work)
                    elif tool == "podman":
                        dt = run_podman(ref, work)
                    else:
                        dt = run_floor(blobs, work)
                    results[tool].append(dt)
                    print(f"# run {i + 1} {tool}: {dt:.2f} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in results.items() if v}
    print(f"{'tool':8} {'median s':>9} {'MB/s':>7}")
    for k, v in med.items():
        print(f"{k:8} {v:9.2f} {size / 1e6 / v:7.0f}")
    if "berth" in med:
        for other in ("podman", "skopeo"):
            if other in med:
                print(f"{other}/berth: {med[other] / med['berth']:.2f}x (berth is that much faster)")
        if "floor" in med:
            print(f"berth/floor: {med['berth'] / med['floor']:.2f}x (target <= 1.3)")


if __name__ == "__main__":
    main()
