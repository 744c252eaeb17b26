#!/usr/bin/env python3
"""Classroom load on loopback: N WebSocket students join one room at once, then floor churn.

Starts build/apps/hailer-server (plain WS, no recordings, no speaker), opens N WebSockets and
sends every upgrade before reading any answer, then every join before reading any reply (the
"1,000 simultaneous joins"); counts drops. Then, under the queue policy, repeats: student A
presses (press -> floor_granted), sends 200 ms of PCM audio in real time, student B presses and
is queued, A releases (release -> B's floor_granted: the handover), B releases. Reports the
server's RSS per student (/proc, before and after the joins), CPU time, and p50/p95/p99/max of
both latencies. The client is Python: its own overhead is inside the figures.

    bench/ptt_load.py [--students N] [--cycles M] [--build DIR] [--json]
"""
import argparse
import json
import os
import random
import re
import selectors
import socket
import subprocess
import shutil
import tempfile
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))


from ws import client_frame, split_frame, upgrade_request  # noqa: E402  the Python tools' one client


class Student:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.partial = b""
        self.upgraded = False
        self.next_id = 1

    def send_upgrade(self):
        self.sock.sendall(upgrade_request("/ws", "x"))

    def read_upgrade(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                return False
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.upgraded = head.startswith(b"HTTP/1.1 101")
        return self.upgraded

    def request(self, type_, **fields):
        self.sock.sendall(client_frame(1, json.dumps({"type": type_, "id": self.next_id, **fields}).encode()))
        self.next_id += 1

    def audio(self, seq, payload):
        self.sock.sendall(client_frame(2, bytes([1, 0, seq >> 8 & 255, seq & 255]) + payload))

    def messages(self, block=True):
        """The text messages available now (waits for at least one when `block`)."""
        out = []
        while True:
            while True:
                frame = split_frame(self.buf)
                if frame is None:
                    break
                opcode, fin, payload, self.buf = frame
                if opcode in (1, 0):  # a text frame, or the continuation of a fragmented one
                    self.partial = (self.partial if opcode == 0 else b"") + payload
                    if fin:
                        out.append(json.loads(self.partial))
            if out or not block:
                if not block:
                    self.sock.setblocking(False)
                    try:
                        chunk = self.sock.recv(65536)
                        self.buf += chunk
                    except BlockingIOError:
                        chunk = None
                    finally:
                        self.sock.setblocking(True)
                    if chunk:
                        continue
                return out
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def until(self, type_):
        while True:
            for m in self.messages():
                if m["type"] == type_:
                    return m


def drain(students, quiet_s=0.3):
    """Reads everything the server sends until it has been quiet for `quiet_s`."""
    sel = selectors.DefaultSelector()  # epoll: select() stops at 1,024 descriptors
    for st in students:
        sel.register(st.sock, selectors.EVENT_READ, st)
    last = time.monotonic()
    while time.monotonic() - last < quiet_s:
        for key, _ in sel.select(quiet_s):
            key.data.messages(block=False)
            last = time.monotonic()
    sel.close()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def quantiles(xs):
    xs = sorted(xs)
    q = lambda p: xs[min(len(xs) - 1, int(p * len(xs)))]
    return {"p50_us": q(.5), "p95_us": q(.95), "p99_us": q(.99), "max_us": xs[-1], "n": len(xs)}


def stats(xs):
    xs = sorted(xs)
    q = lambda p: xs[min(len(xs) - 1, int(p * len(xs)))]
    return "p50 %.0f us, p95 %.0f us, p99 %.0f us, max %.0f us (n=%d)" % (q(.5), q(.95), q(.99), xs[-1], len(xs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=1000)
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--json", action="store_true", help="one JSON object instead of text")
    a = ap.parse_args()
    say = (lambda *_: None) if a.json else print
    n = a.students
    state_dir = tempfile.mkdtemp(prefix="hailer-ptt-load-")
    server = subprocess.Popen(
        [os.path.join(a.build, "apps", "hailer-server"), "--port", "0", "--udp-port", "0", "--http-port", "0",
         "--no-tls", "--recordings", "none", "--audio-out", "none", "--log-level", "warn",
         "--max-sessions", str(n + 10), "--max-room-members", str(n + 10), "--max-connections-per-address", str(n + 10),
         "--max-sessions-per-address", str(n + 10), "--max-joins-per-address-per-second", "50000",
         "--state-dir", state_dir, "--default-floor-policy", "queue"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        http_port = None
        for _ in range(8):
            m = re.search(r"http://[^:]+:(\d+)/", server.stdout.readline().decode())
            if m:
                http_port = int(m.group(1))
                break
        time.sleep(0.2)
        rss_before = rss_kib(server.pid)
        t = time.perf_counter()
        students = [Student(http_port) for _ in range(n)]
        for s in students:
            s.send_upgrade()
        upgraded = sum(1 for s in students if s.read_upgrade())
        for i, s in enumerate(students):
            s.request("join", version=1, name="s%04d" % i, room="class", codec="pcm16", sample_rate=48000)
        joined = 0
        for s in students:
            for m in s.messages():
                if m["type"] == "ok":
                    joined += 1
                    break
        join_s = time.perf_counter() - t
        drain(students)  # every member_joined broadcast read: the steady state of a connected class
        rss_after = rss_kib(server.pid)
        say("%d students: %d upgraded, %d joined (%d dropped) in %.2f s; server RSS %d KiB -> %d KiB: %.1f KiB per student"
              % (n, upgraded, joined, n - joined, join_s, rss_before, rss_after, (rss_after - rss_before) / n))
        cpu0 = cpu_s(server.pid)
        press, handover = [], []
        pcm = b"\x10\x00" * 960
        seq = 0
        for _ in range(a.cycles):
            a_s, b_s = random.sample(students, 2)
            t = time.perf_counter()
            a_s.request("press")
            a_s.until("floor_granted")
            press.append((time.perf_counter() - t) * 1e6)
            for k in range(10):  # 200 ms of audio, in real time
                a_s.audio(seq, pcm)
                seq = (seq + 1) & 0xFFFF
                time.sleep(0.02)
            b_s.request("press")
            b_s.until("floor_queued")
            t = time.perf_counter()
            a_s.request("release")
            b_s.until("floor_granted")
            handover.append((time.perf_counter() - t) * 1e6)
            b_s.request("release")
            b_s.until("floor_idle")
            for s in students:
                s.messages(block=False)
        cpu = cpu_s(server.pid) - cpu0
        say("press -> grant:    " + stats(press))
        say("handover (release -> next grant): " + stats(handover))
        say("server CPU during the churn: %.2f s over %d cycles" % (cpu, a.cycles))
        if a.json:
            print(json.dumps({"students": n, "upgraded": upgraded, "joined": joined, "dropped": n - joined,
                              "join_s": round(join_s, 3), "rss_kib_per_student": round((rss_after - rss_before) / n, 2),
                              "press_to_grant": quantiles(press), "handover": quantiles(handover),
                              "server_cpu_s": cpu, "cycles": a.cycles}))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
