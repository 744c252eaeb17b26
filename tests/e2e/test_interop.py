"""The CLI against real outside tools: a terminal driven through tmux, and ffmpeg as an RTP/Opus
peer in both directions. Each test method is its own ctest entry (tests/CMakeLists.txt)."""

import json
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (CLIENT, TmuxPane, WAIT_S, Raw, TempDirCase, best_correlation, envelope, fake_server,  # noqa: E402
                     free_udp_port, opus_sdp, read_wav)


class Interop(TmuxPane, TempDirCase):

    def test_an_event_while_typing_leaves_the_typed_text_intact(self):
        self.assertIsNotNone(shutil.which("tmux"), "scripts/setup.sh installs tmux")
        server = self.server()
        self.socket_name = "hailer-e2e-%d" % os.getpid()
        cmd = "%s --server %s --name alice --audio-in none --audio-out none" % (CLIENT, server.address)
        self.tmux("new-session", "-d", "-s", "cli", "-x", "120", "-y", "20", cmd)
        try:
            self.wait_screen("registered as alice")
            self.tmux("send-keys", "-t", "cli", "call bo")  # half typed, no Enter
            self.wait_screen("hailer> call bo")
            carol = Raw(server.port)
            carol.register("carol")
            carol.request("call", to="alice")  # an event arrives while alice types
            screen = self.wait_screen("incoming call from carol")
            lines = [l for l in screen.splitlines() if l.strip()]
            self.assertIn("incoming call from carol", lines[-2])
            self.assertEqual(lines[-1].rstrip(), "hailer> call bo")  # the typed text is intact, after the event
            self.tmux("send-keys", "-t", "cli", "b", "Enter")  # finish the word: the line is whole
            self.wait_screen("error: ")
            self.assertIn("no connected user has that name: bob", self.screen())  # "call bob" arrived whole
            self.assertEqual([l for l in self.screen().splitlines() if l.strip()][-1].rstrip(), "hailer>")
            self.tmux("send-keys", "-t", "cli", "reject", "Enter")
            carol.expect("call_ended", {"reason": "rejected"})
            self.tmux("send-keys", "-t", "cli", "quit", "Enter")
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline and self.tmux("has-session", "-t", "cli").returncode == 0:
                time.sleep(0.05)
            self.assertNotEqual(self.tmux("has-session", "-t", "cli").returncode, 0, "the CLI did not exit on quit")
        finally:
            self.tmux("kill-server")

    def test_a_name_taken_on_reconnect_is_said_and_retried_at_a_terminal(self):
        def script(conn, n):
            rid = json.loads(conn.recv(4096).split(b"\n")[0])["id"]
            if n == 1:  # back after a drop: someone took the name meanwhile
                conn.sendall(b'{"type":"error","id":%d,"code":"name_taken","message":"the name is connected already: alice"}\n'
                             % rid)
                time.sleep(0.3)
                return
            conn.sendall(b'{"type":"ok","id":%d,"name":"alice","heartbeat_ms":30000}\n' % rid)
            time.sleep(0.3 if n == 0 else 5.0)  # the first connection drops; the third stays

        self.socket_name = "hailer-e2e-%d" % os.getpid()
        cmd = "%s --server %s --name alice --audio-in none --audio-out none --plaintext" % (CLIENT,
                                                                                           fake_server(self, script))
        self.tmux("new-session", "-d", "-s", "cli", "-x", "160", "-y", "20", cmd)
        try:
            screen = self.wait_screen("the server refused the name alice (the name is connected already: alice); reconnecting in")
            self.assertEqual(screen.count("registered as alice"), 1)
            self.wait_screen("registered as alice", timeout=WAIT_S)
            deadline = time.monotonic() + WAIT_S
            while self.screen().count("registered as alice") < 2:
                self.assertLess(time.monotonic(), deadline, "it never registered again:\n" + self.screen())
                time.sleep(0.05)
            self.assertEqual(self.tmux("has-session", "-t", "cli").returncode, 0, "the CLI gave up")
        finally:
            self.tmux("kill-server")

    def test_ffmpeg_receives_and_decodes_the_cli_rtp_stream(self):
        self.assertIsNotNone(shutil.which("ffmpeg"), "scripts/setup.sh installs ffmpeg")
        server = self.server()
        port = free_udp_port()
        out = self.path("ffmpeg_heard.wav")
        ffmpeg = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file,udp,rtp",
             "-i", opus_sdp(self.path("recv.sdp"), port), "-t", "4", "-ac", "1", "-ar", "48000", "-y", out],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            tool = Raw(server.port)  # the tool's signaling, by hand: it declares ffmpeg's port, no UDP proof
            tool.reply(tool.request("register", version=1, name="tool", media_port=port))
            # ffmpeg cannot answer consent checks nor speak SRTP: the CLI is told to do without both.
            alice = self.cli(server, "alice", "--audio-in", self.fixture("alice.wav"), "--audio-out", "none", "--no-consent",
                             "--plaintext-media")
            alice.expect("media_ready")
            time.sleep(0.5)  # ffmpeg is listening
            alice.send("call tool")
            call = tool.expect("call_ringing", {"role": "callee"})
            tool.reply(tool.request("accept", call_id=call["call_id"]))
            alice.expect("call_connected", {"peer_media": {"port": port}})
            alice.expect("call_unprotected", {"peer": "tool"})
            ffmpeg.wait(timeout=15)  # it stops after 4 s of audio
            alice.send("hangup")
            alice.expect("call_stats")
            self.assertEqual(alice.quit(), 0)
        finally:
            try:
                ffmpeg.wait(timeout=15)
            except subprocess.TimeoutExpired:
                ffmpeg.kill()
                ffmpeg.wait()
        self.assertTrue(os.path.exists(out), ffmpeg.stderr.read().decode())
        heard = envelope(*read_wav(out))
        sent = envelope(*read_wav(self.fixture("alice.wav")))
        c = best_correlation(sent, heard)
        print("ffmpeg decoded the CLI's stream: %.1f s, envelope correlation %.3f" % (len(heard) * 0.02, c), file=sys.stderr)
        self.assertGreater(c, 0.6)

    def test_the_cli_plays_an_rtp_stream_ffmpeg_sends(self):
        self.assertIsNotNone(shutil.which("ffmpeg"), "scripts/setup.sh installs ffmpeg")
        server = self.server()
        out = self.path("alice_heard.wav")
        alice = self.cli(server, "alice", "--auto-accept", "--audio-in", "none", "--audio-out", out, "--plaintext-media")
        alice.expect("media_ready")
        tool = Raw(server.port)
        tool.reply(tool.request("register", version=1, name="tool", media_port=free_udp_port()))
        tool.request("call", to="alice")
        connected = tool.expect("call_connected", {"peer": "alice"})
        media = connected["peer_media"]
        sender = subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", self.fixture("bob.wav"), "-t", "5",
             "-c:a", "libopus", "-b:a", "32k", "-ac", "1", "-f", "rtp", "rtp://%s:%d" % (media["address"], media["port"])],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertEqual(sender.returncode, 0, sender.stderr.decode())
        time.sleep(0.3)
        tool.reply(tool.request("hangup"))
        stats = alice.expect("call_stats")
        self.assertGreater(stats["received"], 200)  # about 5 s of 20 ms packets
        self.assertEqual(alice.quit(), 0)
        heard = envelope(*read_wav(out))
        sent = envelope(*read_wav(self.fixture("bob.wav")))
        c = best_correlation(sent, heard)
        print("the CLI played ffmpeg's stream: %d packets, envelope correlation %.3f" % (stats["received"], c), file=sys.stderr)
        self.assertGreater(c, 0.6)


if __name__ == "__main__":
    unittest.main()
