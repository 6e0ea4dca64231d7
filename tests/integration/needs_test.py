# SPDX-License-Identifier: MIT
"""Needs across hosts, waves and limits on the real fleet (issue 14; plan-format.md, needs):
nothing is reported ok that did not run, and no phase runs before what it needs."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, events_of, run_deployd, stdout_lines, write_json  # noqa: E402


def host_ends(events):
    return {e["host"]: e for e in events if e["event"] == "host_end"}


class Needs(FleetTestCase):
    def setUp(self):
        hosts = self.inventory["hosts"][:4]
        self.web = [h["name"] for h in hosts[:3]]
        self.monitor = hosts[3]["name"]
        inventory = dict(self.inventory, hosts=hosts,
                         groups={"web": self.web, "monitoring": [self.monitor]})
        self.inventory_path = write_json(self.dir, "inventory.json", inventory)

    def run_plan(self, tasks, *args, logs="logs", **plan):
        plan.update({"version": 1, "tasks": tasks})
        path = write_json(self.dir, "plan.json", plan)
        return run_deployd([path, "-i", self.inventory_path, "--output", "json",
                            "--log-dir", os.path.join(self.dir, logs)] + list(args))

    # The example: it used to end "4 hosts: 4 ok", exit 0, with deploy run nowhere.
    FACTS = {
        "facts": {"on": "monitoring", "run_once": True,
                  "steps": [{"run": "echo 127.0.99.5", "register": "mon_ip"}]},
        "deploy": {"on": "web", "needs": ["facts"], "steps": [{"run": "echo deploy {{host}} mon={{mon_ip}}"}]},
    }

    def test_a_run_once_need_in_a_later_wave_runs_first_and_deploy_runs_on_every_web_host(self):
        status, out, err = self.run_plan(self.FACTS, policy={"batches": [1]})
        self.assertEqual(status, 0, err)
        events = events_of(out)
        for name in self.web:
            self.assertEqual(stdout_lines(events, name), ["deploy %s mon=127.0.99.5" % name])
        starts = [(e["host"], e["task"]) for e in events if e["event"] == "step_start"]
        self.assertEqual(starts[0], (self.monitor, "facts"))
        end = [e for e in events if e["event"] == "run_end"][0]
        self.assertEqual(end["counts"]["ok"], 4)

    def test_dry_run_and_graph_show_the_waits_across_hosts(self):
        status, out, err = self.run_plan(self.FACTS, "--dry-run", policy={"batches": [1]})
        self.assertEqual(status, 0, err)
        # The three web hosts run the same steps: one block for them (issue 19), its wait said once.
        self.assertRegex(out, r'(?m)^\S+ \(3 hosts\)\n  deploy waits for "facts" on %s\n' % re.escape(self.monitor))
        self.assertEqual(out.count('  deploy waits for "facts" on %s\n' % self.monitor), 1, out)
        status, out, err = self.run_plan(self.FACTS, "--graph")
        self.assertEqual(status, 0, err)
        self.assertIn('"facts" -> "deploy" [style=bold, label="all hosts"];', out)

    def test_named_tasks_run_in_command_line_order(self):
        tasks = {"first": {"on": "web", "steps": [{"run": "echo first"}]},
                 "second": {"on": "web", "steps": [{"run": "echo second"}]}}
        status, out, err = self.run_plan(tasks, "second", "first")
        self.assertEqual(status, 0, err)
        self.assertEqual(stdout_lines(events_of(out), self.web[0]), ["second", "first"])

    def test_retry_failed_runs_again_the_run_once_need_of_the_retried_host_and_says_so(self):
        tasks = {
            "facts": dict(self.FACTS["facts"]),
            "deploy": {"on": "web", "needs": ["facts"],
                       "steps": [{"run": "test {{host}} != %s && echo deploy {{host}} mon={{mon_ip}}" % self.web[1]}]}}
        status, out, err = self.run_plan(tasks, logs="retry-logs")
        self.assertEqual(status, 1, err)
        tasks["deploy"]["steps"][0]["run"] = "echo deploy {{host}} mon={{mon_ip}}"  # the fix
        status, out, err = self.run_plan(tasks, "--retry-failed", logs="retry-logs")
        self.assertEqual(status, 0, err)
        self.assertIn('deployd: --retry-failed: runs "facts" again on %s: "deploy" needs it' % self.monitor, err)
        events = events_of(out)
        self.assertEqual(stdout_lines(events, self.web[1]), ["deploy %s mon=127.0.99.5" % self.web[1]])
        self.assertEqual(stdout_lines(events, self.web[0]), [])

    def test_a_limit_that_leaves_out_the_needed_host_is_refused_before_connecting(self):
        status, out, err = self.run_plan(self.FACTS, "--limit", "web", policy={"batches": [1]})
        self.assertEqual(status, 2, err)
        self.assertEqual(out, "")
        self.assertIn('task "deploy" needs "facts", which runs on %s, but --limit leaves %s out: add it to --limit'
                      % (self.monitor, self.monitor), err)

    def test_hosts_that_ran_nothing_after_a_failed_local_build_end_skipped_and_the_run_exits_1(self):
        status, out, err = self.run_plan({
            "build": {"on": "local", "steps": [{"local": "exit 3"}]},
            "deploy": {"on": "web", "needs": ["build"], "steps": [{"run": "echo deployed"}]}})
        self.assertEqual(status, 1, err)
        events = events_of(out)
        ends = host_ends(events)
        for name in self.web:
            self.assertEqual(ends[name]["status"], "skipped")
            self.assertEqual(ends[name]["error"], 'local task "build" failed')
            self.assertEqual(stdout_lines(events, name), [])
        end = [e for e in events if e["event"] == "run_end"][0]
        self.assertEqual(end["counts"]["skipped"], 3)
        self.assertEqual(end["counts"]["ok"], 0)
        self.assertEqual(end["status"], "failed")

    def test_a_need_across_groups_waits_for_every_host_and_a_failure_skips_it_naming_the_host(self):
        tasks = {
            "static": {"on": "web", "steps": [{"run": "sleep 0.3; test {{host}} != %s" % self.web[1]}]},
            "sync": {"on": "monitoring", "needs": ["static"], "steps": [{"run": "echo synced"}]}}
        status, out, err = self.run_plan(tasks)
        self.assertEqual(status, 1, err)
        events = events_of(out)
        self.assertEqual(stdout_lines(events, self.monitor), [])
        ends = host_ends(events)
        self.assertEqual(ends[self.monitor]["status"], "skipped")
        self.assertEqual(ends[self.monitor]["error"], '"static" failed on %s' % self.web[1])
        # Without the failure, sync starts after static has ended on every web host.
        tasks["static"]["steps"][0]["run"] = "sleep 0.3"
        status, out, err = self.run_plan(tasks)
        self.assertEqual(status, 0, err)
        order = [(e["event"], e["host"], e["task"]) for e in events_of(out) if e["event"] in ("step_start", "step_end")]
        sync_start = order.index(("step_start", self.monitor, "sync"))
        for name in self.web:
            self.assertLess(order.index(("step_end", name, "static")), sync_start)


if __name__ == "__main__":
    unittest.main(verbosity=2)
