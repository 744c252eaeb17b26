"""Names that belong to someone, end to end: hailer-server with accounts (its default), CLIs with
their own keys, the accounts database across restarts, and what a database or a client may do
wrong. Each CLI's key lives in its own config folder (XDG_CONFIG_HOME)."""
import hashlib
import json
import os
import stat
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CLIENT, SERVER, WAIT_S, Raw, TempDirCase, free_port  # noqa: E402
from ws import Ws  # noqa: E402


class Accounts(TempDirCase):

    def login(self, server, name, who, *args):
        """One CLI of `who` (its own key) registering `name` then quitting: (exit status, stdout lines)."""
        env = dict(os.environ, XDG_CONFIG_HOME=self.path("config-" + who))
        p = subprocess.Popen([CLIENT, "--server", server.address, "--name", name, "--json", "--audio-in", "none",
                              "--audio-out", "none", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env)
        lines = []
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            m = json.loads(line)
            lines.append(m)
            if m.get("type") in ("ok", "error") and m.get("id") == 1:
                break
        out, _ = p.communicate(b"quit\n", timeout=WAIT_S)
        lines += [json.loads(x) for x in out.decode().splitlines()]
        return p.returncode, lines

    def reply_to_register(self, lines):
        return next(m for m in lines if m.get("id") == 1 and m.get("type") in ("ok", "error"))

    def test_a_name_is_its_first_keys_even_while_its_owner_is_away(self):
        server = self.server(accounts=True)
        status, lines = self.login(server, "alice", "alice")
        self.assertEqual((status, self.reply_to_register(lines)["type"]), (0, "ok"))
        status, lines = self.login(server, "alice", "mallory")  # alice is offline
        refused = self.reply_to_register(lines)
        self.assertEqual((status, refused["code"]), (1, "name_taken"), lines)
        self.assertIn("belongs to another key", refused["message"])
        status, lines = self.login(server, "ALICE", "mallory")  # the same name, another case
        self.assertEqual(self.reply_to_register(lines)["code"], "name_taken")
        status, lines = self.login(server, "aIice", "mallory")  # and a look-alike of it
        self.assertEqual(self.reply_to_register(lines)["code"], "name_confusable")
        status, lines = self.login(server, "alice", "alice")  # the owner comes back
        self.assertEqual((status, self.reply_to_register(lines)["type"]), (0, "ok"))
        status, lines = self.login(server, "mallory", "mallory")  # a free name is anyone's first
        self.assertEqual(self.reply_to_register(lines)["type"], "ok")
        # An owned name is its owner's on the classroom face too.
        ws = Ws(server.http_port, tls=True)
        self.assertEqual(ws.join("alice")["code"], "name_taken")
        self.assertEqual(ws.join("a1ice")["code"], "name_confusable")
        key = self.path(os.path.join("config-alice", "hailer", "identity"))
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        db = os.path.join(server.state_dir, "accounts.db")
        self.assertEqual(stat.S_IMODE(os.stat(db).st_mode), 0o600)

    def test_accounts_outlive_a_restart(self):
        port = free_port()
        state = self.path("state")
        first = self.server(port=port, state_dir=state, accounts=True)
        self.assertEqual(self.reply_to_register(self.login(first, "alice", "alice")[1])["type"], "ok")
        self.assertEqual(first.stop(), 0)
        second = self.server(port=port, state_dir=state, accounts=True)
        self.assertEqual(self.reply_to_register(self.login(second, "alice", "mallory")[1])["code"], "name_taken")
        self.assertEqual(self.reply_to_register(self.login(second, "alice", "alice")[1])["type"], "ok")

    def test_a_client_without_a_login_is_told_login_required(self):
        server = self.server(accounts=True)
        r = Raw(server.port)  # TLS, but no key and no signature
        m = r.reply(r.request("register", version=1, name="plain"))
        self.assertEqual(m["code"], "login_required")
        m = r.reply(r.request("register", version=1, name="plain", key="00" * 32, signature="00" * 64))
        self.assertEqual(m["code"], "bad_signature")  # a signature that verifies for nothing
        m = r.reply(r.request("register", version=1, name="plain", key="zz", signature="00" * 64))
        self.assertEqual(m["code"], "bad_field")

    def test_plaintext_turns_accounts_off_and_refuses_to_turn_them_on(self):
        server = self.server("--plaintext", "--no-web")
        Raw(server.port).register("anyone")  # names are free: no login over plaintext
        r = subprocess.run([SERVER, "--port", "0", "--udp-port", "0", "--no-web", "--plaintext", "--accounts", "open",
                            "--state-dir", self.path("s")], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("needs TLS", r.stderr)

    def test_a_locked_or_corrupt_database_stops_the_start_and_is_never_touched(self):
        state = self.path("state")
        holder = self.server(state_dir=state, accounts=True)  # holds accounts.db for as long as it runs
        r = subprocess.run([SERVER, "--port", "0", "--udp-port", "0", "--no-web", "--state-dir", state],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("locked", r.stderr)
        self.assertIn("accounts.db", r.stderr)
        holder.stop()
        corrupt = self.path("corrupt")
        os.makedirs(corrupt, mode=0o700)
        db = os.path.join(corrupt, "accounts.db")
        with open(db, "wb") as f:
            f.write(b"this is not a database, but it is somebody's file" * 100)
        os.chmod(db, 0o600)
        before = hashlib.sha256(open(db, "rb").read()).hexdigest()
        r = subprocess.run([SERVER, "--port", "0", "--udp-port", "0", "--no-web", "--state-dir", corrupt],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("corrupt", r.stderr)
        self.assertIn("backup", r.stderr)
        self.assertEqual(hashlib.sha256(open(db, "rb").read()).hexdigest(), before, "never rewritten")
        self.assertFalse(os.path.exists(db + "-wal"))

    def test_users_lists_removes_and_resets_with_the_server_stopped(self):
        state = self.path("state")
        port = free_port()
        server = self.server(port=port, state_dir=state, accounts=True)
        self.login(server, "alice", "alice")
        self.login(server, "bob", "bob")
        busy = subprocess.run([SERVER, "users", "list", "--state-dir", state], capture_output=True, text=True, timeout=10)
        self.assertEqual(busy.returncode, 1)
        self.assertIn("locked", busy.stderr)  # a running server holds the database
        server.stop()
        listed = subprocess.run([SERVER, "users", "list", "--state-dir", state], capture_output=True, text=True,
                                timeout=10)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertEqual(sorted(line.split()[0] for line in listed.stdout.splitlines()), ["alice", "bob"])
        reset = subprocess.run([SERVER, "users", "reset-key", "alice", "--state-dir", state], capture_output=True,
                               text=True, timeout=10)
        self.assertEqual(reset.returncode, 0, reset.stderr)
        missing = subprocess.run([SERVER, "users", "remove", "nobody", "--state-dir", state], capture_output=True,
                                 text=True, timeout=10)
        self.assertEqual(missing.returncode, 1)
        bad = subprocess.run([SERVER, "users", "remove", "../x", "--state-dir", state], capture_output=True, text=True,
                             timeout=10)
        self.assertEqual(bad.returncode, 2)
        again = self.server(port=port, state_dir=state, accounts=True)
        status, lines = self.login(again, "alice", "mallory")  # alice's keys were forgotten: the next key claims
        self.assertEqual(self.reply_to_register(lines)["type"], "ok")
        status, lines = self.login(again, "bob", "mallory")  # bob's account stays
        self.assertEqual(self.reply_to_register(lines)["code"], "name_taken")

    def invite(self, state, name, *args):
        made = subprocess.run([SERVER, "invite", name, "--state-dir", state, *args], capture_output=True, text=True,
                              timeout=10)
        self.assertEqual(made.returncode, 0, made.stderr)
        code = made.stdout.split("\n")[0].split(": ")[1]
        self.assertRegex(code, r"^[0-9a-f]{32}$")
        self.assertIn("--invite " + code, made.stdout)
        return code

    def test_by_invitation_a_name_needs_a_fresh_invite_for_it_used_once(self):
        state = self.path("state")
        server = self.server("--accounts", "invite", state_dir=state)
        self.assertIn("accounts: by invite (hailer-server invite NAME --state-dir %s" % state, server.banner)
        status, lines = self.login(server, "alice", "alice")
        self.assertEqual((status, self.reply_to_register(lines)["code"]), (1, "invite_required"))
        code = self.invite(state, "alice")  # made while the server runs
        invite_file = os.path.join(state, "invites", "alice")
        self.assertEqual(stat.S_IMODE(os.stat(invite_file).st_mode), 0o600)
        self.assertNotIn(code, open(invite_file).read())  # its hash, not the code
        status, lines = self.login(server, "bob", "bob", "--invite", code)  # alice's invite, for bob
        self.assertEqual(self.reply_to_register(lines)["code"], "bad_invite")
        status, lines = self.login(server, "alice", "alice", "--invite", code)
        self.assertEqual((status, self.reply_to_register(lines)["type"]), (0, "ok"))
        self.assertFalse(os.path.exists(invite_file))  # used up
        status, lines = self.login(server, "alice", "alice")  # hers now: no invite needed
        self.assertEqual(self.reply_to_register(lines)["type"], "ok")
        status, lines = self.login(server, "alice", "mallory", "--invite", code)  # the code again, another key
        self.assertEqual(self.reply_to_register(lines)["code"], "name_taken")
        # An expired invite says so, and is not used up by the try.
        stale = self.invite(state, "carol", "--expires-in-s", "1")
        time.sleep(1.2)
        status, lines = self.login(server, "carol", "carol", "--invite", stale)
        self.assertEqual(self.reply_to_register(lines)["code"], "invite_expired")
        fresh = self.invite(state, "carol")
        status, lines = self.login(server, "carol", "carol", "--invite", fresh)
        self.assertEqual(self.reply_to_register(lines)["type"], "ok")
        # Bad invocations: not a name, a lifetime out of range.
        bad = subprocess.run([SERVER, "invite", "../x", "--state-dir", state], capture_output=True, text=True, timeout=10)
        self.assertEqual(bad.returncode, 2)
        bad = subprocess.run([SERVER, "invite", "dave", "--expires-in-s", "0", "--state-dir", state], capture_output=True,
                             text=True, timeout=10)
        self.assertEqual(bad.returncode, 2)

    def test_an_owner_adds_a_second_devices_key_which_then_logs_in(self):
        server = self.server(accounts=True)
        status, lines = self.login(server, "alice", "phone")
        self.assertEqual(self.reply_to_register(lines)["type"], "ok")
        env = dict(os.environ, XDG_CONFIG_HOME=self.path("config-laptop"))
        shown = subprocess.run([CLIENT, "--show-key"], capture_output=True, text=True, timeout=10, env=env)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        laptop_key = shown.stdout.strip()
        self.assertRegex(laptop_key, r"^[0-9a-f]{64}$")
        status, lines = self.login(server, "alice", "laptop")  # not yet
        self.assertEqual(self.reply_to_register(lines)["code"], "name_taken")
        # The owner, logged in on the phone, adds the laptop's key.
        os.environ["XDG_CONFIG_HOME"] = self.path("config-phone")  # the phone's key (tearDown restores it)
        phone = self.cli(server, "alice", "--audio-in", "none", "--audio-out", "none")
        phone.expect("ok", {"id": 1})
        phone.send("add-key zz")
        self.assertEqual(phone.expect("error", {"id": 2})["code"], "bad_field")
        phone.send("add-key " + laptop_key)
        phone.expect("ok", {"id": 3})
        self.assertEqual(phone.quit(), 0)
        status, lines = self.login(server, "alice", "laptop")
        self.assertEqual((status, self.reply_to_register(lines)["type"]), (0, "ok"))
        status, lines = self.login(server, "alice", "mallory")
        self.assertEqual(self.reply_to_register(lines)["code"], "name_taken")

    def test_a_key_file_others_may_read_or_that_is_not_a_key_is_refused(self):
        server = self.server(accounts=True)
        self.login(server, "alice", "alice")
        key = self.path(os.path.join("config-alice", "hailer", "identity"))
        os.chmod(key, 0o644)
        status, _ = self.login(server, "alice", "alice")
        self.assertEqual(status, 2)
        os.chmod(key, 0o600)
        with open(key, "w") as f:
            f.write("not a key\n")
        status, _ = self.login(server, "alice", "alice")
        self.assertEqual(status, 2)


if __name__ == "__main__":
    unittest.main()
