"""The call relay (a call's media paths b and c), with raw protocol sockets, raw UDP and raw tunnel
frames: packets cross between the two legs of a live call only, over the UDP port or the legs' own
signaling connections; what is ended, unknown, oversized or too fast is dropped and counted, and
the sender's session is told; a flood of frames never holds up a connection's messages."""

import hashlib
import hmac
import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Raw, TempDirCase  # noqa: E402
from ws import Ws  # noqa: E402

MARKER, VERSION = 0xFE, 1


def leg_id(media_token, call_id):
    """What the server derives, and the client too: HMAC-SHA256(media key, "hailer-relay-leg ID")[:16]."""
    return hmac.new(bytes.fromhex(media_token), b"hailer-relay-leg %d" % call_id, hashlib.sha256).digest()[:16]


def packet(leg, payload=b"\x80" * 120):
    return bytes([MARKER, VERSION]) + leg + payload


class Leg:
    """One side of a call: its signaling connection, its leg id, a UDP socket of its own."""

    def __init__(self, raw, token, call_id, relay):
        self.raw, self.leg, self.relay = raw, leg_id(token, call_id), relay
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))

    def send(self, payload=b"\x80" * 120, leg=None):
        self.udp.sendto(packet(leg or self.leg, payload), self.relay)

    def heard(self, timeout=2.0):
        """The next datagram the relay sent this leg, or None."""
        self.udp.settimeout(timeout)
        try:
            return self.udp.recvfrom(4096)[0]
        except socket.timeout:
            return None


class Relay(TempDirCase):

    def call(self, server, caller="alice", callee="bob", caller_rcvbuf=None):
        a, b = Raw(server.port, rcvbuf=caller_rcvbuf), Raw(server.port)
        token_a = a.register(caller)["media_token"]
        token_b = b.register(callee)["media_token"]
        a.request("call", to=callee)
        ringing = b.expect("call_ringing")
        b.reply(b.request("accept"))
        connected_a, connected_b = a.expect("call_connected"), b.expect("call_connected")
        self.assertEqual(connected_a["relay_port"], server.udp_port)
        self.assertEqual(connected_b["relay_port"], server.udp_port)
        relay = ("127.0.0.1", server.udp_port)
        call_id = ringing["call_id"]
        return Leg(a, token_a, call_id, relay), Leg(b, token_b, call_id, relay), call_id

    def test_a_calls_packets_cross_the_relay_both_ways_with_the_recipients_leg_id(self):
        server = self.server()
        alice, bob, _ = self.call(server)
        bob.send(b"hello alice")    # alice has sent nothing yet: it reaches her over her tunnel
        self.assertIsNone(alice.heard(0.3))
        self.assertEqual(alice.raw.frame(), packet(alice.leg, b"hello alice"))
        alice.udp.sendto(packet(alice.leg, b""), alice.relay)  # a binding packet: answered as it came
        self.assertEqual(alice.heard(), packet(alice.leg, b""))
        bob.send(b"and back")
        self.assertEqual(alice.heard(), packet(alice.leg, b"and back"))
        alice.send(b"hello bob")
        self.assertEqual(bob.heard(), packet(bob.leg, b"hello bob"))
        counters = server.counters()
        self.assertEqual(counters["host.relay_forwarded"], 3)
        self.assertEqual(counters["host.relay_answered"], 1)
        self.assertEqual(counters["host.tunnel_frames_out"], 1)
        self.assertEqual(counters["net.datagrams_out"], 3)

    def test_with_udp_blocked_both_legs_talk_over_their_tunnels(self):
        server = self.server()
        alice, bob, call_id = self.call(server)
        alice.raw.send_frame(packet(alice.leg, b"over TCP"))
        self.assertEqual(bob.raw.frame(), packet(bob.leg, b"over TCP"))
        bob.raw.send_frame(packet(bob.leg, b"and back"))
        self.assertEqual(alice.raw.frame(), packet(alice.leg, b"and back"))
        # Messages go on between the frames, in order.
        rid = alice.raw.request("who")
        self.assertEqual(alice.raw.reply(rid)["type"], "ok")
        # A binding over the tunnel is answered over it; bob naming alice's leg on his own
        # connection is no leg of his: dropped, counted, nobody told.
        alice.raw.send_frame(packet(alice.leg, b""))
        self.assertEqual(alice.raw.frame(), packet(alice.leg, b""))
        bob.raw.send_frame(packet(alice.leg, b"as alice?"))
        self.assertIsNone(alice.raw.frame(0.3))
        self.assertIsNone(bob.raw.frame(0.1))
        # Oversized on the tunnel: dropped, and alice is told.
        alice.raw.send_frame(packet(alice.leg, b"\x80" * 1300))
        told = alice.raw.expect("relay_dropped")
        self.assertEqual((told["call_id"], told["reason"]), (call_id, "oversized"))
        self.assertIsNone(bob.raw.frame(0.3))
        # A frame longer than any message cannot be framed: that connection (only) closes.
        alice.raw.sock.sendall(b"\xfe\xff\xff")
        self.assertTrue(alice.raw.closed())
        bob.raw.reply(bob.raw.request("ping"))
        counters = server.counters()
        self.assertEqual(counters["host.tunnel_frames_in"], 5)
        self.assertEqual(counters["host.relay_unknown_leg"], 1)
        self.assertEqual(counters["net.bad_frames"], 1)

    def test_a_flood_of_frames_never_holds_a_connections_messages_behind_more_than_one_frame(self):
        server = self.server()
        alice, bob, call_id = self.call(server, caller_rcvbuf=4096)
        carol = Raw(server.port)
        carol.register("carol")
        # Alice reads nothing for a while (a slow link); bob floods her tunnel at 10x a call's
        # rate, 500 frames a second. The relay passes 100 a second; her connection keeps the
        # newest few frames once her socket is full.
        deadline = time.monotonic() + 10
        rounds = 0
        while rounds < 5 or server.counters()["net.tunnel_frames_dropped"] == 0:
            self.assertLess(time.monotonic(), deadline)
            for _ in range(100):
                bob.raw.send_frame(packet(bob.leg, b"\x80" * 1000))
            time.sleep(0.2)
            rounds += 1
        bob.raw.expect("relay_dropped", {"reason": "too_fast"})
        carol.reply(carol.request("call", to="alice"))  # alice is busy: carol waits, alice is told
        told = alice.raw.expect("waiting_count")
        self.assertEqual(told["count"], 1)
        # What came after the message: the frames still queued, never more than the queue holds.
        while alice.raw.frame(0.5) is not None:
            pass
        self.assertLessEqual(alice.raw.frames_read - alice.raw.frames_before, 8)
        counters = server.counters()
        self.assertEqual(counters["net.slow_readers"], 0)  # frames never count as a slow reader's backlog
        self.assertGreater(counters["net.tunnel_frames_dropped"], 0)
        self.assertEqual(counters["host.relay_forwarded"], counters["host.tunnel_frames_out"])
        alice.raw.reply(alice.raw.request("ping"))  # and her connection is alive

    def test_bad_relay_packets_are_dropped_counted_and_the_sender_told_others_unaffected(self):
        server = self.server()
        alice, bob, call_id = self.call(server)
        carol, dave, _ = self.call(server, "carol", "dave")
        for leg in (alice, bob, carol, dave):
            leg.send(b"bind")
        for leg in (alice, bob, carol, dave):  # each binding packet crossed, once the peer was bound
            leg.heard(0.5)
        # Oversized: dropped, and alice is told on her signaling connection.
        alice.send(b"\x80" * 1300)
        told = alice.raw.expect("relay_dropped")
        self.assertEqual((told["call_id"], told["reason"]), (call_id, "oversized"))
        self.assertIsNone(bob.heard(0.3))
        # Another call's leg id is not alice's to use: a leg id made up from her key for a call
        # she is not in is unknown, and carol's call is untouched.
        alice.send(b"to carol?", leg=leg_id("00" * 16, call_id))
        self.assertIsNone(carol.heard(0.3))
        self.assertIsNone(dave.heard(0.1))
        # 10x a call's rate: 500 packets at once; a second's burst passes, the rest is dropped. (A
        # leg is told at most once a second: the oversized notice above was under a second ago.)
        time.sleep(1.1)
        # Paced at about 1,000 a second, so the kernel's socket buffers drop none of them.
        before = server.counters()
        start = time.monotonic()
        for _ in range(500):
            alice.send(b"\x80" * 100)
            time.sleep(0.001)
        elapsed = time.monotonic() - start
        told = alice.raw.expect("relay_dropped", {"reason": "too_fast"})
        self.assertEqual(told["call_id"], call_id)
        got = 0
        while bob.heard(0.3) is not None:
            got += 1
        allowed = 100 + int(elapsed * 100) + 1  # the burst, then 100 a second
        self.assertLessEqual(got, allowed)
        self.assertGreaterEqual(got, 100)
        after = server.counters()
        self.assertEqual(after["host.relay_too_fast"] - before["host.relay_too_fast"], 500 - got)
        # Everyone else is unaffected: carol and dave still talk, and bob still reaches alice.
        carol.send(b"carol here")
        self.assertEqual(dave.heard(), packet(dave.leg, b"carol here"))
        bob.send(b"still here")
        self.assertEqual(alice.heard(), packet(alice.leg, b"still here"))
        # After the hangup alice's leg is gone: her packets reach nobody.
        alice.raw.reply(alice.raw.request("hangup"))
        alice.send(b"after the end")
        self.assertIsNone(bob.heard(0.3))
        counters = server.counters()
        self.assertEqual(counters["host.relay_oversized"], 1)
        self.assertEqual(counters["host.relay_unknown_leg"], 2)
        self.assertEqual(counters["host.relay_told"], 2)
        # Malformed: the relay's first byte without its header.
        alice.udp.sendto(bytes([MARKER]), alice.relay)
        deadline = time.monotonic() + 5
        while server.counters()["host.relay_malformed"] != 1:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)


    def ed25519(self):
        """A fresh Ed25519 key (openssl), and a function signing bytes with it: what a page does
        with WebCrypto."""
        pem = self.path("page-key-%d.pem" % time.monotonic_ns())
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", pem], check=True, capture_output=True)
        public = subprocess.run(["openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER"], check=True,
                                capture_output=True).stdout[-32:]

        def sign(message):
            path = pem + ".message"
            with open(path, "wb") as f:
                f.write(message)
            return subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", pem, "-rawin", "-in", path], check=True,
                                  capture_output=True).stdout

        return public.hex(), sign

    def test_a_page_logs_in_on_the_websocket_by_signing_the_binding_the_server_tells_it(self):
        server = self.server(accounts=True)
        key, sign = self.ed25519()
        page = Ws(server.http_port, tls=True)
        binding = page.reply(page.request("channel_binding"))["binding"]
        self.assertRegex(binding, r"^[0-9a-f]{64}$")
        self.assertEqual(page.reply(page.request("channel_binding"))["binding"], binding)  # the connection's own
        other = Ws(server.http_port, tls=True)
        other_binding = other.reply(other.request("channel_binding"))["binding"]
        self.assertNotEqual(other_binding, binding)  # a fresh one per connection

        def login(ws, bound_to, name="ann"):
            signature = sign(b"hailer-login-v1\x00" + bytes.fromhex(bound_to) + name.lower().encode())
            return ws.reply(ws.request("register", version=1, name=name, key=key, signature=signature.hex()))

        # A login signed for another connection's binding is refused: it cannot be replayed.
        self.assertEqual(login(other, binding)["code"], "bad_signature")
        ok = login(page, binding)
        self.assertEqual(ok["type"], "ok", ok)
        self.assertEqual(ok["name"], "ann")
        # The name is the key's now: another connection without it cannot take it.
        mallory_key, mallory_sign = self.ed25519()
        third = Ws(server.http_port, tls=True)
        third_binding = third.reply(third.request("channel_binding"))["binding"]
        page.close()
        time.sleep(0.3)
        signature = mallory_sign(b"hailer-login-v1\x00" + bytes.fromhex(third_binding) + b"ann")
        refused = third.reply(third.request("register", version=1, name="ann", key=mallory_key, signature=signature.hex()))
        self.assertEqual(refused["code"], "name_taken")
        # The calls port over TLS says its binding too (the TLS exporter a CLI computes itself).
        raw = Raw(server.port)
        self.assertRegex(raw.reply(raw.request("channel_binding"))["binding"], r"^[0-9a-f]{64}$")

    def test_without_tls_there_is_no_binding_to_sign(self):
        server = self.server("--plaintext")
        raw = Raw(server.port)
        refused = raw.reply(raw.request("channel_binding"))
        self.assertEqual(refused["code"], "login_required")

    def next_binary(self, ws, timeout=2.0):
        """The next binary message on `ws` (text messages before it are skipped), or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                m = ws.recv(max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                return None
            if isinstance(m, bytes):
                return m
        return None

    def test_a_calls_session_on_the_websocket_sends_its_audio_as_binary_tunnel_frames(self):
        """A browser's path: the calls face over the HTTPS port's WebSocket, its relay packets as
        binary messages (a CLI on the calls port at the other end, over its own tunnel); audio
        before the call is connected is dropped, counted and told."""
        server = self.server()
        ann = Ws(server.http_port, tls=True)
        token_ann = ann.reply(ann.request("register", version=1, name="ann"))["media_token"]
        bob = Raw(server.port)
        token_bob = bob.register("bob")["media_token"]
        # Before any call: dropped, counted, and ann is told (once a second at most).
        ann.send_binary(packet(leg_id(token_ann, 1), b"too early"))
        told = ann.expect("error")
        self.assertEqual(told["code"], "not_in_call")
        self.assertIsNone(told["id"])
        ann.send_binary(packet(leg_id(token_ann, 1), b"too early again"))
        ann.reply(ann.request("call", to="bob"))
        call_id = bob.expect("call_ringing")["call_id"]
        bob.reply(bob.request("accept", call_id=call_id))
        self.assertEqual(ann.expect("call_connected")["relay_port"], server.udp_port)
        bob.expect("call_connected")
        leg_ann, leg_bob = leg_id(token_ann, call_id), leg_id(token_bob, call_id)
        ann.send_binary(packet(leg_ann, b"from the browser"))
        self.assertEqual(bob.frame(), packet(leg_bob, b"from the browser"))
        bob.send_frame(packet(leg_bob, b"from the terminal"))
        self.assertEqual(self.next_binary(ann), packet(leg_ann, b"from the terminal"))
        ann.send_binary(packet(leg_ann, b""))  # a binding, answered on the same tunnel
        self.assertEqual(self.next_binary(ann), packet(leg_ann, b""))
        # Messages still flow beside the frames.
        self.assertEqual(ann.reply(ann.request("who"))["type"], "ok")
        counters = server.counters()
        self.assertEqual(counters["host.tunnel_told_no_call"], 1)  # the second early one was not told again
        self.assertEqual(counters["host.relay_unknown_leg"], 2)
        self.assertEqual(counters["host.bad_frames"], 0)  # not taken for push-to-talk audio


if __name__ == "__main__":
    unittest.main()
