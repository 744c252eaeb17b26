"""End-to-end media keys against bad inputs: a media_key the server must refuse, a lying server
that hands the CLI a forged key, and a peer without keys. A real hailer-server and real CLIs on
127.0.0.1 (a scripted server for the lying one). Each test method is its own ctest entry."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import WAIT_S, Raw, TempDirCase, fake_server  # noqa: E402


class MediaKeys(TempDirCase):

    def test_a_media_key_with_a_bad_signature_is_refused_and_never_reaches_the_peer(self):
        server = self.server()
        alice = self.cli(server, "alice", "--auto-accept", "--audio-in", "none", "--audio-out", "none")
        alice.expect("media_ready")
        tool = Raw(server.port)
        tool.reply(tool.request("register", version=1, name="tool"))
        call = tool.reply(tool.request("call", to="alice"))
        call_id = call["call_id"]
        # alice sends her key as her phone rings.
        key = tool.expect("peer_media_key", {"call_id": call_id, "peer": "alice"})
        self.assertEqual(len(key["key"]), 64)
        self.assertEqual(len(key["signature"]), 128)
        bad = {"call_id": call_id, "key": "ab" * 32, "account_key": "cd" * 32, "signature": "00" * 64}
        self.assertEqual(tool.reply(tool.request("media_key", **bad))["code"], "bad_signature")
        self.assertEqual(tool.reply(tool.request("media_key", **dict(bad, key="xyz")))["code"], "bad_field")
        self.assertEqual(tool.reply(tool.request("media_key", **dict(bad, call_id=call_id + 1)))["code"], "not_in_call")
        # Relaying her key back as the tool's is refused too: the signature names alice, not the tool.
        forward = {k: key[k] for k in ("call_id", "key", "account_key", "signature")}
        self.assertEqual(tool.reply(tool.request("media_key", **forward))["code"], "bad_signature")
        # Connected, she waits for a key that never came.
        alice.expect("call_connected", {"peer": "tool"})
        alice.expect("awaiting_key", {"peer": "tool"})
        alice.never("peer_media_key", within=0.5)
        alice.never("call_secured", within=0.1)
        tool.reply(tool.request("hangup"))
        alice.expect("call_ended")
        alice.never("call_stats", within=0.3)  # no media ran: nothing to sum up
        self.assertEqual(alice.quit(), 0)

    def test_the_cli_refuses_a_forged_key_from_a_lying_server_and_hangs_up(self):
        lines_from_cli = []

        def script(conn, n):
            conn.settimeout(WAIT_S)
            reader = conn.makefile("rb")
            reader.readline()  # the register request
            conn.sendall(b'{"type":"ok","id":1,"name":"alice","heartbeat_ms":30000}\n'
                         b'{"type":"call_ringing","call_id":5,"peer":"bob","role":"callee"}\n')
            lines_from_cli.append(json.loads(reader.readline()))  # alice's own media_key
            forged = {"type": "peer_media_key", "call_id": 5, "peer": "bob", "key": "ab" * 32,
                      "account_key": "cd" * 32, "signature": "ef" * 64}
            conn.sendall(json.dumps(forged).encode() + b"\n")
            conn.sendall(b'{"type":"call_connected","call_id":5,"peer":"bob","peer_media":{"address":"127.0.0.1","port":9}}\n')
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                line = reader.readline()
                if not line:
                    return
                lines_from_cli.append(json.loads(line))
                if lines_from_cli[-1]["type"] == "hangup":
                    conn.sendall(b'{"type":"ok","id":%d}\n' % lines_from_cli[-1]["id"])
                    time.sleep(0.5)
                    return

        alice = self.cli(fake_server(self, script), "alice", "--audio-in", "none", "--audio-out", "none")
        refused = alice.expect("call_key_refused", {"peer": "bob"})
        self.assertIn("signature", refused["reason"])
        alice.never("call_secured", within=0.3)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and not any(m["type"] == "hangup" for m in lines_from_cli):
            time.sleep(0.05)
        types = [m["type"] for m in lines_from_cli]
        self.assertEqual(types[0], "media_key")
        self.assertIn("hangup", types)
        alice.quit()

    def test_a_peer_in_plain_rtp_leaves_the_protected_side_waiting_and_no_audio_flows(self):
        server = self.server()
        bob = self.cli(server, "bob", "--auto-accept", "--audio-in", self.fixture("bob.wav"), "--audio-out", "none",
                       "--plaintext-media")
        alice = self.cli(server, "alice", "--audio-in", self.fixture("alice.wav"), "--audio-out", "none")
        for c in (alice, bob):
            c.expect("media_ready")
        alice.send("call bob")
        alice.expect("call_connected", {"peer": "bob"})
        alice.expect("awaiting_key", {"peer": "bob"})
        bob.expect("call_unprotected", {"peer": "alice"})
        time.sleep(1.5)
        alice.send("hangup")
        stats = bob.expect("call_stats")
        self.assertEqual(stats["received"], 0)  # alice never sent: she had no key
        self.assertFalse(stats["protected"])
        for c in (alice, bob):
            self.assertEqual(c.quit(), 0)


if __name__ == "__main__":
    unittest.main()


class PeerKeys(TempDirCase):

    def call(self, alice, bob):
        alice.send("call bob")
        secured = alice.expect("call_secured", {"peer": "bob"})
        bob.expect("call_secured", {"peer": "alice"})
        alice.send("hangup")
        alice.expect("call_ended")
        bob.expect("call_ended")
        return secured

    def test_a_peers_account_key_is_pinned_on_the_first_call_and_a_changed_one_is_said_loudly(self):
        server = self.server()
        bob = self.cli(server, "bob", "--auto-accept", "--audio-in", "none", "--audio-out", "none",
                       "--identity", self.path("bob-phone.key"))
        alice = self.cli(server, "alice", "--audio-in", "none", "--audio-out", "none")
        for c in (alice, bob):
            c.expect("media_ready")
        first = self.call(alice, bob)
        self.assertEqual(first["peer_key"], "first_use")
        note = alice.expect("peer_key", {"peer": "bob", "state": "first_use"})
        self.assertEqual(note["fingerprint"], first["peer_key_fingerprint"])
        known = os.path.join(self.tmp, "config", "hailer", "known_peers")
        self.assertIn("/bob " + first["peer_key_fingerprint"], open(known).read())
        self.assertEqual(oct(os.stat(known).st_mode & 0o777), "0o600")
        second = self.call(alice, bob)
        self.assertEqual(second["peer_key"], "pinned")  # the same key: nothing to say
        alice.never("peer_key", {"peer": "bob"}, within=0.3)
        self.assertEqual(bob.quit(), 0)
        # bob comes back with another key (another device, or a server in the middle).
        bob = self.cli(server, "bob", "--auto-accept", "--audio-in", "none", "--audio-out", "none",
                       "--identity", self.path("bob-laptop.key"))
        bob.expect("media_ready")
        third = self.call(alice, bob)
        self.assertEqual(third["peer_key"], "changed")
        warning = alice.expect("peer_key", {"peer": "bob", "state": "changed"})
        self.assertEqual(warning["pinned"], first["peer_key_fingerprint"])
        self.assertNotEqual(warning["fingerprint"], warning["pinned"])
        self.assertIn("/bob " + first["peer_key_fingerprint"], open(known).read())  # never re-pinned by itself
        for c in (alice, bob):
            self.assertEqual(c.quit(), 0)
