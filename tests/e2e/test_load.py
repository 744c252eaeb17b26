"""The load tools as smoke tests (small N, no timing assertions): they run against a real
hailer-server, finish within their bounds and report what they promise. Their figures are for
docs/performance.md, measured on an idle machine, never asserted here."""

import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD, TempDirCase  # noqa: E402

LOAD = os.path.join(BUILD, "apps", "hailer-load")
BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench")


class Load(TempDirCase):

    def test_hailer_load_calls_runs_cycles_probes_and_a_stuck_reader(self):
        server = self.server("--plaintext")  # hailer-load speaks plaintext
        out = subprocess.run([LOAD, "calls", "--server", server.address, "--sessions", "40", "--pairs", "4",
                              "--probes", "2", "--ping-gap-us", "1000", "--seconds", "0.5", "--stuck",
                              "--server-pid", str(server.proc.pid), "--json"], capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        report = json.loads(out.stdout)
        self.assertEqual(report["sessions"], 40)
        self.assertEqual(report["errors"], 0)
        self.assertEqual(report["disconnects"], 0)
        for phase in ("load", "stuck_reader"):
            self.assertGreater(report[phase]["cycles"], 0, phase)
            self.assertGreater(report[phase]["notify_samples"], 0, phase)
            self.assertGreaterEqual(report[phase]["notify_p99_us"], report[phase]["notify_p50_us"])
            self.assertGreater(report[phase]["ping_samples"], 0, phase)
            self.assertGreaterEqual(report[phase]["ping_p99_us"], report[phase]["ping_p50_us"])
        self.assertGreaterEqual(report["server_rss_kib_per_session"], 0)

    def test_hailer_load_refuses_a_server_that_is_not_there(self):
        out = subprocess.run([LOAD, "calls", "--server", "127.0.0.1:1", "--sessions", "2", "--pairs", "1",
                              "--probes", "0", "--seconds", "0.2", "--setup-timeout", "2"], capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 1)
        self.assertIn(b"connect", out.stderr)

    def test_hailer_load_ptt_joins_a_class_at_once_and_churns_the_floor(self):
        server = self.server("--default-floor-policy", "queue")
        out = subprocess.run([LOAD, "ptt", "--server", "127.0.0.1:%d" % server.http_port, "--students", "30",
                              "--cycles", "3", "--server-pid", str(server.proc.pid), "--json"],
                             capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        report = json.loads(out.stdout)
        self.assertEqual((report["joined"], report["dropped"], report["errors"], report["failures"]), (30, 0, 0, 0))
        self.assertEqual(report["cycles"], 3)
        self.assertGreater(report["press_p50_us"], 0)
        self.assertGreater(report["press_reply_p50_us"], 0)
        self.assertLessEqual(report["press_reply_p50_us"], report["press_p50_us"])  # the reply comes before the grant
        self.assertGreaterEqual(report["handover_p99_us"], report["handover_p50_us"])

    def test_hailer_load_ptt_joins_at_a_rate_counts_frames_and_probes_a_stuck_reader(self):
        server = self.server("--default-floor-policy", "queue")
        out = subprocess.run([LOAD, "ptt", "--server", "127.0.0.1:%d" % server.http_port, "--students", "20",
                              "--cycles", "3", "--join-rate", "100", "--stuck", "--server-pid", str(server.proc.pid),
                              "--server-log", server.log_path, "--json"], capture_output=True, timeout=90)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        report = json.loads(out.stdout)
        self.assertEqual((report["joined"], report["dropped"], report["errors"], report["failures"]), (20, 0, 0, 0))
        self.assertEqual(report["join_rate"], 100)
        self.assertGreaterEqual(report["join_s"], 0.19)  # 20 students at 100 a second take 0.19 s to start
        for phase in (report, report["stuck_reader"]):
            self.assertEqual(phase["cycles"], 3)
            self.assertEqual(phase["frames_sent"], 30)  # ten 20 ms frames a turn
            # The server's own counts (SIGUSR1, read from its log): every frame of the talker admitted.
            self.assertEqual((phase["frames_admitted"], phase["frames_dropped"]), (30, 0))
            self.assertGreater(phase["frames_played"], 0)
            self.assertEqual(phase["connections_lost"], 0)
            self.assertGreaterEqual(phase["handover_p99_us"], phase["handover_p50_us"])
        self.assertGreaterEqual(report["stuck_reader"]["closed_as_slow_reader"], 0)

    def test_hailer_load_floor_cycles_and_notifies_through_its_relay_and_leaves_no_process(self):
        args = [LOAD, "floor", "--pairs", "3", "--probes", "2", "--seconds", "0.4", "--message-bytes", "64", "--json"]
        out = subprocess.run(args, capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        report = json.loads(out.stdout)
        self.assertEqual((report["server"], report["pairs"], report["probes"], report["message_bytes"], report["errors"]),
                         ("relay", 3, 2, 64, 0))
        load = report["load"]
        self.assertGreater(load["cycles"], 0)
        self.assertGreater(load["notify_samples"], 0)
        self.assertGreaterEqual(load["cycle_p99_us"], load["cycle_p50_us"])
        self.assertGreaterEqual(load["notify_p99_us"], load["notify_p50_us"])
        self.assertGreaterEqual(report["server_cpu_s"], 0)
        # The relay is a forked copy of the tool (same command line): gone once the tool is.
        wanted = "\0".join(args).encode()
        left = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if f.read().rstrip(b"\0") == wanted:
                        left.append(pid)
            except OSError:
                pass  # a process that ended while we looked
        self.assertEqual(left, [])

    def test_hailer_load_floor_drives_hailer_server_with_the_same_clients(self):
        server = self.server("--plaintext")  # hailer-load speaks plaintext
        out = subprocess.run([LOAD, "floor", "--server", server.address, "--server-pid", str(server.proc.pid),
                              "--pairs", "2", "--probes", "1", "--seconds", "0.4", "--json"], capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        report = json.loads(out.stdout)
        self.assertEqual((report["server"], report["errors"]), (server.address, 0))
        self.assertGreater(report["load"]["cycles"], 0)
        self.assertGreater(report["load"]["notify_samples"], 0)
        self.assertGreater(report["server_cpu_s"], 0)
        # Every session registered under the prefix, and the server saw the calls the tool counted.
        self.assertGreaterEqual(server.log_text().count("<- {\"type\":\"call_connected\""), 2 * report["load"]["cycles"])

    def test_hailer_load_floor_refuses_nothing_to_measure_and_a_bad_server(self):
        out = subprocess.run([LOAD, "floor", "--pairs", "0", "--probes", "0"], capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"nothing to measure", out.stderr)
        out = subprocess.run([LOAD, "floor", "--server", "localhost", "--seconds", "0.2"], capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"expected --server IPV4:PORT", out.stderr)
        out = subprocess.run([LOAD, "floor", "--server", "127.0.0.1:1", "--seconds", "0.2"], capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 1)
        self.assertIn(b"could not connect", out.stderr)

    def test_ptt_load_joins_a_small_class_and_churns_the_floor(self):
        out = subprocess.run([sys.executable, os.path.join(BENCH, "ptt_load.py"), "--students", "20", "--cycles", "3",
                              "--build", BUILD, "--json"], capture_output=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        report = json.loads(out.stdout)
        self.assertEqual((report["joined"], report["dropped"]), (20, 0))
        self.assertEqual(report["press_to_grant"]["n"], 3)
        self.assertEqual(report["handover"]["n"], 3)


if __name__ == "__main__":
    unittest.main()
