"""The Python tools' one WebSocket client (RFC 6455) on the standard library: plain or TLS (the
server's self-signed certificate is accepted), text and binary messages, close. The framing
(upgrade_request, client_frame, split_frame) is apart from the blocking Ws class, so the load
tool's non-blocking students (bench/ptt_load.py) and bench/tls_idle.py frame with it too."""

import base64
import json
import os
import socket
import ssl
import struct
import time


def upgrade_request(path="/ws", host="localhost", extra=""):
    """The HTTP request that asks for a WebSocket, with a fresh key; `extra` is more header lines."""
    key = base64.b64encode(os.urandom(16)).decode()
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n" % (path, host, key, extra)).encode()


def client_frame(opcode, payload):
    """One final frame as a client sends it: masked, with the shortest length that fits."""
    header = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        header += bytes([0x80 | n])
    elif n < 65536:
        header += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        header += bytes([0x80 | 127]) + struct.pack(">Q", n)
    mask = os.urandom(4)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def split_frame(buf):
    """The first whole frame in `buf` as (opcode, fin, payload, rest), or None until it is whole."""
    if len(buf) < 2:
        return None
    n, at = buf[1] & 0x7F, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, at = struct.unpack(">H", buf[2:4])[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, at = struct.unpack(">Q", buf[2:10])[0], 10
    if len(buf) < at + n:
        return None
    return buf[0] & 0x0F, bool(buf[0] & 0x80), buf[at:at + n], buf[at + n:]


class WsClosed(Exception):
    def __init__(self, code):
        super().__init__("closed with code %s" % code)
        self.code = code


class Ws:
    def __init__(self, port, tls=False, path="/ws", timeout=10.0, origin=None, headers=(), source="127.0.0.1"):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            raw = ctx.wrap_socket(raw, server_hostname="localhost")
        self.sock = raw
        self.buf = b""
        extra = "".join("%s: %s\r\n" % h for h in headers) + ("Origin: %s\r\n" % origin if origin else "")
        self.sock.sendall(upgrade_request(path, "localhost", extra))
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.head = head.decode("latin-1")
        self.status = int(head.split(b" ")[1])
        if self.status != 101:
            self.sock.close()
            raise ConnectionError("upgrade refused: %s" % head.split(b"\r\n")[0].decode())
        self.next_id = 1

    def _send(self, opcode, payload):
        self.sock.sendall(client_frame(opcode, payload))

    def send_text(self, text):
        self._send(0x1, text.encode())

    def send_binary(self, data):
        self._send(0x2, bytes(data))

    def request(self, type_, **fields):
        rid = self.next_id
        self.next_id += 1
        self.send_text(json.dumps({"type": type_, "id": rid, **fields}))
        return rid

    def _need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WsClosed(None)
            self.buf += chunk

    def recv(self, timeout=10.0):
        """The next message: str (text) or bytes (binary); raises WsClosed on a close frame."""
        deadline = time.monotonic() + timeout
        while True:
            self._need(2, deadline)
            opcode, n = self.buf[0] & 0x0F, self.buf[1] & 0x7F
            self.buf_fin = bool(self.buf[0] & 0x80)
            at = 2
            if n == 126:
                self._need(4, deadline)
                n, at = struct.unpack(">H", self.buf[2:4])[0], 4
            elif n == 127:
                self._need(10, deadline)
                n, at = struct.unpack(">Q", self.buf[2:10])[0], 10
            self._need(at + n, deadline)
            payload, self.buf = self.buf[at:at + n], self.buf[at + n:]
            if opcode == 0x8:
                raise WsClosed(struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None)
            if opcode == 0x9:
                self._send(0xA, payload)
                continue
            fin = self.buf_fin
            if opcode in (0x1, 0x2):
                self.partial, self.partial_op = payload, opcode
            elif opcode == 0x0:
                self.partial += payload
            if opcode in (0x0, 0x1, 0x2) and fin:
                return self.partial.decode() if self.partial_op == 0x1 else self.partial

    def expect(self, type_, where=None, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            m = self.recv(max(0.01, deadline - time.monotonic()))
            if isinstance(m, str):
                m = json.loads(m)
                if m.get("type") == type_ and all(m.get(k) == v for k, v in (where or {}).items()):
                    return m

    def close_code(self, timeout=10.0):
        """Reads until the server closes; its close code (None for a bare TCP close)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.recv(max(0.01, deadline - time.monotonic()))
        except WsClosed as c:
            return c.code
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
            return None

    def join(self, name, room="class", role="student", codec="pcm16", sample_rate=48000, token=None):
        fields = dict(version=1, name=name, room=room, role=role, codec=codec, sample_rate=sample_rate)
        if token:
            fields["token"] = token
        return self.reply(self.request("join", **fields))

    def reply(self, rid, timeout=10.0):
        """The ok or error answering request `rid`."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.recv(max(0.01, deadline - time.monotonic()))
            if isinstance(m, str):
                m = json.loads(m)
                if m.get("type") in ("ok", "error") and m.get("id") == rid:
                    return m

    def abort(self):
        """Drops the connection without a close frame (a tab killed, a cable pulled)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        try:
            self._send(0x8, struct.pack(">H", 1000))
        except OSError:
            pass
        self.sock.close()


def frame(sequence, payload, last=False):
    return bytes([1, 1 if last else 0, (sequence >> 8) & 0xFF, sequence & 0xFF]) + payload
