# SPDX-License-Identifier: MIT
"""Conditions on the real fleet (issue 17): `when` on steps, cd blocks and tasks, the status
functions failure() and always(), register fields, changed_when and failed_when, checked on JSON
events."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import PlanTestCase, events_of, run_deployd, stdout_lines, write_json  # noqa: E402


def step_ends(events, host):
    return [e for e in events if e["event"] == "step_end" and e["host"] == host]


def host_end(events, host):
    return [e for e in events if e["event"] == "host_end" and e["host"] == host][0]


class Conditions(PlanTestCase):
    HOSTS = 2

    def test_when_skips_a_step_a_block_and_a_task_on_the_hosts_where_it_is_false(self):
        first, second = self.names
        status, out, err = self.run_plan({
            "t": {"steps": [
                {"run": "echo only-first", "when": "'first' in host.groups"},
                {"cd": "/tmp", "when": "host == '%s'" % second, "steps": [{"run": "echo second-in-$(pwd)"}]},
                {"run": "echo everywhere"}]},
            "u": {"needs": ["t"], "when": "mode == 'full'", "steps": [{"run": "echo full"}]}},
            vars={"mode": "quick"})
        self.assertEqual(status, 0, err)
        events = events_of(out)
        self.assertEqual(stdout_lines(events, first), ["only-first", "everywhere"])
        self.assertEqual(stdout_lines(events, second), ["second-in-/tmp", "everywhere"])
        skipped = [e["error"] for e in step_ends(events, first) if e["status"] == "skipped"]
        self.assertEqual(skipped, [
            "t step 2 (run \"echo second-in-$(pwd)\"): skipped: when \"host == '%s'\" is false" % second,
            "u step 1 (run \"echo full\"): skipped: when \"mode == 'full'\" is false"])
        self.assertEqual(host_end(events, first)["status"], "ok")

    def test_the_dry_run_says_how_when_decides_each_step_on_each_host(self):
        first, second = self.names
        path = write_json(self.dir, "plan.json", {"version": 1, "vars": {"mode": "quick"}, "tasks": {
            "t": {"steps": [
                {"run": "echo only-first", "when": "'first' in host.groups"},
                {"run": "echo v", "register": "v"},
                {"run": "echo after-v", "when": "v.stdout == 'v'"},
                {"run": "echo cleanup", "when": "failure()"}]},
            "u": {"needs": ["t"], "when": "mode == 'full'", "steps": [{"run": "echo full"}]}}})
        status, out, err = run_deployd([path, "-i", self.inventory_path, "--dry-run"])
        self.assertEqual(status, 0, err)
        first_block, second_block = out.split("\n" + second + " ")
        self.assertTrue(first_block.startswith(first + " "), out)
        self.assertIn("  t step 1: echo only-first\n", first_block)
        self.assertIn("  t step 1: echo only-first  (skipped: when \"'first' in host.groups\" is false)\n",
                      second_block)
        self.assertIn("  t step 3: echo after-v  (when \"v.stdout == 'v'\": decided when the run runs)\n"
                      "  t step 4: echo cleanup  (when \"failure()\")\n", out)
        self.assertIn("  u step 1: echo full  (skipped: when \"mode == 'full'\" is false)\n", out)

    def test_failure_steps_run_after_a_failure_and_the_host_stays_failed(self):
        status, out, err = self.run_plan({"t": {"steps": [
            {"run": "echo before"},
            {"run": "echo broken; exit 4", "register": "switch"},
            {"run": "echo never"},
            {"run": "echo rollback after {{switch.rc}}", "when": "failure()"},
            {"run": "echo finally", "when": "always()"},
            {"run": "echo not-on-success", "when": "failure() and switch.rc == 0"}]},
            "after": {"needs": ["t"], "steps": [{"run": "echo after"}]}})
        self.assertEqual(status, 1, err)
        events = events_of(out)
        for name in self.names:
            self.assertEqual(stdout_lines(events, name), ["before", "broken", "rollback after 4", "finally"])
            ends = step_ends(events, name)
            self.assertEqual([e["status"] for e in ends], ["ok", "failed", "skipped", "ok", "ok", "skipped", "skipped"])
            self.assertEqual(ends[2]["error"], "t step 3 (run \"echo never\"): skipped: an earlier step failed")
            end = host_end(events, name)
            self.assertEqual(end["status"], "failed")
            self.assertRegex(end["error"], r"^t step 2 \(run \"echo broken; exit 4\"\): exited with status 4 after "
                                           r"\S+; 2 failure steps ran$")

    def test_always_steps_run_on_success_too_and_failure_steps_do_not(self):
        status, out, err = self.run_plan({"t": {"steps": [
            {"run": "echo work"}, {"run": "echo rescue", "when": "failure()"},
            {"run": "echo finally", "when": "always()"}]}})
        self.assertEqual(status, 0, err)
        self.assertEqual(stdout_lines(events_of(out), self.names[0]), ["work", "finally"])

    def test_register_fields_rc_stdout_stderr_failed_changed_skipped(self):
        status, out, err = self.run_plan({"t": {"steps": [
            {"run": "echo out; echo err >&2; exit 3", "register": "r", "ignore_errors": True},
            {"run": "echo skipped", "register": "s", "when": "false"},
            {"run": "echo '{{r.rc}} {{r.stdout}} {{r.stderr}} {{r.failed}} {{r.changed}} [{{s}}] {{s.skipped}}'",
             "when": "r.rc == 3 and r.failed and s.skipped"}]}})
        self.assertEqual(status, 0, err)
        self.assertEqual(stdout_lines(events_of(out), self.names[0]), ["out", "3 out err true false [] true"])

    def test_changed_when_and_failed_when_override_the_exit_status(self):
        status, out, err = self.run_plan({"t": {"steps": [
            {"run": "echo nothing to do; exit 1", "register": "a", "failed_when": "rc > 1", "changed_when": "false"},
            {"run": "echo {{a.changed}} {{a.failed}}"},
            {"run": "echo ERROR: disk full", "failed_when": "'ERROR' in stdout"}]}})
        self.assertEqual(status, 1, err)
        events = events_of(out)
        self.assertEqual(stdout_lines(events, self.names[0]), ["nothing to do", "false false", "ERROR: disk full"])
        ends = step_ends(events, self.names[0])
        self.assertEqual([e["status"] for e in ends], ["ok", "ok", "failed"])
        self.assertEqual(ends[2]["error"], "t step 3 (run \"echo ERROR: disk full\"): failed_when \"'ERROR' in stdout\" "
                                           "is true (exit status 0)")

    def test_a_condition_that_does_not_parse_stops_the_run_before_anything_connects(self):
        status, out, err = self.run_plan({"t": {"steps": [{"run": "true", "when": "mode = 'full'"}]}},
                                         vars={"mode": "full"})
        self.assertEqual(status, 2, err)
        self.assertIn("/tasks/t/steps/0/when: when \"mode = 'full'\": column 6: unexpected \"=\" "
                      "(write \"==\" to compare)", err)
        self.assertEqual(out, "")


if __name__ == "__main__":
    unittest.main(verbosity=2)
