"""Real processes on 127.0.0.1 for the end-to-end tests: hailer-server, hailer CLI clients and
raw protocol sockets, every wait bounded, every child cleaned up, every file in a temp dir."""

import collections
import json
import math
import os
import queue
import re
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import wave

BUILD = os.environ.get("HAILER_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SERVER = os.path.join(BUILD, "apps", "hailer-server")
CLIENT = os.path.join(BUILD, "apps", "hailer")
SIM = os.path.join(BUILD, "apps", "hailer-sim")
FIXTURES = os.environ.get("HAILER_FIXTURES", os.path.join(BUILD, "fixtures"))

WAIT_S = 10.0  # the longest any single expectation waits


class LineReader:
    """Collects a stream's lines on a thread, with their arrival times."""

    def __init__(self, stream):
        self.lines = queue.Queue()
        self.seen = []
        self.thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self.thread.start()

    def _run(self, stream):
        for raw in iter(stream.readline, b""):
            self.lines.put((time.monotonic(), raw.decode("utf-8", "replace").rstrip("\n")))
        self.lines.put((time.monotonic(), None))

    def next(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        item = self.lines.get(timeout=left)
        self.seen.append(item)
        return item


def matches(obj, where):
    for k, v in where.items():
        if k not in obj:
            return False
        if isinstance(v, dict):
            if not isinstance(obj[k], dict) or not matches(obj[k], v):
                return False
        elif obj[k] != v:
            return False
    return True


def free_port(kind=socket.SOCK_STREAM):
    """A port of 127.0.0.1 (TCP, or UDP with socket.SOCK_DGRAM) that was free a moment ago."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class UdpBlock:
    """Drops every UDP datagram to or from one port of this machine, in the kernel (an nftables
    table of its own, removed at the end): a firewall that blocks a client's UDP for real, not a
    flag in our own code. Needs root and nft (scripts/setup.sh installs nftables)."""

    def __init__(self, port):
        self.port = port
        self.table = "hailer_e2e_%d_%d" % (os.getpid(), port)
        self.active = False

    def on(self):
        rules = ("table inet %s {\n chain out {\n  type filter hook output priority 0; policy accept;\n"
                 "  udp sport %d drop\n  udp dport %d drop\n }\n}\n" % (self.table, self.port, self.port))
        done = subprocess.run(["nft", "-f", "-"], input=rules.encode(), capture_output=True)
        if done.returncode != 0:
            raise AssertionError("cannot block UDP with nftables (root and nft are needed): %s"
                                 % done.stderr.decode(errors="replace"))
        self.active = True

    def off(self):
        if self.active:
            subprocess.run(["nft", "delete", "table", "inet", self.table], capture_output=True, check=True)
            self.active = False


def free_udp_port():
    """A UDP port of 127.0.0.1 that was free a moment ago (where ffmpeg listens)."""
    return free_port(socket.SOCK_DGRAM)


def opus_sdp(path, port):
    """An SDP file for ffmpeg: RTP/Opus (payload type 111, as hailer sends) arriving at `port`."""
    with open(path, "w") as f:
        f.write("v=0\no=- 0 0 IN IP4 127.0.0.1\ns=hailer\nc=IN IP4 127.0.0.1\nt=0 0\n"
                "m=audio %d RTP/AVP 111\na=rtpmap:111 opus/48000/2\n" % port)
    return path


class Server:
    """hailer-server on free ports; `lines` of its log are kept."""

    def __init__(self, tmp, *args, port=0, udp_port=0, http_port=0, recordings=None, audio_out="none", nofile=None,
                 state_dir=None, accounts=False):
        self.log_path = os.path.join(tmp, "server-%d.log" % time.monotonic_ns())
        self.log = open(self.log_path, "wb")
        self.recordings = recordings or os.path.join(tmp, "recordings")
        self.state_dir = state_dir or os.path.join(tmp, "state")
        web = ["--http-port", str(http_port), "--recordings", self.recordings, "--state-dir", self.state_dir,
               "--audio-out", audio_out]
        # The tests' own protocol clients (Raw, Ws) cannot log in (Python's ssl module has no TLS
        # exporter): a server has accounts only when a test asks (its clients are CLIs), or says
        # --accounts itself. --plaintext turns them off anyway.
        if not accounts and "--accounts" not in args and "--plaintext" not in args:
            web += ["--accounts", "off"]
        limit = None
        if nofile:  # the descriptor limit, soft and hard (the server raises its soft limit to the hard one)
            import resource
            limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))  # noqa: E731
        self.proc = subprocess.Popen(
            [SERVER, "--port", str(port), "--udp-port", str(udp_port), *web, *args],
            stdout=subprocess.PIPE, stderr=self.log, preexec_fn=limit)
        first = self.proc.stdout.readline().decode()
        self.banner = first
        m = re.search(r"tcp ([0-9.]+):(\d+), media rendezvous udp ([0-9.]+):(\d+)", first)
        if not m:
            self.stop()
            raise RuntimeError("hailer-server did not start: %r" % first)
        self.port = int(m.group(2))
        self.udp_port = int(m.group(4))
        self.address = "127.0.0.1:%d" % self.port
        self.http_port = None
        self.token = None
        self.fingerprint = None
        # The calls port speaks TLS unless --plaintext; the banner says which, with the key clients pin.
        self.plaintext = "--plaintext" in args
        self.key = None
        for _ in range(4):
            line = self.proc.stdout.readline().decode()
            self.banner += line
            m = re.search(r"calls port: TLS, server key (SHA256:[0-9a-f]{64})", line)
            if m:
                self.key = m.group(1)
            if not line or line.startswith("calls port:"):
                break
        if not self.plaintext:
            assert self.key, "no server key in the banner: %r" % self.banner
            TLS_PORTS.add(self.port)
        # The classroom lines follow (when the web face is on): URLs, token, fingerprint, recordings.
        for _ in range(0 if "--no-web" in args else 10):
            line = self.proc.stdout.readline().decode()
            self.banner += line
            m = re.search(r"classroom: students open https?://[^:]+:(\d+)/ .*token=(\w+)", line)
            if m:
                self.http_port, self.token = int(m.group(1)), m.group(2)
            m = re.search(r"fingerprint \(SHA-256\): ([0-9A-F:]+)", line)
            if m:
                self.fingerprint = m.group(1)
            if not line or line.startswith("recordings:"):
                break

    def log_text(self):
        self.log.flush()
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.log_text()):
                return
            time.sleep(0.02)
        raise AssertionError("server log never matched %r:\n%s" % (pattern, self.log_text()[-3000:]))

    def signal(self, sig):
        self.proc.send_signal(sig)

    def counters(self):
        """The server's counters: SIGUSR1 logs them, this waits for the line and reads it."""
        before = self.log_text().count("counters:")
        self.signal(signal.SIGUSR1)
        deadline = time.monotonic() + WAIT_S
        while self.log_text().count("counters:") == before:
            if time.monotonic() > deadline:
                raise AssertionError("no counters logged")
            time.sleep(0.02)
        line = self.log_text().split("counters:")[-1].split("\n")[0]
        return {k: int(v) for k, v in re.findall(r"([\w.]+)=(\d+)", line)}

    def stop(self, timeout=5):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        self.log.close()
        self.proc.stdout.close()
        return self.proc.returncode


class Cli:
    """One hailer CLI in --json mode, commands on its stdin."""

    def __init__(self, server_address, name, *args, plaintext=False):
        self.name = name
        self.proc = subprocess.Popen(
            [CLIENT, "--server", server_address, "--name", name, "--json", *(["--plaintext"] if plaintext else []),
             *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.reader = LineReader(self.proc.stdout)
        self.events = []

    def send(self, command):
        self.proc.stdin.write((command + "\n").encode())
        self.proc.stdin.flush()

    def expect(self, type_, where=None, timeout=WAIT_S):
        """The first event of `type_` (matching `where`) not consumed yet; earlier ones are kept."""
        where = where or {}
        for e in self.events:
            if e.get("type") == type_ and matches(e, where) and not e.get("_used"):
                e["_used"] = True
                return e
        deadline = time.monotonic() + timeout
        while True:
            try:
                at, line = self.reader.next(deadline)
            except (TimeoutError, queue.Empty):
                raise AssertionError("%s never got %s %s; got:\n%s" % (
                    self.name, type_, where, "\n".join(json.dumps(e) for e in self.events)))
            if line is None:
                raise AssertionError("%s exited (%s) before %s %s; got:\n%s" % (
                    self.name, self.proc.poll(), type_, where, "\n".join(json.dumps(e) for e in self.events)))
            try:
                e = json.loads(line)
            except ValueError:
                e = {"type": "_text", "text": line}
            e["_at"] = at
            self.events.append(e)
            if e.get("type") == type_ and matches(e, where):
                e["_used"] = True
                return e

    def never(self, type_, where=None, within=0.5):
        try:
            e = self.expect(type_, where, timeout=within)
        except AssertionError:
            return
        raise AssertionError("%s got an unexpected %s" % (self.name, json.dumps(e)))

    def quit(self, timeout=5):
        if self.proc.poll() is None:
            try:
                self.send("quit")
            except (BrokenPipeError, ValueError):
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


_open_raws = []
# Calls ports of the servers started here that speak TLS (every one without --plaintext): Raw
# speaks TLS to them unless told otherwise.
TLS_PORTS = set()
# Signaling addresses of plaintext servers that are not hailer-server (fake_server): a CLI needs
# --plaintext to talk to them.
PLAINTEXT_ADDRESSES = set()


def client_tls_context():
    """TLS for the tests' own protocol clients: the server's self-signed certificate is taken as
    it is (the CLI's pinning has tests of its own)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


SO_TIMESTAMPNS = 35  # Linux (asm-generic, x86-64), also the control message's type; Python has no name for it


class ArrivalStamps:
    """Holds the kernel's receive timestamps on while it lives, and waits until they are taken
    when a packet arrives. The first socket that asks for stamps only schedules the switch (a
    static key flipped later by a kernel work item, late on a busy machine); until it flips, a
    packet is stamped when it is read instead, so the stamps of a test that compares arrivals
    would mix the two clocks and order them by reading. A UDP pair on loopback proves the switch:
    a datagram read 50 ms after it was sent must carry its sending time."""

    def __init__(self, timeout=10.0):
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rx.bind(("127.0.0.1", 0))
        self.rx.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)  # kept on: the switch stays flipped
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            deadline = time.monotonic() + timeout
            while True:
                sent_ns = time.time_ns()
                tx.sendto(b"x", self.rx.getsockname())
                time.sleep(0.05)
                self.rx.settimeout(5)
                _, ancillary, _, _ = self.rx.recvmsg(16, socket.CMSG_SPACE(16))
                stamp = [struct.unpack("qq", v[:16]) for lv, k, v in ancillary if k == SO_TIMESTAMPNS]
                stamp_ns = stamp[0][0] * 1_000_000_000 + stamp[0][1] if stamp else None
                if stamp_ns is not None and stamp_ns - sent_ns < 25_000_000:
                    return  # stamped on arrival, not when read 50 ms later
                if time.monotonic() > deadline:
                    raise AssertionError("the kernel never started stamping packets on arrival")
        finally:
            tx.close()

    def close(self):
        self.rx.close()


class Raw:
    """A raw protocol connection: lines in, JSON objects out (closed at the end of the test)."""

    def __init__(self, port, rcvbuf=None, source="127.0.0.1", tls=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        _open_raws.append(self)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.tls = port in TLS_PORTS if tls is None else tls
        if self.tls:
            self.sock.settimeout(WAIT_S)
            self.sock = client_tls_context().wrap_socket(self.sock)
        self.buf = b""
        self.lines = collections.deque()   # whole lines read, not yet returned by read()
        self.frames = collections.deque()  # tunnel frames read (their relay datagrams), for frame()
        self.frames_read = 0               # tunnel frames read in all
        self.frames_before = 0             # tunnel frames read before the line read() returned last
        self.next_id = 1

    def shutdown_write(self):
        """Says this side is done (TCP FIN; over TLS, close_notify first), and keeps reading."""
        if self.tls:
            try:
                self.sock = self.sock.unwrap()  # close_notify, and the server's answer to it
            except (OSError, ValueError):
                pass
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def send_text(self, text):
        self.sock.sendall(text.encode() + b"\n")

    def request(self, type_, **fields):
        rid = self.next_id
        self.next_id += 1
        self.send_text(json.dumps({"type": type_, "id": rid, **fields}))
        return rid

    def send_frame(self, datagram):
        """Sends a relay datagram as a tunnel frame (0xFE, its length big endian, the bytes)."""
        self.sock.sendall(b"\xfe" + len(datagram).to_bytes(2, "big") + datagram)

    def _split(self):
        """Moves every whole line and tunnel frame at the front of the buffer to its queue."""
        while self.buf:
            if self.buf[0] == 0xFE:
                if len(self.buf) < 3 or len(self.buf) < 3 + int.from_bytes(self.buf[1:3], "big"):
                    return
                n = int.from_bytes(self.buf[1:3], "big")
                self.frames.append(self.buf[3:3 + n])
                self.frames_read += 1
                self.buf = self.buf[3 + n:]
            elif b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                self.lines.append((line, self.frames_read))
            else:
                return

    def _receive(self, deadline, what):
        """Reads more; False when the connection closed."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no %s within the time" % what)
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        self._split()
        return True

    def read(self, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        self._split()  # arrival() may have left whole lines in the buffer
        while not self.lines:
            if not self._receive(deadline, "message"):
                return None
        line, self.frames_before = self.lines.popleft()
        return json.loads(line)

    def frame(self, timeout=WAIT_S):
        """The next tunnel frame's relay datagram, or None when none came within `timeout`."""
        deadline = time.monotonic() + timeout
        self._split()
        while not self.frames:
            try:
                if not self._receive(deadline, "frame"):
                    return None
            except (AssertionError, socket.timeout):
                return None
        return self.frames.popleft()

    def expect(self, type_, where=None, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        while True:
            m = self.read(max(0.01, deadline - time.monotonic()))
            if m is None:
                raise AssertionError("connection closed before %s" % type_)
            if m.get("type") == type_ and matches(m, where or {}):
                return m

    def stamp_arrivals(self, on):
        """Asks the kernel to stamp what this socket receives (SO_TIMESTAMPNS), for arrival()."""
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1 if on else 0)

    def arrival(self, type_, timeout=WAIT_S):
        """When the data ending the next `type_` message reached this socket (the kernel's receive
        timestamp, ns; call stamp_arrivals(True) first, with nothing left unread); earlier lines
        are skipped, later ones stay for read()."""
        assert self.buf == b"" and not self.lines, "arrival() needs every earlier byte read"
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s within %.1f s" % (type_, timeout))
            self.sock.settimeout(left)
            data, ancillary, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(16))
            if not data:
                raise AssertionError("connection closed before %s" % type_)
            stamps = [struct.unpack("qq", value[:16]) for level, kind, value in ancillary
                      if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS]
            if not stamps:
                raise AssertionError("no receive timestamp on the socket")
            self.buf += data
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if json.loads(line).get("type") == type_:
                    return stamps[0][0] * 1_000_000_000 + stamps[0][1]

    def reply(self, rid, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        while True:
            m = self.read(max(0.01, deadline - time.monotonic()))
            if m is None:
                raise AssertionError("connection closed before the reply to %d" % rid)
            if m.get("type") in ("ok", "error") and m.get("id") == rid:
                return m

    def register(self, name):
        m = self.reply(self.request("register", version=1, name=name))
        assert m["type"] == "ok", m
        return m

    def closed(self, timeout=WAIT_S):
        """True once the server closed the connection (reading what is left)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.read(max(0.01, deadline - time.monotonic())) is None:
                    return True
            except (ConnectionResetError, OSError):
                return True
            except AssertionError:
                return False
        return False

    def close(self):
        self.sock.close()


# ----------------------------------------------------------------------------- audio

def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2, path
        frames = w.readframes(w.getnframes())
        channels = w.getnchannels()
        rate = w.getframerate()
    samples = struct.unpack("<%dh" % (len(frames) // 2), frames)
    if channels > 1:
        samples = samples[::channels]
    return samples, rate


def envelope(samples, rate, window_ms=20):
    n = rate * window_ms // 1000
    out = []
    for i in range(0, len(samples) - n + 1, n):
        chunk = samples[i:i + n]
        rms = math.sqrt(sum(s * s for s in chunk) / n)
        out.append(max(-60.0, 20 * math.log10(max(rms, 1e-9) / 32768.0)))
    return out


def pearson(a, b):
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    if va == 0 or vb == 0:
        return 0.0
    return sum((x - ma) * (y - mb) for x, y in zip(a, b)) / math.sqrt(va * vb)


def best_correlation(sent, heard, min_overlap=50):
    """The best envelope correlation of `heard` against `sent` over every lag (20 ms steps)
    where at least `min_overlap` windows (1 s of 20 ms windows) overlap; the heard track's leading and trailing
    silence is cut first, so what is compared is the speech."""
    loud = [i for i, v in enumerate(heard) if v > -45]
    if not loud:
        return 0.0
    heard = heard[loud[0]:loud[-1] + 1]
    best = -1.0
    for lag in range(-len(heard) + min_overlap, len(sent) - min_overlap + 1):
        a0, b0 = max(0, lag), max(0, -lag)
        n = min(len(sent) - a0, len(heard) - b0)
        if n < min_overlap:
            continue
        best = max(best, pearson(sent[a0:a0 + n], heard[b0:b0 + n]))
    return best


def aligned_correlation(sent, heard, max_lag=10):
    """The envelope correlation of `heard` against `sent` when both start at the same moment, give
    or take `max_lag` windows: over the whole overlap, so that noise cannot match speech by a
    lucky short stretch (best_correlation searches every lag, and finds some match in anything)."""
    best = -1.0
    for lag in range(-max_lag, max_lag + 1):
        a0, b0 = max(0, lag), max(0, -lag)
        n = min(len(sent) - a0, len(heard) - b0)
        if n >= 2:
            best = max(best, pearson(sent[a0:a0 + n], heard[b0:b0 + n]))
    return best


def fake_server(case, script, connections=3):
    """A hostile or scripted signaling server on a free port of 127.0.0.1: `script(conn, n)` talks
    to its n-th client (at most `connections`); closed when the test case ends. Its address."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(WAIT_S)

    def serve():
        for n in range(connections):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                script(conn, n)
    threading.Thread(target=serve, daemon=True).start()
    case.addCleanup(listener.close)
    address = "127.0.0.1:%d" % listener.getsockname()[1]
    PLAINTEXT_ADDRESSES.add(address)
    return address


class TmuxPane:
    """A mixin for tests that drive a terminal through tmux: the test sets `socket_name` and opens
    a session named "cli"."""

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.socket_name, *args], capture_output=True, text=True, timeout=10)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "cli").stdout

    def wait_screen(self, text, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.screen():
                return self.screen()
            time.sleep(0.05)
        raise AssertionError("the terminal never showed %r:\n%s" % (text, self.screen()))


class TempDirCase(unittest.TestCase):
    """A test with a temp dir and a list of processes stopped at the end, whatever happens."""

    def setUp(self):
        self.tmp_holder = tempfile.TemporaryDirectory(prefix="hailer-e2e-")
        self.tmp = self.tmp_holder.name
        # The CLIs pin server keys in the user's config folder: here, one per test, never $HOME's.
        self.saved_config_home = os.environ.get("XDG_CONFIG_HOME")
        os.environ["XDG_CONFIG_HOME"] = os.path.join(self.tmp, "config")
        self.servers = []
        self.clients = []

    def tearDown(self):
        while _open_raws:
            _open_raws.pop().close()
        for c in self.clients:
            c.kill()
            for f in (c.proc.stdin, c.proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass
        for s in self.servers:
            s.stop()
        if self.saved_config_home is None:
            os.environ.pop("XDG_CONFIG_HOME", None)
        else:
            os.environ["XDG_CONFIG_HOME"] = self.saved_config_home
        self.tmp_holder.cleanup()

    def server(self, *args, **kw):
        s = Server(self.tmp, *args, **kw)
        self.servers.append(s)
        return s

    def cli(self, server, name, *args):
        if isinstance(server, Server):
            c = Cli(server.address, name, *args, plaintext=server.plaintext)
        else:
            c = Cli(server, name, *args, plaintext=server in PLAINTEXT_ADDRESSES)
        self.clients.append(c)
        return c

    def path(self, name):
        return os.path.join(self.tmp, name)

    def fixture(self, name):
        p = os.path.join(FIXTURES, name)
        if not os.path.exists(p):
            raise AssertionError("missing fixture %s (scripts/make_fixtures.sh makes it)" % p)
        return p
