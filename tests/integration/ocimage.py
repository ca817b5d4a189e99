"""OCI images built offline and deterministically (fixed mtimes, uid/gid 0 unless asked, no
user/group names, gzip without a timestamp), so that digests are the same on every run.

    layer = Layer().file("etc/motd", b"hi\n").symlink("bin/sh", "busybox").whiteout("old")
    img = Image([busybox_layer(), layer], config={"Cmd": ["sh"]})
    img.write_layout(dir, "v1")            # an OCI image layout
    img.push(reg, "app", "v1")             # through skopeo, digest kept; returns it
    Index([img, busybox_image(arch="arm64", variant="v8")]).push(reg, "multi", "1")

Ready-made: busybox_layer/busybox_image, multiarch_index, multilayer_image, big_image,
hostile_layer_images. Image.flatten() and compare_rootfs() check an unpacked rootfs.
"""

import gzip
import hashlib
import io
import json
import os
import random
import shutil
import stat
import subprocess
import tarfile
import tempfile
import uuid
from pathlib import Path
from typing import NamedTuple

from helpers import BUSYBOX_APPLETS

DEFAULT_MTIME = 1_600_000_000  # 2020-09-13T12:26:40Z
DEFAULT_CREATED = "2020-09-13T12:26:40Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_LAYER = {"none": "application/vnd.oci.image.layer.v1.tar",
             "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
             "zstd": "application/vnd.oci.image.layer.v1.tar+zstd"}
DOCKER_LAYER = {"none": "application/vnd.docker.image.rootfs.diff.tar",
                "gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip"}
REF_NAME = "org.opencontainers.image.ref.name"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def _clean(path):
    """A layer-relative path: no leading '/' or './', no trailing '/'. '..' is refused: hostile
    names go through Layer.raw()."""
    p = str(path).lstrip("/")
    while p.startswith("./"):
        p = p[2:]
    p = p.rstrip("/")
    if not p or p == "." or ".." in p.split("/"):
        raise ValueError(f"layer path {path!r}: use Layer.raw() for names like this")
    return p


def compress(data, compression, level=None):
    if compression == "none":
        return data
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6 if level is None else level, mtime=0)
    if compression == "zstd":
        if not shutil.which("zstd"):
            raise RuntimeError("zstd is not installed (apt-get install zstd)")
        p = subprocess.run(["zstd", "-q", "-c", f"-{3 if level is None else level}"],
                           input=data, capture_output=True, check=True)
        return p.stdout
    raise ValueError(f"compression {compression!r}: use gzip, zstd or none")


class Layer:
    """A layer tar built from calls in order (each returns the layer, so calls chain). With
    parents=True a missing parent directory gets an entry (0755, root) before its first child.
    Every method takes mtime (default: the layer's) and xattrs ({name: str|bytes})."""

    def __init__(self, compression="gzip", mtime=DEFAULT_MTIME, parents=True, level=None):
        if compression not in OCI_LAYER:
            raise ValueError(f"compression {compression!r}: use gzip, zstd or none")
        self.compression = compression
        self.level = level
        self.mtime = mtime
        self.parents = parents
        self.entries = []  # [(TarInfo, bytes or None)]
        self._dirs = set()
        self._built = None

    # -- building

    def _entry(self, path, type, mode, uid, gid, mtime, xattrs, data=None, linkname="",
               clean=True):
        if self._built is not None:
            raise RuntimeError("layer already built (its digest was used); make a new Layer")
        name = _clean(path) if clean else str(path)
        if clean and self.parents:
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in self._dirs:
                    self._entry(d, tarfile.DIRTYPE, 0o755, 0, 0, None, None)
        ti = tarfile.TarInfo(name)
        ti.type = type
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        ti.uname = ti.gname = ""
        ti.mtime = int(self.mtime if mtime is None else mtime)
        ti.linkname = linkname
        ti.size = len(data) if data is not None and type in (tarfile.REGTYPE,
                                                              tarfile.AREGTYPE) else 0
        for k, v in (xattrs or {}).items():
            ti.pax_headers["SCHILY.xattr." + k] = (
                v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else v)
        if type == tarfile.DIRTYPE:
            self._dirs.add(name)
        self.entries.append((ti, data if ti.size else None))
        return self

    def file(self, path, data=b"", mode=0o644, uid=0, gid=0, mtime=None, xattrs=None):
        if isinstance(data, str):
            data = data.encode()
        return self._entry(path, tarfile.REGTYPE, mode, uid, gid, mtime, xattrs, data)

    def dir(self, path, mode=0o755, uid=0, gid=0, mtime=None, xattrs=None):
        return self._entry(path, tarfile.DIRTYPE, mode, uid, gid, mtime, xattrs)

    def symlink(self, path, target, uid=0, gid=0, mtime=None, xattrs=None):
        return self._entry(path, tarfile.SYMTYPE, 0o777, uid, gid, mtime, xattrs,
                           linkname=str(target))

    def hardlink(self, path, target, uid=0, gid=0, mtime=None):
        """A hard link to `target`, a path earlier in this (or a lower) layer."""
        return self._entry(path, tarfile.LNKTYPE, 0o644, uid, gid, mtime, None,
                           linkname=_clean(target))

    def device(self, path, kind, major, minor, mode=0o666, uid=0, gid=0, mtime=None):
        """kind 'c' (character) or 'b' (block)."""
        types = {"c": tarfile.CHRTYPE, "b": tarfile.BLKTYPE}
        if kind not in types:
            raise ValueError(f"device kind {kind!r}: use 'c' or 'b'")
        self._entry(path, types[kind], mode, uid, gid, mtime, None)
        self.entries[-1][0].devmajor, self.entries[-1][0].devminor = major, minor
        return self

    def fifo(self, path, mode=0o644, uid=0, gid=0, mtime=None):
        return self._entry(path, tarfile.FIFOTYPE, mode, uid, gid, mtime, None)

    def whiteout(self, path, mtime=None):
        """Deletes `path` (file or directory) of lower layers: DIR/.wh.NAME."""
        p = _clean(path)
        head, _, name = p.rpartition("/")
        return self.file(f"{head}/.wh.{name}" if head else f".wh.{name}", b"", mode=0o644,
                         mtime=mtime)

    def opaque(self, dir, mode=0o755, mtime=None):
        """Hides everything lower layers put in `dir`: DIR/ then DIR/.wh..wh..opq (entries for
        DIR added after this call are the new contents)."""
        d = _clean(dir)
        if d not in self._dirs:
            self.dir(d, mode=mode, mtime=mtime)
        return self.file(f"{d}/.wh..wh..opq", b"", mtime=mtime)

    def xattr(self, path, name, value):
        """Adds an extended attribute to the last entry named `path`."""
        p = _clean(path)
        for ti, _ in reversed(self.entries):
            if ti.name == p:
                ti.pax_headers["SCHILY.xattr." + name] = (
                    value.decode("utf-8", "surrogateescape") if isinstance(value, bytes)
                    else value)
                return self
        raise KeyError(f"xattr: no entry {path!r} in this layer")

    def raw(self, entry, data=None, type=tarfile.REGTYPE, linkname="", mode=0o644, uid=0,
            gid=0, mtime=None, xattrs=None):
        """An entry taken as given, for hostile layers: a TarInfo (used as is), or a name
        (kept verbatim: '../x', '/abs', 'a/../../b') with the other fields."""
        if isinstance(entry, tarfile.TarInfo):
            if self._built is not None:
                raise RuntimeError("layer already built; make a new Layer")
            if data is not None:
                entry.size = len(data)
            self.entries.append((entry, data))
            return self
        if isinstance(data, str):
            data = data.encode()
        return self._entry(entry, type, mode, uid, gid, mtime, xattrs, data, linkname,
                           clean=False)

    def tree(self, src, dest="", uid=None, gid=None):
        """Adds a host directory's contents under `dest` (sorted; modes and link targets kept;
        owners kept unless uid/gid given; mtimes set to the layer's)."""
        src = Path(src)
        inodes = {}
        for path in sorted(src.rglob("*")):
            rel = path.relative_to(src).as_posix()
            name = f"{_clean(dest)}/{rel}" if dest.strip("/") else rel
            st = path.lstat()
            u = st.st_uid if uid is None else uid
            g = st.st_gid if gid is None else gid
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                self.symlink(name, os.readlink(path), u, g)
            elif stat.S_ISDIR(st.st_mode):
                self.dir(name, mode, u, g)
            elif stat.S_ISREG(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in inodes:
                    self.hardlink(name, inodes[key])
                else:
                    inodes[key] = name
                    self.file(name, path.read_bytes(), mode, u, g)
            elif stat.S_ISFIFO(st.st_mode):
                self.fifo(name, mode, u, g)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                self.device(name, "c" if stat.S_ISCHR(st.st_mode) else "b",
                            os.major(st.st_rdev), os.minor(st.st_rdev), mode, u, g)
        return self

    # -- results (the first use freezes the layer)

    def _build(self):
        if self._built is None:
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
                for ti, data in self.entries:
                    t.addfile(ti, io.BytesIO(data) if data else None)
            tar = buf.getvalue()
            blob = compress(tar, self.compression, self.level)
            self._built = (tar, blob, sha256(tar), sha256(blob))
        return self._built

    @property
    def tar(self):
        """The uncompressed tar."""
        return self._build()[0]

    @property
    def blob(self):
        """The tar as stored in the registry (compressed per `compression`)."""
        return self._build()[1]

    @property
    def diff_id(self):
        return self._build()[2]

    @property
    def digest(self):
        return self._build()[3]

    @property
    def size(self):
        return len(self.blob)

    def media_type(self, docker=False):
        if not docker:
            return OCI_LAYER[self.compression]
        if self.compression not in DOCKER_LAYER:
            raise ValueError(f"Docker schema 2 has no {self.compression} layer type; "
                             f"use docker=False (OCI)")
        return DOCKER_LAYER[self.compression]


# ---------------------------------------------------------------------------------------------
# images and indexes

def _layout_write(dir, blobs, descriptor, tag):
    """Adds blobs and a tagged descriptor to the OCI layout in dir (index.json is merged: an
    entry with the same tag is replaced)."""
    dir = Path(dir)
    (dir / "blobs/sha256").mkdir(parents=True, exist_ok=True)
    for digest, data in blobs.items():
        p = dir / "blobs/sha256" / digest.split(":", 1)[1]
        if not p.exists():
            p.write_bytes(data)
    (dir / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    index_path = dir / "index.json"
    index = (json.loads(index_path.read_text()) if index_path.exists()
             else {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
    desc = dict(descriptor)
    if tag is not None:
        desc["annotations"] = {**desc.get("annotations", {}), REF_NAME: tag}
        index["manifests"] = [m for m in index["manifests"]
                              if m.get("annotations", {}).get(REF_NAME) != tag]
    index["manifests"].append(desc)
    index_path.write_bytes(canonical_json(index))
    return dir


def _tar_bytes(members):
    """A deterministic tar of {name: bytes} in the given order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime, ti.uname, ti.gname = len(data), 0o644, DEFAULT_MTIME, "", ""
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


class _Pushable:
    """write_layout / oci archive / push, shared by Image and Index."""

    def write_layout(self, dir, tag="latest"):
        """Writes (or adds to) an OCI image layout at dir, tagged `tag`; returns the dir."""
        return _layout_write(dir, self.blobs(), self.descriptor(), tag)

    def write_oci_archive(self, path, tag="latest"):
        """An oci-archive tarball (the layout in a tar) at path."""
        members = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')]
        desc = self.descriptor()
        desc["annotations"] = {**desc.get("annotations", {}), REF_NAME: tag}
        members.append(("index.json", canonical_json(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [desc]})))
        members += [("blobs/sha256/" + d.split(":", 1)[1], b) for d, b in self.blobs().items()]
        Path(path).write_bytes(_tar_bytes(members))
        return Path(path)

    def write_dir(self, dir):
        """skopeo's dir: transport layout (manifest.json, blobs by hex digest, an index's
        images as HEX.manifest.json): the way to hand skopeo Docker media types, which its
        oci: transport does not take."""
        dir = Path(dir)
        dir.mkdir(parents=True, exist_ok=True)
        (dir / "version").write_text("Directory Transport Version: 1.1\n")
        for digest, data in self.blobs().items():
            (dir / digest.split(":", 1)[1]).write_bytes(data)
        (dir / "manifest.json").write_bytes(self.manifest_bytes)
        for img in getattr(self, "images", ()):
            (dir / (img.digest.split(":", 1)[1] + ".manifest.json")).write_bytes(
                img.manifest_bytes)
        return dir

    def _push(self, registry, repo, tag, creds, anonymous, check):
        tmp = Path(tempfile.mkdtemp(prefix="berth-layout-", dir="/tmp"))
        try:
            if self.docker:
                src = f"dir:{self.write_dir(tmp / 'layout')}"
            else:
                src = f"oci:{self.write_layout(tmp / 'layout', tag)}:{tag}"
            digestfile = tmp / "digest"
            r = registry.skopeo_copy(src, registry.docker_ref(repo, tag),
                                     creds=creds, anonymous=anonymous,
                                     all=isinstance(self, Index), preserve_digests=True,
                                     extra=["--digestfile", digestfile], check=check)
            pushed = digestfile.read_text().strip() if digestfile.exists() else None
            return r, pushed
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def push(self, registry, repo, tag="latest", creds=None, anonymous=False):
        """Pushes with skopeo (oci:LAYOUT:TAG, or dir:DIR when docker=True, to
        docker://HOST/REPO:TAG with --preserve-digests, --all for an index); creds default
        to the registry's own. Returns the digest, which must be this object's (raises
        AssertionError otherwise, or SkopeoError when skopeo fails)."""
        _, pushed = self._push(registry, repo, tag, creds, anonymous, True)
        if pushed != self.digest:
            raise AssertionError(f"skopeo pushed {repo}:{tag} as {pushed}, built {self.digest}")
        return pushed

    def try_push(self, registry, repo, tag="latest", creds=None, anonymous=False):
        """As push, but returns skopeo's Result whatever happened (for refusals)."""
        return self._push(registry, repo, tag, creds, anonymous, False)[0]


class Image(_Pushable):
    """An image: layers, a config and a manifest, all computed at construction.

    config: merged into the config's "config" (Env defaults to a PATH; Cmd, Entrypoint,
    WorkingDir, User, ExposedPorts, Volumes, StopSignal, Healthcheck...). labels go to
    config.Labels. history: a list of history entries (default: one per layer). docker=True
    makes a Docker schema 2 manifest and media types. raw_config (dict or bytes) replaces the
    whole config blob (for configs that lie: wrong diff_ids, bad JSON)."""

    def __init__(self, layers, config=None, arch="amd64", os="linux", variant=None,
                 labels=None, history=None, docker=False, created=DEFAULT_CREATED,
                 annotations=None, raw_config=None):
        self.layers = list(layers)
        self.arch, self.os, self.variant, self.docker = arch, os, variant, docker
        self.annotations = annotations
        cfg = {"Env": [PATH_ENV]}
        cfg.update(config or {})
        if labels:
            cfg["Labels"] = {**cfg.get("Labels", {}), **labels}
        if history is None:
            history = [{"created": created, "created_by": f"berth-test layer {i}"}
                       for i in range(len(self.layers))]
        self.config = {"created": created, "architecture": arch, "os": os}
        if variant:
            self.config["variant"] = variant
        self.config["config"] = cfg
        self.config["rootfs"] = {"type": "layers", "diff_ids": [l.diff_id for l in self.layers]}
        self.config["history"] = history
        if raw_config is not None:
            self.config_bytes = (raw_config if isinstance(raw_config, bytes)
                                 else canonical_json(raw_config))
        else:
            self.config_bytes = canonical_json(self.config)
        self.config_digest = sha256(self.config_bytes)
        self.media_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
        manifest = {"schemaVersion": 2, "mediaType": self.media_type,
                    "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
                               "digest": self.config_digest, "size": len(self.config_bytes)},
                    "layers": [{"mediaType": l.media_type(docker), "digest": l.digest,
                                "size": l.size} for l in self.layers]}
        if annotations:
            manifest["annotations"] = dict(annotations)
        self.manifest = manifest
        self.manifest_bytes = canonical_json(manifest)
        self.digest = sha256(self.manifest_bytes)

    @property
    def diff_ids(self):
        return [l.diff_id for l in self.layers]

    @property
    def layer_digests(self):
        return [l.digest for l in self.layers]

    @property
    def platform(self):
        p = {"architecture": self.arch, "os": self.os}
        if self.variant:
            p["variant"] = self.variant
        return p

    def descriptor(self):
        return {"mediaType": self.media_type, "digest": self.digest,
                "size": len(self.manifest_bytes), "platform": self.platform}

    def blobs(self):
        """{digest: bytes} of every blob: layers, config, manifest."""
        b = {l.digest: l.blob for l in self.layers}
        b[self.config_digest] = self.config_bytes
        b[self.digest] = self.manifest_bytes
        return b

    def write_docker_archive(self, path, repo_tags=("berth-test:latest",)):
        """A `docker save` tarball (manifest.json, CONFIG.json, DIFFID/layer.tar with the
        uncompressed tars, repositories)."""
        cfg_name = self.config_digest.split(":", 1)[1] + ".json"
        members = [(cfg_name, self.config_bytes)]
        layer_names = []
        for l in self.layers:
            name = l.diff_id.split(":", 1)[1] + "/layer.tar"
            if name not in layer_names:
                members.append((name, l.tar))
            layer_names.append(name)
        members.append(("manifest.json", canonical_json(
            [{"Config": cfg_name, "RepoTags": list(repo_tags), "Layers": layer_names}])))
        repos = {}
        for rt in repo_tags:
            name, _, tag = rt.rpartition(":")
            repos.setdefault(name, {})[tag] = layer_names[-1].split("/")[0]
        members.append(("repositories", canonical_json(repos)))
        Path(path).write_bytes(_tar_bytes(members))
        return Path(path)

    def flatten(self):
        """The rootfs the layers make, applied in order with whiteouts and opaque dirs:
        {path: Entry}, paths relative to / without a leading '/'. A hard link appears as a copy
        of its target's Entry with the same `inode` number (compare_rootfs checks they share
        an inode on disk); replacing the target later breaks the pair, as on a real unpack."""
        state = {}
        inode = 0
        for layer in self.layers:
            added = set()
            for ti, data in layer.entries:
                name = _tar_name(ti.name)
                if name is None:
                    continue
                head, _, base = name.rpartition("/")
                if base == ".wh..wh..opq":
                    for p in [p for p in state if head == "" or p.startswith(head + "/")]:
                        if p not in added:
                            del state[p]
                    continue
                if base.startswith(".wh."):
                    gone = f"{head}/{base[4:]}" if head else base[4:]
                    for p in [p for p in state if p == gone or p.startswith(gone + "/")]:
                        del state[p]
                    continue
                if ti.type == tarfile.LNKTYPE:
                    target = state.get(_tar_name(ti.linkname) or "")
                    if target is None:
                        continue
                    e = target
                else:
                    inode += 1
                    e = Entry.of(ti, data, inode)
                old = state.get(name)
                if old is not None and not (old.type == "dir" and e.type == "dir"):
                    for p in [p for p in state if p.startswith(name + "/")]:
                        del state[p]
                state[name] = e
                added.add(name)
        return state


def _tar_name(name):
    name = name.lstrip("/")
    while name.startswith("./"):
        name = name[2:]
    name = name.rstrip("/")
    return None if not name or ".." in name.split("/") else name


class Index(_Pushable):
    """A multi-platform index of images (each image's platform goes in its descriptor).
    docker=True makes a Docker manifest list (its images should be docker=True too)."""

    def __init__(self, images, docker=False, annotations=None):
        self.images = list(images)
        self.docker = docker
        self.media_type = DOCKER_LIST if docker else OCI_INDEX
        index = {"schemaVersion": 2, "mediaType": self.media_type,
                 "manifests": [i.descriptor() for i in self.images]}
        if annotations:
            index["annotations"] = dict(annotations)
        self.manifest = index
        self.manifest_bytes = canonical_json(index)
        self.digest = sha256(self.manifest_bytes)

    def descriptor(self):
        return {"mediaType": self.media_type, "digest": self.digest,
                "size": len(self.manifest_bytes)}

    def blobs(self):
        b = {}
        for i in self.images:
            b.update(i.blobs())
        b[self.digest] = self.manifest_bytes
        return b

    def image_for(self, arch, variant=None, os="linux"):
        for i in self.images:
            if i.arch == arch and i.os == os and (variant is None or i.variant == variant):
                return i
        raise KeyError(f"no {os}/{arch}{'/' + variant if variant else ''} in this index")


# ---------------------------------------------------------------------------------------------
# checking an unpacked rootfs

_TYPES = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "dir",
          tarfile.SYMTYPE: "symlink", tarfile.CHRTYPE: "char",
          tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo"}


class Entry(NamedTuple):
    type: str  # file dir symlink char block fifo
    mode: int
    uid: int
    gid: int
    mtime: int
    data: bytes = b""
    linkname: str = ""  # a symlink's target
    major: int = 0
    minor: int = 0
    xattrs: dict = {}
    inode: int = 0  # equal for paths that must be hard links of each other

    @classmethod
    def of(cls, ti, data, inode=0):
        xattrs = {k[len("SCHILY.xattr."):]: v.encode("utf-8", "surrogateescape")
                  for k, v in ti.pax_headers.items() if k.startswith("SCHILY.xattr.")}
        return cls(_TYPES.get(ti.type, "other"), ti.mode & 0o7777, ti.uid, ti.gid,
                   int(ti.mtime), data or b"", ti.linkname, ti.devmajor, ti.devminor, xattrs,
                   inode)


def compare_rootfs(rootfs, expected, check_mtime=False, check_owner=True, check_xattrs=True,
                   ignore=()):
    """Differences between an unpacked rootfs and Image.flatten()'s `expected`, as a list of
    strings (empty: the same). Paths in `ignore` (and everything under them) are skipped;
    directories' mtimes are never compared (unpacking children changes them)."""
    rootfs = Path(rootfs)
    problems = []
    links = {}

    def ignored(p):
        return any(p == i or p.startswith(i.rstrip("/") + "/") for i in ignore)

    kinds = {"file": stat.S_ISREG, "dir": stat.S_ISDIR, "symlink": stat.S_ISLNK,
             "char": stat.S_ISCHR, "block": stat.S_ISBLK, "fifo": stat.S_ISFIFO}
    for path, e in sorted(expected.items()):
        if ignored(path):
            continue
        full = rootfs / path
        try:
            st = full.lstat()
        except FileNotFoundError:
            problems.append(f"/{path}: missing ({e.type})")
            continue
        if e.type == "file":
            links.setdefault(e.inode, []).append((path, (st.st_dev, st.st_ino)))
        if not kinds.get(e.type, lambda m: False)(st.st_mode):
            problems.append(f"/{path}: not a {e.type} (mode {st.st_mode:o})")
            continue
        if e.type != "symlink" and stat.S_IMODE(st.st_mode) != e.mode:
            problems.append(f"/{path}: mode {stat.S_IMODE(st.st_mode):o}, want {e.mode:o}")
        if check_owner and (st.st_uid, st.st_gid) != (e.uid, e.gid):
            problems.append(f"/{path}: owner {st.st_uid}:{st.st_gid}, want {e.uid}:{e.gid}")
        if check_mtime and e.type not in ("dir", "symlink") and int(st.st_mtime) != e.mtime:
            problems.append(f"/{path}: mtime {int(st.st_mtime)}, want {e.mtime}")
        if e.type == "file" and full.read_bytes() != e.data:
            problems.append(f"/{path}: contents differ")
        if e.type == "symlink" and os.readlink(full) != e.linkname:
            problems.append(f"/{path}: links to {os.readlink(full)!r}, want {e.linkname!r}")
        if e.type in ("char", "block") and (os.major(st.st_rdev), os.minor(st.st_rdev)) != (
                e.major, e.minor):
            problems.append(f"/{path}: device {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}, "
                            f"want {e.major}:{e.minor}")
        if check_xattrs and e.type != "symlink":
            for k, v in e.xattrs.items():
                try:
                    got = os.getxattr(full, k, follow_symlinks=False)
                except OSError as err:
                    got = f"<{err.strerror}>"
                if got != v:
                    problems.append(f"/{path}: xattr {k}={got!r}, want {v!r}")
    for group in links.values():
        if len({ino for _, ino in group}) > 1:
            problems.append("not hard links of each other: " +
                            ", ".join("/" + p for p, _ in group))
    for dirpath, dirnames, filenames in os.walk(rootfs):
        for n in dirnames + filenames:
            rel = os.path.relpath(os.path.join(dirpath, n), rootfs)
            if rel not in expected and not ignored(rel):
                problems.append(f"/{rel}: not in the image")
    return problems


# ---------------------------------------------------------------------------------------------
# ready-made images

_cache = {}

BUSYBOX_PASSWD = (b"root:x:0:0:root:/root:/bin/sh\n"
                  b"daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
                  b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                  b"berth:x:1000:1000:berth test user:/home/berth:/bin/sh\n")
BUSYBOX_GROUP = (b"root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\nberth:x:1000:\n")


def busybox_layer(compression="gzip"):
    """/bin/busybox from the host, applet links to it, /etc/passwd, group, hostname; the usual
    top-level dirs. Built once per compression (cached)."""
    if compression in _cache:
        return _cache[compression]
    if not os.path.exists("/bin/busybox"):
        raise RuntimeError("/bin/busybox is missing (apt-get install busybox-static)")
    l = Layer(compression)
    for d in ("bin", "dev", "etc", "home", "proc", "root", "run", "sys", "usr", "var"):
        l.dir(d, mode=0o700 if d == "root" else 0o755)
    l.dir("tmp", mode=0o1777)
    l.file("bin/busybox", Path("/bin/busybox").read_bytes(), mode=0o755)
    for applet in sorted(set(BUSYBOX_APPLETS) | {"sh", "ls", "cat", "echo", "true", "env"}):
        l.symlink(f"bin/{applet}", "busybox")
    l.file("etc/passwd", BUSYBOX_PASSWD)
    l.file("etc/group", BUSYBOX_GROUP)
    l.file("etc/hostname", b"berth-test\n")
    l.dir("home/berth", uid=1000, gid=1000)
    _cache[compression] = l
    return l


def busybox_image(arch="amd64", variant=None, compression="gzip", docker=False, config=None,
                  labels=None):
    """A one-layer busybox image, Cmd ["sh"]. (The binary is the host's whatever `arch` says.)"""
    cfg = {"Cmd": ["sh"], **(config or {})}
    return Image([busybox_layer(compression)], config=cfg, arch=arch, variant=variant,
                 docker=docker, labels=labels)


MULTIARCH = (("amd64", None), ("arm64", "v8"), ("arm", "v7"))


def arch_image(arch, variant=None, compression="gzip", docker=False):
    """busybox plus a layer with /arch holding "ARCH[/VARIANT]\\n", so a test can tell which
    platform was pulled; platform and config say the same."""
    tag = arch + (f"/{variant}" if variant else "")
    marker = Layer(compression).file("arch", tag + "\n")
    return Image([busybox_layer(compression), marker], config={"Cmd": ["sh"]}, arch=arch,
                 variant=variant, docker=docker, labels={"berth.test.arch": tag})


def multiarch_index(platforms=MULTIARCH, compression="gzip", docker=False):
    """An index of arch_image()s: linux/amd64, linux/arm64/v8, linux/arm/v7 by default."""
    return Index([arch_image(a, v, compression, docker) for a, v in platforms], docker=docker)


def multilayer_image(compression="gzip", docker=False):
    """busybox, then a layer of every entry kind (dirs with odd modes and owners, symlinks,
    hard link, char device, fifo, xattrs, setuid/setgid files, sticky dir), then a layer that
    whites out a file and a directory, makes a dir opaque and re-populates it, replaces a file
    and turns a file into a directory. Check an unpacked rootfs with compare_rootfs(rootfs,
    img.flatten())."""
    l2 = Layer(compression, mtime=DEFAULT_MTIME + 100)
    l2.dir("data", mode=0o755)
    l2.file("data/hello.txt", b"hello from layer 2\n")
    l2.dir("data/sub", mode=0o750, uid=1000, gid=1000)
    l2.file("data/sub/nested.txt", b"nested\n", mode=0o600, uid=1000, gid=1000)
    l2.symlink("data/link", "hello.txt")
    l2.symlink("data/abslink", "/data/hello.txt")
    l2.symlink("data/dangling", "/nonexistent/target")
    l2.hardlink("data/hard", "data/hello.txt")
    l2.device("data/null", "c", 1, 3, mode=0o666)
    l2.fifo("data/fifo", mode=0o600)
    l2.file("data/xattr.txt", b"xattrs\n", xattrs={"user.berth": "layer2",
                                                     "user.berth.bin": b"\x00\x01bin\xff"})
    l2.file("data/suid", b"#!/bin/sh\necho suid\n", mode=0o4755)
    l2.file("data/sgid", b"#!/bin/sh\necho sgid\n", mode=0o2755, gid=1000)
    l2.dir("data/sticky", mode=0o1777)
    l2.file("data/old-mtime.txt", b"old\n", mtime=1_000_000_000)
    l2.file("data/empty", b"")
    l2.file("data/gone.txt", b"removed by layer 3\n")
    l2.dir("data/gonedir")
    l2.file("data/gonedir/a.txt", b"a\n")
    l2.dir("data/gonedir/deeper")
    l2.file("data/gonedir/deeper/b.txt", b"b\n")
    l2.dir("data/opq")
    l2.file("data/opq/lower1.txt", b"hidden by opaque\n")
    l2.dir("data/opq/lowerdir")
    l2.file("data/opq/lowerdir/x.txt", b"hidden too\n")
    l2.file("data/becomes-dir", b"a file in layer 2\n")
    l2.file("data/" + "long-name-" * 12 + ".txt", b"a name longer than 100 bytes\n")

    l3 = Layer(compression, mtime=DEFAULT_MTIME + 200)
    l3.dir("data")
    l3.whiteout("data/gone.txt")
    l3.whiteout("data/gonedir")
    l3.opaque("data/opq")
    l3.file("data/opq/upper.txt", b"re-populated\n")
    l3.file("data/hello.txt", b"hello from layer 3\n")
    l3.dir("data/becomes-dir", mode=0o711)
    l3.file("data/becomes-dir/inside", b"inside\n")
    l3.file("etc/motd", b"multilayer\n")

    return Image([busybox_layer(compression), l2, l3],
                 config={"Cmd": ["sh"], "WorkingDir": "/data", "User": "0:0"},
                 docker=docker, labels={"berth.test": "multilayer"})


def big_image(total_mb=200, layers=4, seed=1, compression="gzip", file_mb=16):
    """Incompressible pseudo-random data (seeded, so digests are stable) in `layers` layers of
    total_mb/layers MB each, split into files of file_mb MB. For bench/: about 6 s to build
    200 MB. gzip runs at level 0: on random data any level ends in stored blocks anyway."""
    rng = random.Random(seed)
    per_layer = (total_mb << 20) // layers
    ls = []
    for i in range(layers):
        l = Layer(compression, level=0 if compression == "gzip" else None)
        left, n = per_layer, 0
        while left > 0:
            size = min(left, file_mb << 20)
            l.file(f"big/layer{i}/chunk{n:03d}.bin", rng.randbytes(size))
            left -= size
            n += 1
        ls.append(l)
    return Image([busybox_layer(compression)] + ls, config={"Cmd": ["sh"]},
                 labels={"berth.test": f"big-{total_mb}mb"})


class HostileCase(NamedTuple):
    """One image whose only layer tries to write outside the rootfs. A correct engine refuses
    the layer or keeps everything inside; violations(rootfs) says whether anything got out."""
    name: str
    image: Image
    why: str
    host_paths: tuple  # must not exist afterwards; '{rootfs}' stands for the unpack dir
    bait: tuple = ()  # files an escape would link to; prepare(rootfs) makes them

    def _paths(self, rootfs, which=None):
        out = []
        for p in (self.host_paths if which is None else which):
            if "{rootfs}" in p:
                if rootfs is None:
                    continue
                p = os.path.normpath(p.replace("{rootfs}", str(rootfs)))
            out.append(p)
        return out

    def violations(self, rootfs=None):
        """What escaped: host paths that appeared, and files in rootfs hard-linked to a file
        outside it. An empty list means the engine held."""
        found = [f"{p} was created" for p in self._paths(rootfs) if os.path.lexists(p)]
        if rootfs is not None:
            found += hardlinks_leaving(rootfs)
        return found

    def prepare(self, rootfs):
        """Creates the bait files (beside `rootfs`) so that a link escape has a target."""
        for p in self._paths(rootfs, self.bait):
            Path(p).write_text("bait outside the rootfs\n")

    def cleanup(self, rootfs=None):
        """Removes whatever escaped, and the bait."""
        for p in self._paths(rootfs) + self._paths(rootfs, self.bait):
            if os.path.lexists(p) and not os.path.isdir(p):
                os.unlink(p)


def hardlinks_leaving(rootfs):
    """Files in rootfs with more links than rootfs itself holds: linked to something outside."""
    counts, nlink, where = {}, {}, {}
    for dirpath, dirnames, filenames in os.walk(rootfs):
        for n in filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode) or st.st_nlink < 2:
                continue
            key = (st.st_dev, st.st_ino)
            counts[key] = counts.get(key, 0) + 1
            nlink[key] = st.st_nlink
            where[key] = p
    return [f"{where[k]} shares its inode with a file outside the rootfs"
            for k in counts if counts[k] < nlink[k]]


def hostile_layer_images(marker=None, compression="gzip"):
    """{name: HostileCase}. Every escape targets a file named `marker` (default: a fresh
    berth-hostile-XXXXXXXX), in /tmp or beside the rootfs, so nothing real is overwritten:
      dotdot          '../MARKER'
      dotdot_inner    'a/../../MARKER' (clean-looking prefix)
      absolute        '/tmp/MARKER' (a correct engine writes ROOTFS/tmp/MARKER or refuses)
      symlink_root    'escape' -> '/', then 'escape/tmp/MARKER'
      symlink_up      'up' -> '../../..' (32 levels), then 'up/tmp/MARKER'
      symlink_file    'f' -> '/tmp/MARKER', then a regular file 'f' written through it
      hardlink_abs    'passwd' hard link to '/etc/passwd'
      hardlink_dotdot 'out' hard link to '../MARKER-outside' (case.prepare(rootfs) puts
                      that file beside the rootfs, to make the attempt real)"""
    m = marker or f"berth-hostile-{uuid.uuid4().hex[:8]}"
    up = "/".join([".."] * 32)
    cases = {}

    def case(name, why, host_paths, build, bait=()):
        l = Layer(compression, parents=False)
        build(l)
        cases[name] = HostileCase(name, Image([l], config={"Cmd": ["sh"]},
                                              labels={"berth.test.hostile": name}),
                                  why, tuple(host_paths), tuple(bait))

    case("dotdot", "a name with '..' leaving the rootfs", ["{rootfs}/../" + m],
         lambda l: l.raw("../" + m, b"escaped\n"))
    case("dotdot_inner", "a name whose '..' components climb past the root",
         ["{rootfs}/../" + m],
         lambda l: l.raw("a/", type=tarfile.DIRTYPE, mode=0o755).raw(f"a/../../{m}",
                                                                       b"escaped\n"))
    case("absolute", "an absolute name", ["/tmp/" + m],
         lambda l: l.raw("/tmp/" + m, b"escaped\n"))
    case("symlink_root", "a symlink to / then a file written through it", ["/tmp/" + m],
         lambda l: l.raw("escape", type=tarfile.SYMTYPE, linkname="/", mode=0o777)
         .raw(f"escape/tmp/{m}", b"escaped\n"))
    case("symlink_up", "a relative symlink climbing out, then a file through it",
         ["/tmp/" + m],
         lambda l: l.raw("up", type=tarfile.SYMTYPE, linkname=up, mode=0o777)
         .raw(f"up/tmp/{m}", b"escaped\n"))
    case("symlink_file", "a symlink to a host file, then a regular file of the same name",
         ["/tmp/" + m],
         lambda l: l.raw("f", type=tarfile.SYMTYPE, linkname="/tmp/" + m, mode=0o777)
         .raw("f", b"escaped\n"))
    case("hardlink_abs", "a hard link to the host's /etc/passwd", [],
         lambda l: l.raw("passwd", type=tarfile.LNKTYPE, linkname="/etc/passwd"))
    case("hardlink_dotdot", "a hard link to a file beside the rootfs", [],
         lambda l: l.raw("out", type=tarfile.LNKTYPE, linkname=f"../{m}-outside"),
         bait=["{rootfs}/../" + m + "-outside"])
    return cases
