"""The catalogue of bad inputs and faults, against a real hailer-server on 127.0.0.1 (TCP
signaling, the UDP rendezvous port, HTTP and the WebSocket) and real hailer CLIs.

Every test method is named for what it sends. Around each one stand bystanders: alice and bob in
a call, carol waiting for alice, tom holding the floor in a classroom with vic listening. After
the offence each test checks (check_bystanders) that the offender got a clear error or a close
with a reason, that every bystander's session, call, wait and floor are untouched, that the
server holds exactly the sessions it held before, and that its memory returned to where it was.
Each test method is its own ctest entry (tests/CMakeLists.txt)."""

import errno
import json
import math
import os
import random
import re
import select
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SERVER as SERVER_BIN, Raw, TempDirCase, WAIT_S, best_correlation, envelope, read_wav  # noqa: E402
from ws import Ws, WsClosed, frame  # noqa: E402
from attacks import media_proof, predict_tokens  # noqa: E402

# Sanitizer builds keep freed memory in quarantine, so RSS cannot return there; sessions still must.
SANITIZED = "ASAN_OPTIONS" in os.environ
RSS_SLACK_KIB = 3 * 1024
FORBIDDEN = {"call_ended", "wait_ended", "floor_revoked", "floor_idle", "server_closing", "error",
             "callee_available", "floor_dequeued"}


def ws_frame(opcode, payload, fin=True, mask=True, rsv=0):
    """One raw WebSocket frame, as a client would send it (masked unless told otherwise)."""
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack(">H", n)
    else:
        head += bytes([m | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class Party:
    """A bystander's connection: sends under a lock (a keep-alive thread pings it), reads in the test."""

    def __init__(self, conn, name):
        self.conn = conn
        self.name = name
        self.lock = threading.Lock()

    def request(self, type_, **fields):
        with self.lock:
            return self.conn.request(type_, **fields)

    def ping(self):
        with self.lock:
            self.conn.send_text(json.dumps({"type": "ping", "id": 0}))

    def next(self, deadline):
        """The next message as a dict, None when the server closed; raises on the deadline."""
        left = max(0.01, deadline - time.monotonic())
        m = self.conn.read(left) if isinstance(self.conn, Raw) else self.conn.recv(left)
        return json.loads(m) if isinstance(m, (str, bytes)) else m


class BadInputs(TempDirCase):

    def setUp(self):
        super().setUp()
        self.srv = self.server("--heartbeat-timeout-ms", "3000", "--silence-timeout-ms", "3600000",
                               "--max-talk-ms", "3600000", "--max-sessions", "80", "--instructor-token", "open-sesame-0123456789")
        self.checked = False
        self.offenders = []  # connections a test opened: closed before the check
        alice, bob, carol = Raw(self.srv.port), Raw(self.srv.port), Raw(self.srv.port)
        self.alice_token = alice.register("alice")["media_token"]
        bob.register("bob")
        carol.register("carol")
        alice.reply(alice.request("call", to="bob"))
        bob.expect("call_ringing")
        bob.reply(bob.request("accept"))
        alice.expect("call_connected", {"peer": "bob"})
        bob.expect("call_connected", {"peer": "alice"})
        self.assertTrue(carol.reply(carol.request("call", to="alice"))["queued"])
        alice.expect("waiting_count", {"count": 1})
        tom, vic = Ws(self.srv.http_port, tls=True), Ws(self.srv.http_port, tls=True)
        self.assertEqual(tom.join("tom")["type"], "ok")
        self.assertEqual(vic.join("vic")["type"], "ok")
        tom.request("press")
        tom.expect("floor_granted")
        vic.expect("floor_taken", {"talker": "tom"})
        self.parties = [Party(alice, "alice"), Party(bob, "bob"), Party(carol, "carol"), Party(tom, "tom"),
                        Party(vic, "vic")]
        self.kept_alive = list(self.parties)  # tests add their own long-lived clients
        self.keeping_alive = True
        self.keeper = threading.Thread(target=self._keep_alive, daemon=True)
        self.keeper.start()
        self.sessions_before = self.open_sessions()
        self.rss_before = self.rss_kib()

    def tearDown(self):
        self.keeping_alive = False
        self.keeper.join(timeout=5)
        for p in self.parties:
            if isinstance(p.conn, Ws):
                p.conn.close()
        super().tearDown()
        if not self.checked:
            raise AssertionError("the test never checked the bystanders (check_bystanders)")

    def _keep_alive(self):
        """Pings every bystander each second: the server's heartbeat is short (3 s) for the tests
        that wait for it, and a bystander must never be the one it drops."""
        while self.keeping_alive:
            for p in list(self.kept_alive):
                try:
                    p.ping()
                except OSError:
                    pass
            time.sleep(1.0)

    # ------------------------------------------------------------------ server state

    def counters(self):
        """The server's counters (SIGUSR1 logs them)."""
        return self.srv.counters()

    def open_sessions(self):
        c = self.counters()
        # A connection refused as server_full never became a session; it is only counted closed.
        return c["core.sessions_opened"] - sum(v for k, v in c.items()
                                               if k.startswith("core.closed.") and k != "core.closed.server_full")

    def closed(self, reason):
        return self.counters()["core.closed." + reason]

    def rss_kib(self):
        with open("/proc/%d/status" % self.srv.proc.pid) as f:
            return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))

    # ------------------------------------------------------------------ the check

    def check_bystanders(self, allowed=()):
        """Nothing reached a bystander but pongs (and `allowed` event types), their call, wait and
        floor stand, the server holds the sessions it held before and its memory is back."""
        self.checked = True
        for o in self.offenders:
            o.close()
        for p in self.parties:
            deadline = time.monotonic() + 0.3
            while True:
                try:
                    m = p.next(deadline)
                except (AssertionError, TimeoutError):
                    break
                except WsClosed as c:
                    raise AssertionError("%s was closed (%s)" % (p.name, c.code))
                self.assertIsNotNone(m, "%s was closed" % p.name)
                self.assertNotIn(m.get("type"), FORBIDDEN - set(allowed), "%s got %s" % (p.name, m))
        alice, _, _, tom, vic = self.parties
        users = {u["name"]: u for u in self.reply(alice, "who")["users"]}
        self.assertEqual(users["alice"]["state"], "in_call")
        self.assertEqual(users["bob"]["state"], "in_call")
        self.assertEqual(users["alice"]["waiting"], 1)  # carol still waits
        self.assertEqual(users["carol"]["state"], "available")
        room = self.reply(vic, "who")
        self.assertEqual(room["talker"], "tom")
        self.assertEqual(sorted(m["name"] for m in room["members"]), ["tom", "vic"])
        self.assertEqual(self.reply(tom, "ping")["type"], "ok")
        self.wait_for(lambda: self.open_sessions() == self.sessions_before, "sessions back to %d (now %d)"
                      % (self.sessions_before, self.open_sessions()))
        if not SANITIZED:
            self.wait_for(lambda: self.rss_kib() <= self.rss_before + RSS_SLACK_KIB,
                          "RSS back near %d KiB (now %d KiB)" % (self.rss_before, self.rss_kib()))
        self.assertIsNone(self.srv.proc.poll(), "the server died")

    def reply(self, party, type_, **fields):
        rid = party.request(type_, **fields)
        deadline = time.monotonic() + WAIT_S
        while True:
            m = party.next(deadline)
            self.assertIsNotNone(m, "%s was closed" % party.name)
            if m.get("id") == rid and m.get("type") in ("ok", "error"):
                return m
            self.assertNotIn(m.get("type"), FORBIDDEN, "%s got %s" % (party.name, m))

    def wait_for(self, condition, what, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("never: " + what)
            time.sleep(0.1)

    # ------------------------------------------------------------------ helpers

    def raw(self, register=None):
        r = Raw(self.srv.port)
        self.offenders.append(r)
        if register:
            r.register(register)
        return r

    def error_for(self, r, text):
        """Sends one line; the error it gets (the connection must live on: a ping answers)."""
        r.sock.sendall(text if isinstance(text, bytes) else text.encode())
        m = r.expect("error")
        self.assertEqual(r.reply(r.request("ping"))["type"], "ok")
        return m

    def ws(self, name=None, room="other", tls=False):
        w = Ws(self.srv.http_port, tls=tls)
        self.offenders.append(w)
        if name:
            self.assertEqual(w.join(name, room=room)["type"], "ok")
        return w

    def ws_refused(self, data, name="olga"):
        """A joined WebSocket sends raw bytes; the close code the server answers with."""
        w = self.ws(name)
        w.sock.sendall(data)
        code = w.close_code()
        w.sock.close()  # as a browser does once the server's close frame arrived
        return code

    def http(self, request, tls=False, timeout=WAIT_S, source="127.0.0.1"):
        """A raw HTTP exchange: the status line and the whole answer (up to the close or 64 KiB)."""
        s = socket.create_connection(("127.0.0.1", self.srv.http_port), timeout=timeout, source_address=(source, 0))
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s, server_hostname="localhost")
        s.sendall(request)
        data = b""
        try:
            while b"\r\n\r\n" not in data or len(data) < 65536:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    head = data.split(b"\r\n\r\n")[0]
                    m = re.search(rb"content-length: *(\d+)", head, re.I)
                    if m and len(data) >= len(head) + 4 + int(m.group(1)):
                        break
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
        return data

    # ================================================================== TCP signaling

    def test_tcp_a_truncated_line_then_end_of_stream(self):
        before = self.closed("peer_closed")
        r = self.raw()
        r.sock.sendall(b'{"type":"register","id":1,"vers')
        r.shutdown_write()
        self.assertTrue(r.closed())
        self.wait_for(lambda: self.closed("peer_closed") == before + 1, "closed as peer_closed")
        self.check_bystanders()

    def test_tcp_a_10_mb_line(self):
        before = self.closed("protocol_error")
        r = self.raw()
        got = []

        def read_all():
            try:
                got.append(r.read())
            except (OSError, AssertionError, ValueError):
                pass
        reader = threading.Thread(target=read_all)
        reader.start()
        chunk = b"x" * 65536
        try:
            for _ in range(160):  # 10 MiB, no newline
                r.sock.sendall(chunk)
        except OSError:  # a broken pipe or a reset; over TLS, an end of stream in the middle of a record
            pass
        reader.join(timeout=WAIT_S)
        if got and got[0] is not None:
            self.assertEqual(got[0]["code"], "message_too_large")
        self.wait_for(lambda: self.closed("protocol_error") == before + 1, "closed as protocol_error")
        self.check_bystanders()

    def test_tcp_a_line_with_nul_bytes(self):
        r = self.raw("olga")
        self.assertEqual(self.error_for(r, b'{"type":"ping",\x00"id":3}\n')["code"], "bad_json")
        self.check_bystanders()

    def test_tcp_invalid_utf8(self):
        r = self.raw("olga")
        self.assertEqual(self.error_for(r, b'{"type":"call","id":3,"to":"\xc3\x28"}\n')["code"], "invalid_utf8")
        self.assertEqual(self.error_for(r, b'{"type":"call","id":4,"to":"\xed\xa0\x80"}\n')["code"], "invalid_utf8")
        self.check_bystanders()

    def test_tcp_deeply_nested_json(self):
        r = self.raw("olga")
        self.assertEqual(self.error_for(r, "[" * 4000 + "\n")["code"], "bad_json")
        self.assertEqual(self.error_for(r, '{"type":"ping","id":1,"x":' + '{"a":' * 600 + "1" + "}" * 601 + "\n")["code"],
                         "bad_json")
        self.check_bystanders()

    def test_tcp_numbers_out_of_range(self):
        r = self.raw()
        for text, code in (('{"type":"ping","id":1e20}', "bad_field"), ('{"type":"ping","id":-1}', "bad_field"),
                           ('{"type":"ping","id":1.5}', "bad_field"),
                           ('{"type":"ping","id":1' + "0" * 400 + "}", "bad_field"),
                           ('{"type":"register","id":2,"version":1,"name":"olga","media_port":65536}', "bad_field"),
                           ('{"type":"register","id":3,"version":4294967297,"name":"olga"}', "unsupported_version")):
            self.assertEqual(self.error_for(r, text + "\n")["code"], code, text)
        self.check_bystanders()

    def test_tcp_duplicate_keys(self):
        r = self.raw("olga")
        self.assertEqual(self.error_for(r, '{"type":"ping","id":1,"id":2}\n')["code"], "bad_json")
        self.assertEqual(self.error_for(r, '{"type":"call","type":"hangup","id":1}\n')["code"], "bad_json")
        self.check_bystanders()

    def test_tcp_an_unknown_request_type(self):
        r = self.raw("olga")
        self.assertEqual(self.error_for(r, '{"type":"shutdown_server","id":1}\n')["code"], "unknown_type")
        self.check_bystanders()

    def test_tcp_bidi_and_control_characters_echoed_into_the_log(self):
        # An unknown type is quoted back in the error, and the error is logged: what a client wrote
        # must reach the log as text to read, not as characters an operator's terminal obeys.
        r = self.raw("olga")
        m = self.error_for(r, '{"type":"ping\u202e\u2066gnp.exe","id":1}\n'.encode())
        self.assertEqual(m["code"], "unknown_type")
        self.assertIn("\u202e", m["message"])  # the client itself gets the text as it sent it
        self.srv.wait_log(r"unknown_type")
        with open(self.srv.log_path, "rb") as f:
            log = f.read()
        for raw in ("\u202e", "\u2066"):
            self.assertNotIn(raw.encode(), log)
        self.assertIn(b"ping\\u202e\\u2066gnp.exe", log)
        self.check_bystanders()

    def test_tcp_not_an_object(self):
        r = self.raw("olga")
        for text in ('[1,2]', '"register"', '42', 'null'):
            self.assertEqual(self.error_for(r, text + "\n")["code"], "not_an_object", text)
        self.check_bystanders()

    def test_tcp_a_byte_order_mark_and_a_lone_surrogate_escape(self):
        r = self.raw("olga")
        self.assertEqual(self.error_for(r, b'\xef\xbb\xbf{"type":"ping","id":1}\n')["code"], "bad_json")
        self.assertIn(self.error_for(r, '{"type":"call","id":2,"to":"\\ud800"}\n')["code"], ("bad_json", "invalid_utf8"))
        self.assertIn(self.error_for(r, '{"type":"call","id":3,"to":"a\\u0000b"}\n')["code"], ("bad_json", "bad_field",
                                                                                            "bad_name"))
        self.check_bystanders()

    def test_tcp_a_missing_field_and_a_wrong_version(self):
        r = self.raw()
        self.assertEqual(self.error_for(r, '{"type":"register","id":1,"version":1}\n')["code"], "missing_field")
        self.assertEqual(self.error_for(r, '{"type":"register","id":2,"version":2,"name":"olga"}\n')["code"],
                         "unsupported_version")
        self.check_bystanders()

    def test_tcp_requests_before_register(self):
        r = self.raw()
        for text in ('{"type":"call","id":1,"to":"alice"}', '{"type":"hangup","id":2}',
                     '{"type":"accept","id":3}', '{"type":"who","id":4}'):
            self.assertEqual(self.error_for(r, text + "\n")["code"], "not_registered", text)
        self.check_bystanders()

    def test_tcp_replays_of_old_request_ids(self):
        olga, dora = self.raw("olga"), self.raw("dora")
        olga.reply(olga.request("call", to="dora"))
        dora.expect("call_ringing")
        accept = json.dumps({"type": "accept", "id": 7})
        dora.send_text(accept)
        self.assertEqual(dora.reply(7)["type"], "ok")
        olga.expect("call_connected")
        dora.reply(dora.request("hangup"))
        olga.expect("call_ended")
        dora.send_text(accept)  # the same request again: nothing rings, so nothing to accept
        self.assertEqual(dora.reply(7)["code"], "no_pending_call")
        register = json.dumps({"type": "register", "id": 1, "version": 1, "name": "olga"})
        olga.send_text(register)
        self.assertEqual(olga.reply(1)["code"], "already_registered")
        self.check_bystanders()

    def test_tcp_random_binary_bytes(self):
        r = self.raw("olga")
        rng = random.Random(7)
        blob = bytes(rng.randrange(256) for _ in range(3000)).replace(b"\n", b"") + b"\n"
        self.assertIn(self.error_for(r, blob)["code"], ("bad_json", "invalid_utf8"))
        self.check_bystanders()

    def test_tcp_a_push_to_talk_request_on_the_calls_port(self):
        r = self.raw("olga")
        self.assertEqual(self.error_for(r, '{"type":"press","id":1}\n')["code"], "wrong_face")
        self.assertEqual(self.error_for(r, '{"type":"revoke","id":2}\n')["code"], "wrong_face")
        self.check_bystanders()

    def test_tcp_a_taken_name_and_requests_on_other_peoples_calls(self):
        r = self.raw()
        self.assertEqual(self.error_for(r, '{"type":"register","id":1,"version":1,"name":"alice"}\n')["code"],
                         "name_taken")
        self.assertEqual(self.error_for(r, '{"type":"register","id":1,"version":1,"name":"ALICE"}\n')["code"],
                         "name_taken")
        r.register("olga")
        for text, code in (('{"type":"hangup","id":2}', "not_in_call"), ('{"type":"accept","id":3,"call_id":1}',
                                                                         "no_pending_call"),
                           ('{"type":"reject","id":4,"call_id":1}', "no_pending_call"),
                           ('{"type":"cancel","id":5}', "no_outgoing_call"),
                           ('{"type":"cancel_wait","id":6}', "not_waiting")):
            self.assertEqual(self.error_for(r, text + "\n")["code"], code, text)
        self.check_bystanders()

    def test_tcp_slowloris_one_byte_at_a_time(self):
        before = self.closed("heartbeat_timeout")
        r = self.raw()
        line = b'{"type":"register","id":1,"version":1,"name":"slowpoke"}'
        t0 = time.monotonic()
        for b in line:  # 0.1 s a byte: the line would take 5.6 s; the heartbeat is 3 s
            try:
                r.sock.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                break
            if select.select([r.sock], [], [], 0.1)[0]:
                break
        self.assertTrue(r.closed())
        self.assertLess(time.monotonic() - t0, 5.0)
        self.wait_for(lambda: self.closed("heartbeat_timeout") == before + 1, "closed as heartbeat_timeout")
        self.check_bystanders()

    def test_tcp_a_half_closed_connection(self):
        before = self.closed("peer_closed")
        r = self.raw("olga")
        r.shutdown_write()  # FIN (after close_notify over TLS): the client says it is done
        self.assertTrue(r.closed())
        self.wait_for(lambda: self.closed("peer_closed") == before + 1, "closed as peer_closed")
        self.check_bystanders()

    def test_tcp_a_reset_in_the_middle_of_a_line(self):
        before = self.closed("reset") + self.closed("peer_closed")
        r = self.raw("olga")
        r.sock.sendall(b'{"type":"call","id":2,"to":"ali')
        r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        r.sock.close()  # RST
        self.wait_for(lambda: self.closed("reset") + self.closed("peer_closed") == before + 1, "closed")
        self.check_bystanders()

    def test_tcp_requests_sent_without_ever_reading_the_replies(self):
        before = self.closed("slow_reader")
        r = Raw(self.srv.port, rcvbuf=4096)
        self.offenders.append(r)
        r.register("olga")
        line = (json.dumps({"type": "who", "id": 1}) + "\n").encode() * 64
        r.sock.setblocking(False)
        deadline = time.monotonic() + 20
        while self.closed("slow_reader") == before and time.monotonic() < deadline:
            try:
                r.sock.send(line)
            except BlockingIOError:
                time.sleep(0.01)
            except (ConnectionResetError, BrokenPipeError):
                break
        self.wait_for(lambda: self.closed("slow_reader") == before + 1, "closed as slow_reader")
        self.check_bystanders()

    def test_tcp_a_connection_flood_beyond_max_sessions(self):
        before = self.closed("server_full")
        # 80 sessions at most, 5 bystanders hold some; from three addresses, each under its own cap.
        flood = [Raw(self.srv.port, source="127.0.0.%d" % (2 + k % 3)) for k in range(90)]
        self.offenders += flood
        self.wait_for(lambda: self.closed("server_full") == before + 90 - (80 - 5), "server_full for the excess")
        full = 0
        for r in flood:
            if select.select([r.sock], [], [], 0)[0]:
                m = r.read()
                self.assertEqual(m["code"], "server_full")
                self.assertTrue(r.closed())
                full += 1
        self.assertEqual(full, 90 - (80 - 5))
        self.check_bystanders()

    def cpu_seconds(self, proc):
        with open("/proc/%d/stat" % proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def test_tcp_300_idle_https_connections_leave_the_calls_port_serving(self):
        # 256 descriptors in all (the attack's soft limit): 300 kept-alive HTTPS connections from a
        # few addresses once took them all, and the calls port accepted nothing while accept()
        # spun on EMFILE. Now the HTTP connections have their own cap, sized from the limit.
        small = self.server("--heartbeat-timeout-ms", "30000", nofile=256)
        small.wait_log(r"only 256 file descriptors: max-sessions lowered to \d+, max-http-connections to \d+")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        held, refused = [], 0
        for k in range(300):
            try:
                s = socket.create_connection(("127.0.0.1", small.http_port), timeout=0.5,
                                             source_address=("127.0.0.%d" % (2 + k % 5), 0))
                s = ctx.wrap_socket(s, server_hostname="localhost")
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                if not s.recv(65536):
                    raise ConnectionError
                held.append(s)
            except (OSError, ssl.SSLError, ConnectionError):
                refused += 1
        # Whatever descriptors are left, plain connections that say nothing try to take.
        for k in range(60):
            try:
                held.append(socket.create_connection(("127.0.0.1", small.http_port), timeout=0.5,
                                                     source_address=("127.0.0.%d" % (2 + k % 5), 0)))
            except OSError:
                refused += 1
        self.offenders += held
        print("%d kept-alive HTTPS connections held, %d refused at the door" % (len(held), refused), file=sys.stderr)
        self.assertGreater(refused, 0)
        in_use = len(os.listdir("/proc/%d/fd" % small.proc.pid))
        print("the server holds %d of its 256 descriptors" % in_use, file=sys.stderr)
        self.assertLess(in_use, 256 - 64, "the flood took the descriptors the sessions need")
        cpu = self.cpu_seconds(small.proc)
        t0 = time.monotonic()
        callers = [Raw(small.port, source="127.0.0.9") for _ in range(2)]
        self.offenders += callers
        for c in callers:
            c.sock.settimeout(3)  # within the flood's lifetime (idle HTTPS connections are cut after a while)
        callers[0].register("dora")
        callers[1].register("emil")
        callers[0].reply(callers[0].request("call", to="emil"))
        callers[1].expect("call_ringing", {"peer": "dora"})
        time.sleep(2.0)
        busy = (self.cpu_seconds(small.proc) - cpu) / (time.monotonic() - t0)
        print("calls port served; server CPU %.1f%% meanwhile" % (100 * busy), file=sys.stderr)
        self.assertLess(busy, 0.15)
        small.stop()
        self.check_bystanders()

    def test_tcp_out_of_descriptors_pauses_accepting_instead_of_spinning(self):
        # 20 descriptors: fewer than the connections the limits allow, so accept() runs out.
        tiny = self.server("--no-web", "--heartbeat-timeout-ms", "30000", nofile=20)
        flood = []
        for k in range(40):
            try:
                flood.append(socket.create_connection(("127.0.0.1", tiny.port), timeout=2,
                                                      source_address=("127.0.0.%d" % (2 + k % 4), 0)))
            except OSError:
                break
        self.offenders += flood
        tiny.wait_log(r"out of file descriptors .* pauses accepting")
        cpu = self.cpu_seconds(tiny.proc)
        t0 = time.monotonic()
        time.sleep(2.0)
        busy = (self.cpu_seconds(tiny.proc) - cpu) / (time.monotonic() - t0)
        print("out of descriptors with %d connections waiting: server CPU %.1f%%" % (len(flood), 100 * busy), file=sys.stderr)
        self.assertLess(busy, 0.10)
        self.assertEqual(tiny.log_text().count("out of file descriptors"), 1, "said once, not per failed accept")
        for s in flood:
            s.close()
        r = Raw(tiny.port, source="127.0.0.9")
        self.offenders.append(r)
        self.assertEqual(r.reply(r.request("register", version=1, name="dora"), timeout=5)["type"], "ok")
        tiny.stop()
        self.check_bystanders()

    def test_tcp_one_address_cannot_pass_its_cap(self):
        # 64 sessions per address (the default); the bystanders hold 5 of 127.0.0.1's already.
        before = self.counters()["host.refused_per_address"]
        flood = [Raw(self.srv.port) for _ in range(70)]
        self.offenders += flood
        self.wait_for(lambda: self.counters()["host.refused_per_address"] == before + 70 - (64 - 5), "the excess refused")
        refused = 0
        for r in flood:  # a refused one was told why and closed at once; the others hear nothing
            if select.select([r.sock], [], [], 0)[0]:
                self.assertEqual(r.read()["code"], "too_many_connections")
                self.assertTrue(r.closed())
                refused += 1
        self.assertEqual(refused, 70 - (64 - 5))
        self.assertEqual(self.counters()["host.refused_per_address"], before + refused)
        # Everyone else still gets in.
        other = Raw(self.srv.port, source="127.0.0.2")
        self.offenders.append(other)
        self.assertEqual(other.reply(other.request("register", version=1, name="olga"))["type"], "ok")
        self.check_bystanders()

    # ================================================================== secrets and media endpoints

    def udp(self):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        self.offenders.append(u)
        return u

    def prove(self, reg, sock, counter=1):
        """Sends the media proof of a register reply from `sock`, as a client does."""
        sock.sendto(media_proof(reg["media_token"], reg["media_id"], counter), ("127.0.0.1", self.srv.udp_port))

    def test_secret_100000_media_tokens_from_the_server_never_repeat_and_their_bits_are_balanced(self):
        n, threads = 100_000, 4
        replies = [[] for _ in range(threads)]
        linger = struct.pack("ii", 1, 0)  # closed with a reset: 100,000 closes leave no TIME_WAIT behind
        # A plaintext server of its own: the tokens are the server's, whatever the transport, and
        # 100,000 TLS handshakes would take minutes.
        plain = self.server("--plaintext", "--no-web", "--max-sessions-per-address", "100000")

        def register_many(k):
            for i in range(k, n, threads):
                s = socket.create_connection(("127.0.0.1", plain.port), timeout=WAIT_S)
                s.sendall(b'{"type":"register","id":1,"version":1,"name":"t%d"}\n' % i)
                data = b""
                while b"\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                s.close()
                replies[k].append(json.loads(data))

        workers = [threading.Thread(target=register_many, args=(k,)) for k in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=100)
        tokens = [r["media_token"] for rs in replies for r in rs]
        ids = [r["media_id"] for rs in replies for r in rs]
        self.assertEqual(len(tokens), n)
        self.assertTrue(all(re.fullmatch(r"[0-9a-f]{32}", t) for t in tokens), "every key is 128 bits")
        self.assertEqual(len(set(tokens)), n, "a media key repeated")
        self.assertEqual(len(set(ids)), n, "a media id repeated")
        # Each of the 128 bit positions is set in half the keys: within 5 standard deviations
        # (sqrt(n)/2 = 158) of 50,000; and so is every bit taken together.
        values = [int(t, 16) for t in tokens]
        worst = 0
        for bit in range(128):
            ones = sum((v >> bit) & 1 for v in values)
            worst = max(worst, abs(ones - n // 2))
        print("100,000 keys: no repeat, the worst bit is %d from 50,000 (5 sigma = 790)" % worst, file=sys.stderr)
        self.assertLess(worst, 790)
        self.check_bystanders()

    def test_secret_four_registrations_do_not_predict_the_next_token_nor_move_its_endpoint(self):
        # The attack that read every call: register four times in a row, solve the generator's
        # state from the four tokens, predict the next user's token and move their media endpoint
        # to a socket of the attacker's.
        tokens = []
        for k in range(4):
            r = self.raw()
            tokens.append(r.reply(r.request("register", version=1, name="mallory%d" % k))["media_token"])
        predicted = predict_tokens(tokens, 3)
        victim_udp = self.udp()
        dana = self.raw()
        reg = dana.reply(dana.request("register", version=1, name="dana", media_port=victim_udp.getsockname()[1]))
        self.assertFalse(any(reg["media_token"].startswith(p) for p in predicted), "the next token was predicted")
        attacker = self.udp()
        for p in predicted:  # the proof as the old server took it, and one under the guessed key
            attacker.sendto(b"hailer-probe " + p.encode(), ("127.0.0.1", self.srv.udp_port))
            attacker.sendto(media_proof(p * 2, reg["media_id"], 1), ("127.0.0.1", self.srv.udp_port))
        erin = self.raw(register="erin")
        erin.reply(erin.request("call", to="dana"))
        call = dana.expect("call_ringing")
        dana.reply(dana.request("accept", call_id=call["call_id"]))
        media = erin.expect("call_connected")["peer_media"]
        self.assertEqual((media["address"], media["port"]), victim_udp.getsockname(),
                         "dana's audio would go to the attacker")
        self.assertNotEqual(media["port"], attacker.getsockname()[1])
        erin.reply(erin.request("hangup"))
        self.check_bystanders()

    def test_udp_a_probe_without_the_key_and_a_replayed_probe_move_nothing(self):
        home, attacker = self.udp(), self.udp()
        dana = self.raw()
        reg = dana.reply(dana.request("register", version=1, name="dana", media_port=home.getsockname()[1]))
        self.prove(reg, home, counter=7)
        self.assertEqual(dana.expect("media_ready")["port"], home.getsockname()[1])
        before = self.counters()
        # The proof seen on the wire, sent again from the attacker's socket; then proofs with a
        # newer counter under keys that are not dana's.
        attacker.sendto(media_proof(reg["media_token"], reg["media_id"], 7), ("127.0.0.1", self.srv.udp_port))
        attacker.sendto(media_proof("00" * 16, reg["media_id"], 8), ("127.0.0.1", self.srv.udp_port))
        attacker.sendto(media_proof(reg["media_token"][::-1], reg["media_id"], 9), ("127.0.0.1", self.srv.udp_port))
        time.sleep(0.3)
        erin = self.raw(register="erin")
        erin.reply(erin.request("call", to="dana"))
        call = dana.expect("call_ringing")
        dana.reply(dana.request("accept", call_id=call["call_id"]))
        media = erin.expect("call_connected")["peer_media"]
        self.assertEqual((media["address"], media["port"]), home.getsockname(), "dana's audio would go to the attacker")
        after = self.counters()
        self.assertEqual(after["core.media_probes_forged"], before["core.media_probes_forged"] + 2)
        self.assertEqual(after["core.media_probes_replayed"], before["core.media_probes_replayed"] + 1)
        erin.reply(erin.request("hangup"))
        self.check_bystanders()

    def test_udp_probes_alone_do_not_keep_a_session_alive(self):
        # Its owner is gone (nothing on the signaling connection), but someone keeps proving the
        # endpoint: the heartbeat (3 s here) still drops the session and frees the name.
        mallory = self.raw()
        reg = mallory.reply(mallory.request("register", version=1, name="mallory", media_port=4000))
        u = self.udp()
        t0 = time.monotonic()
        counter = 0
        while True:
            counter += 1
            self.prove(reg, u, counter)
            if select.select([mallory.sock], [], [], 0.25)[0] and not mallory.sock.recv(4096):
                break  # the server closed it
            self.assertLess(time.monotonic() - t0, 6.0, "the session outlived the heartbeat by 3 s")
        print("dropped %.1f s after its last message, %d proofs later" % (time.monotonic() - t0, counter), file=sys.stderr)
        again = self.raw()
        self.assertEqual(again.reply(again.request("register", version=1, name="mallory"))["type"], "ok")
        self.check_bystanders()

    def test_udp_reflection_at_a_third_party_gets_no_audio_and_stops_within_the_consent_window(self):
        # mallory proves her endpoint from a victim's address (here a socket of the test's; an
        # attacker would spoof its source), then calls ben: ben's CLI must not aim its audio there.
        victim = self.udp()
        mallory = self.raw()
        reg = mallory.reply(mallory.request("register", version=1, name="mallory", media_port=4000))
        self.kept_alive.append(Party(mallory, "mallory"))  # her call lasts past the 3 s heartbeat
        self.prove(reg, victim)
        mallory.expect("media_ready")
        # mallory's tool speaks plain RTP (a modified client would send a call key as well:
        # end-to-end keys do not stop the reflection, consent does), so ben does too.
        ben = self.cli(self.srv, "ben", "--auto-accept", "--audio-in", self.fixture("ben.wav"), "--audio-out", "none",
                       "--plaintext-media")
        ben.expect("ok")
        mallory.reply(mallory.request("call", to="ben"))
        mallory.expect("call_connected")

        def collect(seconds, answer_until=None):
            """Datagrams reaching the victim for `seconds`: (arrival, kind); checks are answered
            until `answer_until` (a time), as a real peer would."""
            got = []
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                victim.settimeout(max(0.01, end - time.monotonic()))
                try:
                    data, source = victim.recvfrom(65536)
                except socket.timeout:
                    break
                now = time.monotonic()
                if data.startswith(b"hailer-consent "):
                    got.append((now, "check"))
                    if answer_until is not None and now < answer_until:
                        victim.sendto(b"hailer-consent-ok " + data.split(b" ")[1], source)
                        got.append((now, "answer"))
                else:
                    got.append((now, "rtp" if data[:1] and data[0] & 0xC0 == 0x80 else "other"))
            return got

        never = collect(3.0)
        kinds = [k for _, k in never]
        self.assertEqual(kinds.count("rtp"), 0, "audio reached an address that never agreed to it")
        self.assertLessEqual(kinds.count("check"), 15)  # 200 ms retries for 2 s, then one per 800 ms
        self.assertGreater(kinds.count("check"), 0)

        # The victim answers for 2 s (as a peer that then goes away), then falls silent: the audio
        # that consent let through stops within 2.5 s of the last answer (a direct path is left
        # 1.7 s after its last answer, though consent itself would last 4 s).
        answered = collect(9.0, answer_until=time.monotonic() + 2.0)
        answers = [t for t, k in answered if k == "answer"]
        rtp = [t for t, k in answered if k == "rtp"]
        self.assertTrue(answers and rtp, "consent was never given or used")
        stopped_after = rtp[-1] - answers[-1]
        print("reflection: %d checks and no audio unanswered; with consent %d packets, the last %.2f s after the last answer"
              % (kinds.count("check"), len(rtp), stopped_after), file=sys.stderr)
        self.assertLess(stopped_after, 2.5)
        self.assertGreater(len(rtp), 50)
        mallory.reply(mallory.request("hangup"))
        stats = ben.expect("call_stats")
        # What did not go to the victim went to mallory, the peer, through the server (her relay
        # leg, over her tunnel): never to an address that did not agree to it.
        self.assertGreater(stats["packets_relay"] + stats["packets_tunnel"], 150)
        self.assertLessEqual(stats["packets_direct"], len(rtp) + 5)
        self.assertEqual(ben.quit(), 0)
        self.check_bystanders()

    # ================================================================== UDP

    def test_udp_garbage_to_the_rendezvous_port(self):
        def dropped():  # not a proof at all, or a proof with a token nobody holds
            c = self.counters()
            return c["host.datagrams_ignored"] + c["core.media_probes_unknown"]
        before = dropped()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rng = random.Random(3)
        datagrams = [b"", b"hailer-probe", b"hailer-probe ", b"hailer-probe 0123456789abcdef",
                     b"hailer-probe " + self.alice_token.encode() + b"x", b"\x80\x6f" + bytes(10), b"\xff" * 65507]
        datagrams += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 1400))) for _ in range(200)]
        for d in datagrams:
            u.sendto(d, ("127.0.0.1", self.srv.udp_port))
            time.sleep(0.001)  # paced: the kernel drops what overflows a socket buffer, uncounted
        u.close()
        self.wait_for(lambda: dropped() == before + len(datagrams), "every datagram dropped and counted")
        self.check_bystanders(allowed={"media_ready"})

    def test_udp_spoofed_rtp_from_a_third_party_to_a_calls_media_port(self):
        wav_out = self.path("ann_heard.wav")
        ann = self.cli(self.srv, "ann", "--audio-in", self.fixture("ann.wav"), "--audio-out", wav_out)
        ben = self.cli(self.srv, "ben", "--auto-accept", "--audio-in", self.fixture("ben.wav"), "--audio-out", "none")
        ann.expect("ok")
        ben.expect("ok")
        ann.send("call ben")
        endpoint = ben.expect("call_connected", {"peer": "ann"})["peer_media"]
        ann.expect("call_connected", {"peer": "ben"})
        # A third party floods ann's media port with loud RTP of ann's own payload type.
        spoofer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        noise = bytes(random.Random(5).randrange(256) for _ in range(120))
        t0 = time.monotonic()
        seq = 0
        while time.monotonic() - t0 < 3.0:
            packet = struct.pack(">BBHII", 0x80, 111, seq & 0xFFFF, seq * 960, 0x5EED) + noise
            spoofer.sendto(packet, (endpoint["address"], endpoint["port"]))
            seq += 1
            time.sleep(0.005)
        spoofer.close()
        ann.send("hangup")
        stats = ann.expect("call_stats")
        self.assertGreaterEqual(stats["foreign_datagrams"], seq * 9 // 10)
        self.assertGreater(stats["received"], 100)  # ben's stream, every 20 ms
        ann.quit()
        samples, rate = read_wav(wav_out)
        similarity = best_correlation(envelope(*read_wav(self.fixture("ben.wav"))), envelope(samples, rate))
        print("heard ben despite %d spoofed packets: envelope correlation %.3f" % (seq, similarity), file=sys.stderr)
        self.assertGreater(similarity, 0.6)
        ben.quit()
        self.check_bystanders()

    # ================================================================== WebSocket

    def test_ws_an_unmasked_frame(self):
        before = self.closed("protocol_error")
        self.assertEqual(self.ws_refused(ws_frame(0x1, b'{"type":"ping","id":1}', mask=False)), 1002)
        self.wait_for(lambda: self.closed("protocol_error") == before + 1, "closed as protocol_error")
        self.check_bystanders(allowed={"member_joined"})

    def test_ws_a_fragmented_control_frame(self):
        self.assertEqual(self.ws_refused(ws_frame(0x9, b"ping", fin=False)), 1002)
        self.check_bystanders()

    def test_ws_reserved_bits_without_an_extension(self):
        self.assertEqual(self.ws_refused(ws_frame(0x1, b'{"type":"ping","id":1}', rsv=0x4)), 1002)
        self.check_bystanders()

    def test_ws_an_unknown_opcode(self):
        self.assertEqual(self.ws_refused(ws_frame(0x3, b"?")), 1002)
        self.check_bystanders()

    def test_ws_a_continuation_frame_without_a_start(self):
        self.assertEqual(self.ws_refused(ws_frame(0x0, b"orphan")), 1002)
        self.check_bystanders()

    def test_ws_invalid_utf8_in_a_text_frame(self):
        self.assertEqual(self.ws_refused(ws_frame(0x1, b'{"type":"ping","id":1,"x":"\xc3\x28"}')), 1007)
        self.check_bystanders()

    def test_ws_an_oversized_control_frame(self):
        self.assertEqual(self.ws_refused(ws_frame(0x9, b"p" * 200)), 1002)
        self.check_bystanders()

    def test_ws_a_frame_declaring_an_exabyte(self):
        head = bytes([0x82, 0x80 | 127]) + struct.pack(">Q", 1 << 60) + os.urandom(4)
        self.assertEqual(self.ws_refused(head + b"abcd"), 1009)
        self.check_bystanders()

    def test_ws_a_message_of_10_kb(self):
        self.assertEqual(self.ws_refused(ws_frame(0x2, bytes(10240))), 1009)
        self.check_bystanders()

    def test_ws_binary_where_text_is_expected(self):
        w = self.ws()
        w.send_binary(b'{"type":"join","id":1,"version":1,"name":"olga","room":"other"}')
        self.assertEqual(w.expect("error")["code"], "bad_frame")
        self.assertEqual(w.close_code(), 1008)
        self.check_bystanders()

    def test_ws_text_where_binary_is_expected(self):
        w = self.ws("olga")
        w.request("press")
        w.expect("floor_granted")
        w.send_text("\x01\x00\x00\x01" + "A" * 100)  # an audio frame's bytes, sent as text
        self.assertEqual(w.expect("error")["code"], "bad_json")
        self.assertEqual(w.reply(w.request("ping"))["type"], "ok")
        self.check_bystanders()

    def test_ws_an_audio_frame_flood(self):
        w = self.ws("olga")
        w.request("press")
        w.expect("floor_granted")
        pcm = bytes(1920)
        try:
            for i in range(300):
                w.send_binary(frame(i, pcm))
        except OSError:
            pass
        self.assertEqual(w.expect("error")["code"], "bad_frame")
        self.assertEqual(w.close_code(), 1008)
        self.check_bystanders()

    def test_ws_malformed_audio_frames(self):
        for bad in (bytes([9, 0, 0, 1]) + bytes(1920), bytes([1, 0x80, 0, 1]) + bytes(1920), bytes([1, 0, 0, 1]) + bytes(1919),
                    bytes([1, 0, 0]), bytes(4000)):
            w = self.ws("olga")
            w.request("press")
            w.expect("floor_granted")
            w.send_binary(bad)
            self.assertEqual(w.expect("error")["code"], "bad_frame")
            self.assertEqual(w.close_code(), 1008)
        self.check_bystanders()

    def test_ws_a_second_voice_while_someone_talks(self):
        dropped = self.counters()["core.audio_frames_dropped"]
        w = self.ws("olga", room="class")
        w.request("press")
        self.assertEqual(w.expect("floor_denied"), {"type": "floor_denied", "reason": "floor_taken", "talker": "tom"})
        for i in range(20):
            w.send_binary(frame(i, bytes([0x40]) * 1920))
            time.sleep(0.02)
        self.wait_for(lambda: self.counters()["core.audio_frames_dropped"] >= dropped + 20, "every frame dropped")
        for text, code in (('{"type":"revoke","id":90}', "not_instructor"),
                           ('{"type":"set_policy","id":91,"policy":"queue"}', "not_instructor")):
            w.send_text(text)
            self.assertEqual(w.expect("error")["code"], code)
        w.close()
        self.check_bystanders(allowed={"member_joined", "member_left"})

    def test_ws_requests_before_join_and_a_second_join(self):
        w = self.ws()
        self.assertEqual(w.reply(w.request("press"))["code"], "not_registered")
        self.assertEqual(w.join("olga", room="other")["type"], "ok")
        self.assertEqual(w.join("olga2", room="other")["code"], "already_registered")
        self.assertEqual(w.join("x", room="other", role="instructor", token="wrong")["code"], "already_registered")
        self.check_bystanders()

    def test_ws_an_instructor_join_with_a_wrong_token(self):
        w = self.ws()
        self.assertEqual(w.join("olga", room="class", role="instructor", token="open-sesame")["code"], "bad_token")
        self.assertEqual(w.join("olga", room="class", role="instructor")["code"], "bad_token")
        self.check_bystanders()

    def test_ws_an_instructor_join_guessing_tokens_is_limited_per_address(self):
        w = self.ws()
        for k in range(5):  # five wrong tokens a minute per address
            self.assertEqual(w.join("olga", room="class", role="instructor", token="guess-%d" % k)["code"], "bad_token")
        # The address's budget is spent: even the right token is refused for now.
        self.assertEqual(w.join("olga", room="class", role="instructor", token="open-sesame-0123456789")["code"],
                         "too_many_attempts")
        w.close()
        other = Ws(self.srv.http_port, source="127.0.0.2")  # another address is not affected
        self.offenders.append(other)
        self.assertEqual(other.join("olga", room="class", role="instructor", token="open-sesame-0123456789")["type"], "ok")
        self.srv.wait_log(r"session \d+ <- .*bad_token")
        self.check_bystanders(allowed={"member_joined", "member_left"})

    def test_ws_an_upgrade_from_a_page_of_another_origin(self):
        # A page served elsewhere, in a browser, would send its own origin: refused before the
        # upgrade, with the token or without, so it can neither join nor talk.
        for origin in ("https://evil.example", "http://127.0.0.1:1", "null", "https://localhost.evil.example"):
            with self.assertRaises(ConnectionError) as refused:
                Ws(self.srv.http_port, tls=True, origin=origin)
            self.assertIn("403", str(refused.exception), origin)
        self.srv.wait_log(r"refused a WebSocket from 127\.0\.0\.1 for a page of origin https://evil\.example")
        # The server's own pages (any name it serves under, either scheme) and tools without an
        # Origin are let in.
        for origin in ("https://127.0.0.1:%d" % self.srv.http_port, "HTTPS://LOCALHOST:%d" % self.srv.http_port,
                       "http://localhost:%d" % self.srv.http_port, None):
            ok = Ws(self.srv.http_port, tls=True, origin=origin)
            self.offenders.append(ok)
            self.assertEqual(ok.reply(ok.request("ping"))["type"], "ok")  # heard (a ping needs no join)
        self.check_bystanders()

    def test_http_every_answer_carries_the_security_headers(self):
        for tls in (True, False):
            for path in ("/", "/instructor", "/student.js", "/nothing", "/api/recordings"):
                answer = self.http(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode(), tls=tls)
                head = answer.split(b"\r\n\r\n")[0].decode("latin-1").lower()
                for header in ("content-security-policy: default-src 'self'; frame-ancestors 'none'",
                               "referrer-policy: no-referrer", "x-frame-options: deny", "permissions-policy: microphone=(self)"):
                    self.assertIn(header, head, (path, tls))
                self.assertEqual("strict-transport-security: max-age=" in head, tls, (path, tls))
        refused = self.http(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                            b"Origin: https://evil.example\r\n\r\n", tls=True)
        self.assertTrue(refused.startswith(b"HTTP/1.1 403"), refused[:100])
        self.assertIn(b"frame-ancestors 'none'", refused)
        self.check_bystanders()

    def test_http_the_instructor_token_is_traded_for_a_cookie_and_guesses_are_limited(self):
        def post(token, source="127.0.0.1", tls=True):
            body = json.dumps({"token": token}).encode()
            return self.http(b"POST /api/instructor/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                             b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
                             tls=tls, source=source)
        for k in range(5):
            self.assertTrue(post("guess-%d" % k).startswith(b"HTTP/1.1 403"))
        limited = post("open-sesame-0123456789")  # the right one, after five wrong ones: refused
        self.assertTrue(limited.startswith(b"HTTP/1.1 429"), limited[:100])
        self.assertIn(b"Retry-After: 60", limited)
        self.srv.wait_log(r"wrong instructor token from 127\.0\.0\.1")
        granted = post("open-sesame-0123456789", source="127.0.0.2")
        self.assertTrue(granted.startswith(b"HTTP/1.1 204"), granted[:100])
        cookie = re.search(rb"Set-Cookie: (hailer_instructor=[0-9a-f]{64})([^\r]*)", granted)
        self.assertIsNotNone(cookie, granted)
        self.assertEqual(sorted(a.strip() for a in cookie.group(2).decode().split(";") if a.strip()),
                         ["HttpOnly", "Path=/", "SameSite=Strict", "Secure"])
        self.assertNotIn(b"open-sesame", granted)
        plain = post("open-sesame-0123456789", source="127.0.0.3", tls=False)  # plain HTTP: no Secure flag
        self.assertNotIn(b"Secure", re.search(rb"Set-Cookie: [^\r]*", plain).group(0))
        with_cookie = self.http(b"GET /api/recordings HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: theme=dark; "
                                + cookie.group(1) + b"\r\n\r\n", tls=True, source="127.0.0.2")
        self.assertTrue(with_cookie.startswith(b"HTTP/1.1 200"), with_cookie[:100])
        forged = self.http(b"GET /api/recordings HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                           b"Cookie: hailer_instructor=" + b"0" * 64 + b"\r\n\r\n", tls=True, source="127.0.0.2")
        self.assertTrue(forged.startswith(b"HTTP/1.1 403"), forged[:100])
        # The cookie stands for the token on the WebSocket too: an instructor join needs no token.
        w = Ws(self.srv.http_port, tls=True, source="127.0.0.2", headers=[("Cookie", cookie.group(1).decode())])
        self.offenders.append(w)
        self.assertEqual(w.join("olga", room="class", role="instructor")["type"], "ok")
        self.check_bystanders(allowed={"member_joined", "member_left"})

    def test_ws_a_join_storm(self):
        refused = joined = full = 0
        opened = []
        for i in range(150):
            try:
                w = Ws(self.srv.http_port)
            except ConnectionError as e:
                self.assertIn("503", str(e))
                refused += 1
                continue
            opened.append(w)
            self.offenders.append(w)
            m = w.join("storm%03d" % i, room="storm")
            if m["type"] == "ok":
                joined += 1
            else:
                self.assertIn(m["code"], ("room_full", "server_full"), m)
                full += 1
        print("join storm: %d joined, %d full, %d upgrades refused" % (joined, full, refused), file=sys.stderr)
        self.assertEqual(joined + full + refused, 150)
        self.assertLessEqual(len(opened), 64 - 2)  # --max-connections-per-address, bystanders hold two
        self.assertGreater(joined, 0)
        self.check_bystanders()

    def test_ws_a_join_flood_from_one_address_leaves_other_addresses_joining(self):
        # A server whose shared budget is small (100 new WebSockets a second): one address that
        # opens upgrades as fast as it can once spent it, and 10 of 12 real joins were refused.
        srv = self.server("--max-joins-per-second", "100", "--heartbeat-timeout-ms", "30000")
        stop = threading.Event()
        attempts = [0, 0]  # upgrades tried, refused

        def flood():
            while not stop.is_set():
                attempts[0] += 1
                try:
                    Ws(srv.http_port).sock.close()
                except (ConnectionError, OSError):
                    attempts[1] += 1
        flooder = threading.Thread(target=flood)
        flooder.start()
        try:
            time.sleep(0.5)  # the flood is on
            results = []
            for k in range(12):
                try:
                    w = Ws(srv.http_port, source="127.0.0.%d" % (10 + k))
                    self.offenders.append(w)
                    results.append(w.join("student%d" % k)["type"])
                except ConnectionError as e:
                    results.append(str(e))
                time.sleep(0.05)
        finally:
            stop.set()
            flooder.join(timeout=10)
        print("join flood: %d upgrades tried from one address, %d refused; the others: %s"
              % (attempts[0], attempts[1], results), file=sys.stderr)
        self.assertGreater(attempts[1], attempts[0] // 2, "the flood was not limited")
        self.assertEqual(results, ["ok"] * 12)
        srv.stop()
        self.check_bystanders()

    # ================================================================== disk and files

    def turn(self, port, name, seconds, room="class", source="127.0.0.1"):
        """A student joins `room`, takes the floor and talks `seconds` of a loud tone in real time."""
        w = Ws(port, source=source)
        self.offenders.append(w)
        self.assertEqual(w.join(name, room=room)["type"], "ok")
        w.request("press")
        w.expect("floor_granted")
        tone = b"".join(int(12000 * math.sin(2 * math.pi * 440 * i / 48000)).to_bytes(2, "little", signed=True)
                        for i in range(960))
        t0 = time.monotonic()
        for i in range(int(seconds * 50)):
            w.send_binary(frame(i, tone))
            delay = t0 + (i + 1) * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return w

    def teacher(self, srv, room="class"):
        t = Ws(srv.http_port, source="127.0.0.5")
        self.offenders.append(t)
        self.assertEqual(t.join("teacher", room=room, role="instructor", token=srv.token)["type"], "ok")
        return t

    def test_disk_recordings_stop_at_the_folder_cap_the_turn_goes_on_and_the_instructor_is_told(self):
        # Four rooms at 6 kbit/s once wrote 65 times their bitrate in WAV, without end.
        srv = self.server("--recordings-max-bytes", "150000", "--heartbeat-timeout-ms", "30000", recordings=self.path("rec"))
        teacher = self.teacher(srv)
        ann = self.turn(srv.http_port, "ann", 3.0)
        stopped = teacher.expect("recording_stopped")
        self.assertEqual((stopped["talker"], stopped["reason"]), ("ann", "quota"))
        self.assertEqual(teacher.reply(teacher.request("who"))["talker"], "ann")  # the turn went on
        ann.reply(ann.request("release"))
        total = sum(os.path.getsize(os.path.join(srv.recordings, f)) for f in os.listdir(srv.recordings))
        self.assertLessEqual(total, 150000)
        self.assertGreater(total, 100000)
        # The next turn is not recorded at all, and the instructor hears why.
        ben = self.turn(srv.http_port, "ben", 0.5)
        self.assertEqual(teacher.expect("recording_stopped")["reason"], "quota")
        ben.reply(ben.request("release"))
        self.assertEqual(sorted(os.listdir(srv.recordings)), ["ann_1.wav"])
        srv.wait_log(r"not recording ben_2\.wav: .* holds --recordings-max-bytes")
        srv.stop()
        self.check_bystanders()

    def test_disk_below_the_free_space_floor_nothing_is_recorded(self):
        srv = self.server("--recordings-min-free-bytes", str(1 << 62), "--heartbeat-timeout-ms", "30000",
                          recordings=self.path("rec"))
        teacher = self.teacher(srv)
        ann = self.turn(srv.http_port, "ann", 0.5)
        self.assertEqual(teacher.expect("recording_stopped"), {"type": "recording_stopped", "talker": "ann", "reason": "disk_full"})
        ann.reply(ann.request("release"))
        self.assertEqual(os.listdir(srv.recordings), [])
        srv.stop()
        self.check_bystanders()

    def test_disk_a_students_and_an_addresss_hourly_budgets(self):
        srv = self.server("--recorded-seconds-per-student-per-hour", "2", "--recorded-seconds-per-address-per-hour", "3",
                          "--heartbeat-timeout-ms", "30000", recordings=self.path("rec"))
        teacher = self.teacher(srv)
        ann = self.turn(srv.http_port, "ann", 3.0, source="127.0.0.2")
        self.assertEqual(teacher.expect("recording_stopped")["reason"], "student_budget")
        ann.reply(ann.request("release"))
        samples, rate = read_wav(os.path.join(srv.recordings, "ann_1.wav"))
        self.assertLess(len(samples) / rate, 2.1)  # the two seconds her budget holds
        self.assertGreater(len(samples) / rate, 1.9)
        ben = self.turn(srv.http_port, "ben", 2.0, source="127.0.0.2")  # ben's own budget, but the address's last second
        self.assertEqual(teacher.expect("recording_stopped")["reason"], "address_budget")
        ben.reply(ben.request("release"))
        cat = self.turn(srv.http_port, "cat", 0.5, source="127.0.0.3")  # another address: recorded
        cat.reply(cat.request("release"))
        srv.wait_log(r"recording room class to .*cat_3\.wav")
        srv.stop()
        self.check_bystanders()

    def test_disk_one_address_cannot_open_every_room(self):
        refused = []
        for k in range(8):
            w = self.ws()
            m = w.join("r%d" % k, room="room%d" % k)
            if m["type"] == "error":
                refused.append(m["code"])
        # The catalogue's own class was opened from this address too: it holds 4 at most.
        self.assertEqual(refused, ["too_many_rooms"] * 5)
        other = Ws(self.srv.http_port, source="127.0.0.2")
        self.offenders.append(other)
        self.assertEqual(other.join("s", room="elsewhere")["type"], "ok")
        self.check_bystanders(allowed={"member_joined", "member_left"})

    def test_disk_links_planted_at_the_journal_a_recording_and_the_tls_key_are_never_written_through(self):
        target = self.path("precious")
        with open(target, "w") as f:
            f.write("precious")
        journal = self.path("journal.jsonl")
        os.symlink(target, journal)
        r = subprocess.run([SERVER_BIN, "--port", "0", "--udp-port", "0", "--no-web", "--state-dir", self.path("state-j"),
                            "--journal", journal],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("symbolic link", r.stderr)
        state = self.path("state-linked")
        os.makedirs(os.path.join(state, "tls"), mode=0o700)
        os.symlink(target, os.path.join(state, "tls", "key.pem"))
        r = subprocess.run([SERVER_BIN, "--port", "0", "--udp-port", "0", "--http-port", "0", "--state-dir", state,
                            "--audio-out", "none"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("symbolic link", r.stderr)
        shared = self.path("state-shared")
        os.makedirs(os.path.join(shared, "tls"), mode=0o700)
        os.chmod(os.path.join(shared, "tls"), 0o770)
        r = subprocess.run([SERVER_BIN, "--port", "0", "--udp-port", "0", "--http-port", "0", "--state-dir", shared,
                            "--audio-out", "none"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("writable by others", r.stderr)
        # A running server's next recording name, planted as a link: refused, the target untouched.
        srv = self.server("--journal", self.path("real.jsonl"), "--heartbeat-timeout-ms", "30000", recordings=self.path("rec"))
        os.symlink(target, os.path.join(srv.recordings, "ann_1.wav"))
        teacher = self.teacher(srv)
        ann = self.turn(srv.http_port, "ann", 0.5)
        self.assertEqual(teacher.expect("recording_stopped")["reason"], "error")
        ann.reply(ann.request("release"))
        with open(target) as f:
            self.assertEqual(f.read(), "precious")
        # What is made is private: the journal 0600, the recordings 0640 in a 0750 folder, the key 0600.
        bob = self.turn(srv.http_port, "bob", 0.5)
        bob.reply(bob.request("release"))
        srv.wait_log(r"recording room class to .*bob_2\.wav")
        self.assertEqual(os.stat(self.path("real.jsonl")).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(srv.recordings).st_mode & 0o777, 0o750)
        self.assertEqual(os.stat(os.path.join(srv.recordings, "bob_2.wav")).st_mode & 0o777, 0o640)
        self.assertEqual(os.stat(os.path.join(srv.state_dir, "tls", "key.pem")).st_mode & 0o777, 0o600)
        srv.stop()
        self.check_bystanders()

    # ================================================================== TLS

    def test_tls_12_with_cbc_suites_is_refused_and_aead_is_taken(self):
        def handshake(ciphers, version=ssl.TLSVersion.TLSv1_2):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.minimum_version = ctx.maximum_version = version
            if ciphers:
                ctx.set_ciphers(ciphers)
            with socket.create_connection(("127.0.0.1", self.srv.http_port), timeout=WAIT_S) as raw:
                try:
                    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                        return s.cipher()[0]
                except ssl.SSLError:
                    return None
        for cbc in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES128-SHA256"):
            self.assertIsNone(handshake(cbc), cbc)
        self.assertEqual(handshake("ECDHE-ECDSA-AES128-GCM-SHA256"), "ECDHE-ECDSA-AES128-GCM-SHA256")
        self.assertEqual(handshake("ECDHE-ECDSA-CHACHA20-POLY1305"), "ECDHE-ECDSA-CHACHA20-POLY1305")
        self.assertIsNotNone(handshake(None, ssl.TLSVersion.TLSv1_3))
        self.assertIsNone(handshake(None, ssl.TLSVersion.TLSv1_1))
        self.check_bystanders()

    def test_tls_the_self_signed_certificate_is_a_short_lived_leaf_for_the_addresses_served(self):
        cert = subprocess.run(["openssl", "x509", "-in", os.path.join(self.srv.state_dir, "tls", "cert.pem"), "-noout",
                               "-text", "-serial", "-dates"], capture_output=True, text=True, timeout=10).stdout
        self.assertIn("CA:FALSE", cert)
        self.assertRegex(cert, r"X509v3 Key Usage: critical\s+Digital Signature\n")
        self.assertRegex(cert, r"Extended Key Usage: \s*TLS Web Server Authentication\n")
        self.assertIn("IP Address:127.0.0.1", cert)
        self.assertIn("DNS:localhost", cert)
        serial = int(re.search(r"^serial=([0-9A-F]+)$", cert, re.M).group(1), 16)
        self.assertGreater(serial.bit_length(), 100)  # 128 random bits (a time stamp has 31)
        days = subprocess.run(["openssl", "x509", "-in", os.path.join(self.srv.state_dir, "tls", "cert.pem"), "-noout",
                               "-checkend", str(398 * 86400)], capture_output=True, text=True).returncode
        self.assertEqual(days, 1, "valid for more than 398 days")
        self.check_bystanders()

    def test_tls_the_certificate_is_made_again_with_the_same_key_when_due(self):
        state = self.path("state-renew")
        first = self.server(state_dir=state)
        key = open(os.path.join(state, "tls", "key.pem")).read()
        first.stop()
        again = self.server(state_dir=state)
        self.assertEqual(again.fingerprint, first.fingerprint)  # kept while it serves
        again.stop()
        # A certificate with 10 days left (as an operator's tool or an older server left it).
        cert = os.path.join(state, "tls", "cert.pem")
        subprocess.run(["openssl", "req", "-new", "-x509", "-key", os.path.join(state, "tls", "key.pem"), "-out", cert,
                        "-days", "10", "-subj", "/CN=hailer classroom", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth"],
                       check=True, capture_output=True, timeout=10)
        renewed = self.server(state_dir=state)
        self.assertNotEqual(renewed.fingerprint, first.fingerprint)
        self.assertRegex(renewed.banner, r"certificate renewed \(it expires in (9|10) days\)")
        self.assertEqual(open(os.path.join(state, "tls", "key.pem")).read(), key)  # a pinned key stays valid
        renewed.stop()
        wider = self.server("--allowed-origin", "https://x.example", state_dir=state)  # same names: kept
        self.assertEqual(wider.fingerprint, renewed.fingerprint)
        self.check_bystanders()

    # ================================================================== HTTP

    def test_http_path_traversal_on_the_static_files(self):
        for path in ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd",
                     "/static/../../../etc/passwd", "/.git/config", "/recordings/../../../etc/passwd",
                     "/recordings/..%2f..%2fetc%2fpasswd?token=" + self.srv.token, "//etc/passwd",
                     "/index.html%00.png", "/\\..\\..\\etc\\passwd"):
            answer = self.http(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
            status = int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.1 ") else None
            self.assertIn(status, (400, 403, 404), (path, answer[:200]))
            self.assertNotIn(b"root:", answer)
        self.check_bystanders()

    def test_http_an_upgrade_without_a_key(self):
        answer = self.http(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           b"Sec-WebSocket-Version: 13\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer[:200])
        self.check_bystanders()

    def test_http_100_kb_of_headers(self):
        answer = self.http(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Junk: " + b"j" * 100000 + b"\r\n\r\n")
        self.assertTrue(answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer[:200])
        self.check_bystanders()

    def test_http_slowloris_headers_one_byte_at_a_time(self):
        s = socket.create_connection(("127.0.0.1", self.srv.http_port), timeout=WAIT_S)
        t0 = time.monotonic()
        closed_by_server = False
        request = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"s" * 1000
        for b in request:
            try:
                s.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                closed_by_server = True
                break
            if select.select([s], [], [], 0.05)[0]:  # an answer (408) or the close
                closed_by_server = True
                break
        s.close()
        self.assertTrue(closed_by_server)
        took = time.monotonic() - t0
        print("slow HTTP client closed after %.1f s" % took, file=sys.stderr)
        self.assertLess(took, 12.0)
        self.check_bystanders()

    def test_tls_a_garbage_handshake(self):
        for junk in (b"\x16\x03\x01\x00\x05hello", b"\x16" + os.urandom(2000), b"\x16\x03\x03\xff\xff" + bytes(100)):
            s = socket.create_connection(("127.0.0.1", self.srv.http_port), timeout=WAIT_S)
            try:
                s.sendall(junk)
                s.shutdown(socket.SHUT_WR)
                while s.recv(4096):
                    pass
            except (ConnectionResetError, BrokenPipeError):
                pass
            except OSError as e:  # reset before our shutdown: ENOTCONN (the server may refuse that fast)
                self.assertEqual(e.errno, errno.ENOTCONN)
            s.close()
        self.check_bystanders()

    # ================================================================== faults

    def test_fault_kill_9_of_a_client_waiting_in_a_queue(self):
        kate = self.cli(self.srv, "kate")
        kate.expect("ok")
        kate.send("call alice")
        kate.expect("wait_update", {"callee": "alice", "position": 2})
        kate.kill()
        alice = self.parties[0]
        alice.conn.expect("waiting_count", {"count": 2})
        alice.conn.expect("waiting_count", {"count": 1})
        self.check_bystanders(allowed={"waiting_count"})

    def test_fault_kill_9_of_a_talker(self):
        talker = subprocess.Popen([sys.executable, "-c", TALKER, str(self.srv.http_port)], stdout=subprocess.PIPE)
        try:
            self.assertEqual(talker.stdout.readline().strip(), b"talking")
            listener = self.ws("lena", room="lab")
            self.assertEqual(self.reply(Party(listener, "lena"), "who")["talker"], "tara")
            killed_at = time.monotonic()
            talker.kill()
            listener.expect("floor_idle", timeout=3)
            self.assertLess(time.monotonic() - killed_at, 1.0)
        finally:
            talker.kill()
            talker.wait(timeout=5)
            talker.stdout.close()
        self.check_bystanders()

    def test_fault_a_network_partition_of_one_client(self):
        proxy = Proxy(self.srv.port)
        try:
            pia = self.cli("127.0.0.1:%d" % proxy.port, "pia", "--auto-accept")
            pia.expect("ok")
            quinn, rex = Party(self.raw("quinn"), "quinn"), Party(self.raw("rex"), "rex")
            self.kept_alive += [quinn, rex]  # only pia goes silent
            quinn.conn.reply(quinn.request("call", to="pia"))
            quinn.conn.expect("call_connected")
            self.assertTrue(rex.conn.reply(rex.request("call", to="pia"))["queued"])
            proxy.partition()  # both directions stop; nobody sees a FIN or an RST
            cut = time.monotonic()
            quinn.conn.expect("call_ended", {"peer": "pia", "reason": "peer_disconnected"}, timeout=6)
            rex.conn.expect("wait_ended", {"callee": "pia", "reason": "callee_offline"}, timeout=2)
            took = time.monotonic() - cut
            print("partitioned client dropped after %.2f s (heartbeat 3 s)" % took, file=sys.stderr)
            self.assertGreater(took, 1.5)
            proxy.heal()
            pia.expect("connection", {"state": "lost"}, timeout=WAIT_S)
            pia.expect("connection", {"state": "connected"}, timeout=WAIT_S)
            pia.expect("ok", {"name": "pia"})  # registered again
            users = {u["name"] for u in quinn.conn.reply(quinn.request("who"))["users"]}
            self.assertIn("pia", users)
            pia.quit()
            self.kept_alive = list(self.parties)
        finally:
            proxy.close()
        self.check_bystanders()


# A student in a child process (so it can be killed -9): joins room "lab", takes the floor,
# streams loud PCM until killed.
TALKER = r"""
import sys, time
sys.path.insert(0, %r)
from ws import Ws, frame
w = Ws(int(sys.argv[1]))
assert w.join("tara", room="lab")["type"] == "ok"
w.request("press")
w.expect("floor_granted")
print("talking", flush=True)
i = 0
while True:
    w.send_binary(frame(i, bytes([0x40]) * 1920))
    i += 1
    time.sleep(0.02)
""" % os.path.dirname(os.path.abspath(__file__))


class Proxy:
    """A TCP proxy on 127.0.0.1 that can partition its clients: while partitioned it forwards
    nothing either way and closes nothing, as a cut cable or a dead Wi-Fi would."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.cut = threading.Event()
        self.running = True
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((client, server), (server, client)):
                t = threading.Thread(target=self._pump, args=(a, b), daemon=True)
                t.start()
                self.threads.append(t)

    def _pump(self, src, dst):
        held = b""
        try:
            while self.running:
                if not select.select([src], [], [], 0.05)[0]:
                    if held and not self.cut.is_set():
                        dst.sendall(held)
                        held = b""
                    continue
                if self.cut.is_set():
                    time.sleep(0.05)  # leave it in the kernel: nothing crosses, nothing is closed
                    continue
                data = src.recv(65536)
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(held + data)
                held = b""
        except OSError:
            pass

    def partition(self):
        self.cut.set()

    def heal(self):
        self.cut.clear()

    def close(self):
        self.running = False
        self.listener.close()
        for t in self.threads[1:]:
            t.join(timeout=2)


if __name__ == "__main__":
    unittest.main()
