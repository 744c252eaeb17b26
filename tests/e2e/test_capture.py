"""What a listener on the wire gets from a call: every packet on loopback is captured (a raw
AF_PACKET socket, as tcpdump does; it needs root) while two CLIs talk through a real
hailer-server. The signaling is TLS, so no JSON shows; the media is SRTP, so ffmpeg, given the
captured RTP stream, decodes nothing like the speech. The control call in plain RTP
(--plaintext-media) decodes: the method can tell the two apart. Each test method is its own
ctest entry (tests/CMakeLists.txt)."""

import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (TempDirCase, aligned_correlation, envelope, free_udp_port, opus_sdp, read_wav)  # noqa: E402

ETH_P_ALL = 0x0003


class Capture:
    """Every IPv4 packet crossing `lo` until stop(), each once (the copy going in)."""

    def __init__(self):
        if os.geteuid() != 0:
            raise AssertionError("capturing packets on lo needs root (CI runs as root)")
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.2)
        self.packets = []  # (protocol, src port, dst port, payload)
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            try:
                frame, address = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            if address[2] == socket.PACKET_OUTGOING:
                continue  # loopback shows each packet going out and coming in
            self.parse(frame[14:])  # lo's Ethernet header is 14 zero bytes

    def parse(self, ip):
        if len(ip) < 20 or ip[0] >> 4 != 4:
            return
        header = (ip[0] & 0x0F) * 4
        protocol = ip[9]
        body = ip[header:struct.unpack("!H", ip[2:4])[0]]
        if protocol == 17 and len(body) >= 8:
            sport, dport = struct.unpack("!HH", body[:4])
            self.packets.append(("udp", sport, dport, bytes(body[8:])))
        elif protocol == 6 and len(body) >= 20:
            sport, dport = struct.unpack("!HH", body[:4])
            offset = (body[12] >> 4) * 4
            if len(body) > offset:
                self.packets.append(("tcp", sport, dport, bytes(body[offset:])))

    def stop(self):
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()

    def tcp_stream(self, port):
        return b"".join(p[3] for p in self.packets if p[0] == "tcp" and port in (p[1], p[2]))

    def udp_payloads(self, sport, dport):
        return [p[3] for p in self.packets if p[0] == "udp" and p[1] == sport and p[2] == dport]


class CapturedCall(TempDirCase):

    def talk_and_capture(self, *cli_args):
        """alice speaks to bob for 4 s while everything on lo is captured: the capture, and the
        RTP datagrams alice sent to bob."""
        server = self.server(accounts=True)
        capture = Capture()
        try:
            bob = self.cli(server, "bob", "--auto-accept", "--audio-in", "none", "--audio-out", "none", *cli_args)
            alice = self.cli(server, "alice", "--audio-in", self.fixture("alice.wav"), "--audio-out", "none", *cli_args)
            alice.expect("media_ready")
            bob.expect("media_ready")
            alice.send("call bob")
            to_bob = alice.expect("call_connected", {"peer": "bob"})["peer_media"]["port"]
            from_alice = bob.expect("call_connected", {"peer": "alice"})["peer_media"]["port"]
            time.sleep(4.0)
            alice.send("hangup")
            stats = bob.expect("call_stats")
            self.assertGreater(stats["received"], 150)  # bob heard alice: the call itself worked
            for c in (alice, bob):
                self.assertEqual(c.quit(), 0)
        finally:
            capture.stop()
        signaling = capture.tcp_stream(server.port)
        self.assertGreater(len(signaling), 1000, "the capture saw the signaling")
        sent = capture.udp_payloads(from_alice, to_bob)
        media = [d for d in sent if not d.startswith(b"hailer-consent")]  # consent checks and answers are ASCII
        self.assertGreater(len(media), 150, "the capture saw alice's media")
        self.assertTrue(all(len(d) >= 12 and d[0] >> 6 == 2 and d[1] & 0x7F == 111 for d in media),
                        "every other datagram alice sent bob is RTP with Opus's payload type: %r" % [d[:20] for d in media if d[1] & 0x7F != 111][:3])
        return signaling, media

    def ffmpeg_decode(self, datagrams):
        """What ffmpeg makes of `datagrams` played to it as an RTP/Opus stream, 20 ms apart: how
        many packets it refused as invalid, how many seconds of audio it decoded, and the
        envelope correlation of that audio with what alice said."""
        self.assertIsNotNone(shutil.which("ffmpeg"), "scripts/setup.sh installs ffmpeg")
        port = free_udp_port()
        out = self.path("ffmpeg_heard.wav")
        ffmpeg = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file,udp,rtp",
             "-i", opus_sdp(self.path("capture.sdp"), port), "-ac", "1", "-ar", "48000", "-y", out],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            time.sleep(0.5)  # ffmpeg is listening
            sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for d in datagrams:
                sender.sendto(d, ("127.0.0.1", port))
                time.sleep(0.02)
            sender.close()
            time.sleep(0.5)
            _, err = ffmpeg.communicate(b"q", timeout=10)  # "q" ends ffmpeg cleanly, the file complete
        finally:
            if ffmpeg.poll() is None:
                ffmpeg.kill()
                ffmpeg.wait()
        errors = err.decode(errors="replace")
        refused = errors.count("Invalid data found when processing input")
        if not os.path.exists(out) or os.path.getsize(out) <= 44:
            return refused, 0.0, 0.0
        heard = envelope(*read_wav(out))
        # ffmpeg's output begins with the first packet captured, alice's first frame (give or
        # take the few held until bob's endpoint consented).
        c = aligned_correlation(envelope(*read_wav(self.fixture("alice.wav"))), heard) if len(heard) > 1 else 0.0
        return refused, len(heard) * 0.02, c

    def test_a_captured_call_shows_no_json_and_its_audio_does_not_decode(self):
        signaling, media = self.talk_and_capture()
        for marker in (b'"type"', b'register', b'call_connected', b'media_token', b'alice'):
            self.assertNotIn(marker, signaling, "plaintext on the signaling connection")
        for d in media:
            self.assertNotIn(b'"type"', d)
        refused, seconds, c = self.ffmpeg_decode(media)
        print("captured SRTP given to ffmpeg: %d datagrams, %d refused as invalid, %.2f s decoded, envelope "
              "correlation with the speech %.3f" % (len(media), refused, seconds, c), file=sys.stderr)
        # ffmpeg sees packets of random bytes: it refuses many outright (no Opus header it can
        # parse) and what it does decode is short of the stream, noise in place of speech.
        self.assertGreater(refused, len(media) // 4)
        self.assertLess(seconds, 0.6 * len(media) * 0.02)

    def test_the_control_a_plain_rtp_call_captured_the_same_way_decodes(self):
        signaling, media = self.talk_and_capture("--plaintext-media")
        self.assertNotIn(b'"type"', signaling)  # the signaling is still TLS
        refused, seconds, c = self.ffmpeg_decode(media)
        print("captured plain RTP given to ffmpeg: %d datagrams, %d refused as invalid, %.2f s decoded, envelope "
              "correlation with the speech %.3f" % (len(media), refused, seconds, c), file=sys.stderr)
        self.assertEqual(refused, 0)
        self.assertGreater(seconds, 0.9 * len(media) * 0.02)
        self.assertGreater(c, 0.9)


if __name__ == "__main__":
    unittest.main()
