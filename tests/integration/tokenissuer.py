"""A Docker token server for registry tests (the flow of docs/spec/auth/token.md in distribution):
GET /token?service=..&scope=.. with optional Basic auth answers a JWT signed RS256, whose x5c
header carries a self-signed certificate that the registry trusts as its rootcertbundle.

Keys, certificates and signatures come from the `openssl` CLI, so nothing beyond the stdlib is
needed. The PKI helpers here (make_ca, make_server_cert) also serve registry.py's TLS mode.
"""

import base64
import datetime
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

# Our own openssl config so the host's openssl.cnf (and its default extensions) plays no part.
_OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = berth test
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = @san
authorityKeyIdentifier = keyid
[san]
IP.1 = 127.0.0.1
DNS.1 = localhost
DNS.2 = berth-registry.test
"""


def openssl(*args, input=None):
    """Runs the openssl CLI; raises with its stderr on failure. Returns stdout bytes."""
    if not shutil.which("openssl"):
        raise RuntimeError("openssl is not installed (apt-get install openssl)")
    p = subprocess.run(["openssl", *map(str, args)], input=input, capture_output=True,
                       timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))} failed: "
                           f"{p.stderr.decode(errors='replace')}")
    return p.stdout


def _cnf(dir):
    path = Path(dir) / "openssl.cnf"
    if not path.exists():
        path.write_text(_OPENSSL_CNF)
    return path


def make_ca(dir, name="berth test CA", rsa=False):
    """A self-signed CA in dir: returns (cert_path, key_path). EC P-256 unless rsa (RS256 JWTs
    need an RSA key)."""
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    stem = name.replace(" ", "-")
    key, cert = dir / f"{stem}.key", dir / f"{stem}.crt"
    if rsa:
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key)
    else:
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", key)
    openssl("req", "-x509", "-new", "-key", key, "-out", cert, "-days", "3", "-sha256",
            "-config", _cnf(dir), "-extensions", "v3_ca", "-subj", f"/CN={name}")
    return cert, key


def make_server_cert(dir, ca_cert, ca_key, name="server"):
    """A server certificate for 127.0.0.1, localhost and berth-registry.test (a name tests map
    to 127.0.0.1 in a private /etc/hosts) signed by the CA: (cert, key)."""
    dir = Path(dir)
    key, csr, cert = dir / f"{name}.key", dir / f"{name}.csr", dir / f"{name}.crt"
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
    openssl("req", "-new", "-key", key, "-out", csr, "-config", _cnf(dir),
            "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
            "-out", cert, "-days", "3", "-sha256", "-extfile", _cnf(dir),
            "-extensions", "v3_server")
    return cert, key


def pem_to_der_b64(pem_path):
    """The standard base64 of a PEM certificate's DER: what a JWS x5c entry holds."""
    lines = Path(pem_path).read_text().strip().splitlines()
    body = lines[lines.index("-----BEGIN CERTIFICATE-----") + 1:
                 lines.index("-----END CERTIFICATE-----")]
    return "".join(body)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rfc3339(ts):
    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def parse_scope(scope):
    """'repository:a/b:pull,push' -> ('repository', 'a/b', ['pull', 'push']). The name may
    hold a ':' (a registry host with a port), so type and actions are cut from the ends."""
    typ, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return typ, name, [a for a in actions.split(",") if a]


class TokenIssuer:
    """The token server. `users` maps user -> password. Authenticated users get `user_actions`
    on any repository (and '*' on registry:catalog); anonymous requests get `anonymous_actions`
    (default: pull when anonymous_pull, else nothing: the registry then answers 401).

    Every request is appended to `.requests` as a dict: path, service, scopes (list of str),
    user (None when anonymous), status, granted (the access list put in the token).
    Set `.fail_status` to an HTTP status to make /token answer it (a broken token server).
    """

    def __init__(self, users=None, anonymous_pull=False, service="berth-registry",
                 issuer="berth-token-issuer", expires_in=300, user_actions=("pull", "push",
                 "delete"), anonymous_actions=None, dir=None):
        self.users = dict(users or {})
        self.service = service
        self.issuer = issuer
        self.expires_in = expires_in
        self.user_actions = tuple(user_actions)
        if anonymous_actions is None:
            anonymous_actions = ("pull",) if anonymous_pull else ()
        self.anonymous_actions = tuple(anonymous_actions)
        self.fail_status = None
        self.requests = []
        self._lock = threading.Lock()
        self._own_dir = dir is None
        self.dir = Path(dir or tempfile.mkdtemp(prefix="berth-tokens-", dir="/tmp"))
        self._server = None
        self._thread = None
        self.port = None

    # -- lifecycle

    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cert, self.key = make_ca(self.dir, name="berth token issuer", rsa=True)
        self._x5c = [pem_to_der_b64(self.cert)]
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                issuer._handle(self)

            def log_message(self, fmt, *args):
                with open(issuer.dir / "access.log", "a") as f:
                    f.write("%s %s\n" % (self.address_string(), fmt % args))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=f"token-issuer-{self.port}")
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None
        if self._own_dir and not os.environ.get("BERTH_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def realm(self):
        return f"http://127.0.0.1:{self.port}/token"

    # -- what tests look at

    def requests_of(self, user):
        """The recorded requests made as `user` (None: anonymous ones)."""
        with self._lock:
            return [r for r in self.requests if r["user"] == user]

    def scopes_seen(self):
        with self._lock:
            return sorted({s for r in self.requests for s in r["scopes"]})

    def clear(self):
        with self._lock:
            self.requests.clear()

    # -- tokens

    def sign(self, claims):
        """A compact JWS (RS256) of `claims` with this issuer's certificate in x5c."""
        header = {"typ": "JWT", "alg": "RS256", "x5c": self._x5c}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        # openssl dgst -sign with an RSA key is PKCS#1 v1.5 over SHA-256: what RS256 means.
        sig = openssl("dgst", "-sha256", "-sign", self.key, input=signing_input.encode())
        return signing_input + "." + b64url(sig)

    def make_token(self, sub, access, service=None, expires_in=None, now=None):
        now = int(now if now is not None else time.time())
        exp = expires_in if expires_in is not None else self.expires_in
        claims = {"iss": self.issuer, "sub": sub or "", "aud": service or self.service,
                  "exp": now + exp, "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex,
                  "access": access}
        return self.sign(claims), now

    def _grant(self, user, scopes):
        allowed = self.user_actions if user else self.anonymous_actions
        access = []
        for scope in scopes:
            typ, name, actions = parse_scope(scope)
            if typ == "registry" and name == "catalog":
                granted = ["*"] if user and "*" in actions else []
            else:
                granted = [a for a in actions if a in allowed]
            if typ and name:
                access.append({"type": typ, "name": name, "actions": granted})
        return access

    def _user_of(self, handler):
        """(user or None, ok). Bad credentials are refused outright, as real issuers do."""
        auth = handler.headers.get("Authorization", "")
        if not auth.lower().startswith("basic "):
            return None, True
        try:
            user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except ValueError:
            return None, False
        return user, self.users.get(user) == password and user in self.users

    def _handle(self, handler):
        url = urlsplit(handler.path)
        q = parse_qs(url.query)
        scopes = []
        for s in q.get("scope", []):
            scopes.extend(s.split(" "))  # some clients join several scopes with spaces
        service = (q.get("service") or [""])[0]
        user, ok = self._user_of(handler)
        rec = {"path": url.path, "service": service, "scopes": scopes, "user": user,
               "status": None, "granted": []}

        def answer(status, body, extra=()):
            rec["status"] = status
            with self._lock:
                self.requests.append(rec)
            data = json.dumps(body).encode()
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for k, v in extra:
                handler.send_header(k, v)
            handler.end_headers()
            handler.wfile.write(data)

        if self.fail_status:
            return answer(self.fail_status, {"errors": [{"code": "UNAVAILABLE",
                                                         "message": "told to fail"}]})
        if url.path != "/token":
            return answer(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
        if not ok:
            return answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                            "message": "bad username or password"}]},
                          [("WWW-Authenticate", 'Basic realm="berth-token-issuer"')])
        if service and service != self.service:
            return answer(400, {"errors": [{"code": "DENIED",
                                            "message": f"unknown service {service}"}]})
        access = self._grant(user, scopes)
        rec["granted"] = access
        token, now = self.make_token(user, access, service=service or None)
        answer(200, {"token": token, "access_token": token, "expires_in": self.expires_in,
                     "issued_at": rfc3339(now)})


def decode_jwt(token):
    """(header, claims) of a compact JWS, unverified: for assertions."""
    h, c, _ = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(c))
