"""The classroom's WebSocket face end to end, without a browser: real hailer-server processes on
127.0.0.1, a small standard-library WebSocket client, recordings on disk. Each test method is its
own ctest entry (tests/CMakeLists.txt)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import ssl
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SERVER, TempDirCase, best_correlation, envelope, read_wav  # noqa: E402
from ws import Ws, frame  # noqa: E402


def pcm_frames(path):
    """A WAV (48 kHz mono 16-bit) as 20 ms PCM payloads."""
    samples, rate = read_wav(path)
    assert rate == 48000
    raw = b"".join(int(s).to_bytes(2, "little", signed=True) for s in samples)
    return [raw[i:i + 1920] for i in range(0, len(raw) - 1919, 1920)]


def talk(ws, frames, seconds, start_seq=0):
    """Sends `seconds` of frames in real time (20 ms apart), the last one flagged."""
    n = int(seconds * 50)
    t0 = time.monotonic()
    for i in range(n):
        ws.send_binary(frame(start_seq + i, frames[i % len(frames)], last=(i == n - 1)))
        delay = t0 + (i + 1) * 0.02 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return n


def http_get(port, path, tls=True, headers=None, method="GET"):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    url = "%s://127.0.0.1:%d%s" % ("https" if tls else "http", port, path)
    try:
        request = urllib.request.Request(url, headers=headers or {}, method=method)
        with urllib.request.urlopen(request, context=ctx if tls else None, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Classroom(TempDirCase):

    def take_turn(self, port, name, seconds, release=True):
        """A student joins, is granted the floor, speaks `seconds` of its fixture and (maybe) releases."""
        ws = Ws(port)
        self.assertEqual(ws.join(name)["type"], "ok")
        ws.request("press")
        ws.expect("floor_granted")
        talk(ws, pcm_frames(self.fixture(name + ".wav")), seconds)
        if release:
            ws.reply(ws.request("release"))
        return ws

    def similarity(self, name, path):
        """Envelope correlation of a recorded or played WAV with the fixture `name` spoke."""
        samples, rate = read_wav(path)
        return best_correlation(envelope(*read_wav(self.fixture(name + ".wav"))), envelope(samples, rate))

    def test_a_turn_over_wss_is_recorded_and_correlates_with_what_was_said(self):
        server = self.server()
        teacher = Ws(server.http_port, tls=True)
        self.assertEqual(teacher.join("teacher", role="instructor", token=server.token)["type"], "ok")
        ann = Ws(server.http_port, tls=True)
        self.assertEqual(ann.join("ann")["type"], "ok")
        ann.reply(ann.request("press"))
        granted = ann.expect("floor_granted")
        self.assertEqual(granted["remaining_ms"], 60000)
        teacher.expect("floor_taken", {"talker": "ann"})
        talk(ann, pcm_frames(self.fixture("ann.wav")), 3.0)
        ann.reply(ann.request("release"))
        teacher.expect("floor_idle")
        time.sleep(0.5)  # the speaker plays the tail
        path = os.path.join(server.recordings, "ann_1.wav")
        self.assertTrue(os.path.exists(path), os.listdir(server.recordings))
        samples, rate = read_wav(path)
        self.assertEqual(rate, 48000)
        self.assertGreater(len(samples) / rate, 2.8)
        c = best_correlation(envelope(*read_wav(self.fixture("ann.wav"))), envelope(samples, rate))
        print("recording ann_1.wav: %.2f s, envelope correlation %.3f" % (len(samples) / rate, c), file=sys.stderr)
        self.assertGreater(c, 0.8)
        # The instructor's page lists it and serves it (with the cookie, or the token as a bearer
        # for tools; never from a token in the URL).
        bearer = {"Authorization": "Bearer " + server.token}
        status, body = http_get(server.http_port, "/api/recordings", headers=bearer)
        self.assertEqual(status, 200)
        self.assertEqual([r["file"] for r in json.loads(body)], ["ann_1.wav"])
        self.assertEqual(http_get(server.http_port, "/api/recordings", headers={"Authorization": "Bearer wrong"})[0], 403)
        self.assertEqual(http_get(server.http_port, "/api/recordings?token=" + server.token)[0], 403)
        status, wav = http_get(server.http_port, "/recordings/ann_1.wav", headers=bearer)
        self.assertEqual((status, wav[:4]), (200, b"RIFF"))

    def test_the_instructor_lists_recordings_newest_first_and_deletes_one(self):
        server = self.server()
        for name in ("ann", "ben"):
            ws = self.take_turn(server.http_port, name, 1.0)
            ws.close()
            time.sleep(0.6)  # the tail is played and the file closed
        bearer = {"Authorization": "Bearer " + server.token}
        status, body = http_get(server.http_port, "/api/recordings", headers=bearer)
        self.assertEqual(status, 200)
        listed = json.loads(body)
        self.assertEqual([r["file"] for r in listed], ["ben_2.wav", "ann_1.wav"])  # newest first
        now_ms = time.time() * 1000
        for r in listed:
            self.assertLess(abs(now_ms - r["modified_ms"]), 60000, r)
            self.assertGreater(r["audio_ms"], 500, r)
        # A media player seeks and resumes with a Range: one part (206), or 416 past the end.
        status, head = http_get(server.http_port, "/recordings/ann_1.wav", headers=dict(bearer, Range="bytes=0-43"))
        self.assertEqual((status, len(head), head[:4]), (206, 44, b"RIFF"))
        size = os.path.getsize(os.path.join(server.recordings, "ann_1.wav"))
        status, tail = http_get(server.http_port, "/recordings/ann_1.wav", headers=dict(bearer, Range="bytes=-10"))
        self.assertEqual((status, len(tail)), (206, 10))
        self.assertEqual(http_get(server.http_port, "/recordings/ann_1.wav",
                                  headers=dict(bearer, Range="bytes=%d-" % size))[0], 416)
        self.assertEqual(http_get(server.http_port, "/recordings/ann_1.wav", headers={"Range": "bytes=0-43"})[0], 403)
        # Nobody but the instructor deletes; a page of another origin neither; only safe names.
        self.assertEqual(http_get(server.http_port, "/recordings/ann_1.wav", method="DELETE")[0], 403)
        self.assertEqual(http_get(server.http_port, "/recordings/ann_1.wav", method="DELETE",
                                  headers={"Authorization": "Bearer wrong"})[0], 403)
        self.assertEqual(http_get(server.http_port, "/recordings/ann_1.wav", method="DELETE",
                                  headers=dict(bearer, Origin="https://evil.example"))[0], 403)
        for bad in ("/recordings/..%2Fstate%2Finstructor-token", "/recordings/../index.html", "/recordings/nope.wav",
                    "/recordings/", "/index.html", "/api/recordings"):
            self.assertIn(http_get(server.http_port, bad, method="DELETE", headers=bearer)[0], (404, 405), bad)
        self.assertTrue(os.path.exists(os.path.join(server.recordings, "ann_1.wav")))
        status, _ = http_get(server.http_port, "/recordings/ann_1.wav", method="DELETE", headers=bearer)
        self.assertEqual(status, 204)
        self.assertFalse(os.path.exists(os.path.join(server.recordings, "ann_1.wav")))
        self.assertEqual(http_get(server.http_port, "/recordings/ann_1.wav", method="DELETE", headers=bearer)[0], 404)
        status, body = http_get(server.http_port, "/api/recordings", headers=bearer)
        self.assertEqual([r["file"] for r in json.loads(body)], ["ben_2.wav"])
        server.wait_log(r"recording ann_1\.wav deleted by the instructor")

    def test_the_instructor_sees_the_queue_and_grants_or_skips(self):
        server = self.server()
        teacher = Ws(server.http_port)
        teacher.join("teacher", role="instructor", token=server.token)
        teacher.reply(teacher.request("set_policy", policy="queue"))
        students = {}
        for name in ("ann", "ben", "cat", "dan"):
            students[name] = Ws(server.http_port)
            students[name].join(name)
        for name in ("ann", "ben", "cat", "dan"):
            students[name].reply(students[name].request("press"))
        students["ann"].expect("floor_granted")
        teacher.expect("floor_queue", {"queue": [{"name": "ben"}, {"name": "cat"}, {"name": "dan"}]})
        teacher.reply(teacher.request("skip", name="cat"))
        students["cat"].expect("floor_dequeued", {"reason": "skipped"})
        teacher.expect("floor_queue", {"queue": [{"name": "ben"}, {"name": "dan"}]})
        teacher.reply(teacher.request("grant", name="dan"))
        students["ann"].expect("floor_revoked", {"reason": "instructor"})
        students["dan"].expect("floor_granted")
        teacher.expect("floor_queue", {"queue": [{"name": "ben"}]})
        error = teacher.reply(teacher.request("grant", name="cat"))
        self.assertEqual((error["type"], error["code"]), ("error", "not_queued"))
        error = students["ben"].reply(students["ben"].request("skip", name="dan"))
        self.assertEqual((error["type"], error["code"]), ("error", "not_instructor"))

    def test_both_pages_name_an_icon_and_favicon_ico_is_served(self):
        server = self.server()
        for page in ("/", "/instructor"):
            status, body = http_get(server.http_port, page)
            self.assertEqual(status, 200)
            self.assertIn(b'<link rel="icon" href="favicon.svg"', body)
        status, icon = http_get(server.http_port, "/favicon.ico")
        self.assertEqual(status, 200)  # what browsers ask for whatever the page says: no 404 in a console
        self.assertTrue(icon.startswith(b"<svg"), icon[:40])

    def test_two_presses_deny_then_queue(self):
        server = self.server()
        ann, ben, teacher = Ws(server.http_port), Ws(server.http_port), Ws(server.http_port)
        ann.join("ann")
        ben.join("ben")
        teacher.join("teacher", role="instructor", token=server.token)
        ann.request("press")
        ben.request("press")  # a few ms apart: exactly one talks
        ann.expect("floor_granted")
        denied = ben.expect("floor_denied")
        self.assertEqual((denied["reason"], denied["talker"]), ("floor_taken", "ann"))
        ann.reply(ann.request("release"))
        ben.expect("floor_idle")
        teacher.reply(teacher.request("set_policy", policy="queue"))
        ben.request("press")
        ben.expect("floor_granted")
        ann.request("press")
        self.assertEqual(ann.expect("floor_queued")["position"], 1)
        ben.request("release")
        ann.expect("floor_granted")  # the next talker, at once
        teacher.reply(teacher.request("revoke"))
        self.assertEqual(ann.expect("floor_revoked")["reason"], "instructor")

    def test_binary_before_join_is_refused_and_closes_that_client_only(self):
        server = self.server()
        good = Ws(server.http_port)
        good.join("good")
        bad = Ws(server.http_port)
        bad.send_binary(frame(0, b"\0" * 1920))
        m = bad.expect("error")
        self.assertEqual(m["code"], "bad_frame")
        self.assertEqual(bad.close_code(), 1008)
        self.assertEqual(good.reply(good.request("ping"))["type"], "ok")

    def test_malformed_and_oversized_frames_close_the_sender_with_a_reason(self):
        server = self.server()
        good = Ws(server.http_port)
        good.join("good")
        for payload in (bytes([2, 0, 0, 1]) + b"\0" * 10,  # another version
                        frame(1, b"\0" * 1921),             # odd PCM length
                        frame(1, b"\0" * 5000),             # more than 20 ms at 48 kHz
                        bytes([1, 4, 0, 1, 0, 0]),          # unknown flags
                        b"\x01"):                           # too short
            ws = Ws(server.http_port)
            ws.join("sender")
            ws.send_binary(payload)
            m = ws.expect("error")
            self.assertEqual(m["code"], "bad_frame", m)
            self.assertEqual(ws.close_code(), 1008)  # policy violation
            ws.close()
        # Beyond what any format allows: the WebSocket layer closes at once with 1009 (too big).
        ws = Ws(server.http_port)
        ws.join("sender")
        ws.send_binary(frame(1, b"\0" * 20000))
        self.assertEqual(ws.close_code(), 1009)
        self.assertEqual(good.reply(good.request("ping"))["type"], "ok")

    def test_a_frame_flood_closes_the_flooder(self):
        server = self.server("--max-frames-per-second", "100")
        ws = Ws(server.http_port)
        ws.join("flood")
        for i in range(300):
            try:
                ws.send_binary(frame(i, b"\0" * 1920))
            except OSError:
                break
        m = ws.expect("error")
        self.assertIn("audio frames per second", m["message"])
        self.assertEqual(ws.close_code(), 1008)
        # The same counts as the simulator's flood (scenarios/transport_slow_reader_and_flood.json):
        # one flood, judged as one bad frame, one sender closed for breaking the protocol.
        deadline = time.monotonic() + 10
        while True:
            before = server.log_text().count("counters:")
            server.signal(signal.SIGUSR1)
            while server.log_text().count("counters:") == before:
                self.assertLess(time.monotonic(), deadline, "no counters logged")
                time.sleep(0.02)
            line = server.log_text().split("counters:")[-1].split("\n")[0]
            counters = {k: int(v) for k, v in re.findall(r"([\w.]+)=(\d+)", line)}
            if counters.get("core.closed.protocol_error") == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.05)  # the close reaches the core a moment after the socket's
        self.assertEqual(counters["host.floods"], 1)
        self.assertEqual(counters["host.bad_frames"], 1)
        self.assertEqual(counters["core.closed.protocol_error"], 1)

    def test_two_joins_on_one_socket_and_names_that_try_to_escape(self):
        server = self.server()
        ws = Ws(server.http_port)
        ws.join("ann")
        self.assertEqual(ws.join("ann2")["code"], "already_registered")
        for name in ("../../etc/x", "a/b", "x" * 33, "bad\u0007name", "tab\tname", ".hidden"):
            other = Ws(server.http_port)
            self.assertEqual(other.join(name)["code"], "bad_name", name)
            other.close()
        big = Ws(server.http_port)  # over max_message_bytes: refused, the connection lives
        big.send_text(json.dumps({"type": "join", "id": 1, "version": 1, "name": "x" * 5000, "room": "class"}))
        self.assertEqual(big.expect("error")["code"], "message_too_large")
        huge = Ws(server.http_port)  # beyond any frame the server reads: closed with 1009
        huge.send_text(json.dumps({"type": "join", "id": 1, "version": 1, "name": "x" * 10240, "room": "class"}))
        self.assertEqual(huge.close_code(), 1009)
        self.assertEqual(sorted(os.listdir(server.recordings)), [])
        self.assertEqual(ws.reply(ws.request("ping"))["type"], "ok")

    def test_an_abrupt_close_while_talking_frees_the_floor_within_a_second(self):
        server = self.server()
        ann, ben = Ws(server.http_port), Ws(server.http_port)
        ann.join("ann")
        ben.join("ben")
        ann.request("press")
        ann.expect("floor_granted")
        ben.expect("floor_taken")
        frames = pcm_frames(self.fixture("ann.wav"))
        for i in range(25):
            ann.send_binary(frame(i, frames[i]))
        t = time.monotonic()
        ann.abort()  # no close frame: a killed tab
        ben.expect("floor_idle", timeout=1.0)
        self.assertLess(time.monotonic() - t, 1.0)
        ben.request("press")
        ben.expect("floor_granted")

    def test_a_server_killed_mid_turn_leaves_a_playable_recording_and_the_next_serial(self):
        server = self.server()
        self.take_turn(server.http_port, "ann", 2.0, release=False)
        time.sleep(0.4)
        server.proc.kill()  # kill -9 mid-turn: no release, no clean close
        server.proc.wait(timeout=5)
        path = os.path.join(server.recordings, "ann_1.wav")
        samples, rate = read_wav(path)  # the header is valid
        self.assertGreater(len(samples) / rate, 1.5)
        self.assertGreater(self.similarity("ann", path), 0.8)
        # A restart on the same folder continues the serials.
        again = self.server(recordings=server.recordings)
        self.take_turn(again.http_port, "ben", 1.0)
        time.sleep(0.5)
        self.assertIn("ben_2.wav", os.listdir(server.recordings))

    def test_the_speaker_plays_the_turn_to_a_wav_and_to_a_jack_device(self):
        out = self.path("speaker.wav")
        server = self.server(audio_out=out)
        self.take_turn(server.http_port, "ann", 2.0)
        time.sleep(0.5)
        server.stop()
        self.assertGreater(self.similarity("ann", out), 0.8)
        # The same through PortAudio on a JACK dummy device.
        name = "hailer-e2e-%d" % os.getpid()
        env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1", JACK_NO_START_SERVER="1")
        jack = subprocess.Popen(["jackd", "--no-realtime", "-n", name, "-d", "dummy", "-r", "48000", "-p", "256"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            time.sleep(1.0)
            os.environ["JACK_DEFAULT_SERVER"] = name
            try:
                played = self.server(audio_out="default")
            finally:
                del os.environ["JACK_DEFAULT_SERVER"]
            played.wait_log(r"playing the class on system \(JACK")
            self.take_turn(played.http_port, "ben", 1.0)
            time.sleep(0.3)
            played.signal(signal.SIGUSR1)
            played.wait_log(r"host\.speaker_frames_played=([1-9]\d+)")
        finally:
            jack.terminate()
            jack.wait(timeout=5)

    def test_a_stopping_server_does_not_wait_for_clients_that_never_answer(self):
        server = self.server()
        silent = [Ws(server.http_port) for _ in range(5)]
        for i, w in enumerate(silent):
            self.assertEqual(w.join("quiet%d" % i)["type"], "ok")  # then never read again, never answer the close
        page = socket.create_connection(("127.0.0.1", server.http_port))  # and an idle keep-alive page load
        page.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        t = time.monotonic()
        server.signal(signal.SIGTERM)
        self.assertEqual(server.proc.wait(timeout=10), 0)
        self.assertLess(time.monotonic() - t, 5.0)
        page.close()

    def test_pages_are_served_and_nothing_outside_them(self):
        server = self.server()
        status, body = http_get(server.http_port, "/")
        self.assertEqual(status, 200)
        self.assertIn(b"Hold to talk", body)
        self.assertEqual(http_get(server.http_port, "/instructor")[0], 200)
        self.assertEqual(http_get(server.http_port, "/student.js")[0], 200)
        self.assertEqual(http_get(server.http_port, "/index.html", tls=False)[0], 200)  # plain HTTP too (localhost)
        bearer = {"Authorization": "Bearer " + server.token}  # past the door: the path itself must not escape
        for path in ("/../CMakeLists.txt", "/%2e%2e/CMakeLists.txt", "/.hidden", "/recordings/../x", "/nothing.js"):
            self.assertEqual(http_get(server.http_port, path, headers=bearer)[0], 404, path)
        self.assertEqual(http_get(server.http_port, "/recordings/ann_1.wav")[0], 403)

    def post_token(self, port, token):
        """Trades a token for the instructor's cookie: (status, the cookie or None)."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        request = urllib.request.Request("https://127.0.0.1:%d/api/instructor/session" % port, method="POST",
                                         data=json.dumps({"token": token}).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, context=ctx, timeout=10) as r:
                cookie = r.headers.get("Set-Cookie", "").split(";")[0]
                return r.status, cookie or None
        except urllib.error.HTTPError as e:
            return e.code, None

    def test_the_instructor_token_is_kept_across_restarts_in_a_private_file(self):
        state = self.path("state")
        first = self.server()
        token_file = os.path.join(first.state_dir, "instructor-token")
        self.assertEqual(os.stat(token_file).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(first.state_dir).st_mode & 0o777, 0o700)
        self.assertEqual(len(first.token), 32)  # 128 bits from the OS
        status, cookie = self.post_token(first.http_port, first.token)
        self.assertEqual((status, cookie is not None), (204, True))
        first.stop()
        # Restarted on the same state folder: the same token, and the page's cookie still works.
        second = self.server()
        self.assertEqual(second.token, first.token)
        self.assertEqual(http_get(second.http_port, "/api/instructor/session", headers={"Cookie": cookie})[0], 204)
        second.stop()
        # A configured token wins (and is not written down); the old cookie no longer opens anything.
        third = self.server("--instructor-token", "a_new_term_token_0123")
        self.assertEqual(third.token, "a_new_term_token_0123")
        self.assertEqual(http_get(third.http_port, "/api/instructor/session", headers={"Cookie": cookie})[0], 403)
        third.stop()
        with open(token_file) as f:
            self.assertEqual(f.read().strip(), first.token)
        del state

    def test_a_short_a_shared_or_a_linked_token_is_refused_at_start(self):
        def start(*args):
            return subprocess.run([SERVER, "--port", "0", "--udp-port", "0", "--http-port", "0", "--audio-out", "none",
                                   *args], capture_output=True, text=True, timeout=10)
        short = start("--state-dir", self.path("s1"), "--instructor-token", "sesame")
        self.assertEqual(short.returncode, 2)
        self.assertIn("at least 16 characters", short.stderr)
        shared = self.path("s2")
        os.makedirs(shared, mode=0o700)
        with open(os.path.join(shared, "instructor-token"), "w") as f:
            f.write("0123456789abcdef0123456789abcdef\n")
        os.chmod(os.path.join(shared, "instructor-token"), 0o644)
        r = start("--state-dir", shared)
        self.assertEqual(r.returncode, 1)
        self.assertIn("chmod 600", r.stderr)
        linked = self.path("s3")
        os.makedirs(linked, mode=0o700)
        os.symlink(self.path("elsewhere"), os.path.join(linked, "instructor-token"))
        r = start("--state-dir", linked)
        self.assertEqual(r.returncode, 1)
        self.assertIn("symbolic link", r.stderr)
        self.assertFalse(os.path.exists(self.path("elsewhere")), "the server wrote through a planted link")
        open_dir = self.path("s4")
        os.makedirs(open_dir)
        os.chmod(open_dir, 0o777)
        r = start("--state-dir", open_dir)
        self.assertEqual(r.returncode, 1)
        self.assertIn("writable by others", r.stderr)

    def test_an_allowed_origin_may_open_the_websocket_and_others_may_not(self):
        server = self.server("--allowed-origin", "https://Class.Example.org/")
        ok = Ws(server.http_port, tls=True, origin="https://class.example.org")
        self.assertEqual(ok.join("ann")["type"], "ok")
        with self.assertRaises(ConnectionError):
            Ws(server.http_port, tls=True, origin="https://class.example.org.evil.example")
        bad = subprocess.run([SERVER, "--port", "0", "--udp-port", "0", "--http-port", "0", "--state-dir", self.path("s"),
                              "--allowed-origin", "class.example.org/page"], capture_output=True, text=True, timeout=10)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("is not an origin", bad.stderr)


if __name__ == "__main__":
    unittest.main()
