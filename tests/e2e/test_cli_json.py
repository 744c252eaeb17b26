"""The CLI's --json mode, line by line: every line of stdout is one JSON object whose type and
fields are the ones docs/operations.md (local events) and docs/protocol.md (server messages as
sent) list, and the client's own heartbeat is not printed. Each test method is its own ctest
entry (tests/CMakeLists.txt)."""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import CLIENT, Cli, LineReader, TempDirCase, free_port  # noqa: E402

# type -> the fields every line of that type has (docs/operations.md, docs/protocol.md).
SCHEMA = {
    # local events
    "connection": {"state"},
    "call_secured": {"peer", "safety_number", "peer_key", "peer_key_fingerprint"},
    "peer_key": {"peer", "state"},
    "peer_key_error": {"error"},
    "call_unprotected": {"peer"},
    "awaiting_key": {"peer"},
    "call_key_refused": {"peer", "reason"},
    "call_stats": {"protected", "path", "packets_direct", "packets_relay", "packets_tunnel", "path_switches",
                   "first_audio_ms"},
    "call_path": {"peer", "path", "was"},
    "wait": {"phase", "callee", "position"},
    "help": {"commands"},
    "command_held": {"command"},
    "command_error": {"message"},
    "call_lost": {"peer", "reason"},
    "wait_rejoined": {"callee"},
    "media_error": {"peer"},
    "server_garbage": {"detail", "text"},
    # server messages, as sent
    "ok": {"id"},
    "error": {"code", "message"},
    "media_ready": {"address", "port"},
    "call_ringing": {"call_id", "peer", "role"},
    "call_connected": {"call_id", "peer", "peer_media"},
    "relay_dropped": {"call_id", "reason"},
    "call_ended": {"call_id", "peer", "reason", "by"},
    "missed_call": {"from", "at_ms"},
    "wait_update": {"callee", "position", "status"},
    "callee_available": {"callee", "window_ms", "auto_connect"},
    "wait_ended": {"callee", "reason"},
    "waiting_count": {"count"},
    "server_closing": set(),
    "peer_media_key": {"call_id", "key", "account_key", "signature"},
}
CONNECTION_FIELDS = {
    "secured": {"server", "server_key", "trust", "known_servers", "tls"},
    "connected": set(),
    "lost": {"reason", "retry_ms"},
}


class JsonCli(Cli):
    """A --json CLI whose stdout is kept apart from its stderr (which may say anything)."""

    def __init__(self, server, name, *args):
        self.name = name
        self.proc = subprocess.Popen(
            [CLIENT, "--server", server.address, "--name", name, "--json", "--audio-in", "none", "--audio-out",
             "none", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.reader = LineReader(self.proc.stdout)
        self.stderr = LineReader(self.proc.stderr)
        self.events = []

    def stdout_lines(self):
        """Every line of stdout so far, once the CLI has exited."""
        self.proc.wait(timeout=10)
        self.reader.thread.join(timeout=10)
        lines = [line for _, line in self.reader.seen if line is not None]
        while not self.reader.lines.empty():
            _, line = self.reader.lines.get()
            if line is not None:
                lines.append(line)
        return lines


class CliJson(TempDirCase):

    def check_lines(self, cli):
        lines = cli.stdout_lines()
        self.assertTrue(lines, "%s printed nothing" % cli.name)
        types = []
        for line in lines:
            obj = json.loads(line)  # a line that is not JSON fails here
            self.assertIsInstance(obj, dict, line)
            kind = obj.get("type")
            self.assertIn(kind, SCHEMA, "undocumented type in %s" % line)
            self.assertLessEqual(SCHEMA[kind], set(obj), "fields missing in %s" % line)
            if kind == "connection":
                self.assertIn(obj["state"], CONNECTION_FIELDS, line)
                self.assertLessEqual(CONNECTION_FIELDS[obj["state"]], set(obj), line)
            if kind == "help":
                for entry in obj["commands"]:
                    self.assertEqual(set(entry), {"command", "does"}, line)
            types.append(kind)
        return lines, types

    def test_every_line_is_a_documented_json_object_and_the_heartbeat_is_not_printed(self):
        # Pings every 300 ms: 3 s of a session would print 10 oks if heartbeats were shown.
        server = self.server("--heartbeat-timeout-ms", "900", "--ring-timeout-ms", "600")
        alice = JsonCli(server, "alice")
        for command in ("who", "help", "wait", "bogus", "missed"):  # before the connection is up
            alice.send(command)
        alice.expect("command_held", {"command": "who"})
        alice.expect("help")
        alice.expect("wait", {"phase": "none"})
        alice.expect("command_error")
        who = alice.expect("ok")
        while "users" not in who:
            who = alice.expect("ok")
        self.assertEqual(who["users"], [{"name": "alice", "state": "available", "waiting": 0}])
        bob = JsonCli(server, "bob", "--auto-accept")
        bob.expect("ok", {"name": "bob"})
        alice.send("call bob")
        alice.expect("call_secured", {"peer": "bob"})
        carol = JsonCli(server, "carol")
        carol.expect("ok", {"name": "carol"})
        carol.send("call bob")  # busy: queued
        carol.expect("wait_update", {"callee": "bob", "position": 1})
        bob.expect("waiting_count", {"count": 1})
        time.sleep(3.0)  # heartbeats go by
        alice.send("hangup")
        alice.expect("call_stats")
        carol.expect("callee_available", {"callee": "bob"})
        carol.send("cancel")
        carol.expect("wait_ended", {"reason": "cancelled"})
        dave = JsonCli(server, "dave")
        dave.expect("ok", {"name": "dave"})
        carol.send("call dave")  # dave lets it ring out
        dave.expect("missed_call", {"from": "carol"})
        carol.expect("call_ended", {"reason": "no_answer"})
        dave.send("missed")
        missed = dave.expect("ok")
        while "calls" not in missed:
            missed = dave.expect("ok")
        self.assertEqual([c["from"] for c in missed["calls"]], ["carol"])
        self.assertIn("now_ms", missed)
        for cli in (alice, bob, carol, dave):
            cli.send("quit")
        for cli in (alice, bob, carol, dave):
            self.check_lines(cli)
        # alice's oks answer her registration, what she typed (who, missed, call, hangup) and her
        # call key: 6. Her requests went on meanwhile (pings, every 300 ms): not one of their
        # oks is printed.
        lines, _ = self.check_lines(alice)
        oks = [json.loads(line) for line in lines if json.loads(line)["type"] == "ok"]
        self.assertEqual(len(oks), 6, oks)
        self.assertGreaterEqual(max(ok["id"] for ok in oks) - len(oks), 8, "fewer pings than 3 s of heartbeats")
        _, alice_types = self.check_lines(alice)
        for kind in ("connection", "command_held", "help", "wait", "command_error", "ok", "call_ringing",
                     "call_connected", "call_secured", "call_stats", "call_ended"):
            self.assertIn(kind, alice_types)

    def test_a_call_cut_by_a_restart_and_a_rejoined_wait_are_json_too(self):
        port, udp = free_port(), free_port()
        server = self.server(port=port, udp_port=udp)
        bob = JsonCli(server, "bob", "--auto-accept")
        bob.expect("ok", {"name": "bob"})
        alice = JsonCli(server, "alice")
        alice.expect("ok", {"name": "alice"})
        alice.send("call bob")
        alice.expect("call_connected")
        carol = JsonCli(server, "carol")
        carol.expect("ok", {"name": "carol"})
        carol.send("call bob")
        carol.expect("wait_update", {"callee": "bob"})
        self.assertEqual(server.stop(), 0)
        alice.expect("call_lost", {"peer": "bob", "reason": "server_closing"})
        self.server(port=port, udp_port=udp)
        carol.expect("wait_rejoined", {"callee": "bob"}, timeout=15)
        for cli in (alice, bob, carol):
            cli.send("quit")
        for cli in (alice, bob, carol):
            self.check_lines(cli)


if __name__ == "__main__":
    unittest.main()
