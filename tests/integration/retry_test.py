# SPDX-License-Identifier: MIT
"""--retry-failed on the fleet: a plan fails on 2 of 6 hosts; retries run exactly those 2."""
import hashlib
import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, events_of, run_deployd, write_json  # noqa: E402

HOSTS = 6


class RetryFailed(FleetTestCase):
    def setUp(self):
        self.work = os.path.join(self.dir, self.id().rsplit(".", 1)[-1])
        os.makedirs(self.work)
        self.logs = os.path.join(self.work, "logs")
        inventory = dict(self.inventory)
        inventory["hosts"] = self.inventory["hosts"][:HOSTS]
        inventory["groups"] = {}
        self.inventory_path = write_json(self.work, "inventory.json", inventory)
        self.names = [h["name"] for h in inventory["hosts"]]
        self.broken = [self.names[2], self.names[4]]

    def write_plan(self, broken):
        """A plan whose `check` step fails on the hosts listed in its `broken` var."""
        return write_json(self.work, "plan.json", {"version": 1, "vars": {"broken": "," + ",".join(broken) + ","},
                                                   "tasks": {
            "deploy": {"steps": [{"run": "echo deploying {{host}}"},
                                 {"run": "case '{{broken}}' in *,{{host}},*) exit 1;; esac", "name": "check"}]},
            "other": {"steps": [{"run": "echo never run by these tests"}]}}})

    def deployd(self, *args):
        status, out, err = run_deployd(list(args) + ["--output", "json", "--log-dir", self.logs])
        return status, events_of(out), err

    def summary(self, run_id):
        with open(os.path.join(self.logs, run_id, "summary.json")) as f:
            return json.load(f)

    @staticmethod
    def host_ends(events):
        return {e["host"]: e["status"] for e in events if e["event"] == "host_end"}

    def first_run(self, plan, *extra):
        status, events, err = self.deployd(plan, "deploy", "-i", self.inventory_path, *extra)
        self.assertEqual(status, 1, err)
        ends = self.host_ends(events)
        self.assertEqual(sorted(h for h, s in ends.items() if s == "failed"), self.broken)
        return events[0]["run_id"]

    def test_retry_reruns_exactly_the_failed_hosts_then_they_succeed_once_fixed(self):
        plan = self.write_plan(self.broken)
        with open(plan, "rb") as f:
            plan_sha = hashlib.sha256(f.read()).hexdigest()
        first = self.first_run(plan)
        record = self.summary(first)
        self.assertEqual(record["plan_sha256"], plan_sha)
        self.assertEqual(record["rerun"]["plan_path"], os.path.realpath(plan))
        self.assertEqual(record["rerun"]["tasks"], ["deploy"])
        self.assertIsNone(record["rerun"]["hosts"])
        self.assertIsNone(record["rerun"]["limit"])
        with open(self.inventory_path, "rb") as f:
            self.assertEqual(record["rerun"]["inventories"],
                             [{"path": os.path.realpath(self.inventory_path),
                               "sha256": hashlib.sha256(f.read()).hexdigest()}])

        # Unchanged plan: the same 2 hosts fail again; the inventory and task come from the record.
        status, events, err = self.deployd("--retry-failed", plan)
        self.assertEqual(status, 1, err)
        self.assertEqual(events[0]["event"], "run_start")
        self.assertEqual(events[0]["plan_sha256"], plan_sha)
        self.assertEqual(events[0]["hosts"], 2)
        self.assertEqual(events[0]["tasks"], ["deploy"])
        self.assertEqual(self.host_ends(events), {h: "failed" for h in self.broken})
        self.assertNotIn("changed since", err)
        second = events[0]["run_id"]
        self.assertEqual(self.summary(second)["rerun"]["retry_of"], first)
        self.assertEqual(self.summary(second)["rerun"]["tasks"], ["deploy"])

        # Fixed: the latest run (the second) is retried; the change is noted, and both succeed.
        self.write_plan([])
        status, events, err = self.deployd("--retry-failed", plan)
        self.assertEqual(status, 0, err)
        self.assertIn("changed since run " + second, err)
        self.assertEqual(events[0]["hosts"], 2)
        self.assertEqual(self.host_ends(events), {h: "ok" for h in self.broken})
        third = events[0]["run_id"]
        self.assertEqual(self.summary(third)["rerun"]["retry_of"], second)
        self.assertEqual(self.summary(third)["counts"]["ok"], 2)

        # The latest run has no failed host: nothing runs, exit 0, no new run log.
        runs = sorted(os.listdir(self.logs))
        status, events, err = self.deployd("--retry-failed", plan)
        self.assertEqual(status, 0, err)
        self.assertEqual(events, [])
        self.assertIn("nothing to retry: run %s has no failed" % third, err)
        self.assertEqual(sorted(os.listdir(self.logs)), runs)

    def test_retry_of_a_given_run_id_in_both_spellings(self):
        plan = self.write_plan(self.broken)
        first = self.first_run(plan)
        self.write_plan([])
        status, events, _ = self.deployd(plan, "deploy", "-i", self.inventory_path)  # a later run, all ok
        self.assertEqual(status, 0)
        for args in (["--retry-failed", first, plan], [plan, "--retry-failed=" + first]):
            status, events, err = self.deployd(*args)
            self.assertEqual(status, 0, err)
            self.assertEqual(self.host_ends(events), {h: "ok" for h in self.broken}, args)
            self.assertEqual(self.summary(events[0]["run_id"])["rerun"]["retry_of"], first)

    def test_retry_keeps_the_h_list_and_takes_a_new_limit_and_tasks(self):
        plan = self.write_plan(self.broken)
        first = self.first_run(plan, "-H", ",".join(self.names))
        self.assertEqual(self.summary(first)["rerun"]["hosts"], self.names)
        status, events, err = self.deployd("--retry-failed", plan, "--limit", self.broken[1])
        self.assertEqual(status, 1, err)
        self.assertEqual(self.host_ends(events), {self.broken[1]: "failed"})
        self.assertEqual(self.summary(events[0]["run_id"])["rerun"]["hosts"], self.names)
        # TASKs given on the retry's command line replace the recorded ones.
        status, events, err = self.deployd("--retry-failed", first, plan, "other")
        self.assertEqual(status, 0, err)
        self.assertEqual(events[0]["tasks"], ["other"])
        self.assertEqual(self.host_ends(events), {h: "ok" for h in self.broken})

    def test_clear_errors_when_there_is_nothing_to_retry_from(self):
        plan = self.write_plan(self.broken)
        status, _, err = self.deployd("--retry-failed", plan)
        self.assertEqual(status, 2)
        self.assertIn('no finished run of "%s" in "%s"' % (os.path.realpath(plan), self.logs), err)
        first = self.first_run(plan)
        status, _, err = self.deployd("--retry-failed", "20200101T000000Z-000000", plan)
        self.assertEqual(status, 2)
        self.assertIn('run 20200101T000000Z-000000 not found in "%s"' % self.logs, err)
        status, _, err = self.deployd("--retry-failed=latest", plan)
        self.assertEqual(status, 2)
        self.assertIn('"latest" is not a run id', err)
        # A newer run whose summary is corrupt is not silently passed over.
        newer = os.path.join(self.logs, "29991231T235959Z-ffffff")
        shutil.copytree(os.path.join(self.logs, first), newer)
        with open(os.path.join(newer, "summary.json"), "w") as f:
            f.write("{ not json")
        status, _, err = self.deployd("--retry-failed", plan)
        self.assertEqual(status, 2)
        self.assertIn('run summary "%s" is corrupt' % os.path.join(newer, "summary.json"), err)


if __name__ == "__main__":
    unittest.main()
