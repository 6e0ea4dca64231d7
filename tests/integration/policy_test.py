# SPDX-License-Identifier: MIT
"""Failure budgets on the fleet: a failing canary stops the rollout; a task's own budget."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, events_of, run_deployd, write_json  # noqa: E402

HOSTS = 10


class FailureBudgets(FleetTestCase):
    def run_plan(self, policy, tasks, *args):
        inventory = dict(self.inventory)
        inventory["hosts"] = self.inventory["hosts"][:HOSTS]
        inventory["groups"] = {}
        inventory_path = write_json(self.dir, "inventory.json", inventory)
        plan = write_json(self.dir, "plan.json", {"version": 1, "policy": policy, "tasks": tasks})
        status, out, err = run_deployd([plan, "-i", inventory_path, "--output", "json",
                                        "--log-dir", os.path.join(self.dir, "logs")] + list(args))
        return status, events_of(out), err

    def names(self):
        return [h["name"] for h in self.inventory["hosts"][:HOSTS]]

    @staticmethod
    def ends(events):
        return {e["host"]: e["status"] for e in events if e["event"] == "host_end"}

    def test_a_failing_canary_aborts_the_rollout_before_any_other_host_starts(self):
        canary = self.names()[0]
        status, events, err = self.run_plan(
            {"batches": [1, "10%", "100%"]},
            {"deploy": {"steps": [{"run": "true"}]},
             "smoke": {"needs": ["deploy"], "policy": {"on_failure": "abort"},
                       "steps": [{"run": "test {{host}} != %s" % canary}]}})
        self.assertEqual(status, 3, err)
        self.assertEqual({e["host"] for e in events if e["event"] == "step_start"}, {canary})
        self.assertEqual(self.ends(events), dict({canary: "failed"}, **{h: "aborted" for h in self.names()[1:]}))
        self.assertEqual(events[-1]["status"], "aborted")

    def test_a_task_budget_of_2_aborts_at_the_third_failure(self):
        failing = self.names()[:3]
        status, events, err = self.run_plan(
            {},
            {"check": {"policy": {"max_failures": 2},
                       "steps": [{"run": "case {{host}} in %s) exit 1;; esac" % "|".join(failing)}]}},
            "--forks", "1")
        self.assertEqual(status, 3, err)
        ends = self.ends(events)
        self.assertEqual([h for h in self.names() if ends[h] == "failed"], failing)
        self.assertEqual([h for h in self.names() if ends[h] == "aborted"], self.names()[3:])

    def test_two_failures_within_a_task_budget_of_2_do_not_abort(self):
        failing = self.names()[:2]
        status, events, err = self.run_plan(
            {"max_failures": 0},
            {"check": {"policy": {"max_failures": 2},
                       "steps": [{"run": "case {{host}} in %s) exit 1;; esac" % "|".join(failing)}]}},
            "--forks", "1")
        self.assertEqual(status, 1, err)
        ends = self.ends(events)
        self.assertEqual(sorted(h for h, s in ends.items() if s == "failed"), failing)
        self.assertEqual(sum(1 for s in ends.values() if s == "ok"), HOSTS - 2)


if __name__ == "__main__":
    unittest.main()
