# SPDX-License-Identifier: MIT
"""`shell` and `prefix` (issue 18, Shells) on the real fleet: which shell runs a step, what
runs before it, for run and local steps, with env on stdin, sudo and a timeout."""
import os
import subprocess
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, events_of, run_deployd, write_json  # noqa: E402


def lines(events, host, stream="stdout"):
    return [e["line"] for e in events if e["event"] == "output" and e["host"] == host and e["stream"] == stream]


def step_ends(events):
    return [e for e in events if e["event"] == "step_end"]


class Shells(FleetTestCase):
    def setUp(self):
        self.host = self.inventory["hosts"][0]
        self.name = self.host["name"]
        inventory = dict(self.inventory, hosts=[self.host], groups={})
        self.inventory_path = write_json(self.dir, "inventory.json", inventory)

    def run_plan(self, tasks, **plan):
        plan.update({"version": 1, "tasks": tasks})
        path = write_json(self.dir, "plan.json", plan)
        return run_deployd([path, "-i", self.inventory_path, "--output", "json",
                            "--log-dir", os.path.join(self.dir, "logs")], timeout=120)

    def test_the_default_is_sh_and_bash_login_runs_bash_with_its_login_files(self):
        status, out, err = self.run_plan({"t": {"steps": [
            {"run": "[[ 1 == 1 ]] && echo bash-test", "ignore_errors": True},
            {"run": "[[ 1 == 1 ]] && echo bash-test; shopt -q login_shell && echo login",
             "shell": ["bash", "-l", "-c"]},
            {"run": "echo ${BASH_VERSION:+bash}", "shell": "bash"}]}})
        self.assertEqual(status, 0, err)
        events = events_of(out)
        self.assertEqual([e["status"] for e in step_ends(events)], ["failed", "ok", "ok"])
        self.assertEqual(lines(events, self.name), ["bash-test", "login", "bash"])

    def test_the_innermost_shell_wins_plan_task_cd_step(self):
        status, out, err = self.run_plan({
            "a": {"steps": [{"run": "echo a ${BASH_VERSION:+bash}"}]},
            "b": {"needs": ["a"], "shell": "sh", "steps": [
                {"run": "echo b ${BASH_VERSION:+bash}"},
                {"cd": "/tmp", "shell": "bash", "steps": [
                    {"run": "echo c ${BASH_VERSION:+bash}"},
                    {"run": "echo d ${BASH_VERSION:+bash}", "shell": "sh"}]}]}}, shell="bash")
        self.assertEqual(status, 0, err)
        self.assertEqual(lines(events_of(out), self.name), ["a bash", "b", "c bash", "d"])

    def test_prefixes_run_before_every_step_inside_after_cd_outermost_first(self):
        folder = "/tmp/deployd-shells-" + uuid.uuid4().hex[:12]
        status, out, err = self.run_plan({"t": {"prefix": "export ORDER=task", "steps": [
            {"run": "mkdir -p %s/venv/bin && echo 'export VIRTUAL_ENV=%s/venv' > %s/venv/bin/activate"
                    % (folder, folder, folder)},
            {"cd": folder, "prefix": "source venv/bin/activate", "shell": ["bash", "-l", "-c"], "steps": [
                {"run": "echo $ORDER $VIRTUAL_ENV"},
                {"run": "echo env $GREETING $VIRTUAL_ENV", "env": {"GREETING": "it's"}},
                {"run": "echo sudo $(id -un) $VIRTUAL_ENV", "sudo": True}]},
            {"run": "rm -r %s" % folder}]}})
        self.assertEqual(status, 0, err)
        venv = folder + "/venv"
        self.assertEqual(lines(events_of(out), self.name),
                         ["task " + venv, "env it's " + venv, "sudo root " + venv])

    def test_a_failing_prefix_fails_the_step_with_its_status_and_the_command_never_runs(self):
        status, out, err = self.run_plan({"t": {"steps": [
            {"cd": "/tmp", "prefix": "exit 7", "steps": [{"run": "echo ran"}]}]}})
        self.assertEqual(status, 1, err)
        events = events_of(out)
        self.assertEqual(lines(events, self.name), [])
        end = step_ends(events)[0]
        self.assertEqual((end["status"], end["exit_status"]), ("failed", 7))

    def test_local_steps_honour_shell_and_prefix(self):
        status, out, err = self.run_plan({"t": {"on": "local", "prefix": "X=pre", "steps": [
            {"local": "echo ${BASH_VERSION:+bash} $X"},
            {"local": "echo ${BASH_VERSION:+bash} $X", "shell": ["bash", "-c"]},
            {"local": "echo secret ${BASH_VERSION:+bash}", "shell": "bash", "sudo": True}]}})
        self.assertEqual(status, 0, err)
        self.assertEqual(lines(events_of(out), "local"), ["pre", "bash pre", "secret bash"])

    def test_a_timed_out_step_under_bash_login_has_its_processes_stopped(self):
        marker = "%d.%d" % (40 + uuid.uuid4().int % 50, uuid.uuid4().int % 1000)
        status, out, err = self.run_plan({"t": {"steps": [
            {"run": "sleep %s; echo never" % marker, "shell": ["bash", "-l", "-c"], "timeout": "1s"}]}})
        self.assertEqual(status, 1, err)
        end = step_ends(events_of(out))[0]
        self.assertIn("its processes were stopped", end["error"])
        left = subprocess.run(["pgrep", "-f", "sleep " + marker], capture_output=True, text=True)
        self.assertEqual(left.stdout, "", "processes left: " + left.stdout)


if __name__ == "__main__":
    unittest.main()
