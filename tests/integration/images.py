"""Offline OCI images for the engine tests: an OCI image-layout tarball made from a rootfs
directory (one uncompressed layer), which `ctr images import` and `podman load` both accept."""

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path


def _layer(rootfs):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        root = Path(rootfs)
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            t.add(path, arcname=rel, recursive=False)
    return buf.getvalue()


def _add(t, name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    t.addfile(ti, io.BytesIO(data))


def _blob(t, data):
    digest = hashlib.sha256(data).hexdigest()
    _add(t, "blobs/sha256/" + digest, data)
    return "sha256:" + digest, len(data)


def write_oci_archive(rootfs, out, name, cmd=("/bin/sh",)):
    """Write an OCI archive of rootfs to out, tagged `name` (e.g. localhost/berth-test:1)."""
    with tarfile.open(out, "w") as t:
        layer = _layer(rootfs)
        ldig, lsize = _blob(t, layer)
        config = json.dumps({
            "architecture": "amd64", "os": "linux",
            "config": {"Env": ["PATH=/bin"], "Cmd": list(cmd)},
            "rootfs": {"type": "layers", "diff_ids": [ldig]},
        }).encode()
        cdig, csize = _blob(t, config)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": cdig, "size": csize},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": ldig, "size": lsize}],
        }).encode()
        mdig, msize = _blob(t, manifest)
        index = json.dumps({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": mdig, "size": msize,
            "annotations": {"io.containerd.image.name": name,
                            "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]},
        }]}).encode()
        _add(t, "index.json", index)
        _add(t, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    os.chmod(out, 0o644)
    return out
