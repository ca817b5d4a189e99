"""Local registries for the image tests: Debian's docker-registry (distribution 2.8) on
127.0.0.1, one per test, in four modes: plain, basic (htpasswd), token (with tokenissuer.py) and
tls (a CA made here; combinable with basic or token). Plus skopeo wrappers that know each
registry's flags, and a urllib client that does the registry's auth dance, for assertions.

    with Registry("token") as reg:
        busybox_image().push(reg, "app", "1")
        reg.get_manifest("app", "1")
"""

import atexit
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import NamedTuple

import pytest

from helpers import Result
from tokenissuer import TokenIssuer, make_ca, make_server_cert

REGISTRY_BIN = "/usr/bin/docker-registry"
SKOPEO_TIMEOUT = 120

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)

TOOLS = {"docker-registry": "docker-registry", "skopeo": "skopeo", "htpasswd": "apache2-utils",
         "openssl": "openssl", "zstd": "zstd"}


def require_tools(*names):
    """Fails the test (or skips it, unless BERTH_STRICT=1) when a tool is missing, naming the
    Debian package that brings it."""
    missing = [n for n in names if not shutil.which(n)]
    if not missing:
        return
    msg = "missing tools: " + ", ".join(
        f"{n} (apt-get install {TOOLS.get(n, n)})" for n in missing)
    if os.environ.get("BERTH_STRICT") == "1":
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


class SkopeoError(AssertionError):
    def __init__(self, argv, result):
        super().__init__(f"{' '.join(argv)} failed: {result}")
        self.result = result


class Response(NamedTuple):
    status: int
    headers: dict  # lower-cased names
    body: bytes

    def json(self):
        return json.loads(self.body)


_scratch = []


def _skopeo_env():
    """An environment that keeps the host's registries.conf and auth files out of skopeo."""
    if not _scratch:
        d = tempfile.mkdtemp(prefix="berth-skopeo-", dir="/tmp")
        Path(d, "registries.conf").write_text("")
        _scratch.append(d)
        atexit.register(shutil.rmtree, d, True)
    d = _scratch[0]
    env = dict(os.environ)
    env.update(CONTAINERS_REGISTRIES_CONF=f"{d}/registries.conf",
               REGISTRY_AUTH_FILE=f"{d}/auth.json", XDG_RUNTIME_DIR=d, HOME=d)
    return env


def skopeo(*args, check=True, timeout=SKOPEO_TIMEOUT):
    """Runs `skopeo --insecure-policy ARGS`; returns (Result, stdout bytes)."""
    argv = ["skopeo", "--insecure-policy", *map(str, args)]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                       env=_skopeo_env())
    r = Result(p.returncode, p.stdout.decode(errors="replace"),
               p.stderr.decode(errors="replace"))
    if check and r.rc != 0:
        raise SkopeoError(argv, r)
    return r, p.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _challenge(header):
    """('bearer'|'basic', {param: value}) from a WWW-Authenticate header."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(re.findall(r'(\w+)="([^"]*)"', rest))


_live = set()


@atexit.register
def _stop_leftovers():
    for reg in list(_live):
        reg.stop()


class Registry:
    """A docker-registry process. mode: 'plain', 'basic', 'token' or 'tls' (plain over https);
    tls=True adds https to basic or token. `user`/`password` are the one account (htpasswd in
    basic mode, the issuer's user in token mode). In token mode an issuer is made and started
    unless one is given (`issuer=`); `anonymous_pull` is passed to the one made here.
    delete=True enables storage.delete. `dir`: where config, storage, certs and log go (made
    under /tmp and removed on stop unless given or BERTH_KEEP is set)."""

    def __init__(self, mode="plain", user="berth", password="berth-secret", tls=None,
                 delete=False, anonymous_pull=False, issuer=None, dir=None, start_timeout=20):
        if mode not in ("plain", "basic", "token", "tls"):
            raise ValueError(f"registry mode {mode!r}: use plain, basic, token or tls")
        self.mode = mode
        self.auth = {"plain": None, "tls": None}.get(mode, mode)
        self.tls = mode == "tls" or bool(tls)
        self.user = user if self.auth else None
        self.password = password if self.auth else None
        self.delete = delete
        self.anonymous_pull = anonymous_pull
        self.issuer = issuer
        self._own_issuer = issuer is None
        self._own_dir = dir is None
        self.dir = Path(dir) if dir else None
        self.start_timeout = start_timeout
        self.proc = None
        self.port = None
        self.ca_cert = None

    # -- identity

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def url(self):
        return f"{self.scheme}://{self.host}"

    @property
    def creds(self):
        """'user:password', or None for a registry without auth."""
        return f"{self.user}:{self.password}" if self.auth else None

    def image_ref(self, repo, tag="latest"):
        """HOST/REPO:TAG, or HOST/REPO@DIGEST when `tag` is a digest: what berth is given."""
        sep = "@" if tag.startswith("sha256:") else ":"
        return f"{self.host}/{repo}{sep}{tag}"

    def docker_ref(self, repo, tag="latest"):
        """The same as a skopeo docker:// reference."""
        return "docker://" + self.image_ref(repo, tag)

    @property
    def storage(self):
        return self.dir / "storage"

    @property
    def log_path(self):
        return self.dir / "registry.log"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    # -- lifecycle

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        if not os.path.exists(REGISTRY_BIN):
            raise RuntimeError(f"{REGISTRY_BIN} is missing (apt-get install docker-registry)")
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="berth-registry-", dir="/tmp"))
        self.dir.mkdir(parents=True, exist_ok=True)
        _live.add(self)
        try:
            self._prepare_auth()
            self._prepare_tls()
            for attempt in range(4):
                self.port = free_port()
                if self._spawn():
                    return self
                if "address already in use" not in self.log_tail():
                    break
            raise RuntimeError(f"docker-registry ({self.mode}) did not start; "
                               f"{self.log_path}:\n{self.log_tail()}")
        except BaseException:
            self.stop()
            raise

    def _prepare_auth(self):
        if self.auth == "basic":
            if not shutil.which("htpasswd"):
                raise RuntimeError("htpasswd is missing (apt-get install apache2-utils)")
            p = subprocess.run(["htpasswd", "-Bbn", self.user, self.password],
                               capture_output=True, text=True, check=True)
            (self.dir / "htpasswd").write_text(p.stdout.strip() + "\n")
        elif self.auth == "token" and self._own_issuer:
            self.issuer = TokenIssuer(users={self.user: self.password},
                                      anonymous_pull=self.anonymous_pull,
                                      dir=self.dir / "issuer").start()

    def _prepare_tls(self):
        if not self.tls:
            return
        pki = self.dir / "pki"
        self.ca_cert, ca_key = make_ca(pki)
        self.server_cert, self.server_key = make_server_cert(pki, self.ca_cert, ca_key)
        # skopeo's cert dir: a lone *.key there would be read as a client key, so only ca.crt.
        self.client_cert_dir = self.dir / "client-certs"
        self.client_cert_dir.mkdir(exist_ok=True)
        shutil.copy(self.ca_cert, self.client_cert_dir / "ca.crt")

    def config(self):
        http = {"addr": self.host, "secret": uuid.uuid4().hex,
                "headers": {"X-Content-Type-Options": ["nosniff"]}}
        if self.tls:
            http["tls"] = {"certificate": str(self.server_cert), "key": str(self.server_key)}
        cfg = {
            "version": "0.1",
            "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
            "storage": {"filesystem": {"rootdirectory": str(self.storage)},
                        "delete": {"enabled": bool(self.delete)},
                        "maintenance": {"uploadpurging": {"enabled": False}}},
            "http": http,
            "health": {"storagedriver": {"enabled": False}},
        }
        if self.auth == "basic":
            cfg["auth"] = {"htpasswd": {"realm": "berth-registry",
                                        "path": str(self.dir / "htpasswd")}}
        elif self.auth == "token":
            cfg["auth"] = {"token": {"realm": self.issuer.realm, "service": self.issuer.service,
                                     "issuer": self.issuer.issuer,
                                     "rootcertbundle": str(self.issuer.cert)}}
        return cfg

    def _spawn(self):
        cfg = self.dir / "config.yml"
        cfg.write_text(json.dumps(self.config(), indent=1))  # JSON is YAML
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(cfg)],
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                st = self._http("GET", self.url + "/v2/", None, {}, 2).status
                if st in (200, 401):
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        self._kill()
        return False

    def _kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def stop(self):
        """Stops the registry (SIGTERM, then SIGKILL after 5 s) and the issuer made for it.
        Safe to call twice."""
        self._kill()
        if self._own_issuer and self.issuer is not None:
            self.issuer.stop()
        _live.discard(self)
        if self._own_dir and self.dir and not os.environ.get("BERTH_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    # -- helpers for tests that drive berth

    def install_ca(self, certs_d):
        """Copies the CA to CERTS_D/HOST/ca.crt (the /etc/docker/certs.d layout); returns it."""
        if not self.tls:
            raise ValueError("install_ca: this registry does not use TLS")
        dest = Path(certs_d) / self.host / "ca.crt"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.ca_cert, dest)
        return dest

    def auth_config(self):
        """A Docker config.json body ({"auths": {HOST: {"auth": ...}}}) with the credentials."""
        if not self.auth:
            return {"auths": {}}
        return {"auths": {self.host: {"auth": base64.b64encode(self.creds.encode()).decode()}}}

    def write_auth_file(self, path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.auth_config()))
        return Path(path)

    # -- skopeo

    def skopeo_flags(self, side="", creds=None, anonymous=False):
        """skopeo flags for this registry; side is 'src-', 'dest-' or '' (inspect)."""
        flags = [f"--{side}tls-verify={'true' if self.tls else 'false'}"]
        if self.tls:
            flags.append(f"--{side}cert-dir={self.client_cert_dir}")
        creds = creds or self.creds
        flags.append(f"--{side}no-creds" if anonymous or not creds else f"--{side}creds={creds}")
        return flags

    def _mine(self, ref):
        return str(ref).startswith(f"docker://{self.host}/")

    def skopeo_copy(self, src, dst, creds=None, anonymous=False, all=False,
                    preserve_digests=True, extra=(), check=True):
        """skopeo copy SRC DST, with this registry's flags on whichever side is a
        docker://HOST/ reference. creds: 'user:password' (default: the registry's own);
        anonymous=True sends none. check=False returns the Result of a failed copy."""
        args = ["copy", "--quiet", "--retry-times=0"]
        if preserve_digests:
            args.append("--preserve-digests")
        if all:
            args.append("--all")
        if self._mine(src):
            args += self.skopeo_flags("src-", creds, anonymous)
        if self._mine(dst):
            args += self.skopeo_flags("dest-", creds, anonymous)
        args += [*extra, src, dst]
        return skopeo(*args, check=check)[0]

    def skopeo_inspect(self, ref, raw=False, config=False, creds=None, anonymous=False):
        """skopeo inspect [--raw] [--config]: raw bytes when raw, else the parsed JSON. `ref`
        is a docker:// reference, or REPO[:TAG], REPO@DIGEST or REPO:DIGEST on this registry.
        Raises SkopeoError."""
        if "://" not in ref:
            if "@" in ref:
                ref = f"docker://{self.host}/{ref}"
            else:
                repo, _, tag = ref.partition(":")
                ref = self.docker_ref(repo, tag or "latest")
        args = ["inspect", *self.skopeo_flags("", creds, anonymous)]
        if raw:
            args.append("--raw")
        if config:
            args.append("--config")
        _, out = skopeo(*args, ref)
        return out if raw and not config else json.loads(out)

    # -- HTTP, with the registry's auth flow

    def ssl_context(self):
        return ssl.create_default_context(cafile=str(self.ca_cert)) if self.tls else None

    def request(self, method, path, body=None, headers=None, creds=None, anonymous=False,
                timeout=30):
        """An HTTP request to the registry (path like /v2/...); answers a 401 challenge once
        (Basic, or Bearer by fetching a token from the realm). creds: 'user:password'
        (default: the registry's own); anonymous=True sends none (a Bearer challenge still gets
        an anonymous token request). Returns Response; never raises for an HTTP status."""
        url = path if "://" in path else self.url + path
        headers = dict(headers or {})
        try:
            r = self._http(method, url, body, headers, timeout)
        except urllib.error.URLError as e:
            # A registry that wants auth may answer 401 and close while a large body is still
            # being sent: learn the challenge with an empty body instead (no side effects on
            # an unauthorized request), then send the real one.
            if body is None or not isinstance(e.reason, (BrokenPipeError, ConnectionResetError)):
                raise
            r = self._http(method, url, b"", headers, timeout)
            if r.status != 401:
                return self._http(method, url, body, headers, timeout)
        if r.status != 401:
            return r
        creds = None if anonymous else (creds or self.creds)
        scheme, params = _challenge(r.headers.get("www-authenticate", ""))
        if scheme == "basic" and creds:
            headers["Authorization"] = "Basic " + base64.b64encode(creds.encode()).decode()
        elif scheme == "bearer":
            token = self.fetch_token(params, creds, timeout)
            if token is None:
                return r
            headers["Authorization"] = "Bearer " + token
        else:
            return r
        return self._http(method, url, body, headers, timeout)

    def fetch_token(self, challenge, creds=None, timeout=30):
        """A token for a Bearer challenge's realm/service/scope; None if refused."""
        q = [("service", challenge.get("service", ""))]
        q += [("scope", s) for s in challenge.get("scope", "").split(" ") if s]
        url = challenge["realm"] + "?" + urllib.parse.urlencode(q)
        hdrs = {}
        if creds:
            hdrs["Authorization"] = "Basic " + base64.b64encode(creds.encode()).decode()
        r = self._http("GET", url, None, hdrs, timeout)
        if r.status != 200:
            return None
        body = r.json()
        return body.get("token") or body.get("access_token")

    def _http(self, method, url, body, headers, timeout):
        req = urllib.request.Request(url, data=body, headers=headers, method=method)
        handlers = [urllib.request.ProxyHandler({})]  # never through a proxy from the env
        if url.startswith("https:"):
            handlers.append(urllib.request.HTTPSHandler(context=self.ssl_context()))
        try:
            with urllib.request.build_opener(*handlers).open(req, timeout=timeout) as resp:
                return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()},
                                resp.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())

    def _ok(self, r, what):
        if r.status >= 300:
            raise AssertionError(f"{what} on {self.host}: HTTP {r.status}: "
                                 f"{r.body[:500].decode(errors='replace')}")
        return r

    def get_manifest(self, repo, ref="latest", accept=MANIFEST_TYPES, **kw):
        """(body bytes, media type, Docker-Content-Digest) of a manifest or index."""
        r = self._ok(self.request("GET", f"/v2/{repo}/manifests/{ref}",
                                  headers={"Accept": ", ".join(accept)}, **kw),
                     f"GET manifest {repo}:{ref}")
        return r.body, r.headers.get("content-type"), r.headers.get("docker-content-digest")

    def get_blob(self, repo, digest, **kw):
        return self._ok(self.request("GET", f"/v2/{repo}/blobs/{digest}", **kw),
                        f"GET blob {repo}@{digest}").body

    def has_blob(self, repo, digest, **kw):
        return self.request("HEAD", f"/v2/{repo}/blobs/{digest}", **kw).status == 200

    def tags(self, repo, **kw):
        return self._ok(self.request("GET", f"/v2/{repo}/tags/list", **kw),
                        f"tags of {repo}").json().get("tags") or []

    def catalog(self, **kw):
        return self._ok(self.request("GET", "/v2/_catalog", **kw),
                        "catalog").json().get("repositories") or []

    def put_blob(self, repo, data, digest=None, **kw):
        """Uploads a blob (POST then PUT ?digest=); `digest` may lie, to test refusals.
        Returns the digest."""
        digest = digest or "sha256:" + hashlib.sha256(data).hexdigest()
        r = self._ok(self.request("POST", f"/v2/{repo}/blobs/uploads/", body=b"", **kw),
                     f"start upload to {repo}")
        loc = urllib.parse.urljoin(self.url + "/", r.headers["location"])
        sep = "&" if "?" in loc else "?"
        self._ok(self.request("PUT", loc + sep + urllib.parse.urlencode({"digest": digest}),
                              body=data, headers={"Content-Type": "application/octet-stream"},
                              **kw), f"upload {digest} to {repo}")
        return digest

    def put_manifest(self, repo, ref, body, media_type, **kw):
        """PUTs a manifest or index as is; returns the digest the registry answers."""
        r = self._ok(self.request("PUT", f"/v2/{repo}/manifests/{ref}", body=body,
                                  headers={"Content-Type": media_type}, **kw),
                     f"PUT manifest {repo}:{ref}")
        return r.headers.get("docker-content-digest")

    def delete_manifest(self, repo, digest, **kw):
        return self.request("DELETE", f"/v2/{repo}/manifests/{digest}", **kw).status
