# SPDX-License-Identifier: MIT
"""Issue 3, point 2: `local` steps in a remote task, end to end against the real sshd fleet."""
import collections
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, events_of, run_deployd, write_json  # noqa: E402

HOSTS = 10


class LocalSteps(FleetTestCase):
    def setUp(self):
        # Each test gets its own plan folder, so files from one never satisfy another.
        self.folder = os.path.join(self.dir, self.id().rsplit(".", 1)[-1])
        os.makedirs(os.path.join(self.folder, "sub"))
        inventory = dict(self.inventory, hosts=self.inventory["hosts"][:HOSTS], groups={})
        self.inventory_path = write_json(self.folder, "inventory.json", inventory)
        self.names = [h["name"] for h in inventory["hosts"]]

    def run_plan(self, tasks):
        plan = write_json(self.folder, "plan.json", {"version": 1, "tasks": tasks})
        # Run from another folder: local steps must use the plan's folder, not deployd's.
        status, out, err = run_deployd([plan, "-i", self.inventory_path, "--output", "json"], cwd="/")
        return status, events_of(out), err

    def test_var_env_and_var_at_file_keep_secrets_off_the_command_line(self):
        # Issue 16 #17: --var values were the only way to pass a secret, visible in ps.
        secret_file = os.path.join(self.folder, "token.txt")
        with open(secret_file, "w") as f:
            f.write("from-file\n")
        plan = write_json(self.folder, "plan.json", {"version": 1, "tasks": {"t": {
            "on": "local", "steps": [{"local": "echo {{a}} {{b}} {{c}}"}]}}})
        env = dict(os.environ, DEPLOYD_TEST_SECRET="from-env")
        status, out, err = run_deployd([plan, "--output", "json", "--var", "a=@" + secret_file,
                                        "--var", "b=@@literal", "--var-env", "c=DEPLOYD_TEST_SECRET"],
                                       cwd="/", env=env)
        self.assertEqual(status, 0, err)
        lines = [e["line"] for e in events_of(out) if e["event"] == "output"]
        self.assertEqual(lines, ["from-file @literal from-env"])
        status, _, err = run_deployd([plan, "--var-env", "c=DEPLOYD_NO_SUCH_VARIABLE"], cwd="/", env=env)
        self.assertEqual(status, 2)
        self.assertIn('--var-env c=DEPLOYD_NO_SUCH_VARIABLE: environment variable '
                      '"DEPLOYD_NO_SUCH_VARIABLE" is not set', err)
        status, _, err = run_deployd([plan, "--var", "a=@/nonexistent/file"], cwd="/", env=env)
        self.assertEqual(status, 2)
        self.assertIn('--var a=@/nonexistent/file: cannot read "/nonexistent/file"', err)

    def test_local_steps_run_once_per_host_in_the_plan_folder_with_that_hosts_variables(self):
        self.assertGreaterEqual(len(self.names), HOSTS, "the fleet is too small")
        status, events, err = self.run_plan({"deploy": {"steps": [
            {"local": "echo {{host}} > out-{{host}}.txt"},
            {"local": "cat out-{{host}}.txt", "register": "made"},
            {"run": "echo remote got {{made}}"},
            {"cd": "sub", "steps": [{"local": "pwd -P; echo \"$WHO\" >&2", "env": {"WHO": "env-{{host}}"}}]},
        ]}})
        self.assertEqual(status, 0, err)
        self.assertEqual(events[-1]["counts"]["ok"], HOSTS)
        for name in self.names:
            with open(os.path.join(self.folder, "out-%s.txt" % name)) as f:
                self.assertEqual(f.read(), name + "\n")
        lines = collections.defaultdict(list)
        for event in events:
            if event["event"] == "output":
                lines[event["host"]].append((event["step"], event["stream"], event["line"]))
        sub = os.path.realpath(os.path.join(self.folder, "sub"))
        for name in self.names:
            self.assertEqual(sorted(lines[name]), sorted([
                (1, "stdout", name), (2, "stdout", "remote got " + name),
                (3, "stdout", sub), (3, "stderr", "env-" + name)]), name)

    def test_a_failing_or_timed_out_local_step_fails_only_its_host(self):
        status, events, err = self.run_plan({"t": {"steps": [
            {"local": "test {{host}} != %s" % self.names[0]},
            {"local": "if [ {{host}} = %s ]; then sleep 30; fi" % self.names[1], "timeout": "500ms"},
            {"run": "echo after"}]}})
        self.assertEqual(status, 1, err)
        ends = {(e["host"], e["step"]): e for e in events if e["event"] == "step_end"}
        self.assertEqual(ends[(self.names[0], 0)]["status"], "failed")
        self.assertEqual(ends[(self.names[0], 0)]["exit_status"], 1)
        self.assertEqual(ends[(self.names[0], 2)]["status"], "skipped")
        self.assertEqual(ends[(self.names[1], 1)]["status"], "timed_out")
        self.assertEqual(ends[(self.names[1], 2)]["status"], "skipped")
        for name in self.names[2:]:
            self.assertEqual(ends[(name, 2)]["status"], "ok", name)
        self.assertEqual(events[-1]["counts"]["failed"], 2)
        self.assertEqual(events[-1]["counts"]["ok"], HOSTS - 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
