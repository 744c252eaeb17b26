#!/usr/bin/env python3
"""Call setup and busy-notify latency between real processes on loopback, as a client sees them.

Starts build/apps/hailer-server on free ports, connects three raw protocol clients and repeats:
alice calls bob, bob accepts (setup: accept sent -> both parties have read call_connected);
carol calls bob and is queued; bob hangs up (notify: hangup sent -> carol has read
callee_available); carol leaves the line. Prints p50/p95/p99/max in microseconds. Python's own
socket handling is inside the figures, so they are upper bounds of the server's share.

    bench/calls_latency.py [--rounds N] [--build DIR]
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.id = 0

    def send(self, type_, **fields):
        self.id += 1
        self.s.sendall((json.dumps({"type": type_, "id": self.id, **fields}) + "\n").encode())

    def until(self, type_):
        while True:
            while b"\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise RuntimeError("closed")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            m = json.loads(line)
            if m["type"] == type_:
                return m


def stats(xs):
    xs = sorted(xs)
    pick = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
    return "p50 %.0f us, p95 %.0f us, p99 %.0f us, max %.0f us (n=%d)" % (pick(0.5), pick(0.95), pick(0.99), xs[-1], len(xs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=500)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    a = ap.parse_args()
    server = subprocess.Popen([os.path.join(a.build, "apps", "hailer-server"), "--port", "0", "--udp-port", "0", "--no-web", "--plaintext",
                               "--log-level", "warn"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        port = int(re.search(r"tcp [0-9.]+:(\d+)", server.stdout.readline().decode()).group(1))
        alice, bob, carol = Conn(port), Conn(port), Conn(port)
        for c, n in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
            c.send("register", version=1, name=n)
            c.until("ok")
        setup, notify = [], []
        for _ in range(a.rounds):
            alice.send("call", to="bob")
            bob.until("call_ringing")
            t = time.perf_counter()
            bob.send("accept")
            bob.until("call_connected")
            alice.until("call_connected")
            setup.append((time.perf_counter() - t) * 1e6)
            carol.send("call", to="bob")
            carol.until("wait_update")
            t = time.perf_counter()
            bob.send("hangup")
            carol.until("callee_available")
            notify.append((time.perf_counter() - t) * 1e6)
            carol.send("cancel_wait")
            carol.until("wait_ended")
        print("call setup (accept sent -> both connected): " + stats(setup))
        print("busy notify (hangup sent -> waiter told):   " + stats(notify))
    finally:
        server.terminate()
        server.wait(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
