# SPDX-License-Identifier: MIT
"""The end-of-run summary on the fleet (issue 14): failed hosts folded into ranges with their
last stderr lines, an abort that says why, and a rerun hint that works as printed."""
import json
import os
import re
import shlex
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, deployd_binary, events_of, run_deployd, write_json  # noqa: E402

HOSTS = 8


class Summary(FleetTestCase):
    def setUp(self):
        self.work = os.path.join(self.dir, self.id().rsplit(".", 1)[-1])
        os.makedirs(self.work)
        inventory = dict(self.inventory)
        hosts = list(self.inventory["hosts"][:HOSTS])
        self.names = [h["name"] for h in hosts]
        # Two hosts where nothing listens: unreachable at once (connection refused).
        base = hosts[0]["address"].rsplit(".", 1)[0]
        for i, last in enumerate((201, 202)):
            hosts.append({"name": "gone%02d" % (i + 1), "address": "%s.%d" % (base, last), "port": hosts[0]["port"]})
        inventory["hosts"] = hosts
        inventory["groups"] = {}
        self.inventory_path = write_json(self.work, "inventory.json", inventory)

    def test_failed_hosts_fold_into_ranges_with_their_last_stderr_lines(self):
        failing = self.names[1:6]  # node002..node006
        plan = write_json(self.work, "plan.json", {
            "version": 1, "policy": {"connect_retries": 0},
            "vars": {"failing": "," + ",".join(failing) + ","},
            "tasks": {"restart": {"steps": [{"run": (
                "echo 'svc: starting on {{host}}' >&2; echo 'svc: bind 0.0.0.0:8080: address already in use' >&2;"
                " case '{{failing}}' in *,{{host}},*) echo 'svc: giving up' >&2; exit 1;; esac")}]}}})
        status, out, err = run_deployd([plan, "-i", self.inventory_path, "--color", "never",
                                        "--log-dir", os.path.join(self.work, "logs")])
        self.assertEqual(status, 1, out + err)
        summary = err[err.index("deployd: 10 hosts:"):]
        self.assertIn("deployd: 10 hosts: 3 ok, 5 failed, 2 unreachable in ", summary)
        # One line for the five failed hosts, each host's command resolved (its name folded),
        # then their last three stderr lines, folded the same way.
        # (A command is shown by its first 57 characters.)
        # (Durations that differ fold to "…"; the hosts may also all have taken the same time.)
        self.assertRegex(summary, re.escape("\n  node[002-006] (5 hosts) failed: restart step 1 (run \"echo 'svc: "
                                            "starting on <host>' >&2; echo 'svc: bind 0.0....\"): exited with status 1 "
                                            "after ") + r"(…|\d+ms|\d+\.\ds)\n")
        self.assertIn("\n    ! svc: starting on <host>\n"
                      "    ! svc: bind 0.0.0.0:8080: address already in use\n"
                      "    ! svc: giving up\n", summary)
        self.assertRegex(summary, r"\n  gone\[01-02\] \(2 hosts\) unreachable: connect …: [^\n]*refused\n")
        self.assertNotIn("{{", summary)
        # The live failure lines show each host's own command.
        self.assertIn("node003 FAILED: restart step 1 (run \"echo 'svc: starting on node003' >&2;", err)

    def test_an_abort_says_why_and_its_rerun_hint_works_as_printed(self):
        # node003 and node004 fail (the command names no host but its own: their lines fold).
        plan = write_json(self.work, "plan.json", {
            "version": 1,
            "policy": {"batches": [4], "max_failures": 1},
            "vars": {"version": "1"},
            "tasks": {"deploy": {"steps": [
                {"run": "case {{host}} in *3|*4) sleep 0.5; exit 1;; esac; echo {{version}}"}]}}})
        logs = os.path.join(self.work, "my logs")  # a folder the default would not find
        hosts = ",".join(self.names)
        args = [plan, "deploy", "-i", self.inventory_path, "-H", hosts, "--log-dir", logs,
                "--var", "version=2", "--color", "never"]
        status, out, err = run_deployd(args, cwd=self.work)
        self.assertEqual(status, 3, out + err)
        self.assertRegex(err, r"deployd: aborted: max_failures 1 exceeded: node00[34], node00[34] failed\n")
        self.assertIn("deployd: 8 hosts: 2 ok, 2 failed, 4 aborted in ", err)
        self.assertIn("\n  node[005-008] (4 hosts) aborted: not started: the run was aborted\n", err)
        # Durations that differ fold to "…"; two hosts may also have taken the very same time.
        self.assertRegex(err, re.escape("\n  node[003-004] (2 hosts) failed: deploy step 1 (run \"case <host> in "
                                        "*3|*4) sleep 0.5; exit 1;; esac; echo 2\"): exited with status 1 after ")
                         + r"(…|\d+ms|\d+\.\ds)\n")
        self.assertIn("\n  deploy   2        2       2        4        0  ", err)  # ok, changed, failed, aborted, skipped
        run_id = os.listdir(logs)[0]
        with open(os.path.join(logs, run_id, "events.jsonl")) as f:
            end = [json.loads(line) for line in f][-1]
        self.assertEqual((end["event"], end["status"]), ("run_end", "aborted"))
        self.assertRegex(end["reason"], r"^max_failures 1 exceeded: node00[34], node00[34] failed$")
        self.assertEqual(sum(end["counts"].values()), HOSTS)

        hint = re.search(r"^deployd: rerun the failed hosts: (.*)$", err, re.M)
        self.assertIsNotNone(hint, err)
        self.assertIn("deployd: this run had --var version=…: give them again\n", err)
        command = shlex.split(hint.group(1))
        self.assertEqual(command[0], "deployd")
        self.assertIn("--log-dir", command)
        self.assertIn("-i", command)
        # Run as printed (from the same folder), with the --var it names.
        done = subprocess.run([deployd_binary()] + command[1:] + ["--var", "version=2", "--output", "json"],
                              capture_output=True, text=True, cwd=self.work, timeout=300)
        self.assertIn("retrying run %s on 6 hosts" % run_id, done.stderr)
        events = events_of(done.stdout)
        ends = {e["host"]: e["status"] for e in events if e["event"] == "host_end"}
        self.assertEqual(sorted(ends), self.names[2:])
        self.assertEqual(events[-1]["event"], "run_end")
        self.assertEqual(sum(events[-1]["counts"].values()), 6)


if __name__ == "__main__":
    unittest.main()
