# SPDX-License-Identifier: MIT
"""Rolling one task on the fleet (issue 18): a task's policy.serial and policy.batches, and
--batches. Overlap is measured from the order of the JSON events (one stream, written in the
order things happened) and from a lock folder the hosts share (the fleet's hosts share /tmp),
never from wall time."""
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, events_of, run_deployd, write_json  # noqa: E402

HOSTS = 8

# Inside the task: the host's mark in a folder all fleet hosts see, how many marks are there now,
# a pause so that a second host would overlap if allowed, and the mark removed.
INSIDE = ("d=/tmp/deployd-rolling-{{run.id}}; mkdir -p $d && chmod 777 $d && touch $d/{{host}} && "
          "ls $d | wc -l && sleep 0.3 && rm $d/{{host}}")


class Rolling(FleetTestCase):
    def run_plan(self, tasks, *args, policy=None):
        inventory = dict(self.inventory)
        inventory["hosts"] = self.inventory["hosts"][:HOSTS]
        inventory["groups"] = {}
        inventory_path = write_json(self.dir, "inventory.json", inventory)
        plan = write_json(self.dir, "plan.json", {"version": 1, "policy": policy or {}, "tasks": tasks})
        status, out, err = run_deployd([plan, "-i", inventory_path, "--output", "json",
                                        "--log-dir", os.path.join(self.dir, "logs")] + list(args))
        events = events_of(out)
        if events:  # the lock folder of INSIDE, empty by now
            self.addCleanup(shutil.rmtree, "/tmp/deployd-rolling-" + events[0]["run_id"], True)
        return status, events, err

    def names(self):
        return [h["name"] for h in self.inventory["hosts"][:HOSTS]]

    @staticmethod
    def spans(events, task):
        """Per host, the positions in the event stream of its first step_start and last step_end
        of `task`."""
        spans = {}
        for position, e in enumerate(events):
            if e.get("task") != task:
                continue
            if e["event"] == "step_start":
                spans.setdefault(e["host"], [position, None])
            elif e["event"] == "step_end":
                spans[e["host"]][1] = position
        return spans

    @staticmethod
    def most_inside(spans):
        edges = sorted([(start, 1) for start, _ in spans.values()] + [(end, -1) for _, end in spans.values()])
        inside = most = 0
        for _, change in edges:
            inside += change
            most = max(most, inside)
        return most

    def counts_seen(self, events, task):
        return [int(e["line"]) for e in events if e["event"] == "output" and e["task"] == task]

    def test_serial_2_keeps_at_most_two_hosts_inside_the_task(self):
        status, events, err = self.run_plan({
            "deploy": {"steps": [{"run": "true"}]},
            "restart": {"needs": ["deploy"], "policy": {"serial": 2}, "steps": [{"run": INSIDE}]}})
        self.assertEqual(status, 0, err)
        spans = self.spans(events, "restart")
        self.assertEqual(sorted(spans), self.names())
        self.assertLessEqual(self.most_inside(spans), 2)
        seen = self.counts_seen(events, "restart")
        self.assertEqual(len(seen), HOSTS)
        self.assertLessEqual(max(seen), 2, seen)

    def test_serial_as_a_percentage_of_the_task_hosts(self):
        status, events, err = self.run_plan({
            "restart": {"policy": {"serial": "25%"}, "steps": [{"run": INSIDE}]}})  # 2 of 8
        self.assertEqual(status, 0, err)
        self.assertLessEqual(self.most_inside(self.spans(events, "restart")), 2)
        self.assertLessEqual(max(self.counts_seen(events, "restart")), 2)

    def test_a_task_wave_starts_when_the_wave_before_has_ended_the_task(self):
        status, events, err = self.run_plan({
            "deploy": {"steps": [{"run": "true"}]},
            "restart": {"needs": ["deploy"], "policy": {"batches": [1, 3]}, "steps": [{"run": "sleep 0.1"}]}})
        self.assertEqual(status, 0, err)
        spans = self.spans(events, "restart")
        names = self.names()
        waves = [names[0:1], names[1:4], names[4:7], names[7:8]]
        for before, after in zip(waves, waves[1:]):
            last_end = max(spans[h][1] for h in before)
            first_start = min(spans[h][0] for h in after)
            self.assertLess(last_end, first_start, (before, after))

    def test_a_failing_first_wave_with_no_budget_stops_the_task_before_its_next_wave(self):
        canary = self.names()[0]
        status, events, err = self.run_plan({
            "restart": {"policy": {"batches": [1, "100%"], "max_failures": 0},
                        "steps": [{"run": "test {{host}} != %s" % canary}]}})
        self.assertEqual(status, 3, err)
        self.assertEqual({e["host"] for e in events if e["event"] == "step_start"}, {canary})

    def test_batches_on_the_command_line_replace_the_plan_waves(self):
        status, events, err = self.run_plan({"t": {"steps": [{"run": "sleep 0.1"}]}}, "--batches", "2,50%",
                                            policy={"batches": ["100%"]})
        self.assertEqual(status, 0, err)
        names = self.names()
        ended = {e["host"]: i for i, e in enumerate(events) if e["event"] == "host_end"}
        started = {}
        for i, e in enumerate(events):
            if e["event"] == "step_start":
                started.setdefault(e["host"], i)
        waves = [names[0:2], names[2:6], names[6:8]]  # 2, then 50% of 8, then 4 (only 2 left)
        for before, after in zip(waves, waves[1:]):
            self.assertLess(max(ended[h] for h in before), min(started[h] for h in after))

    def test_a_bad_batches_option_is_refused_before_anything_connects(self):
        status, events, err = self.run_plan({"t": {"steps": [{"run": "true"}]}}, "--batches", "1,0")
        self.assertEqual(status, 2)
        self.assertEqual(events, [])
        self.assertIn('--batches 1,0: bad size "0" (expected counts of at least 1 and percentages like 25%, '
                      'separated by commas)', err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
