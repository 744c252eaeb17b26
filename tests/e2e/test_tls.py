"""TLS on the calls port, end to end: real hailer-server and hailer processes on 127.0.0.1.

The server speaks TLS unless started with --plaintext; the CLI pins the server's key on first use
(known_servers, 0600, in its config folder), refuses a changed key, and says clearly when one side
speaks TLS and the other does not. Handshakes are bounded in time and in number per address."""
import json
import os
import resource
import select
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CLIENT, WAIT_S, Raw, TempDirCase, client_tls_context, free_port  # noqa: E402


def wait_for(condition, what, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("never: " + what)
        time.sleep(0.05)


class Recorder:
    """A TCP proxy on 127.0.0.1 that keeps every byte that crosses it, both ways (a capture)."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.captured = bytearray()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                with self.lock:
                    self.captured += data
                dst.sendall(data)
        except OSError:
            return

    def close(self):
        self.listener.close()


class Tls(TempDirCase):

    def known_servers(self):
        return os.path.join(os.environ["XDG_CONFIG_HOME"], "hailer", "known_servers")

    def run_cli(self, address, *args, stdin=b"", timeout=WAIT_S):
        """One CLI: it connects; once registered it reads `stdin` and ends (a refusal ends it
        sooner). (exit status, stdout, stderr)."""
        p = subprocess.Popen([CLIENT, "--server", address, "--name", "zed", "--audio-in", "none", "--audio-out", "none",
                              *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = b""
        deadline = time.monotonic() + timeout
        while p.poll() is None and time.monotonic() < deadline:
            if not select.select([p.stdout], [], [], 0.05)[0]:
                continue
            line = p.stdout.readline()
            out += line
            if b"registered as zed" in line or b'"name":"zed"' in line:
                break
        rest, err = p.communicate(stdin, timeout=timeout)
        return p.returncode, (out + rest).decode(), err.decode()

    def test_the_first_connection_pins_the_servers_key_in_a_private_file_and_the_next_finds_it(self):
        server = self.server("--no-web")
        self.assertIn("calls port: TLS, server key %s" % server.key, server.banner)
        alice = self.cli(server, "alice", "--audio-in", "none", "--audio-out", "none")
        secured = alice.expect("connection", {"state": "secured"})
        self.assertEqual((secured["trust"], secured["server_key"], secured["server"]),
                         ("first_use", server.key, server.address))
        self.assertIn(secured["tls"], ("TLSv1.3", "TLSv1.2"))
        alice.expect("ok", {"name": "alice"})
        path = self.known_servers()
        self.assertEqual(secured["known_servers"], path)
        with open(path) as f:
            self.assertEqual(f.read(), "%s %s\n" % (server.address, server.key))
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), 0o700)
        bob = self.cli(server, "bob", "--audio-in", "none", "--audio-out", "none")
        self.assertEqual(bob.expect("connection", {"state": "secured"})["trust"], "pinned")
        bob.expect("ok", {"name": "bob"})
        with open(path) as f:
            self.assertEqual(f.read().count("\n"), 1, "pinned once")
        # A person at a terminal is told the key on first use, to compare with the server's banner.
        os.remove(path)
        status, out, _ = self.run_cli(server.address)
        self.assertEqual(status, 0, out)
        self.assertIn("its key %s is now pinned in %s" % (server.key, path), out)

    def test_a_changed_server_key_is_refused_naming_the_file_and_trust_pins_the_new_one(self):
        port = free_port()
        first = self.server("--no-web", port=port, state_dir=self.path("state-a"))
        alice = self.cli(first, "alice", "--audio-in", "none", "--audio-out", "none")
        self.assertEqual(alice.expect("connection", {"state": "secured"})["trust"], "first_use")
        alice.expect("ok", {"name": "alice"})
        alice.quit()
        self.assertEqual(first.stop(), 0)
        # Another server on the same address, with a key of its own: a man in the middle, to the CLI.
        second = self.server("--no-web", port=port, state_dir=self.path("state-b"))
        self.assertNotEqual(first.key, second.key)
        status, out, _ = self.run_cli(second.address, "--json", stdin=b"who\n")
        self.assertEqual(status, 4, out)
        lines = [json.loads(line) for line in out.splitlines()]
        untrusted = [m for m in lines if m.get("state") == "untrusted"]
        self.assertEqual(len(untrusted), 1, out)
        self.assertEqual((untrusted[0]["trust"], untrusted[0]["pinned_key"], untrusted[0]["server_key"]),
                         ("changed", first.key, second.key))
        self.assertFalse(any(m.get("type") == "ok" for m in lines), "never registered: " + out)
        status, out, _ = self.run_cli(second.address)
        self.assertEqual(status, 4)
        self.assertIn("HAS CHANGED", out)
        self.assertIn(self.known_servers(), out)  # the file to edit
        self.assertIn("--trust " + second.key, out)
        with open(self.known_servers()) as f:
            self.assertIn(first.key, f.read(), "a refused key is never pinned")
        # The operator confirms the new key: --trust pins it, and the next connection needs nothing.
        status, out, _ = self.run_cli(second.address, "--trust", second.key.upper().replace("SHA256:", ""))
        self.assertEqual(status, 0, out)
        with open(self.known_servers()) as f:
            self.assertEqual(f.read(), "%s %s\n" % (second.address, second.key))
        status, out, _ = self.run_cli(second.address)
        self.assertEqual(status, 0, out)
        self.assertIn("registered as zed", out)

    def test_trust_with_another_key_refuses_and_a_malformed_one_is_a_usage_error(self):
        server = self.server("--no-web")
        status, out, _ = self.run_cli(server.address, "--trust", "SHA256:" + "0" * 64)
        self.assertEqual(status, 4)
        self.assertIn("not the one given with --trust", out)
        self.assertFalse(os.path.exists(self.known_servers()), "nothing pinned")
        status, _, err = self.run_cli(server.address, "--trust", "SHA256:1234")
        self.assertEqual(status, 2)
        self.assertIn("--trust takes a key fingerprint", err)
        status, _, err = self.run_cli(server.address, "--trust", server.key, "--plaintext")
        self.assertEqual(status, 2)

    def test_a_plaintext_client_on_the_tls_port_is_told_tls_required_and_closed(self):
        server = self.server("--no-web")
        raw = Raw(server.port, tls=False)
        raw.send_text(json.dumps({"type": "register", "id": 1, "version": 1, "name": "plain"}))
        m = raw.read()
        self.assertEqual((m["type"], m["code"]), ("error", "tls_required"))
        self.assertTrue(raw.closed())
        status, out, err = self.run_cli(server.address, "--plaintext")
        self.assertEqual(status, 4, out)
        self.assertIn("speaks TLS", out)
        self.assertIn("--plaintext", err)  # the CLI warns before it connects in plaintext
        c = server.counters()
        self.assertEqual((c["net.plaintext_refused"], c["core.sessions_opened"]), (2, 0))

    def test_a_tls_client_on_a_plaintext_port_fails_at_once_with_a_clear_message(self):
        server = self.server("--no-web", "--plaintext")
        self.assertIn("PLAINTEXT", server.banner)
        started = time.monotonic()
        status, out, _ = self.run_cli(server.address)
        self.assertLess(time.monotonic() - started, 5, "never a hang")
        self.assertEqual(status, 4, out)
        self.assertIn("--plaintext", out)
        s = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S)
        with self.assertRaises((ssl.SSLError, OSError)):
            client_tls_context().wrap_socket(s)
        s.close()
        wait_for(lambda: server.counters()["net.tls_on_plaintext"] == 2, "both hellos counted")
        status, out, _ = self.run_cli(server.address, "--plaintext")
        self.assertEqual(status, 0, out)
        self.assertIn("registered as zed", out)

    def test_a_handshake_that_never_finishes_is_closed_at_its_deadline(self):
        server = self.server("--no-web", "--tls-handshake-timeout-ms", "600")
        silent = socket.create_connection(("127.0.0.1", server.port))
        half = socket.create_connection(("127.0.0.1", server.port))
        half.sendall(b"\x16\x03\x01\x02\x00\x01")  # the start of a client hello, then nothing
        started = time.monotonic()
        for s in (silent, half):
            s.settimeout(WAIT_S)
            self.assertEqual(s.recv(100), b"")  # closed by the server, not by us
        waited = time.monotonic() - started
        self.assertGreaterEqual(waited, 0.5, "not before the deadline")
        self.assertLess(waited, 3.0)
        self.assertEqual(server.counters()["net.tls_timeouts"], 2)
        # Meanwhile and after, a real client gets in.
        Raw(server.port).register("fine")

    def test_a_busy_connection_keeps_its_record_buffers_and_gives_them_back_once_quiet(self):
        # The gap that makes a connection busy is 250 ms (net/net_server.hpp), swept as often.
        server = self.server("--no-web")
        ann = Raw(server.port)
        ann.register("ann")
        time.sleep(0.4)
        ann.reply(ann.request("ping"))  # one read after a quiet spell: a heartbeat, not busy
        counters = server.counters()
        self.assertEqual(counters["net.tls_buffers_kept"], 0)
        self.assertEqual(counters["net.tls_buffers_released"], 0)
        ann.reply(ann.request("ping"))  # a second read within the gap: a conversation
        counters = server.counters()
        self.assertEqual(counters["net.tls_buffers_kept"], 1)
        self.assertEqual(counters["net.tls_buffers_released"], 0)
        ann.reply(ann.request("ping"))  # still busy: still kept, not kept twice
        self.assertEqual(server.counters()["net.tls_buffers_kept"], 1)
        deadline = time.monotonic() + WAIT_S
        while server.counters()["net.tls_buffers_released"] == 0:
            self.assertLess(time.monotonic(), deadline, "the buffers were never given back")
            time.sleep(0.05)
        self.assertEqual(server.counters()["net.tls_buffers_released"], 1)
        # Given back, the connection works as before.
        ann.reply(ann.request("ping"))

    def test_a_thousand_handshakes_from_one_address_hold_only_its_share(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        server = self.server("--no-web", "--max-tls-handshakes-per-address", "16", "--max-sessions", "2000")
        flood = [socket.create_connection(("127.0.0.1", server.port), source_address=("127.0.0.3", 0))
                 for _ in range(1000)]
        self.addCleanup(lambda: [s.close() for s in flood])
        wait_for(lambda: server.counters()["net.tls_refused"] == 1000 - 16, "the excess closed at once")
        closed = 0
        for s in flood:
            if select.select([s], [], [], 0)[0]:
                s.settimeout(1)
                try:
                    self.assertEqual(s.recv(10), b"")
                except ConnectionResetError:
                    pass
                closed += 1
        self.assertEqual(closed, 1000 - 16)
        # Another address is not held back by the crowd, and neither is this one's next real client
        # once a place is free.
        Raw(server.port, source="127.0.0.4").register("other")
        flood[0].close()
        wait_for(lambda: self._registers(server.port, "127.0.0.3", "late"), "a place of 127.0.0.3 freed")

    def _registers(self, port, source, name):
        try:
            Raw(port, source=source).register(name)
            return True
        except (OSError, AssertionError, ValueError):
            return False

    def test_a_corrupt_record_closes_only_its_sender_as_a_protocol_error(self):
        server = self.server("--no-web")
        bystander = Raw(server.port)
        bystander.register("bystander")
        victim = Raw(server.port)
        victim.register("victim")
        raw = socket.socket(fileno=os.dup(victim.sock.fileno()))
        raw.sendall(b"\x17\x03\x03\x00\x20" + os.urandom(32))  # application data that fails its AEAD check
        raw.close()
        self.assertTrue(victim.closed())
        wait_for(lambda: server.counters()["core.closed.protocol_error"] == 1, "closed as protocol_error")
        self.assertEqual(bystander.reply(bystander.request("ping"))["type"], "ok")

    def test_tls_12_with_cbc_suites_and_tls_11_are_refused_aead_and_13_are_taken(self):
        server = self.server("--no-web")

        def handshake(ciphers, version=ssl.TLSVersion.TLSv1_2):
            ctx = client_tls_context()
            ctx.minimum_version = ctx.maximum_version = version
            if ciphers:
                ctx.set_ciphers(ciphers)
            with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S) as raw:
                try:
                    with ctx.wrap_socket(raw) as s:
                        return s.version(), s.cipher()[0]
                except (ssl.SSLError, ConnectionResetError):
                    return None
        for cbc in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES128-SHA256"):
            self.assertIsNone(handshake(cbc), cbc)
        self.assertEqual(handshake("ECDHE-ECDSA-AES128-GCM-SHA256"), ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"))
        self.assertEqual(handshake("ECDHE-ECDSA-CHACHA20-POLY1305"), ("TLSv1.2", "ECDHE-ECDSA-CHACHA20-POLY1305"))
        self.assertEqual(handshake(None, ssl.TLSVersion.TLSv1_3), ("TLSv1.3", "TLS_AES_128_GCM_SHA256"))
        self.assertIsNone(handshake(None, ssl.TLSVersion.TLSv1_1))

    def test_a_capture_of_the_signaling_holds_no_plaintext(self):
        server = self.server("--no-web")
        proxy = Recorder(server.port)
        self.addCleanup(proxy.close)
        address = "127.0.0.1:%d" % proxy.port
        alice = self.cli(address, "alice", "--audio-in", "none", "--audio-out", "none")
        bob = self.cli(address, "bob", "--audio-in", "none", "--audio-out", "none", "--auto-accept")
        alice.expect("ok", {"name": "alice"})
        bob.expect("ok", {"name": "bob"})
        alice.send("call bob")
        alice.expect("call_connected")
        alice.send("hangup")
        bob.expect("call_ended")
        with proxy.lock:
            captured = bytes(proxy.captured)
        self.assertGreater(len(captured), 2000)
        for plain in (b'"type"', b"register", b"alice", b"call_connected", b"media_token"):
            self.assertNotIn(plain, captured)


if __name__ == "__main__":
    unittest.main()
