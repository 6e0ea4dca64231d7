# SPDX-License-Identifier: MIT
"""Issue 9, point 4: a secret step's command and registered value, and a password from
password_env, never appear in any output: stream, group, json, the terminal's progress line,
the run log, --dry-run, --list, --graph. Every output is searched for unique tokens."""
import os
import signal
import subprocess
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import (FleetTestCase, deployd_binary, events_of, generate_key,  # noqa: E402
                           run_deployd, write_json)
from output_test import run_on_terminal  # noqa: E402

TOKEN = uuid.uuid4().hex[:12]
COMMAND_TOKEN = "cmdtok-" + TOKEN          # only in the secret steps' commands
VALUE_TOKEN = "valtok-" + TOKEN            # only what the secret step prints and registers
FAILING_TOKEN = "failtok-" + TOKEN         # a secret step that fails: the shell names it in stderr


class SecretRun(FleetTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(os.path.join(cls.fleet, "password")) as f:
            cls.password = f.read().strip()
        hosts = [dict(h) for h in cls.inventory["hosts"][:2]]
        by_password = dict(cls.inventory["hosts"][2], name="by-password", user="deployd-pw",
                           identity=generate_key(cls.dir, "no_such_key"), password_env="FLEET_PASSWORD")
        cls.inventory_path = write_json(cls.dir, "inventory.json",
                                        dict(cls.inventory, hosts=hosts + [by_password], groups={}))
        cls.plan = write_json(cls.dir, "plan.json", {"version": 1, "tasks": {
            "keys": {"steps": [
                {"run": "echo %s >/dev/null; echo %s" % (COMMAND_TOKEN, VALUE_TOKEN),
                 "secret": True, "register": "key"},
                {"run": "echo got {{key}}", "name": "show {{key}}"},
                {"run": "echo {{key}} >&2; exit 3", "ignore_errors": True},
                {"run": "set -x; %s-missing" % FAILING_TOKEN, "secret": True, "ignore_errors": True}]},
            "leak": {"on": "local", "steps": [{"local": "echo password is $FLEET_PASSWORD"}]}}})
        os.environ["FLEET_PASSWORD"] = cls.password  # for run_on_terminal too
        cls.env = dict(os.environ)

    def assert_clean(self, where, text):
        for secret in (COMMAND_TOKEN, VALUE_TOKEN, FAILING_TOKEN, self.password):
            self.assertNotIn(secret, text, "%s shows a secret" % where)

    def run_mode(self, mode):
        """Runs the plan with --output mode; returns (stdout, everything it wrote, joined)."""
        logs = os.path.join(self.dir, "logs-" + mode)
        status, out, err = run_deployd([self.plan, "-i", self.inventory_path, "--output", mode,
                                        "--log-dir", logs], env=self.env)
        self.assertEqual(status, 0, err)
        texts = [("stdout", out), ("stderr", err)]
        for folder, _, files in os.walk(logs):
            for name in files:
                with open(os.path.join(folder, name), errors="replace") as f:
                    texts.append((name, f.read()))
        self.assertIn("events.jsonl", [name for name, _ in texts])
        self.assertIn("summary.json", [name for name, _ in texts])
        for where, text in texts:
            self.assert_clean("%s (--output %s)" % (where, mode), text)
        return out, "\n".join(text for _, text in texts)

    def test_json_events_and_run_log_hide_secrets_and_mask_the_registered_value(self):
        out, _ = self.run_mode("json")
        events = events_of(out)
        lines = [(e["host"], e["step"], e["line"]) for e in events if e["event"] == "output"]
        names = {e["step"]: e["name"] for e in events if e["event"] == "step_start"}
        self.assertEqual(names[0], "<secret>")
        self.assertEqual(names[1], "show ***")
        self.assertEqual(names[3], "<secret>")
        for host in ("node001", "by-password"):
            self.assertIn((host, 0, "<secret output: 1 line hidden>"), lines)
            self.assertIn((host, 1, "got ***"), lines)  # the value reached the step, masked
            self.assertIn((host, 2, "***"), lines)
        # Issue 16 #17: the variable password_env names is not in a local step's environment.
        self.assertIn(("local", 0, "password is"), lines)
        errors = [e["error"] for e in events if e["event"] == "step_end" and e["step"] == 3]
        self.assertTrue(errors and all("(run <secret>): exited with status 127" in e for e in errors), errors)

    def test_stream_and_group_output_hide_secrets(self):
        out, _ = self.run_mode("stream")
        self.assertIn("got ***", out)
        self.assertIn("<secret output: 1 line hidden>", out)
        out, _ = self.run_mode("group")
        self.assertIn("got ***", out)

    def test_terminal_progress_line_hides_secrets(self):
        status, terminal, _ = run_on_terminal([self.plan, "-i", self.inventory_path, "--log-dir",
                                               os.path.join(self.dir, "logs-tty")])
        self.assertEqual(status, 0, terminal)
        self.assert_clean("the terminal", terminal.decode("utf-8", "replace"))
        self.assertIn(b"got ***", terminal)

    def test_dry_run_list_and_graph_hide_the_secret_commands(self):
        for args in (["--dry-run", "-v"], ["--list"], ["--graph"]):
            status, out, err = run_deployd([self.plan, "-i", self.inventory_path] + args, env=self.env)
            self.assertEqual(status, 0, err)
            self.assert_clean(" ".join(args), out + err)
        status, out, _ = run_deployd([self.plan, "-i", self.inventory_path, "--dry-run"], env=self.env)
        self.assertIn("keys step 1: <secret>", out)


class NoLogRun(FleetTestCase):
    """Issue 14, bug 9: a no_log step hides its command and output like a secret step, but what
    it registers is an ordinary value: a later "changed" is not masked on any host."""

    def test_no_log_hides_the_command_and_output_not_the_registered_value(self):
        hosts = self.inventory["hosts"][:2]
        inventory = write_json(self.dir, "nolog-inventory.json", dict(self.inventory, hosts=hosts, groups={}))
        plan = write_json(self.dir, "nolog.json", {"version": 1, "tasks": {"keys": {"steps": [
            {"run": "echo %s >/dev/null; echo changed" % COMMAND_TOKEN, "no_log": True, "register": "state"},
            {"run": "echo key is {{state}}", "name": "report {{state}}"}]}}})
        logs = os.path.join(self.dir, "logs-nolog")
        status, out, err = run_deployd([plan, "-i", inventory, "--output", "json", "--log-dir", logs])
        self.assertEqual(status, 0, err)
        with open(os.path.join(logs, os.listdir(logs)[0], "events.jsonl")) as f:
            log = f.read()
        for text in (out, err, log):
            self.assertNotIn(COMMAND_TOKEN, text)
        events = events_of(out)
        names = sorted({(e["step"], e["name"]) for e in events if e["event"] == "step_start"})
        self.assertEqual(names, [(0, "<no_log>"), (1, "report changed")])
        lines = sorted((e["host"], e["step"], e["line"]) for e in events if e["event"] == "output")
        self.assertEqual(lines, sorted([(h["name"], 0, "<no_log output: 1 line hidden>") for h in hosts] +
                                       [(h["name"], 1, "key is changed") for h in hosts]))
        status, out, err = run_deployd([plan, "-i", inventory, "--dry-run"])
        self.assertEqual(status, 0, err)
        self.assertNotIn(COMMAND_TOKEN, out)
        self.assertIn("keys step 1: <no_log>", out)


def cpu_ticks(pid):
    """The user and system CPU time of process `pid`, in clock ticks (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class HugeSecret(FleetTestCase):
    """Issue 16 #4: a huge secret's mask is built a slice per turn of the event loop, so a Ctrl-C
    that comes while it is built is answered at once, not after the build. The run goes on
    meanwhile (the next step starts); only the events wait for the mask."""

    def test_ctrl_c_is_answered_while_a_huge_secret_is_being_masked(self):
        host = self.inventory["hosts"][0]
        inventory = write_json(self.dir, "one-host.json", dict(self.inventory, hosts=[host], groups={}))
        # Not below self.dir: the remote user (a fleet host shares this machine) must write it.
        marker = "/tmp/deployd-huge-secret-%s" % uuid.uuid4().hex
        self.addCleanup(lambda: os.path.exists(marker) and os.remove(marker))
        # 2 MiB of random base64 lines: millions of automaton transitions to build.
        plan = write_json(self.dir, "huge.json", {"version": 1, "tasks": {"t": {"steps": [
            {"run": "head -c 1572864 /dev/urandom | base64 -w 76; touch %s" % marker,
             "secret": True, "register": "key"},
            {"run": "sleep 60", "name": "after"}]}}})
        proc = subprocess.Popen([deployd_binary(), plan, "-i", inventory, "--output", "json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        arrivals = {}  # what -> monotonic time it was read

        def read(stream, name):
            for line in stream:
                if name == "stderr" and "deployd: interrupted:" in line:
                    arrivals.setdefault("interrupted", time.monotonic())
                if name == "stdout" and '"event":"step_end"' in line:
                    arrivals.setdefault("step_end", time.monotonic())
                arrivals.setdefault(name + "_lines", []).append(line)

        readers = [threading.Thread(target=read, args=(proc.stdout, "stdout")),
                   threading.Thread(target=read, args=(proc.stderr, "stderr"))]
        for reader in readers:
            reader.start()
        try:
            while not os.path.exists(marker):
                self.assertIsNone(proc.poll(), "deployd ended before the secret was printed")
                time.sleep(0.01)
            # The step is over: what deployd computes now is the secret's mask. Interrupt once it
            # has computed for 0.2 s of CPU (whatever the machine's speed, the build is under way).
            start = cpu_ticks(proc.pid)
            while cpu_ticks(proc.pid) - start < os.sysconf("SC_CLK_TCK") // 5:
                self.assertNotIn("step_end", arrivals, "the mask was built before the interrupt")
                time.sleep(0.01)
            proc.send_signal(signal.SIGINT)
            while "interrupted" not in arrivals:  # then cancel the sleep
                self.assertIsNone(proc.poll(), "deployd ended without answering the interrupt")
                time.sleep(0.01)
            proc.send_signal(signal.SIGINT)
            status = proc.wait(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
            for reader in readers:
                reader.join()
            proc.stdout.close()
            proc.stderr.close()
        self.assertEqual(status, 130, "".join(arrivals.get("stderr_lines", [])))
        self.assertIn("interrupted", arrivals)
        self.assertIn("step_end", arrivals)
        # The message came while the step's end was still held back for the mask.
        self.assertLess(arrivals["interrupted"], arrivals["step_end"])
        events = events_of("".join(arrivals["stdout_lines"]))
        ends = [(e["step"], e["status"]) for e in events if e["event"] == "step_end"]
        self.assertEqual(ends[0], (0, "ok"))
        self.assertEqual(events[-1]["event"], "run_end")
        self.assertEqual(events[-1]["status"], "interrupted")


if __name__ == "__main__":
    unittest.main()
