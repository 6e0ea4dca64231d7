# SPDX-License-Identifier: MIT
"""Operator experience on the real fleet (issue 19): ad-hoc commands (`deployd -H HOSTS --
COMMAND`) with their run log and --retry-failed, the config file of defaults, --only,
--exclude / --limit '!GLOB', --list-hosts, --list without hosts, and --retry-failed RUN_ID with
no PLAN."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import SEE_HELP, FleetTestCase, events_of, run_deployd, write_json  # noqa: E402

HOSTS = 6


class Operator(FleetTestCase):
    def setUp(self):
        self.work = os.path.join(self.dir, self.id().rsplit(".", 1)[-1])
        os.makedirs(self.work)
        inventory = dict(self.inventory)
        inventory["hosts"] = self.inventory["hosts"][:HOSTS]
        inventory["groups"] = {"odd": ["node001", "node003", "node005"]}
        self.inventory_path = write_json(self.work, "inventory.json", inventory)
        # No config file but the test's own: not the user's, not one in a parent folder.
        self.env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(self.work, "xdg"), HOME=self.work)
        self.env.pop("DEPLOYD_CONFIG", None)
        self.env.pop("DEPLOYD_INVENTORY", None)

    def deployd(self, *args, env=None):
        return run_deployd(list(args), cwd=self.work, env=env or self.env)

    def run_json(self, *args):
        status, out, err = self.deployd("--output", "json", *args)  # before any --
        return status, events_of(out), err

    @staticmethod
    def ended(events):
        return {e["host"]: e["status"] for e in events if e["event"] == "host_end"}

    # --- ad-hoc commands -------------------------------------------------------------------

    def test_ad_hoc_runs_one_command_on_the_h_hosts_as_fabric_does(self):
        status, out, err = self.deployd("-i", self.inventory_path, "-H", "node00[1:3]", "--color", "never",
                                        "--", "echo", "hello from", "{{host}}")
        self.assertEqual(status, 0, err)
        # The hosts' output on stdout, the summary on stderr.
        self.assertEqual(sorted(out.splitlines()),
                         ["node001 | hello from node001", "node002 | hello from node002",
                          "node003 | hello from node003"])
        self.assertTrue(err.startswith("deployd: 3 hosts: 3 ok in "), err)
        # No plan: the run log goes to .deployd/runs in the current folder.
        runs = os.listdir(os.path.join(self.work, ".deployd", "runs"))
        self.assertEqual(len(runs), 1)
        with open(os.path.join(self.work, ".deployd", "runs", runs[0], "summary.json")) as f:
            summary = json.load(f)
        self.assertEqual(summary["rerun"]["ad_hoc"],
                         {"command": "echo hello from {{host}}", "sudo": False, "timeout": None})
        self.assertIsNone(summary["rerun"]["plan_path"])

    def test_ad_hoc_on_the_inventory_with_limit_exclude_and_group_output(self):
        status, out, err = self.deployd("-i", self.inventory_path, "--limit", "node00*,!node002",
                                        "--exclude", "odd", "--output", "group", "--color", "never",
                                        "--", "echo same")
        self.assertEqual(status, 0, err)
        self.assertTrue(out.startswith("== ad-hoc step 1: echo same\n"
                                       "node[004,006] (2 hosts): changed\n"
                                       "  | same\n"), out)

    def test_ad_hoc_sudo_and_timeout(self):
        status, events, err = self.run_json("-i", self.inventory_path, "-H", "node001", "--sudo", "--", "id -u")
        self.assertEqual(status, 0, err)
        self.assertEqual([e["line"] for e in events if e["event"] == "output"], ["0"])
        status, out, err = self.deployd("-i", self.inventory_path, "-H", "node001", "--timeout", "1s",
                                        "--color", "never", "--", "sleep 30")
        self.assertEqual(status, 1, err)
        # The elapsed time is measured, so it reads like a stopwatch: 1.0s, 1.1s.
        self.assertEqual(out, "")
        self.assertRegex(err.splitlines()[0], r'^node001 FAILED: ad-hoc step 1 \(run "sleep 30"\): timed out '
                                              r'after 1\.\ds; its processes were stopped$')

    def test_ad_hoc_failed_hosts_are_retried_by_run_id_alone(self):
        command = "case {{host}} in node003|node005) exit 1;; esac; echo ok"
        status, out, err = self.deployd("-i", self.inventory_path, "--", command)
        self.assertEqual(status, 1, err)
        run_id = os.listdir(os.path.join(self.work, ".deployd", "runs"))[0]
        # The hint names the run: an ad-hoc run has no plan to name.
        self.assertIn("deployd: rerun the failed hosts: deployd --retry-failed %s -i %s\n"
                      % (run_id, self.inventory_path), err)
        status, events, err = self.run_json("--retry-failed", run_id)
        self.assertEqual(status, 1, err)
        self.assertEqual(self.ended(events), {"node003": "failed", "node005": "failed"})
        lines = err.splitlines()
        self.assertEqual(lines[0], "deployd: run %s ran: %s" % (run_id, command))
        # The hosts in the order they ended in the run retried.
        self.assertIn(lines[1], ["deployd: retrying run %s on 2 hosts: %s" % (run_id, hosts)
                                 for hosts in ("node003, node005", "node005, node003")])
        self.assertEqual(events[0]["tasks"], ["ad-hoc"])

    def test_a_killed_ad_hoc_run_cannot_be_retried_and_says_why(self):
        proc = subprocess.Popen([os.environ["DEPLOYD"], "-i", self.inventory_path, "-H", "node001", "--output",
                                 "json", "--", "echo started; sleep 3"], cwd=self.work, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.assertEqual(json.loads(proc.stdout.readline())["event"], "run_start")
        run_id = os.listdir(os.path.join(self.work, ".deployd", "runs"))[0]
        proc.kill()  # SIGKILL: no summary.json
        proc.wait()
        proc.stdout.close()
        status, out, err = self.deployd("--retry-failed", run_id)
        self.assertEqual(status, 2, err)
        self.assertEqual(err.splitlines()[-1],
                         "deployd: error: --retry-failed: run %s ran an ad-hoc command and never finished: its "
                         "events do not record the command; give it again with --limit on the hosts to rerun"
                         % run_id)

    def test_ad_hoc_usage_errors(self):
        plan = write_json(self.work, "plan.json", {"tasks": {"t": {"steps": [{"run": "true"}]}}})
        cases = [
            (["--", "uptime"],
             "deployd: error: an ad-hoc command needs hosts: -H HOSTS, or -i INVENTORY (or DEPLOYD_INVENTORY)\n"),
            (["-H", "node001", "--"],
             "deployd: error: -- is followed by no command (deployd -H HOSTS -- COMMAND)" + SEE_HELP),
            ([plan, "-H", "node001", "--", "uptime"],
             'deployd: error: a plan and an ad-hoc command (-- COMMAND) do not go together: "%s" is before '
             'the --' % plan + SEE_HELP),
            ([plan, "--sudo"],
             "deployd: error: --sudo applies to an ad-hoc command (deployd -H HOSTS -- COMMAND); a plan's "
             "steps set \"sudo\" and \"timeout\" themselves" + SEE_HELP),
            (["-H", "node001", "--timeout", "soon", "--", "uptime"],
             'deployd: error: --timeout: "soon" is not a duration (like 30s, 250ms, 5m or 1h)' + SEE_HELP),
            (["-H", "node001", "--only", "t", "--", "uptime"],
             "deployd: error: --only selects a plan's tasks: an ad-hoc command has one" + SEE_HELP),
            ([], "deployd: error: a PLAN is required (or -- COMMAND to run one command on the hosts, or "
                 "--retry-failed RUN_ID)" + SEE_HELP),
            (["-H", "node001", "--", "echo {{hots}}"],
             'deployd: error: the command after --: undefined variable "hots" for host "node001" '
             '(did you mean "host"?)\n'),
        ]
        for args, expected in cases:
            status, out, err = self.deployd(*args)
            self.assertEqual((status, out, err), (2, "", expected), args)

    # --- selection ---------------------------------------------------------------------------

    def write_chain(self):
        return write_json(self.work, "plan.json", {"description": "the app, in three steps", "tasks": {
            "upload": {"description": "copy the app", "steps": [{"run": "echo upload"}]},
            "restart": {"needs": ["upload"], "on": "odd", "steps": [{"run": "echo restart"}]},
            "check": {"needs": ["restart"], "steps": [{"run": "[ {{host}} != node002 ]"}]}}})

    def test_only_runs_the_named_task_without_its_needs_and_says_so(self):
        plan = self.write_chain()
        status, events, err = self.run_json(plan, "-i", self.inventory_path, "--only", "check")
        self.assertEqual(status, 1, err)
        self.assertEqual(err, "deployd: --only: running check without restart\n")
        self.assertEqual(events[0]["tasks"], ["check"])
        self.assertEqual({e["task"] for e in events if e["event"] == "step_start"}, {"check"})
        self.assertEqual(self.ended(events)["node002"], "failed")
        # Its retry runs it as it ran: check alone, on node002.
        status, retried, err = self.run_json("--retry-failed", events[0]["run_id"])
        self.assertEqual(status, 1, err)
        self.assertEqual(retried[0]["tasks"], ["check"])
        self.assertEqual(self.ended(retried), {"node002": "failed"})
        status, out, err = self.deployd(plan, "-i", self.inventory_path, "--only", "check", "upload")
        self.assertEqual((status, err), (2, "deployd: error: --only names the tasks to run: leave out the "
                                            "TASK arguments, or --only" + SEE_HELP))
        status, out, err = self.deployd(plan, "-i", self.inventory_path, "--only", "chekc")
        self.assertEqual((status, err), (2, 'deployd: error: unknown task "chekc" (did you mean "check"?)\n'))

    def test_exclude_and_limit_bang_leave_hosts_out_and_list_hosts_folds_them(self):
        plan = self.write_chain()
        for extra in (["--exclude", "node00[2-4]"], ["--limit", "!node00[2-4]"]):
            status, out, err = self.deployd(plan, "-i", self.inventory_path, "--list-hosts", *extra)
            self.assertEqual((status, out, err), (0, "node[001,005-006] (3 hosts)\n", ""), extra)
        # restart needs upload, which runs on every host; without its needs, odd only.
        status, out, err = self.deployd(plan, "restart", "-i", self.inventory_path, "--list-hosts")
        self.assertEqual((status, out, err), (0, "node[001-006] (6 hosts)\n", ""))
        status, out, err = self.deployd(plan, "--only", "restart", "-i", self.inventory_path, "--list-hosts")
        self.assertEqual((status, out, err), (0, "node[001,003,005] (3 hosts)\n",
                                              "deployd: --only: running restart without upload\n"))
        status, out, err = self.deployd("-i", self.inventory_path, "--exclude", "nod001", "--list-hosts",
                                        "--", "uptime")
        self.assertEqual((status, out, err), (2, "", 'deployd: error: --exclude "nod001" matches no host or '
                                                     'group (did you mean "node001"?)\n'))

    def test_list_works_without_hosts_and_counts_them_when_known(self):
        plan = self.write_chain()
        status, out, err = self.deployd(plan, "--list")
        self.assertEqual((status, out, err), (0, "the app, in three steps\n\n"
                                                 "upload  copy the app\n    on: all\n"
                                                 "restart\n    on: odd; needs: upload\n"
                                                 "check\n    on: all; needs: restart\n", ""))
        status, out, err = self.deployd(plan, "--list", "-i", self.inventory_path, "--exclude", "node006")
        self.assertEqual((status, out, err), (0, "the app, in three steps\n\n"
                                                 "upload  copy the app\n    on: all (5 hosts)\n"
                                                 "restart\n    on: odd (3 hosts); needs: upload\n"
                                                 "check\n    on: all (5 hosts); needs: restart\n", ""))
        status, out, err = self.deployd(plan, "--task-names")
        self.assertEqual((status, out), (0, "upload\nrestart\ncheck\n"), err)

    def complete(self, *words):
        """What docs/deployd.bash offers for the last of `words` (the word being completed)."""
        completion = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "deployd.bash")
        script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _deployd; '
                  'printf "%s\\n" "${COMPREPLY[@]}"')
        done = subprocess.run(["bash", "-c", script, "bash", completion, os.environ["DEPLOYD"]] + list(words),
                              capture_output=True, text=True, cwd=self.work, env=self.env, timeout=60)
        return sorted(line for line in done.stdout.splitlines() if line)

    def test_completion_offers_task_names_after_only_without_hosts_and_commands_after_dashes(self):
        plan = self.write_chain()
        self.assertEqual(self.complete(plan, "--only", ""), ["check", "restart", "upload"])
        self.assertEqual(self.complete(plan, "--only", "re"), ["restart"])
        self.assertIn("uptime", self.complete("-H", "node001", "--", "upti"))
        self.assertEqual(self.complete("conf"), ["config"])

    # --- --retry-failed RUN_ID without a plan ------------------------------------------------

    def test_retry_by_run_id_needs_no_plan_and_a_mistyped_id_gets_a_suggestion(self):
        plan = write_json(self.work, "plan.json", {"tasks": {"t": {"steps": [
            {"run": "[ {{host}} != node002 ]"}]}}})
        status, events, err = self.run_json(plan, "-i", self.inventory_path)
        self.assertEqual(status, 1, err)
        run_id = events[0]["run_id"]
        status, events, err = self.run_json("--retry-failed", run_id)
        self.assertEqual(status, 1, err)
        self.assertEqual(self.ended(events), {"node002": "failed"})
        self.assertEqual(events[0]["plan"], os.path.realpath(plan))
        typo = run_id[:-1] + ("0" if run_id[-1] != "0" else "1")
        status, out, err = self.deployd("--retry-failed", typo)
        self.assertEqual((status, out, err), (2, "", 'deployd: error: --retry-failed: run %s not found in '
                                                     '"./.deployd/runs" (did you mean "%s"?)\n' % (typo, run_id)))

    # --- the config file -----------------------------------------------------------------------

    def test_config_file_gives_the_inventory_and_defaults_and_deployd_config_says_so(self):
        os.makedirs(os.path.join(self.work, ".deployd"))
        config = os.path.join(self.work, ".deployd", "config.json")
        os.symlink(self.inventory_path, os.path.join(self.work, ".deployd", "hosts.json"))
        with open(config, "w") as f:
            json.dump({"inventory": "hosts.json", "output": "json", "forks": 2, "log_dir": "../logs"}, f)
        status, out, err = self.deployd("--", "echo hi")
        self.assertEqual(status, 0, err)
        self.assertEqual(len(self.ended(events_of(out))), HOSTS)  # JSON, from the config file
        # The run log went to the config file's log_dir, where `deployd runs` looks too.
        self.assertEqual(os.listdir(os.path.join(self.work, "logs")), [events_of(out)[0]["run_id"]])
        status, runs, err = self.deployd("runs")
        self.assertEqual((status, len(runs.splitlines())), (0, 1), err)
        self.assertTrue(runs.startswith(events_of(out)[0]["run_id"] + "  "), runs)
        status, out, err = self.deployd("config")
        self.assertEqual((status, err), (0, ""))
        inventory = os.path.join(".deployd", "hosts.json")
        self.assertEqual(out, "config file: .deployd/config.json (found by the current folder)\n"
                              "inventory: %s (config file .deployd/config.json)\n"
                              "forks: 2 (config file .deployd/config.json)\n"
                              "output: json (config file .deployd/config.json)\n"
                              "color: auto (default)\n"
                              "log_dir: .deployd/../logs (config file .deployd/config.json)\n"
                              "ssh_config: the plan's ssh_config, else ~/.ssh/config (default)\n" % inventory)
        # The command line wins.
        status, out, err = self.deployd("--output", "stream", "--color", "never", "-H", "node001", "-v",
                                        "--", "echo hi")
        self.assertEqual((status, out.splitlines()[0]), (0, "node001 | hi"), err)
        self.assertIn("deployd: config file .deployd/config.json\n"
                      "deployd: inventory %s (from .deployd/config.json)\n" % inventory, err)

    def test_bad_config_is_an_error_with_file_line_and_column(self):
        path = os.path.join(self.work, "deployd-config.json")
        with open(path, "w") as f:
            f.write('{\n  "forks": 4,\n  "outptu": "group"\n}\n')
        env = dict(self.env, DEPLOYD_CONFIG=path)
        expected = ('deployd: error: %s:3:3: unknown key "outptu" (did you mean "output"?)\n' % path)
        for args in (["config"], ["-H", "node001", "--", "true"]):
            status, out, err = self.deployd(*args, env=env)
            self.assertEqual((status, out, err), (2, "", expected), args)
        env["DEPLOYD_CONFIG"] = os.path.join(self.work, "missing.json")
        status, out, err = self.deployd("config", env=env)
        self.assertEqual((status, err), (2, "deployd: error: DEPLOYD_CONFIG=%s: no such file (unset it, or "
                                            "set it empty)\n" % env["DEPLOYD_CONFIG"]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
