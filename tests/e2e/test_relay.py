"""The call relay on hailer-server's UDP port (a call's media path b), with raw protocol sockets
and raw UDP: packets cross between the two legs of a live call only; what is ended, unknown,
oversized or too fast is dropped and counted, and the sender's session is told."""

import hashlib
import hmac
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Raw, TempDirCase  # noqa: E402

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

    def call(self, server, caller="alice", callee="bob"):
        a, b = Raw(server.port), Raw(server.port)
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
        bob.send(b"hello alice")    # bob's leg is bound; alice has not been heard from yet
        self.assertIsNone(alice.heard(0.3))
        alice.send(b"hello bob")
        self.assertEqual(bob.heard(), packet(bob.leg, b"hello bob"))
        bob.send(b"and back")
        self.assertEqual(alice.heard(), packet(alice.leg, b"and back"))
        counters = server.counters()
        self.assertEqual(counters["host.relay_forwarded"], 2)
        self.assertEqual(counters["host.relay_peer_unbound"], 1)
        self.assertEqual(counters["net.datagrams_out"], 2)

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


if __name__ == "__main__":
    unittest.main()
