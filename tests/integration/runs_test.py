# SPDX-License-Identifier: MIT
"""Runs after the fact on the real fleet (issue 19): --junit FILE, --output-dir DIR, `deployd runs`
and `deployd show RUN --output`."""
import glob
import os
import random
import signal
import subprocess
import sys
import time
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, run_deployd, write_json  # noqa: E402

HOSTS = 4


class Runs(FleetTestCase):
    def setUp(self):
        self.work = os.path.join(self.dir, self.id().rsplit(".", 1)[-1])
        os.makedirs(self.work)
        self.logs = os.path.join(self.work, "logs")
        inventory = dict(self.inventory)
        inventory["hosts"] = self.inventory["hosts"][:HOSTS]
        inventory["groups"] = {}
        self.names = [h["name"] for h in inventory["hosts"]]
        self.inventory_path = write_json(self.work, "inventory.json", inventory)
        # One more host nothing listens for: unreachable (port 1 on this fleet's loopback block).
        down = dict(inventory)
        down["hosts"] = inventory["hosts"] + [{"name": "down1", "address": "127.0.39.250", "port": 1}]
        self.down_inventory_path = write_json(self.work, "inventory-down.json", down)

    def test_junit_report_of_a_run_with_a_failure_hostile_stderr_and_an_unreachable_host(self):
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {
            "build": {"on": "local", "steps": [{"local": "true"}]},
            "deploy": {"needs": ["build"], "steps": [
                {"name": "hello", "run": "echo hi"},
                {"name": "check", "run": "if [ {{host}} = %s ]; then printf 'bad \\001\\033[31m <x> & \\377\\n' >&2; "
                                         "echo last >&2; exit 3; fi" % self.names[1]}]}}})
        junit = os.path.join(self.work, "junit.xml")
        code, out, err = run_deployd([plan, "-i", self.down_inventory_path, "--log-dir", self.logs,
                                      "--junit", junit, "-q"])
        self.assertEqual(code, 1, err)
        self.assertEqual(os.stat(junit).st_mode & 0o777, 0o600)
        root = ET.parse(junit).getroot()  # well-formed XML 1.0, or this raises
        self.assertEqual(root.tag, "testsuites")
        self.assertEqual((root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")),
                         (str(1 + HOSTS + 1), "1", "1", "0"))
        suites = {s.get("name"): s for s in root.findall("testsuite")}
        self.assertEqual(list(suites), ["build", "deploy"])
        self.assertEqual([c.get("name") for c in suites["build"]], ["local"])
        self.assertEqual(sorted(c.get("name") for c in suites["deploy"]), ["down1"] + self.names)
        [failure] = root.iter("failure")
        self.assertIn("step 2", failure.get("message"))
        self.assertIn("exit", failure.get("message"))
        self.assertTrue(failure.text.endswith("last stderr lines:\nbad \\x01\\x1b[31m <x> & \\xff\nlast"),
                        failure.text)
        [down] = [c for c in suites["deploy"] if c.get("name") == "down1"]
        self.assertEqual(down.find("error").get("type"), "unreachable")
        for case in root.iter("testcase"):
            float(case.get("time"))

    def test_an_interrupted_run_still_writes_its_junit_report(self):
        nap = "sleep %d" % random.randint(700000, 799999)
        plan = write_json(self.work, "plan.json", {"version": 1, "policy": {"abort_grace": "10m"},
                                                   "tasks": {"t": {"steps": [{"run": "echo started; " + nap}]}}})
        junit = os.path.join(self.work, "junit.xml")
        run = subprocess.Popen([os.environ["DEPLOYD"], plan, "-i", self.inventory_path, "--output", "json",
                                "--log-dir", self.logs, "--junit", junit],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started, deadline = 0, time.time() + 30
        while started < HOSTS and time.time() < deadline:
            line = run.stdout.readline()
            if not line:
                break
            started += b'"event":"step_start"' in line
        self.assertEqual(started, HOSTS)
        run.send_signal(signal.SIGINT)
        time.sleep(0.3)
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
        self.assertEqual(run.returncode, 130, err.decode())
        root = ET.parse(junit).getroot()
        self.assertEqual(root.get("tests"), str(HOSTS))
        self.assertEqual(int(root.get("failures")) + int(root.get("errors")), HOSTS)

    def test_junit_folder_must_exist_before_anything_runs(self):
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {"t": {"steps": [{"run": "true"}]}}})
        code, out, err = run_deployd([plan, "-i", self.inventory_path, "--log-dir", self.logs,
                                      "--junit", os.path.join(self.work, "no", "such", "j.xml")])
        self.assertEqual(code, 2)
        self.assertIn("--junit: the folder", err)
        self.assertFalse(os.path.exists(self.logs), "a run log for a run that never started")

    def test_output_dir_gets_each_hosts_stdout_and_stderr(self):
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {
            "build": {"on": "local", "steps": [{"local": "echo built"}]},
            "t": {"needs": ["build"], "steps": [
                {"run": "echo out-{{host}}; printf 'err \\377\\n' >&2"},
                {"run": "if [ {{host}} = %s ]; then echo more; fi" % self.names[0]}]}}})
        out_dir = os.path.join(self.work, "out", "nested")
        os.makedirs(os.path.dirname(out_dir))
        with open(os.path.join(self.work, "victim"), "w") as f:
            f.write("keep")
        code, out, err = run_deployd([plan, "-i", self.down_inventory_path, "--log-dir", self.logs,
                                      "--output-dir", out_dir, "-q"])
        self.assertEqual(code, 1, err)  # down1 is unreachable
        names = sorted(os.listdir(out_dir))
        self.assertEqual(names, sorted([n + ext for n in self.names + ["local"] for ext in (".out", ".err")]))
        for i, name in enumerate(self.names):
            with open(os.path.join(out_dir, name + ".out"), "rb") as f:
                self.assertEqual(f.read(), b"out-%s\n%s" % (name.encode(), b"more\n" if i == 0 else b""))
            with open(os.path.join(out_dir, name + ".err"), "rb") as f:
                self.assertEqual(f.read(), b"err \xff\n")
            self.assertEqual(os.stat(os.path.join(out_dir, name + ".out")).st_mode & 0o777, 0o600)
        with open(os.path.join(out_dir, "local.out"), "rb") as f:
            self.assertEqual(f.read(), b"built\n")
        # Again: files replaced, not appended to; a planted symlink is refused, not followed.
        os.unlink(os.path.join(out_dir, self.names[1] + ".out"))
        os.symlink(os.path.join(self.work, "victim"), os.path.join(out_dir, self.names[1] + ".out"))
        code, out, err = run_deployd([plan, "-i", self.inventory_path, "--log-dir", self.logs,
                                      "--output-dir", out_dir, "-q"])
        self.assertEqual(code, 0, err)
        with open(os.path.join(out_dir, self.names[0] + ".out"), "rb") as f:
            self.assertEqual(f.read(), b"out-%s\nmore\n" % self.names[0].encode())
        with open(os.path.join(self.work, "victim")) as f:
            self.assertEqual(f.read(), "keep")
        self.assertIn("deployd: warning: --output-dir: %s: Too many levels of symbolic links"
                      % os.path.join(out_dir, self.names[1] + ".out"), err)

    def test_output_dir_that_is_a_file_is_refused_before_anything_runs(self):
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {"t": {"steps": [{"run": "true"}]}}})
        code, out, err = run_deployd([plan, "-i", self.inventory_path, "--log-dir", self.logs,
                                      "--output-dir", plan])
        self.assertEqual(code, 2)
        self.assertIn('deployd: error: --output-dir: cannot use "%s" as a folder' % plan, err)
        self.assertFalse(os.path.exists(self.logs), "a run log for a run that never started")

    def test_runs_lists_the_plans_runs_oldest_first(self):
        marker = "/tmp/deployd-runs-test-%d" % random.randint(0, 10**9)  # the second run fails on one host
        self.addCleanup(lambda: os.path.exists(marker) and os.unlink(marker))
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {"t": {"steps": [
            {"run": "if [ {{host}} = %s ]; then if [ -e %s ]; then exit 1; fi; touch %s; fi"
                    % (self.names[2], marker, marker)}]}}})
        other = write_json(self.work, "other.json", {"version": 1, "tasks": {"t": {"steps": [{"run": "true"}]}}})
        # No --log-dir: the runs go to .deployd/runs beside the plans, which both share.
        for args, expected in (([plan], 0), ([plan], 1), ([other], 0)):
            code, out, err = run_deployd(args + ["-i", self.inventory_path, "-q"])
            self.assertEqual(code, expected, err)
        code, out, err = run_deployd(["runs", plan])
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 2, out)
        ids = [line.split()[0] for line in lines]
        # Oldest first, also within one second (run ids order only to the second).
        self.assertRegex(lines[0], r"^\S+  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  \S+ +ok +%d ok +deployd %s -i %s -q$"
                         % (HOSTS, plan, self.inventory_path))
        self.assertRegex(lines[1], r"  failed \(exit 1\)  %d ok, 1 failed  deployd " % (HOSTS - 1))
        code, out, err = run_deployd(["runs", "--log-dir", os.path.join(self.work, ".deployd", "runs"), "-n", "2"])
        self.assertEqual(code, 0, err)
        self.assertEqual([line.split()[0] for line in out.splitlines()][0], ids[1])
        self.assertIn(other, out.splitlines()[1])
        code, out, err = run_deployd(["runs", "--log-dir", os.path.join(self.work, "none")])
        self.assertEqual((code, out), (0, ""))
        self.assertIn("deployd: no runs recorded in", err)

    def test_show_output_replays_the_run_as_it_was_printed(self):
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {"t": {"steps": [
            {"run": "echo hi; echo {{host}} >&2"},
            {"run": "if [ {{host}} = %s ]; then echo bad; exit 2; fi; uname -s" % self.names[1]}]}}})
        for mode in ("group", "stream"):
            logs = os.path.join(self.logs, mode)
            code, live, err = run_deployd([plan, "-i", self.inventory_path, "--log-dir", logs, "--output", mode])
            self.assertEqual(code, 1, err)
            [run_id] = os.listdir(logs)
            code, replay, err = run_deployd(["show", run_id, "--log-dir", logs, "--output", mode])
            self.assertEqual(code, 0, err)
            # All but the rerun hint, which needs the command line as typed.
            live_lines = [line for line in live.splitlines() if "rerun the failed hosts" not in line]
            if mode == "stream":  # hosts run at once: their lines interleave differently each run
                live_lines, replay_lines = sorted(live_lines), sorted(replay.splitlines())
            else:
                replay_lines = replay.splitlines()
            self.assertEqual(replay_lines, live_lines)
            code, one, err = run_deployd(["show", run_id, "--log-dir", logs, "--output", mode, "--host", self.names[1]])
            self.assertEqual(code, 0, err)
            self.assertIn("bad", one)
            for other in self.names[2:]:
                self.assertNotIn(other, one)
        code, out, err = run_deployd(["show", run_id, "--log-dir", logs, "--output", "stream", "--host", "nosuch"])
        self.assertEqual(code, 2)
        self.assertIn('deployd: error: --host: the run has no host "nosuch"', err)
        code, out, err = run_deployd(["show", run_id, "--log-dir", logs, "--host", self.names[0]])
        self.assertEqual(code, 2)
        self.assertIn("--host needs --output stream|group", err)


    def test_show_replays_a_rolling_run_wave_by_wave_as_it_was_printed(self):
        # run_start names each task's hosts and the waves: the replay groups as the live run did
        # (before, it had no waves and printed each step once for all hosts).
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {"t": {"steps": [
            {"run": "echo same"}, {"run": "uname -s"}]}}})
        logs = os.path.join(self.logs, "rolling")
        code, live, err = run_deployd([plan, "-i", self.inventory_path, "--log-dir", logs,
                                       "--output", "group", "--batches", "1,100%"])
        self.assertEqual(code, 0, err)
        self.assertIn("== t step 1 (wave 1 of 2): echo same", live)
        self.assertIn("== t step 1 (wave 2 of 2): echo same", live)
        [run_id] = os.listdir(logs)
        code, replay, err = run_deployd(["show", run_id, "--log-dir", logs, "--output", "group"])
        self.assertEqual(code, 0, err)
        self.assertEqual(replay.splitlines(), live.splitlines())
        code, one, err = run_deployd(["show", run_id, "--log-dir", logs, "--output", "group",
                                      "--host", self.names[1]])
        self.assertEqual(code, 0, err)
        self.assertIn("== t step 1: echo same\n%s: changed\n" % self.names[1], one)  # one wave


if __name__ == "__main__":
    unittest.main(verbosity=2)
