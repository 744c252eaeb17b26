"""A call's three media paths with real CLIs and a real server (docs/protocol.md, "Paths"): direct
peer to peer; the server's relay on its UDP port; the tunnel on the signaling connection. UDP is
blocked for real, in the kernel (nftables), not by a flag in our own code."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirCase, UdpBlock, best_correlation, envelope, free_udp_port, read_wav  # noqa: E402


class Paths(TempDirCase):

    def talk(self, server, alice_args=(), during=None, talk_s=4.0):
        """alice calls bob (who answers at once) and they talk for `talk_s`, `during(alice, bob)`
        running meanwhile; returns both CLIs with their call_stats, and what each heard against what
        the other sent."""
        wav = {n: self.fixture(n + ".wav") for n in ("alice", "bob")}
        out = {n: self.path(n + "_heard.wav") for n in ("alice", "bob")}
        bob = self.cli(server, "bob", "--auto-accept", "--audio-in", wav["bob"], "--audio-out", out["bob"])
        alice = self.cli(server, "alice", "--audio-in", wav["alice"], "--audio-out", out["alice"], *alice_args)
        bob.expect("media_ready")
        alice.expect("ok", {"type": "ok"})  # registered
        time.sleep(0.3)
        alice.send("call bob")
        alice.expect("call_connected", {"peer": "bob"})
        alice.expect("call_secured", {"peer": "bob"})
        if during:
            during(alice, bob)
        else:
            time.sleep(talk_s)
        alice.send("hangup")
        stats = {"alice": alice.expect("call_stats"), "bob": bob.expect("call_stats")}
        for c in (alice, bob):
            self.assertEqual(c.quit(), 0)
        sent = {n: envelope(*read_wav(wav[n])) for n in wav}
        heard = {n: envelope(*read_wav(out[n])) for n in out}
        correlation = {"alice": best_correlation(sent["bob"], heard["alice"]),
                       "bob": best_correlation(sent["alice"], heard["bob"])}
        return alice, bob, stats, correlation

    def block(self, port):
        b = UdpBlock(port)
        self.addCleanup(b.off)
        return b

    def test_with_udp_blocked_the_call_goes_through_the_tunnel_and_both_hear(self):
        server = self.server()
        port = free_udp_port()
        self.block(port).on()
        alice, bob, stats, correlation = self.talk(server, ("--media-port", str(port)))
        # alice's UDP goes nowhere: her audio rides her signaling connection, and bob's reaches her
        # there; bob's own UDP works, so he sends on the relay's port.
        self.assertEqual(stats["alice"]["path"], "tunnel")
        self.assertEqual(stats["bob"]["path"], "relay")
        self.assertEqual(stats["alice"]["packets_direct"] + stats["alice"]["packets_relay"], 0)
        for n in ("alice", "bob"):
            self.assertGreater(stats[n]["received"], 150, n)
            self.assertTrue(stats[n]["protected"], n)  # SRTP end to end: the server relays ciphertext
            self.assertGreaterEqual(stats[n]["first_audio_ms"], 0, n)
            self.assertLessEqual(stats[n]["first_audio_ms"], 1500, n)
            self.assertGreater(correlation[n], 0.6, n)
        alice.expect("call_path", {"path": "tunnel"})
        print("udp blocked: first audio alice %d ms (tunnel), bob %d ms (relay); correlation %.2f / %.2f; "
              "MOS %.2f / %.2f" % (stats["alice"]["first_audio_ms"], stats["bob"]["first_audio_ms"],
                                   correlation["alice"], correlation["bob"], stats["alice"]["mos"],
                                   stats["bob"]["mos"]), file=sys.stderr)

    def test_udp_blocked_mid_call_falls_back_to_the_tunnel_and_comes_back_direct(self):
        server = self.server()
        port = free_udp_port()
        udp = self.block(port)

        def during(alice, bob):
            alice.expect("call_path", {"path": "direct"})
            time.sleep(1.0)
            udp.on()  # the firewall closes mid-call
            alice.expect("call_path", {"path": "tunnel", "was": "direct"}, timeout=10)
            time.sleep(1.5)
            udp.off()  # and opens again: the call climbs back, it does not stick on the tunnel
            alice.expect("call_path", {"path": "direct"}, timeout=10)
            time.sleep(1.0)

        alice, bob, stats, correlation = self.talk(server, ("--media-port", str(port)), during=during)
        self.assertEqual(stats["alice"]["path"], "direct")
        self.assertGreaterEqual(stats["alice"]["path_switches"], 2)
        self.assertGreater(stats["alice"]["packets_tunnel"], 0)
        for n in ("alice", "bob"):
            self.assertGreater(correlation[n], 0.6, n)

    def test_with_udp_open_the_call_settles_direct(self):
        server = self.server()
        alice, bob, stats, correlation = self.talk(server, talk_s=3.0)
        for n in ("alice", "bob"):
            self.assertEqual(stats[n]["path"], "direct", n)
            self.assertLessEqual(stats[n]["first_audio_ms"], 1500, n)
            self.assertGreater(correlation[n], 0.6, n)
        print("udp open: first audio alice %d ms, bob %d ms (direct, after the first packets on the tunnel); "
              "MOS %.2f / %.2f" % (stats["alice"]["first_audio_ms"], stats["bob"]["first_audio_ms"],
                                   stats["alice"]["mos"], stats["bob"]["mos"]), file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
