# SPDX-License-Identifier: MIT
"""Issue 6 end to end: --output group, live progress on a terminal, -q, -v and the summary."""
import fcntl
import os
import pty
import random
import re
import select
import struct
import subprocess
import sys
import termios
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, TcpListener, deployd_binary, run_deployd, write_json  # noqa: E402

# A progress draw: carriage return, the text, erase to the end of the line.
DRAW = re.compile(rb"\r(\[[^\r\n]*?)\x1b\[K")


def report_command(odd_host):
    """Ten lines on every host; the fifth differs on odd_host."""
    return ("for i in 1 2 3 4 5 6 7 8 9 10; do if [ $i = 5 ] && [ {{host}} = %s ]; then echo kernel 5.4; "
            "elif [ $i = 5 ]; then echo kernel 5.10; else echo line $i; fi; done" % odd_host)


def run_on_terminal(args, columns=100, stdout_is_pipe=False, timeout=120):
    """Runs deployd with stderr (and stdout unless stdout_is_pipe) on a pseudo-terminal of
    `columns` columns; returns (status, terminal bytes, stdout pipe bytes)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = dict(os.environ, TERM="xterm")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([deployd_binary()] + args, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE if stdout_is_pipe else slave, stderr=slave, env=env)
    os.close(slave)
    terminal = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not data:
                break
            terminal += data
        elif proc.poll() is not None:
            break
    piped = b""
    if stdout_is_pipe:
        piped = proc.stdout.read()
        proc.stdout.close()
    status = proc.wait(timeout=10)
    os.close(master)
    return status, terminal, piped


class OutputRun(FleetTestCase):
    def plan(self, tasks, name="plan.json"):
        return write_json(self.dir, name, {"version": 1, "tasks": tasks})

    def inventory_of(self, count):
        inventory = dict(self.inventory)
        inventory["hosts"] = self.inventory["hosts"][:count]
        inventory["groups"] = {}
        return write_json(self.dir, "inventory-%d.json" % count, inventory)

    def common(self, count):
        return ["-i", self.inventory_of(count), "--log-dir", os.path.join(self.dir, "logs")]

    def test_group_mode_coalesces_hosts_and_shows_outliers_as_diffs(self):
        plan = self.plan({"t": {"steps": [
            {"run": report_command("node004"), "name": "report"},
            {"run": "[ {{host}} != node006 ]", "name": "check"}]}})
        status, out, err = run_deployd([plan, "--output", "group"] + self.common(10))
        self.assertEqual(status, 1, err)
        expected_step1 = ("== t step 1: report\n"
                          "node[001-003,005-010] (9 hosts): changed\n"
                          "  | line 1\n  | line 2\n  | line 3\n  | line 4\n  | kernel 5.10\n"
                          "  | line 6\n  | line 7\n  | line 8\n  | line 9\n  | line 10\n"
                          "node004: changed, diff against the majority:\n"
                          "  @@ -4,3 +4,3 @@\n   | line 4\n  -| kernel 5.10\n  +| kernel 5.4\n   | line 6\n")
        expected_step2 = ("== t step 2: check\n"
                          "node[001-005,007-010] (9 hosts): changed\n"
                          "node006: exit 1\n")
        self.assertEqual(out, expected_step1 + expected_step2)  # the summary is on stderr (issue 19)
        self.assertIn("deployd: 10 hosts: 9 ok, 1 failed in ", err)
        # The rerun command carries -i and --log-dir: it works as printed (issue 14).
        self.assertIn("deployd: rerun the failed hosts: deployd --retry-failed %s %s\n"
                      % (plan, " ".join(self.common(10))), err)

    def test_group_mode_prints_a_step_as_soon_as_every_host_has_ended_it(self):
        plan = self.plan({"t": {"steps": [
            {"run": "echo first", "name": "first"},
            {"run": "if [ {{host}} = node003 ]; then sleep 3; fi", "name": "slow"}]}})
        proc = subprocess.Popen([deployd_binary(), plan, "--output", "group"] + self.common(3),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first_seen = None
        for line in proc.stdout:
            if line.startswith(b"== t step 1: first") and first_seen is None:
                first_seen = time.monotonic()
        proc.wait(timeout=60)
        ended = time.monotonic()
        err = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        self.assertEqual(proc.returncode, 0, err)
        self.assertIsNotNone(first_seen)
        # Step 1 was printed while node003 still slept in step 2, not at the end of the run.
        self.assertGreater(ended - first_seen, 1.5)

    def test_quiet_prints_only_the_summary(self):
        plan = self.plan({"t": {"steps": [{"run": "echo hello"}]}})
        for mode in ("stream", "group"):
            status, out, err = run_deployd([plan, "-q", "--output", mode] + self.common(3))
            self.assertEqual(status, 0, err)
            self.assertEqual(out, "")  # the summary is on stderr (issue 19)
            self.assertTrue(err.startswith("deployd: 3 hosts: 3 ok in "), err)
            self.assertNotIn("hello", err)
            self.assertIn("  task  ok  changed  failed  skipped", err)

    def test_quiet_with_json_is_a_usage_error(self):
        plan = self.plan({"t": {"steps": [{"run": "true"}]}})
        status, out, err = run_deployd([plan, "-q", "--output", "json"] + self.common(1))
        self.assertEqual(status, 2)
        self.assertIn("--quiet", err)

    def test_verbose_logs_connection_phases_to_stderr_never_output(self):
        plan = self.plan({"t": {"steps": [{"run": "echo hello"}]}})
        status, out, err = run_deployd([plan, "-v"] + self.common(2))
        self.assertEqual(status, 0, err)
        first = self.inventory["hosts"][0]
        self.assertIn("node001: connecting to deployd@%s:%d" % (first["address"], first["port"]), err)
        for phase in ("tcp connect done in", "ssh handshake done in", "authentication done in",
                      "node001: connected after", "node001: disconnect done in"):
            self.assertIn(phase, err)
        # The parts bench/wan_bench.py counts round trips from, to a tenth of a millisecond.
        self.assertRegex(err, r"node001: ssh handshake done in \d+\.\dms \(banner \d+\.\dms, "
                              r"key exchange \d+\.\dms\)")
        self.assertRegex(err, r"node001: exec: channel open \d+\.\dms, exec request \d+\.\dms, "
                              r"output to EOF \d+\.\dms, close \d+\.\dms")
        self.assertNotIn("hello", err)
        self.assertNotIn("connecting", out)
        status, out, err = run_deployd([plan] + self.common(2))
        self.assertNotIn("connect", err)  # without -v, nothing of it

    def test_stream_summary_has_task_timing_failures_and_the_rerun_command(self):
        plan = self.plan({"t": {"steps": [{"run": "[ {{host}} != node002 ]"}]}})
        status, out, err = run_deployd([plan, "t"] + self.common(3))
        self.assertEqual(status, 1, err)
        self.assertEqual(out, "")  # the commands print nothing; failures and the summary are on stderr
        self.assertRegex(err, r"\n  task  ok  changed  failed  skipped +min +median +max\n  t      2        2       1        0 ")
        self.assertIn("  node002 failed: t step 1 (run ", err)
        self.assertIn("deployd: run log: ", err)
        self.assertTrue(err.endswith("deployd: rerun the failed hosts: deployd --retry-failed %s t %s\n"
                                     % (plan, " ".join(self.common(3)))), err)

    def check_draws(self, terminal, columns):
        draws = list(DRAW.finditer(terminal))
        self.assertTrue(draws, terminal[-2000:])
        for draw in draws:
            text = draw.group(1).decode()
            self.assertRegex(text, r"^\[\d+ done(, \d+ failed)?(, \d+ running)?(, \d+ connecting)?(, \d+ waiting)?\]")
            self.assertLess(len(text), columns)
            # A draw is always followed by a redraw or by its clearing, never by other text.
            self.assertEqual(terminal[draw.end():draw.end() + 1], b"\r")
        last = draws[-1].end()
        self.assertTrue(terminal[last:].startswith(b"\r\x1b[K"), terminal[last:last + 100])
        self.assertIsNone(DRAW.search(terminal[last:]))
        return draws

    def test_progress_is_drawn_on_a_terminal_and_cleared(self):
        plan = self.plan({"t": {"steps": [{"run": "sleep 1; echo done-{{host}}"}]}}, "slow.json")
        for mode in ("stream", "group", "json"):
            status, terminal, _ = run_on_terminal([plan, "--output", mode] + self.common(4), columns=60)
            self.assertEqual(status, 0, terminal)
            draws = self.check_draws(terminal, 60)
            self.assertTrue(any(b"slowest: node" in d.group(1) for d in draws), terminal)
            if mode != "json":
                self.assertIn(b"deployd: \x1b[32m4 hosts: 4 ok", terminal)

    def test_progress_never_reaches_a_pipe(self):
        plan = self.plan({"t": {"steps": [{"run": "sleep 1; echo done-{{host}}"}]}}, "slow.json")
        status, terminal, piped = run_on_terminal([plan] + self.common(4), stdout_is_pipe=True)
        self.assertEqual(status, 0, terminal)
        self.check_draws(terminal, 100)  # stderr is the terminal: the line is there
        self.assertNotIn(b"\r", piped)
        self.assertNotIn(b"\x1b[K", piped)
        self.assertNotIn(b"waiting]", piped)
        self.assertIn(b"done-node001", piped)
        status, out, err = run_deployd([plan] + self.common(4))  # both pipes: no progress at all
        self.assertNotIn("\r", out + err)
        self.assertNotIn("waiting]", out + err)

    def test_progress_under_quiet_fits_80_columns_and_names_hosts_still_connecting(self):
        # issue 19: a hung sshd (a listener that never says a word) shows as connecting, the
        # slowest handshake named; the line fits 80 columns and is drawn under -q too.
        silent = TcpListener("127.0.36.190")
        try:
            inventory = dict(self.inventory)
            inventory["hosts"] = self.inventory["hosts"][:2] + [
                {"name": "hung", "address": silent.address, "port": silent.port, "connect_timeout": "3s"}]
            inventory["groups"] = {}
            path = write_json(self.dir, "inventory-hung.json", inventory)
            plan = self.plan({"t": {"steps": [{"run": "sleep 1"}]}}, "hung.json")
            status, terminal, _ = run_on_terminal(
                [plan, "-q", "-i", path, "--log-dir", os.path.join(self.dir, "logs")], columns=80)
        finally:
            silent.close()
        self.assertEqual(status, 1, terminal)
        draws = [d.group(1).decode() for d in self.check_draws(terminal, 80)]
        # In 80 columns the counts that are 0 are left out to keep the slowest host named.
        self.assertTrue(any(re.fullmatch(r"\[\d+ done(, \d+ running)?, 1 connecting\](, ETA \S+)?, "
                                         r"slowest: hung \d+(\.\d)?m?s connecting", d) for d in draws), draws)
        self.assertIn(b"deployd: \x1b[31m3 hosts: 2 ok, 1 unreachable", terminal)

    def test_dry_run_folds_hosts_and_shows_where_a_put_goes(self):
        source = os.path.join(self.dir, "VERSION")
        with open(source, "w") as f:
            f.write("1.0\n")
        plan = self.plan({"t": {"steps": [{"run": "mkdir -p /tmp/ux/{{host}}"},
                                          {"put": "VERSION", "to": "/tmp/ux/{{host}}/VERSION", "mode": "0640"}]}},
                         "fold.json")
        status, out, err = run_deployd([plan, "-n"] + self.common(6))
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(out, "node[001-006] (6 hosts)\n"
                              "  t step 1: mkdir -p /tmp/ux/<host>\n"
                              "  t step 2: put VERSION -> /tmp/ux/<host>/VERSION (mode 0640)\n")

    def test_a_retried_attempt_reads_as_one(self):
        # The hosts' login user cannot enter this test's private folder: the marker goes in /tmp.
        marker = "/tmp/deployd-attempts-%d-{{host}}" % random.randint(0, 1 << 30)
        plan = self.plan({"t": {"steps": [{"run": "echo x >> %s; test $(wc -l < %s) -ge 2" % (marker, marker),
                                           "retries": 1, "retry_delay": "100ms"}]}}, "retry.json")
        status, out, err = run_deployd([plan, "--color", "never"] + self.common(1))
        self.assertEqual(status, 0, err)
        self.assertRegex(err, r"(?m)^node001 t step 1 \(run .*\): attempt 1 of 2 failed \(exited with status 1 "
                              r"after [0-9.]+m?s\); retrying in 100ms$")
        self.assertNotIn("FAILED", err)
        os.remove(marker.replace("{{host}}", "node001"))


if __name__ == "__main__":
    unittest.main()
