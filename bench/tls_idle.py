#!/usr/bin/env python3
"""What an idle TLS connection costs hailer-server: RSS before, with N idle connections open, and
after they close (docs/performance-log.md, "Idle TLS connections").

Starts build/apps/hailer-server (TLS on, caps raised so one address may hold N), opens N TLS
connections that finish the handshake and then idle, as WebSockets (upgraded, not joined: a
classroom between turns), as kept-alive HTTPS page loads, or as registered calls sessions on the
calls port (calls-plain: the same over a --plaintext server, to compare), and reads VmRSS from
/proc.

    bench/tls_idle.py [--build build] [--connections 1000] [--kind wss|https|calls|calls-plain]
"""

import argparse
import os
import re
import resource
import socket
import ssl
import subprocess
import tempfile
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
from ws import upgrade_request  # noqa: E402  the Python tools' one WebSocket client


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))


def settle(pid, seconds=1.0):
    time.sleep(seconds)
    return rss_kib(pid)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    p.add_argument("--connections", type=int, default=1000)
    p.add_argument("--kind", choices=("wss", "https", "calls", "calls-plain"), default="wss")
    a = p.parse_args()
    n = a.connections
    calls = a.kind.startswith("calls")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # N sockets on this side too
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [os.path.join(a.build, "apps", "hailer-server"), "--port", "0", "--udp-port", "0", "--http-port", "0",
             "--state-dir", os.path.join(tmp, "state"), "--recordings", "none", "--audio-out", "none",
             "--max-sessions", str(n + 100), "--max-sessions-per-address", str(n + 100),
             "--max-connections-per-address", str(n + 100), "--max-http-connections", str(n + 100),
             "--max-http-connections-per-address", str(n + 100), "--max-joins-per-address-per-second", "50000",
             "--max-tls-handshakes-per-address", "1000", "--max-tls-handshakes", "1000",
             "--heartbeat-timeout-ms", "600000", "--log-level", "warn",
             *(["--no-web", "--accounts", "off"] if a.kind == "calls" else []),  # Python cannot sign a login
             *(["--no-web", "--plaintext"] if a.kind == "calls-plain" else [])],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        port = None
        while port is None:
            line = server.stdout.readline().decode()
            if not line:
                raise SystemExit("hailer-server did not start")
            m = re.search(r"tcp [0-9.]+:(\d+)" if calls else r"students open https://[^:]+:(\d+)/", line)
            if m:
                port = int(m.group(1))
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        held = []

        def connect():
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the CLI: no Nagle wait behind Finished
            if a.kind != "calls-plain":
                s = ctx.wrap_socket(s, server_hostname="localhost")
            if calls:  # a registered calls session, idle (its reply and media_ready read)
                s.sendall(b'{"type":"register","id":1,"version":1,"name":"idle%d"}\n' % len(held))
                data = b""
                while data.count(b"\n") < 1:
                    chunk = s.recv(65536)
                    if not chunk:
                        raise SystemExit("the server closed a connection: %r" % data[:100])
                    data += chunk
                if b'"ok"' not in data:
                    raise SystemExit("not registered: %r" % data[:200])
                return s
            if a.kind == "wss":
                s.sendall(upgrade_request("/ws"))
            else:
                s.sendall(b"GET /style.css HTTP/1.1\r\nHost: localhost\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    raise SystemExit("the server closed a connection: %r" % data[:100])
                data += chunk
            return s

        held.append(connect())  # the first connection's one-off costs (TLS context, pools) are not counted
        before = settle(server.pid)
        t0 = time.monotonic()
        for _ in range(n):
            held.append(connect())
        opened_s = time.monotonic() - t0
        with_them = settle(server.pid)
        for s in held[1:]:
            s.close()
        after = settle(server.pid, 2.0)
        for s in held[:1]:
            s.close()
        server.terminate()
        server.wait(timeout=10)
    print("%d idle %s connections (opened in %.1f s): RSS %d KiB before, %d KiB with them (%.1f KiB each), %d KiB after they closed"
          % (n, a.kind.upper(), opened_s, before, with_them, (with_them - before) / n, after))


if __name__ == "__main__":
    main()
