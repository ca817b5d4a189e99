"""GET /containers/{id}/attach/ws: the WebSocket attach, through a real RFC 6455 handshake on
berthd's unix socket with a client written here (masked frames, fragments, control frames).
Checks output, stdin, log replay, tty, stream selection, detach keys, the close handshake in
both directions, protocol errors, API-version differences and the handshake's refusals. Set
BERTH_API_SOCKET to run them against another daemon."""

import base64
import hashlib
import json
import os
import socket
import struct
import time

import pytest

from daemon import EXTERNAL, poll_until, unique_name

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def read_head(sock, buf=b""):
    """Reads an HTTP response head; returns (status, headers lowercased, rest of the bytes)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed inside the response head: {buf!r}")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def http_request(daemon, path, headers, method="GET"):
    """A plain request: (status, headers, body) with the body read by its Content-Length."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(str(daemon.sock))
    try:
        req = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
        req += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        s.sendall(req.encode())
        status, hdrs, body = read_head(s)
        if method == "HEAD":
            return status, hdrs, b""
        want = int(hdrs.get("content-length", "0"))
        while len(body) < want:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        return status, hdrs, body
    finally:
        s.close()


def upgrade_headers(key=None, **extra):
    h = {"Upgrade": "websocket", "Connection": "Upgrade",
         "Sec-WebSocket-Key": key or base64.b64encode(os.urandom(16)).decode(),
         "Sec-WebSocket-Version": "13"}
    h.update(extra)
    return h


class WS:
    """A minimal WebSocket client over berthd's unix socket."""

    def __init__(self, daemon, path, headers=None, early=b""):
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(str(daemon.sock))
        hdrs = upgrade_headers(self.key, **(headers or {}))
        req = f"GET {path} HTTP/1.1\r\nHost: localhost\r\n"
        req += "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        self.sock.sendall(req.encode() + early)
        self.status, self.headers, self.buf = read_head(self.sock)

    def accept_expected(self):
        return base64.b64encode(hashlib.sha1(self.key.encode() + GUID).digest()).decode()

    # ---- sending ----
    @staticmethod
    def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
        if isinstance(payload, str):
            payload = payload.encode()
        n = len(payload) if length is None else length
        b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
        mbit = 0x80 if mask else 0
        if n < 126:
            head = struct.pack("!BB", b0, mbit | n)
        elif n <= 0xFFFF:
            head = struct.pack("!BBH", b0, mbit | 126, n)
        else:
            head = struct.pack("!BBQ", b0, mbit | 127, n)
        if not mask:
            return head + payload
        key = os.urandom(4)
        return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))

    def send(self, opcode, payload=b"", **kw):
        self.sock.sendall(self.frame(opcode, payload, **kw))

    def send_close(self, code=1000, reason=b""):
        self.send(OP_CLOSE, struct.pack("!H", code) + reason)

    # ---- receiving ----
    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed with {self.buf!r} buffered")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self):
        """(fin, opcode, payload) of the next frame; server frames must not be masked."""
        b0, b1 = self._need(2)
        assert b1 & 0x80 == 0, "a server frame is masked"
        assert b0 & 0x70 == 0, "a server frame has reserved bits set"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._need(8))[0]
        return bool(b0 & 0x80), b0 & 0x0F, self._need(n)

    def read_until(self, pred, timeout=10):
        """Collects data frames until pred(data) holds; returns (data, opcodes seen). A close
        frame before that fails the test."""
        data, ops = b"", set()
        deadline = time.monotonic() + timeout
        while not pred(data):
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            fin, op, payload = self.recv_frame()
            if op in (OP_TEXT, OP_BINARY, OP_CONT):
                data += payload
                ops.add(op)
            elif op == OP_CLOSE:
                raise AssertionError(f"closed ({payload!r}) with only {data!r} received")
        return data, ops

    def read_to_close(self, timeout=10):
        """Data received until the server's close frame: (data, close code or None)."""
        data = b""
        deadline = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            fin, op, payload = self.recv_frame()
            if op == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return data, code
            if op in (OP_TEXT, OP_BINARY, OP_CONT):
                data += payload

    def at_eof(self, timeout=5):
        """Whether the server closed the connection (nothing more arrives)."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b"" and not self.buf
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


def name():
    return unique_name("ws-")


def run_bg(daemon, *args, tty=False, interactive=False):
    n = name()
    flags = ["-d", "--name", n] + (["-t"] if tty else []) + (["-i"] if interactive else [])
    daemon.docker("run", *flags, "busybox", *args)
    return n


def running(daemon, n):
    return daemon.inspect(n)["State"]["Running"]


@pytest.fixture
def cat(daemon):
    """A running `cat` with stdin open: what it is sent, it writes back."""
    n = run_bg(daemon, "cat", interactive=True)
    yield n
    daemon.docker("rm", "-f", n, check=False)


def attach(daemon, ref, query, version="v1.47", **kw):
    return WS(daemon, f"/{version}/containers/{ref}/attach/ws?{query}", **kw)


# ---- handshake and output ----

def test_handshake_and_output(daemon):
    n = run_bg(daemon, "sh", "-c", "i=0; while true; do echo line$i; i=$((i+1)); sleep 0.1; done")
    try:
        ws = attach(daemon, n, "stream=1&stdout=1&stderr=1")
        assert ws.status == 101
        assert ws.headers["upgrade"].lower() == "websocket"
        assert "upgrade" in ws.headers["connection"].lower()
        assert ws.headers["sec-websocket-accept"] == ws.accept_expected()
        assert "content-type" not in ws.headers
        data, ops = ws.read_until(lambda d: d.count(b"\n") >= 3)
        assert b"line" in data
        # API 1.47: binary frames (API >= 1.28), raw bytes, no 8-byte multiplexing header
        assert ops == {OP_BINARY}
        assert data.startswith(b"line"), data
        ws.close()
        assert running(daemon, n)
    finally:
        daemon.docker("rm", "-f", n)


def test_stdin_frames_reach_the_container(daemon, cat):
    ws = attach(daemon, cat, "stream=1&stdin=1&stdout=1")
    assert ws.status == 101
    ws.send(OP_TEXT, "hello text\n")
    assert ws.read_until(lambda d: b"hello text\n" in d)[0] == b"hello text\n"
    ws.send(OP_BINARY, b"\x00\xffbinary\n")
    assert ws.read_until(lambda d: d.endswith(b"binary\n"))[0] == b"\x00\xffbinary\n"
    # 70,000 bytes: a frame with a 64-bit length, masked across read boundaries
    big = (b"0123456789" * 7000)[:69999] + b"\n"
    ws.send(OP_BINARY, big)
    assert ws.read_until(lambda d: len(d) >= len(big))[0] == big
    ws.close()


def test_fragments_with_a_ping_between(daemon, cat):
    ws = attach(daemon, cat, "stream=1&stdin=1&stdout=1")
    ws.send(OP_TEXT, "frag", fin=False)
    ws.send(OP_PING, "are you there")
    fin, op, payload = ws.recv_frame()
    assert (fin, op, payload) == (True, OP_PONG, b"are you there")
    ws.send(OP_CONT, "men", fin=False)
    ws.send(OP_CONT, "ted\n", fin=True)
    assert ws.read_until(lambda d: d.endswith(b"\n"))[0] == b"fragmented\n"
    # a frame split byte by byte over many writes
    for b in WS.frame(OP_TEXT, "dribbled\n"):
        ws.sock.sendall(bytes([b]))
        time.sleep(0.002)
    assert ws.read_until(lambda d: d.endswith(b"\n"))[0] == b"dribbled\n"
    # a pong from the client is ignored; an empty frame is no input
    ws.send(OP_PONG, "unsolicited")
    ws.send(OP_TEXT, "")
    ws.send(OP_TEXT, "after\n")
    assert ws.read_until(lambda d: d.endswith(b"\n"))[0] == b"after\n"
    ws.close()


def test_data_in_the_same_write_as_a_close(daemon, cat):
    """Data in the same packet as the close frame still reaches stdin before the session ends
    (cat's output lands in its log)."""
    ws = attach(daemon, cat, "stream=1&stdin=1&stdout=1")
    ws.sock.sendall(WS.frame(OP_TEXT, "one\n") + WS.frame(OP_TEXT, "two-then-close\n") +
                    WS.frame(OP_CLOSE, struct.pack("!H", 1000)))
    _, code = ws.read_to_close()
    assert code == 1000
    assert ws.at_eof()
    assert poll_until(lambda: "two-then-close" in daemon.docker("logs", cat).stdout)


def test_frames_sent_with_the_request(daemon, cat):
    """Frames that arrive with the HTTP request, before the 101, are input too."""
    ws = attach(daemon, cat, "stream=1&stdin=1&stdout=1",
                early=WS.frame(OP_TEXT, "early\n") + WS.frame(OP_PING, "p"))
    assert ws.status == 101
    assert ws.recv_frame() == (True, OP_PONG, b"p")
    assert ws.read_until(lambda d: d.endswith(b"\n"))[0] == b"early\n"
    ws.close()


# ---- logs, stream selection, tty ----

def test_logs_replay(daemon):
    # apart in time: stdout and stderr are separate pipes, read in no fixed order
    n = run_bg(daemon, "sh", "-c",
               "echo first; sleep 0.2; echo second >&2; sleep 0.2; echo third; exec sleep 100")
    try:
        assert poll_until(lambda: "third" in daemon.docker("logs", n).stdout)
        ws = attach(daemon, n, "logs=1&stream=0&stdout=1&stderr=1")
        data, code = ws.read_to_close()
        assert data == b"first\nsecond\nthird\n"
        assert code == 1000
        ws.send_close(1000)
        assert ws.at_eof()
        ws = attach(daemon, n, "logs=1&stdout=1")
        assert ws.read_to_close() == (b"first\nthird\n", 1000)
        ws = attach(daemon, n, "logs=1&stderr=1")
        assert ws.read_to_close() == (b"second\n", 1000)
        # logs, then the live stream of the same session
        ws = attach(daemon, n, "logs=1&stream=1&stdout=1")
        assert ws.read_until(lambda d: b"third\n" in d)[0] == b"first\nthird\n"
        ws.close()
    finally:
        daemon.docker("rm", "-f", n)


def test_stdout_and_stderr_selection(daemon):
    n = run_bg(daemon, "sh", "-c", "while true; do echo out; echo err >&2; sleep 0.1; done")
    try:
        ws = attach(daemon, n, "stream=1&stdout=1")
        data, _ = ws.read_until(lambda d: d.count(b"\n") >= 4)
        assert set(data.split()) == {b"out"}
        ws.close()
        ws = attach(daemon, n, "stream=1&stderr=1")
        data, _ = ws.read_until(lambda d: d.count(b"\n") >= 4)
        assert set(data.split()) == {b"err"}
        ws.close()
        ws = attach(daemon, n, "stream=1&stdout=1&stderr=1")
        data, _ = ws.read_until(lambda d: b"out" in d and b"err" in d)
        assert set(data.split()) == {b"out", b"err"}
        ws.close()
    finally:
        daemon.docker("rm", "-f", n)


def test_old_api_versions(daemon):
    """Before 1.28 output goes in text frames; before 1.42 stdin, stdout and stderr are
    attached whatever the query says."""
    n = run_bg(daemon, "sh", "-c", "while true; do echo out; echo err >&2; sleep 0.1; done")
    try:
        ws = attach(daemon, n, "stream=1", version="v1.27")
        assert ws.status == 101
        data, ops = ws.read_until(lambda d: b"out" in d and b"err" in d)
        assert ops == {OP_TEXT}
        ws.close()
        ws = attach(daemon, n, "stream=1", version="v1.41")
        data, ops = ws.read_until(lambda d: b"out" in d and b"err" in d)
        assert ops == {OP_BINARY}
        ws.close()
    finally:
        daemon.docker("rm", "-f", n)


def test_stdin_needs_stdin_param(daemon, cat):
    """With stdin=0 the client's data frames are dropped, but control frames still work."""
    ws = attach(daemon, cat, "stream=1&stdout=1&stdin=0")
    ws.send(OP_TEXT, "ignored\n")
    ws.send(OP_PING, "x")
    assert ws.recv_frame() == (True, OP_PONG, b"x")
    ws.close()
    ws = attach(daemon, cat, "stream=1&stdout=1&stdin=1")
    ws.send(OP_TEXT, "seen\n")
    assert ws.read_until(lambda d: d.endswith(b"\n"))[0] == b"seen\n"
    ws.close()


def test_tty(daemon):
    n = run_bg(daemon, "sh", tty=True, interactive=True)
    try:
        ws = attach(daemon, n, "stream=1&stdin=1&stdout=1&stderr=1")
        ws.send(OP_TEXT, "echo tty-$((40+2)) >&2\n")
        data, _ = ws.read_until(lambda d: b"tty-42\r\n" in d)
        # the terminal echoes the input line, then the shell's output with CRLF
        assert b"echo tty-$((40+2))" in data
        ws.close()
        assert running(daemon, n)
    finally:
        daemon.docker("rm", "-f", n)


# ---- detach and close ----

def test_detach_keys(daemon, cat):
    ws = attach(daemon, cat, "stream=1&stdin=1&stdout=1&detachKeys=ctrl-x,y")
    ws.send(OP_TEXT, "before\n")
    assert ws.read_until(lambda d: d.endswith(b"\n"))[0] == b"before\n"
    # a broken sequence is input after all
    ws.send(OP_TEXT, b"\x18z\n")
    assert ws.read_until(lambda d: d.endswith(b"\n"))[0] == b"\x18z\n"
    ws.send(OP_TEXT, b"\x18")
    ws.send(OP_TEXT, b"y")
    data, code = ws.read_to_close()
    assert data == b"" and code == 1000
    ws.send_close(1000)
    assert ws.at_eof()
    assert running(daemon, cat)
    # the default keys, ctrl-p ctrl-q
    ws = attach(daemon, cat, "stream=1&stdin=1&stdout=1")
    ws.send(OP_BINARY, b"\x10\x11")
    assert ws.read_to_close() == (b"", 1000)
    ws.close()
    assert running(daemon, cat)


def test_invalid_detach_keys(daemon, cat):
    st, _, body = http_request(daemon, f"/containers/{cat}/attach/ws?stream=1&detachKeys=ctrl-",
                               upgrade_headers())
    assert st == 400
    assert json.loads(body)["message"] == "Invalid detach keys (ctrl-) provided"


def test_client_close_handshake(daemon, cat):
    ws = attach(daemon, cat, "stream=1&stdin=1&stdout=1")
    ws.send(OP_TEXT, "x\n")
    ws.read_until(lambda d: d.endswith(b"\n"))
    ws.send_close(4000, b"bye now")
    fin, op, payload = ws.recv_frame()
    assert (fin, op) == (True, OP_CLOSE)
    assert struct.unpack("!H", payload[:2])[0] == 4000  # the client's code, echoed
    assert ws.at_eof()
    # a close without a code is answered with one without a code
    ws = attach(daemon, cat, "stream=1&stdin=1&stdout=1")
    ws.send(OP_CLOSE)
    assert ws.recv_frame() == (True, OP_CLOSE, b"")
    assert ws.at_eof()
    assert running(daemon, cat)


def test_server_close_when_the_container_exits(daemon):
    n = run_bg(daemon, "sh", "-c", "sleep 1; echo bye")
    try:
        ws = attach(daemon, n, "stream=1&stdout=1")
        data, code = ws.read_to_close(timeout=20)
        assert data == b"bye\n" and code == 1000
        ws.send_close(1000)
        assert ws.at_eof()
    finally:
        daemon.docker("rm", "-f", n)


# ---- protocol errors ----

@pytest.mark.parametrize("frame,code", [
    (WS.frame(OP_TEXT, "unmasked\n", mask=False), 1002),
    (WS.frame(OP_TEXT, "reserved bit", rsv=4), 1002),
    (WS.frame(3, "reserved opcode"), 1002),
    (WS.frame(OP_CONT, "no message to continue"), 1002),
    (WS.frame(OP_PING, "fragmented ping", fin=False), 1002),
    (WS.frame(OP_CLOSE, struct.pack("!H", 1005)), 1002),
    (WS.frame(OP_CLOSE, b"\x03"), 1002),
    # the header alone announces 1 GiB: refused before any payload arrives
    (WS.frame(OP_BINARY, b"", length=1 << 30), 1009),
    (WS.frame(OP_BINARY, b"", length=(1 << 63) + 5), 1002),
], ids=["unmasked", "rsv", "opcode", "stray-continuation", "fragmented-ping", "close-1005",
        "close-1-byte", "too-big", "length-msb"])
def test_protocol_errors_close_the_session(daemon, cat, frame, code):
    ws = attach(daemon, cat, "stream=1&stdin=1&stdout=1")
    ws.sock.sendall(frame)
    fin, op, payload = ws.recv_frame()
    assert op == OP_CLOSE and struct.unpack("!H", payload[:2])[0] == code
    assert ws.at_eof()
    assert running(daemon, cat)


def test_data_frame_inside_a_fragmented_message(daemon, cat):
    ws = attach(daemon, cat, "stream=1&stdin=1&stdout=1")
    ws.send(OP_TEXT, "part", fin=False)
    ws.send(OP_TEXT, "new message\n")
    data, code = ws.read_to_close()
    assert code == 1002
    ws.close()


def test_client_that_disappears(daemon, cat):
    """Clients that vanish mid-session (with and without pending input) leave nothing behind:
    the container runs on, a new session works, and berthd's fds come back."""
    def fds():
        return len(os.listdir(f"/proc/{daemon.proc.pid}/fd"))
    ws = attach(daemon, cat, "stream=1&stdin=1&stdout=1")
    ws.send(OP_TEXT, "warm\n")
    ws.read_until(lambda d: d.endswith(b"\n"))
    ws.close()
    base = None if EXTERNAL else fds()
    for i in range(5):
        ws = attach(daemon, cat, "stream=1&stdin=1&stdout=1")
        if i % 2:
            # half a frame, then gone
            ws.sock.sendall(WS.frame(OP_TEXT, "half a frame")[:5])
        ws.sock.shutdown(socket.SHUT_RDWR)
        ws.close()
    ws = attach(daemon, cat, "stream=1&stdin=1&stdout=1")
    ws.send(OP_TEXT, "still here\n")
    assert ws.read_until(lambda d: d.endswith(b"\n"))[0] == b"still here\n"
    ws.close()
    assert running(daemon, cat)
    if base is not None:
        assert poll_until(lambda: fds() <= base, timeout=10), (fds(), base)


# ---- refusals ----

def test_unknown_container(daemon):
    st, hdrs, body = http_request(daemon, "/containers/no-such-ctr/attach/ws?stream=1",
                                  upgrade_headers())
    assert st == 404
    assert json.loads(body)["message"] == "No such container: no-such-ctr"


def test_plain_get_is_refused(daemon, cat):
    st, hdrs, body = http_request(daemon, f"/containers/{cat}/attach/ws?stream=1&stdout=1", {})
    assert st == 400
    assert body == b"not websocket protocol"
    # Upgrade to something else, or no Connection: Upgrade
    st, _, body = http_request(daemon, f"/containers/{cat}/attach/ws?stream=1",
                               upgrade_headers(Upgrade="tcp"))
    assert (st, body) == (400, b"not websocket protocol")
    st, _, body = http_request(daemon, f"/containers/{cat}/attach/ws?stream=1",
                               upgrade_headers(Connection="keep-alive"))
    assert (st, body) == (400, b"not websocket protocol")
    # the container is unaffected and the endpoint still works
    ws = attach(daemon, cat, "stream=1&stdin=1&stdout=1")
    ws.send(OP_TEXT, "ok\n")
    assert ws.read_until(lambda d: d.endswith(b"\n"))[0] == b"ok\n"
    ws.close()


def test_bad_key_or_version_is_refused(daemon, cat):
    path = f"/containers/{cat}/attach/ws?stream=1"
    st, hdrs, body = http_request(daemon, path,
                                  upgrade_headers(**{"Sec-WebSocket-Version": "8"}))
    assert (st, body) == (400, b"missing or bad WebSocket Version")
    assert hdrs["sec-websocket-version"] == "13"
    st, _, body = http_request(daemon, path, upgrade_headers(key="c2hvcnQ="))
    assert (st, body) == (400, b"mismatch challenge/response")
    h = upgrade_headers()
    del h["Sec-WebSocket-Key"]
    st, _, body = http_request(daemon, path, h)
    assert (st, body) == (400, b"mismatch challenge/response")
    # the only other method routed here
    st, _, _ = http_request(daemon, path, upgrade_headers(), method="HEAD")
    assert st == 405


def test_subprotocol_is_echoed(daemon, cat):
    ws = attach(daemon, cat, "stream=1&stdout=1",
                headers={"Sec-WebSocket-Protocol": "base64.channel.k8s.io, other"})
    assert ws.status == 101
    assert ws.headers["sec-websocket-protocol"] == "base64.channel.k8s.io"
    ws.close()


def test_paused_container_is_refused(daemon, cat):
    daemon.docker("pause", cat)
    try:
        st, _, body = http_request(daemon, f"/containers/{cat}/attach/ws?stream=1",
                                   upgrade_headers())
        assert st == 409
        assert json.loads(body)["message"] == \
            f"container {cat} is paused, unpause the container before attach"
    finally:
        daemon.docker("unpause", cat)
