# SPDX-License-Identifier: MIT
"""Plan features on the real fleet: cd, env, register, sudo, quoting, -H, --limit, --var,
--dry-run and --graph, checked on JSON events."""
import os
import pwd
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import PlanTestCase, events_of, run_deployd, stdout_lines, write_json  # noqa: E402


class PlanFeatures(PlanTestCase):
    def test_cd_blocks_nest_and_join_relative_folders(self):
        status, out, err = self.run_plan({"t": {"steps": [
            {"cd": "/usr", "steps": [{"run": "pwd"}, {"cd": "share", "steps": [{"run": "pwd"}]}]}]}})
        self.assertEqual(status, 0, err)
        self.assertEqual(stdout_lines(events_of(out), self.names[0]), ["/usr", "/usr/share"])

    def test_env_and_quoting_reach_the_command_unchanged(self):
        text = "it's \"quoted\" $HOME `x` héllo ✓"
        status, out, err = self.run_plan({"t": {"steps": [
            {"run": "printf '%s\\n' \"$GREETING\"", "env": {"GREETING": text}},
            {"run": "echo 'line one'\necho \"line two: $((2+3))\""}]}})
        self.assertEqual(status, 0, err)
        self.assertEqual(stdout_lines(events_of(out), self.names[1]), [text, "line one", "line two: 5"])

    def test_a_registered_value_is_used_by_a_later_step_on_the_same_host(self):
        status, out, err = self.run_plan({"t": {"steps": [
            {"run": "echo value-of-{{host}}", "register": "mine"},
            {"run": "echo got {{mine}}"}]}})
        self.assertEqual(status, 0, err)
        for name in self.names:
            self.assertEqual(stdout_lines(events_of(out), name), ["value-of-" + name, "got value-of-" + name])

    def test_sudo_runs_as_root_or_as_the_named_user(self):
        status, out, err = self.run_plan({"t": {"steps": [
            {"run": "id -un", "sudo": True}, {"run": "id -un", "sudo": "nobody"}, {"run": "id -un"}]}})
        self.assertEqual(status, 0, err)
        self.assertEqual(stdout_lines(events_of(out), self.names[0]), ["root", "nobody", "deployd"])

    def test_a_missing_sudo_right_fails_at_once_instead_of_prompting(self):
        inventory = dict(self.inventory, hosts=[dict(self.hosts[0], user="deployd-pw",
                                                     password_env="FLEET_PASSWORD")], groups={})
        with open(os.path.join(self.fleet, "password")) as f:
            env = dict(os.environ, FLEET_PASSWORD=f.read().strip())
        path = write_json(self.dir, "plan.json", {"version": 1, "tasks": {"t": {"steps": [
            {"run": "true", "sudo": True}]}}})
        status, out, err = run_deployd([path, "-i", write_json(self.dir, "inv-pw.json", inventory),
                                        "--output", "json"], env=env, timeout=60)
        self.assertEqual(status, 1, err)
        ends = [e for e in events_of(out) if e["event"] == "step_end"]
        self.assertEqual(ends[0]["status"], "failed")

    def test_local_task_run_once_and_barrier_on_the_fleet(self):
        status, out, err = self.run_plan({
            "pack": {"on": "local", "steps": [{"local": "echo release-7", "register": "release"}]},
            "migrate": {"needs": ["pack"], "run_once": True,
                        "steps": [{"run": "echo migrated on {{host}}", "register": "migrated_on"}]},
            "deploy": {"needs": ["migrate"], "steps": [{"run": "sleep 0.{{host.port}} >/dev/null 2>&1; echo {{release}}"}]},
            "restart": {"needs": ["deploy"], "barrier": True, "steps": [{"run": "echo {{migrated_on}}"}]}})
        self.assertEqual(status, 0, err)
        events = events_of(out)
        self.assertEqual([e["line"] for e in events if e["event"] == "output" and e["host"] == "local"],
                         ["release-7"])
        migrated = [e for e in events if e["event"] == "step_end" and e["task"] == "migrate"]
        self.assertEqual([e["host"] for e in migrated], [self.names[0]])
        for name in self.names:
            self.assertEqual(stdout_lines(events, name)[-2:], ["release-7", "migrated on " + self.names[0]])
        # The barrier: every host's deploy ends before any host's restart starts.
        order = [(e["event"], e["task"]) for e in events if e["event"] in ("step_start", "step_end")]
        last_deploy = max(i for i, x in enumerate(order) if x == ("step_end", "deploy"))
        first_restart = min(i for i, x in enumerate(order) if x == ("step_start", "restart"))
        self.assertLess(last_deploy, first_restart)

    def test_var_on_the_command_line_wins_over_plan_vars(self):
        status, out, err = self.run_plan({"t": {"steps": [{"run": "echo {{colour}}"}]}},
                                         "--var", "colour=blue", vars={"colour": "red"})
        self.assertEqual(status, 0, err)
        self.assertEqual(stdout_lines(events_of(out), self.names[2]), ["blue"])

    def test_a_task_named_after_var_limit_and_inventory_options_is_a_task(self):
        # Each of these options takes one value per occurrence: "b" must not be read as a value.
        extra = write_json(self.dir, "extra-inventory.json", {"vars": {"colour": "green"}})
        for option, value in (("--var", "colour=blue"), ("--limit", "first"), ("-i", extra)):
            with self.subTest(option=option):
                status, out, err = self.run_plan({"a": {"steps": [{"run": "echo a"}]},
                                                  "b": {"steps": [{"run": "echo b {{colour}}"}]}},
                                                 option, value, "b", vars={"colour": "red"})
                self.assertEqual(status, 0, err)
                colour = {"--var": "blue", "--limit": "red", "-i": "red"}[option]  # the plan wins over -i
                self.assertEqual(stdout_lines(events_of(out), self.names[0]), ["b " + colour])

    def test_limit_runs_only_on_matching_hosts_and_groups(self):
        status, out, err = self.run_plan({"t": {"steps": [{"run": "true"}]}}, "--limit", "first," + self.names[2])
        self.assertEqual(status, 0, err)
        ended = sorted(e["host"] for e in events_of(out) if e["event"] == "host_end")
        self.assertEqual(ended, sorted([self.names[0], self.names[2]]))

    def test_hosts_option_dials_a_host_not_in_the_plan_as_written(self):
        target = self.hosts[1]
        written = "deployd@%s:%d" % (target["address"], target["port"])
        status, out, err = self.run_plan({"t": {"steps": [{"run": "echo reached"}]}}, "-H", written)
        self.assertEqual(status, 0, err)
        events = events_of(out)
        self.assertEqual([e["host"] for e in events if e["event"] == "host_end"], [target["address"]])
        self.assertEqual(stdout_lines(events, target["address"]), ["reached"])

    def test_dry_run_prints_each_hosts_commands_and_connects_nowhere(self):
        path = write_json(self.dir, "plan.json", {"version": 1, "tasks": {"t": {"steps": [
            {"cd": "/srv", "steps": [{"run": "echo {{host}}"}]}]}}})
        unreachable = write_json(self.dir, "inv-dry.json", {"hosts": [
            {"name": "nowhere", "address": "127.0.11.252", "port": 2}]})
        status, out, err = run_deployd([path, "-i", unreachable, "--dry-run"])
        self.assertEqual(status, 0, err)
        controller_user = pwd.getpwuid(os.getuid()).pw_name  # the default `user`
        self.assertEqual(out, "nowhere (%s@127.0.11.252:2)\n  t step 1: echo nowhere  (in /srv)\n"
                         % controller_user)

    def test_dry_run_refuses_what_the_run_refuses(self):
        # Issue 14, bug 5: one validation path; the error has the plan's line:column.
        path = os.path.join(self.dir, "owner-get.json")
        with open(path, "w") as f:
            f.write('{"version": 1, "hosts": ["a"], "tasks": {"t": {"steps": [\n'
                    '  {"get": "/etc/hostname", "to": "x", "owner": "root"}]}}}\n')
        expected = ('deployd: error: %s:2:39: /tasks/t/steps/0: "owner" is only used with "put" and "template"\n' % path)
        for args in (["--dry-run"], [], ["--graph"]):
            status, out, err = run_deployd([path] + args)
            self.assertEqual((status, out, err), (2, "", expected), args)

    def test_list_shows_tasks_with_descriptions_targets_and_needs(self):
        path = write_json(self.dir, "plan.json", {"version": 1, "hosts": ["a"], "groups": {"g": ["a"]}, "tasks": {
            "build": {"on": "local", "description": "make the tarball", "steps": [{"local": "true"}]},
            "ship": {"needs": ["build"], "on": "g", "default": True, "steps": [{"run": "s"}]}}})
        status, out, err = run_deployd([path, "--list"])
        self.assertEqual(status, 0, err)
        self.assertEqual(out, "build  make the tarball\n    on: local\n"
                              "ship (default)\n    on: g (1 host); needs: build\n")

    def test_graph_prints_the_task_dag_in_dot(self):
        path = write_json(self.dir, "plan.json", {"version": 1, "hosts": ["a"], "tasks": {
            "build": {"steps": [{"run": "b"}]}, "ship": {"needs": ["build"], "steps": [{"run": "s"}]}}})
        status, out, err = run_deployd([path, "--graph"])
        self.assertEqual(status, 0, err)
        self.assertIn('"build" -> "ship";', out)
        self.assertTrue(out.startswith("digraph deployd {"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
