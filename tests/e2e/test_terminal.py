"""The CLI at a real terminal (tmux): line editing after the first command, history, Ctrl-L, an
event arriving mid-typing, Ctrl-D and Ctrl-C, and the terminal given back as it was. Each test
method is its own ctest entry (tests/CMakeLists.txt)."""

import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import CLIENT, WAIT_S, Raw, TempDirCase, TmuxPane  # noqa: E402


class Terminal(TmuxPane, TempDirCase):

    def setUp(self):
        super().setUp()
        self.assertIsNotNone(shutil.which("tmux"), "scripts/setup.sh installs tmux")
        self.socket_name = "hailer-term-%d-%d" % (os.getpid(), id(self))
        self.server_ = self.server()
        self.after = os.path.join(self.tmp, "after")

    def tearDown(self):
        self.tmux("kill-server")
        super().tearDown()

    def start(self, name="alice"):
        """The CLI in a 100x20 pane, under a shell that records the terminal's mode once it exits."""
#The shell outlives a Ctrl - C(a trap, which the CLI does not inherit) to show what follows.
        cmd = "trap true INT; %s --server %s --name %s --audio-in none --audio-out none; stty -a > %s; echo SHELL-AGAIN; sleep 30" % (
            CLIENT, self.server_.address, name, self.after)
        self.tmux("new-session", "-d", "-s", "cli", "-x", "100", "-y", "20", "sh", "-c", cmd)
        self.wait_screen("registered as %s" % name)

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "cli", *keys)

    def lines(self):
        return [l.rstrip() for l in self.screen().splitlines() if l.strip()]

    def wait_last_line(self, text, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.lines()
            if lines and lines[-1] == text:
                return
            time.sleep(0.05)
        raise AssertionError("the last line never became %r:\n%s" % (text, self.screen()))

    def cursor_x(self):
        return int(self.tmux("display-message", "-p", "-t", "cli", "#{cursor_x}").stdout.strip())

    def pane_mode(self):
        tty = self.tmux("display-message", "-p", "-t", "cli", "#{pane_tty}").stdout.strip()
        return subprocess.run(["stty", "-a", "-F", tty], capture_output=True, text=True, timeout=10).stdout.split()

    def wait_exit(self):
        self.wait_screen("SHELL-AGAIN")
        deadline = time.monotonic() + WAIT_S
        while not os.path.exists(self.after) and time.monotonic() < deadline:
            time.sleep(0.05)
        with open(self.after) as f:
            return f.read().split()

    def test_the_second_command_edits_like_the_first_and_each_line_shows_once(self):
        self.start()
        self.keys("who", "Enter")
        self.wait_screen("online")
        self.wait_last_line("hailer>")
        self.assertEqual(sum(1 for l in self.lines() if l == "hailer> who"), 1, "the entered line shows once")
#The terminal stays in raw mode after the first command(no echo, no line buffering).
        mode = self.pane_mode()
        self.assertIn("-icanon", mode)
        self.assertIn("-echo", mode)
#The second line : arrows move, text inserts at the cursor, nothing prints ^ [[D.
        self.keys("calx", "Left", "l", "Right", "BSpace", "Space", "ca", "Home", "Delete", "Delete", "End")
        self.wait_last_line("hailer> ll ca")
        self.assertNotIn("^[", self.screen())
        self.keys("C-u", "call nobody", "Left", "Left")
        self.wait_last_line("hailer> call nobody")
        self.assertEqual(self.cursor_x(), len("hailer> call nobo"), "the cursor is where the arrows put it")
        self.keys("Enter")
        self.wait_screen("no connected user has that name: nobody")
        self.assertEqual(sum(1 for l in self.lines() if l == "hailer> call nobody"), 1)

    def test_history_walks_back_with_up_and_forward_to_the_line_being_typed(self):
        self.start()
        self.keys("who", "Enter")
        self.wait_screen("online")
        self.keys("wait", "Enter")
        self.wait_screen("not waiting")
        self.wait_last_line("hailer>")
        self.keys("mis")
        self.keys("Up")
        self.wait_last_line("hailer> wait")
        self.keys("Up")
        self.wait_last_line("hailer> who")
        self.keys("Down", "Down")
        self.wait_last_line("hailer> mis")
        self.keys("Up", "Up", "Enter")  # `who` again, from the history
        self.wait_last_line("hailer>")
        self.assertEqual(sum(1 for l in self.lines() if l == "hailer> who"), 2)

    def test_ctrl_l_clears_the_screen_and_keeps_the_line_being_typed(self):
        self.start()
        self.keys("who", "Enter")
        self.wait_screen("online")
        self.keys("call bo", "C-l")
        deadline = time.monotonic() + WAIT_S
        while self.lines() != ["hailer> call bo"] and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.lines(), ["hailer> call bo"], "only the prompt line is left, with what was typed")

    def test_an_event_mid_typing_after_a_command_redraws_the_line_and_the_cursor_intact(self):
        self.start()
        self.keys("who", "Enter")
        self.wait_screen("online")
        self.keys("call bo", "Left", "Left")  # the cursor before "bo"
        self.wait_last_line("hailer> call bo")
        carol = Raw(self.server_.port)
        carol.register("carol")
        carol.request("call", to="alice")
        self.wait_screen("incoming call from carol")
        self.wait_last_line("hailer> call bo")
        self.assertIn("incoming call from carol", self.lines()[-2])
        self.assertEqual(self.cursor_x(), len("hailer> call "), "the cursor is back where it was")
        self.keys("X")
        self.wait_last_line("hailer> call Xbo")
        self.keys("End", "C-u", "reject", "Enter")  # Ctrl-U cuts what is before the cursor
        carol.expect("call_ended", {"reason": "rejected"})

    def test_ctrl_d_once_after_an_event_quits_and_the_terminal_is_given_back(self):
        self.start()
        carol = Raw(self.server_.port)
        carol.register("carol")
        carol.request("call", to="alice")
        self.wait_screen("incoming call from carol")
        self.keys("C-d")
        mode = self.wait_exit()
        self.assertIn("icanon", mode)
        self.assertIn("echo", mode)
        self.assertNotIn("-icanon", mode)

    def test_ctrl_d_on_a_typed_line_deletes_and_does_not_quit(self):
        self.start()
        self.keys("whox", "Left", "C-d")
        self.wait_last_line("hailer> who")
        self.assertNotIn("SHELL-AGAIN", self.screen())

    def test_ctrl_c_leaves_the_shell_prompt_on_a_line_of_its_own(self):
        self.start()
        self.keys("call bo")
        self.wait_last_line("hailer> call bo")
        self.keys("C-c")
        mode = self.wait_exit()
        self.assertIn("icanon", mode)
        self.assertNotIn("-echo", mode)
        lines = self.lines()
        self.assertIn("SHELL-AGAIN", lines)
        self.assertEqual(lines[lines.index("SHELL-AGAIN") - 1], "hailer> call bo", "the typed line stays above")


if __name__ == "__main__":
    unittest.main()
