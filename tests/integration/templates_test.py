# SPDX-License-Identifier: MIT
"""Issue 18 end to end: template steps on the real fleet (rendered per host, unchanged on a second
run, sudo and owner, notify only when changed), --dry-run --show-files, and --diff."""
import os
import pwd
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, events_of, run_deployd, write_json  # noqa: E402

LOGIN = "deployd"  # the fleet's login user: `sudo -n` may run anything (scripts/fleet)
HOSTS = 3
TEMPLATE = """# {{ host }}: written by deployd
listen {{ port }};
upstream {{ app }} {
  {% for s in backends %}
  server {{ s }}{% if not loop.last %} backup{% endif %};
  {% endfor %}
}
{% if host == 'node001' %}
role primary;
{% else %}
role replica;
{% endif %}
"""


class Templates(FleetTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        os.chmod(cls.dir, 0o755)  # the fleet's users must reach the folders inside
        with open(os.path.join(cls.dir, "app.conf.j2"), "w") as f:
            f.write(TEMPLATE)

    def setUp(self):
        # root's, 0755: the login user cannot write in it, root (sudo) can.
        self.folder = os.path.join(self.dir, self.id().rsplit(".", 1)[1])
        os.makedirs(self.folder)
        self.hosts = [dict(h, vars={"port": 8001 + i}) for i, h in enumerate(self.inventory["hosts"][:HOSTS])]
        self.names = [h["name"] for h in self.hosts]

    def run_plan(self, tasks, *args, vars=None):
        inventory = dict(self.inventory, hosts=self.hosts, groups={})
        plan = {"version": 1, "vars": dict({"app": "shop", "backends": ["127.0.80.1", "127.0.80.2"]}, **(vars or {})),
                "tasks": tasks}
        path = write_json(self.dir, "plan.json", plan)
        output = [] if "--dry-run" in args or "--diff" in args else ["--output", "json"]
        return run_deployd([path, "-i", write_json(self.dir, "inventory.json", inventory)] + output + list(args),
                           timeout=300)

    def target(self, host):
        return os.path.join(self.folder, host + ".conf")

    def expected(self, index, backends=("127.0.80.1", "127.0.80.2")):
        servers = "".join("  server %s%s;\n" % (b, " backup" if i + 1 < len(backends) else "")
                          for i, b in enumerate(backends))
        return ("# %s: written by deployd\nlisten %d;\nupstream shop {\n%s}\nrole %s;\n"
                % (self.names[index], 8001 + index, servers, "primary" if index == 0 else "replica"))

    def tasks(self, **step):
        return {"t": {"steps": [dict({"template": "app.conf.j2", "to": self.folder + "/{{host}}.conf",
                                      "mode": "0640", "owner": "nobody", "sudo": True, "notify": "h"}, **step)]},
                "h": {"handler": True, "steps": [{"run": "echo notified {{host}}"}]}}

    def ends(self, events, task):
        return {e["host"]: e for e in events if e["event"] == "step_end" and e["task"] == task}

    def test_renders_per_host_installs_with_sudo_then_is_unchanged_and_notifies_only_when_changed(self):
        status, out, err = self.run_plan(self.tasks())
        self.assertEqual(status, 0, err)
        events = events_of(out)
        for index, host in enumerate(self.names):
            end = self.ends(events, "t")[host]
            self.assertEqual((end["status"], end["changed"], end["transfer"]["unchanged"]), ("ok", True, False), end)
            with open(self.target(host)) as f:
                self.assertEqual(f.read(), self.expected(index))
            st = os.stat(self.target(host))
            self.assertEqual((pwd.getpwuid(st.st_uid).pw_name, stat.S_IMODE(st.st_mode)), ("nobody", 0o640))
        self.assertEqual(sorted(self.ends(events, "h")), self.names)  # notified everywhere
        # Again: the rendered bytes are there already; nothing changes, nothing is notified.
        status, out, err = self.run_plan(self.tasks())
        self.assertEqual(status, 0, err)
        events = events_of(out)
        self.assertEqual({h: (e.get("changed", False), e["transfer"]["unchanged"]) for h, e in self.ends(events, "t").items()},
                         {h: (False, True) for h in self.names})
        self.assertEqual([e for e in events if e["event"] == "step_start" and e["task"] == "h"], [])
        # One host's variable changes: only its file is written, only it is notified.
        self.hosts[1]["vars"]["port"] = 9000
        status, out, err = self.run_plan(self.tasks())
        self.assertEqual(status, 0, err)
        events = events_of(out)
        self.assertEqual({h: e.get("changed", False) for h, e in self.ends(events, "t").items()},
                         {self.names[0]: False, self.names[1]: True, self.names[2]: False})
        self.assertEqual([e["host"] for e in events if e["event"] == "step_start" and e["task"] == "h"],
                         [self.names[1]])
        with open(self.target(self.names[1])) as f:
            self.assertIn("listen 9000;\n", f.read())

    def test_a_registered_value_renders_at_run_time_and_is_unknown_to_the_dry_run(self):
        tasks = {"t": {"steps": [{"run": "echo 1.2.{{host.port}}", "register": "version"},
                                 {"template": "v.j2", "to": self.folder + "/{{host}}.v", "sudo": True}]}}
        with open(os.path.join(self.dir, "v.j2"), "w") as f:
            f.write("version={{ version }}\n")
        status, out, err = self.run_plan(tasks)
        self.assertEqual(status, 0, err)
        with open(self.folder + "/%s.v" % self.names[0]) as f:
            self.assertEqual(f.read(), "version=1.2.%d\n" % self.hosts[0]["port"])  # the SSH port
        status, out, err = self.run_plan(tasks, "--dry-run", "--show-files")
        self.assertEqual(status, 0, err)
        self.assertIn("    (%s/v.j2:1:12: uses \"version\", known only when the run runs)\n" % self.dir, out)

    def test_show_files_prints_each_hosts_rendered_file_without_connecting(self):
        status, out, err = self.run_plan(self.tasks(), "--dry-run", "--show-files")
        self.assertEqual(status, 0, err)
        for index, host in enumerate(self.names):
            shown = "".join("    | %s\n" % line for line in self.expected(index).splitlines())
            self.assertIn("  t step 1: template app.conf.j2 -> %s/%s.conf (mode 0640)  (sudo)  (notifies h)\n%s"
                          % (self.folder, host, shown), out)
        self.assertEqual(os.listdir(self.folder), [])  # nothing was installed

    def test_diff_shows_what_would_change_and_changes_nothing(self):
        with open(os.path.join(self.dir, "plain.txt"), "w") as f:
            f.write("same\n")
        tasks = self.tasks()
        tasks["t"]["steps"].append({"put": "plain.txt", "to": self.folder + "/{{host}}.txt"})
        os.chown(self.folder, pwd.getpwnam(LOGIN).pw_uid, -1)  # the put is not sudo
        status, out, err = self.run_plan(tasks)
        self.assertEqual(status, 0, err)
        # node001's config edited by hand, node002's deleted, node003's as installed.
        with open(self.target(self.names[0]), "w") as f:
            f.write(self.expected(0).replace("listen 8001;", "listen 7000;"))
        os.chmod(self.target(self.names[0]), 0o600)  # root-only: read through sudo
        os.unlink(self.target(self.names[1]))
        before = {name: sorted(os.listdir(self.folder)) for name in ["files"]}
        status, out, err = self.run_plan(tasks, "--diff")
        self.assertEqual(status, 0, out + err)
        lines = out.splitlines()
        self.assertEqual(lines[0], "diff only: no step runs and nothing is changed on any host")
        first, second, third = (self.target(h) for h in self.names)
        self.assertIn("  t step 1 (template \"app.conf.j2\"): %s would change\n"
                      "--- %s:%s\n+++ %s:%s (planned)\n@@ -1,5 +1,5 @@\n # %s: written by deployd\n"
                      "-listen 7000;\n+listen 8001;\n upstream shop {\n"
                      % (first, self.names[0], first, self.names[0], first, self.names[0]), out)
        self.assertIn("  t step 1 (template \"app.conf.j2\"): %s would change\n--- %s:%s (absent)\n"
                      % (second, self.names[1], second), out)
        self.assertIn("  t step 1 (template \"app.conf.j2\"): %s unchanged\n" % third, out)
        self.assertIn("  t step 2 (put \"plain.txt\"): %s/%s.txt unchanged\n" % (self.folder, self.names[0]), out)
        self.assertEqual(lines[-1], "diff only, nothing was changed: 2 of 6 files would change, on 2 of 3 hosts")
        # Nothing changed: the edit and the deletion are still there, no handler ran.
        with open(first) as f:
            self.assertIn("listen 7000;", f.read())
        self.assertFalse(os.path.exists(second))
        self.assertEqual({name: sorted(os.listdir(self.folder)) for name in ["files"]}, before)

    def test_diff_decides_when_as_the_run_would_and_says_what_it_cannot_know(self):
        tasks = {"t": {"steps": [
            {"template": "app.conf.j2", "to": self.folder + "/{{host}}.a", "when": "host != 'node002'"},
            {"template": "app.conf.j2", "to": self.folder + "/{{host}}.b", "when": "failure()"},
            {"run": "echo yes", "register": "r"},
            {"template": "app.conf.j2", "to": self.folder + "/{{host}}.c", "when": "r.stdout == 'yes'"}]},
            "off": {"when": "app == 'other'", "steps": [{"template": "app.conf.j2", "to": self.folder + "/x"}]}}
        status, out, err = self.run_plan(tasks, "--diff")
        self.assertEqual(status, 0, out + err)
        first = self.names[0]
        self.assertIn('%s (deployd@%s:%d)\n  t step 1 (template "app.conf.j2"): %s/%s.a would change\n'
                      % (first, self.hosts[0]["address"], self.hosts[0]["port"], self.folder, first), out)
        self.assertIn('  t step 1 (template "app.conf.j2"): skipped: when "host != \'node002\'" is false\n'
                      '  t step 2 (template "app.conf.j2"): skipped: when "failure()" is false\n'
                      '  t step 4 (template "app.conf.j2"): not compared: when uses "r.stdout", known only '
                      'when the run runs\n'
                      '  off step 1 (template "app.conf.j2"): skipped: when "app == \'other\'" is false\n'
                      '%s (' % self.names[2], out)
        self.assertTrue(out.endswith(": 2 of 2 files would change, on 2 of 3 hosts\n"), out)
        self.assertEqual(os.listdir(self.folder), [])

    def test_diff_of_an_unreachable_host_exits_1(self):
        self.hosts[2] = dict(self.hosts[2], port=1)  # nothing listens there
        status, out, err = self.run_plan(self.tasks(), "--diff")
        self.assertEqual(status, 1, out + err)
        self.assertIn("%s (deployd@%s:1)\n  unreachable: connect %s:1: connection refused"
                      % (self.names[2], self.hosts[2]["address"], self.hosts[2]["address"]), out)
        self.assertTrue(out.endswith("; 1 host not compared whole\n"), out)

    def test_template_errors_stop_the_plan_before_anything_connects(self):
        with open(os.path.join(self.dir, "bad.j2"), "w") as f:
            f.write("ok\n{% for s in backends %}\n{{ prot }}\n{% endfor %}\n{% if x %}\n")
        status, out, err = self.run_plan({"t": {"steps": [{"template": "bad.j2", "to": self.folder + "/x"}]}})
        self.assertEqual(status, 2)
        self.assertRegex(err, r"deployd: error: %s/bad\.j2:5:1: \{%% if %%\} is never closed \(no \{%% endif %%\}\) "
                              r"\(in the template of %s/plan\.json:\d+:\d+: /tasks/t/steps/0/template\)\n"
                         % (self.dir, self.dir))
        with open(os.path.join(self.dir, "bad.j2"), "w") as f:
            f.write("ok\n{% for s in backends %}\n{{ prot }}\n{% endfor %}\n")
        status, out, err = self.run_plan({"t": {"steps": [{"template": "bad.j2", "to": self.folder + "/x"}]}})
        self.assertEqual(status, 2)
        self.assertIn("bad.j2:3:4: undefined variable \"prot\" for host \"node001\" and 2 more hosts "
                      "(did you mean \"port\"?)", err)
        self.assertEqual(os.listdir(self.folder), [])

    def test_show_files_needs_dry_run_and_diff_is_a_dry_run_of_its_own(self):
        plan = write_json(self.dir, "plan.json", {"version": 1, "hosts": ["a"], "tasks": {"t": {"steps": [
            {"run": "true"}]}}})
        for args, message in [(["--show-files"], "--show-files goes with --dry-run (--diff compares the files "
                                                 "with the hosts')"),
                              (["--diff", "--dry-run"], "--diff is a dry run that connects: leave out --dry-run, "
                                                        "--list, --graph and --list-hosts")]:
            status, out, err = run_deployd([plan] + args)
            self.assertEqual((status, out, err), (2, "", "deployd: error: %s (see deployd --help)\n" % message))


if __name__ == "__main__":
    unittest.main()
