# SPDX-License-Identifier: MIT
"""Control flow on the real fleet (issue 17): changed, notify and handlers, for_each, creates
and removes, checked on JSON events and on whole lines of group output."""
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, events_of, run_deployd, write_json  # noqa: E402


def step_ends(events, host=None):
    return [e for e in events if e["event"] == "step_end" and (host is None or e["host"] == host)]


def stdout_lines(events, host):
    return [e["line"] for e in events if e["event"] == "output" and e["host"] == host and e["stream"] == "stdout"]


class ControlFlow(FleetTestCase):
    def setUp(self):
        self.hosts = self.inventory["hosts"][:2]
        self.names = [h["name"] for h in self.hosts]
        self.inventory_path = write_json(self.dir, "inventory.json", dict(self.inventory, hosts=self.hosts, groups={}))
        # A folder of its own for each test and host (the fleet's hosts share one filesystem).
        self.remote = "/tmp/deployd-flow-" + self.id().rsplit(".", 1)[1] + "-{{host}}"

    def run_plan(self, tasks, *args, output="json", **plan):
        plan.update({"version": 1, "tasks": tasks})
        path = write_json(self.dir, "plan.json", plan)
        return run_deployd([path, "-i", self.inventory_path, "--output", output,
                            "--log-dir", os.path.join(self.dir, "logs")] + list(args))

    def test_the_rolling_lb_example_puts_a_failed_host_back_on_its_previous_release(self):
        example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "rolling-lb")
        # Each host deploys into a folder of its own (the fleet's hosts share one filesystem);
        # the balancer's pool is one folder.
        roots = {name: "/tmp/deployd-rolling-test-" + name for name in self.names}
        pool = "/tmp/deployd-rolling-test-pool"
        for folder in list(roots.values()) + [pool]:
            shutil.rmtree(folder, ignore_errors=True)
            self.addCleanup(shutil.rmtree, folder, True)
        hosts = [dict(h, vars=dict(h.get("vars", {}), root=roots[h["name"]], lb_pool=pool)) for h in self.hosts]
        inventory = write_json(self.dir, "rolling-inventory.json", dict(self.inventory, hosts=hosts, groups={}))

        def deploy(version):
            status, out, err = run_deployd([os.path.join(example, "plan.json"), "-i", inventory, "--output", "json",
                                            "--log-dir", os.path.join(self.dir, "logs"), "--var", "version=" + version])
            return status, events_of(out), err

        status, events, err = deploy("1.0")
        self.assertEqual(status, 0, err)
        for name, root in roots.items():
            self.assertEqual(os.readlink(os.path.join(root, "current")), "releases/1.0")
        self.assertEqual(sorted(os.listdir(pool)), sorted(self.names))
        self.assertEqual({e["host"] for e in step_ends(events) if e["task"] == "reload" and e["status"] == "ok"},
                         set(self.names), "new configs reload every host")

        # 2.0 is broken on the canary (an empty VERSION: its health check fails).
        canary, other = self.names
        os.makedirs(os.path.join(roots[canary], "releases", "2.0"))
        open(os.path.join(roots[canary], "releases", "2.0", "VERSION"), "w").close()
        status, events, err = deploy("2.0")
        self.assertEqual(status, 3, err)
        ends = [(e["task"], e["step"], e["status"]) for e in step_ends(events, canary)]
        # Steps count from 0 in events: the health check (8) fails, the failure() step (9)
        # switches back, the always() step (10) puts the host back; reload is not notified.
        self.assertEqual(ends[8:], [("deploy", 8, "failed"), ("deploy", 9, "ok"), ("deploy", 10, "ok"),
                                    ("reload", 0, "skipped")])
        self.assertRegex(step_ends(events, canary)[8]["error"],
                         r'^deploy step 9 \("health check"\): exited with status 1 after \S+$')
        self.assertEqual(os.readlink(os.path.join(roots[canary], "current")), "releases/1.0", "switched back")
        self.assertEqual(sorted(os.listdir(pool)), sorted(self.names), "the canary is back in the pool")
        self.assertEqual(os.readlink(os.path.join(roots[other], "current")), "releases/1.0", "the rollout stopped")
        self.assertFalse([e for e in events if e["event"] == "step_start" and e["host"] == other])

    def test_loop_items_are_values_seen_by_when_and_a_creates_skip_registers_skipped(self):
        # The merge of issue 17's halves: `{{site.port}}` is a path into the item (a template,
        # resolved as plan values are), `when` reads the item, and a step that `creates` skips
        # is not judged by changed_when: its register fields say skipped.
        tasks = {"t": {"steps": [
            {"run": "echo {{site.name}}:{{site.port}}", "for_each": "sites", "loop_var": "site",
             "when": "site.name != 'blog'"},
            {"run": "echo never", "creates": "/", "register": "out", "changed_when": "true"},
            {"run": "echo rc={{out.rc}} skipped={{out.skipped}} changed={{out.changed}}"}]}}
        status, out, err = self.run_plan(tasks, vars={"port": 80, "sites": [
            {"name": "shop", "port": "{{port}}"}, {"name": "blog", "port": 81}]})
        self.assertEqual(status, 0, err)
        events = events_of(out)
        ends = step_ends(events, self.names[0])
        self.assertEqual([(e["step"], e["status"], e.get("changed", False)) for e in ends],
                         [(0, "ok", True), (1, "skipped", False), (2, "skipped", False), (3, "ok", True)])
        self.assertEqual(ends[1]["error"], 't step 2 [site=blog] (run "echo {{site.name}}:{{site.port}}"): '
                                           "skipped: when \"site.name != 'blog'\" is false")
        self.assertEqual(stdout_lines(events, self.names[0]), ["shop:80", "rc= skipped=true changed=false"])

    def test_a_put_is_changed_when_it_writes_and_notifies_its_handler_only_then(self):
        with open(os.path.join(self.dir, "site.conf"), "w") as f:
            f.write("listen 80;\n")
        tasks = {
            "config": {"steps": [
                {"run": "mkdir -p " + self.remote},
                {"put": "site.conf", "to": self.remote + "/site.conf", "notify": "reload"}]},
            "reload": {"handler": True, "steps": [{"run": "echo reloaded"}]}}
        status, out, err = self.run_plan({"clean": {"steps": [{"run": "rm -rf " + self.remote}]}})
        self.assertEqual(status, 0, err)
        status, out, err = self.run_plan(tasks)
        self.assertEqual(status, 0, err)
        events = events_of(out)
        first = step_ends(events, self.names[0])
        self.assertEqual([(e["task"], e["step"], e["status"], e.get("changed", False)) for e in first],
                         [("config", 0, "ok", True), ("config", 1, "ok", True), ("reload", 0, "ok", True)])
        self.assertEqual(stdout_lines(events, self.names[0]), ["reloaded"])

        # The same bytes again: the put writes nothing, so nothing notifies the handler.
        status, out, err = self.run_plan(tasks)
        self.assertEqual(status, 0, err)
        events = events_of(out)
        ends = step_ends(events, self.names[1])
        self.assertEqual([(e["task"], e["status"], e.get("changed", False)) for e in ends],
                         [("config", "ok", True), ("config", "ok", False), ("reload", "skipped", False)])
        self.assertEqual(ends[2]["error"], 'reload step 1 (run "echo reloaded"): skipped: not notified')
        host_ends = [e for e in events if e["event"] == "host_end"]
        self.assertEqual(sorted(e["status"] for e in host_ends), ["ok", "ok"])

    def test_a_handler_runs_once_after_every_task_that_can_notify_it(self):
        status, out, err = self.run_plan({
            "a": {"steps": [{"run": "echo a", "notify": "restart"}, {"run": "echo a2", "notify": ["restart"]}]},
            "b": {"steps": [{"run": "echo b", "notify": "restart"}]},
            "restart": {"handler": True, "steps": [{"run": "echo restarted"}]},
            "c": {"steps": [{"run": "echo c"}]}})
        self.assertEqual(status, 0, err)
        lines = stdout_lines(events_of(out), self.names[0])
        self.assertEqual(lines.count("restarted"), 1)
        self.assertLess(lines.index("b"), lines.index("restarted"))

    def test_group_output_and_the_summary_say_changed(self):
        status, out, err = self.run_plan({"t": {"steps": [{"run": "true"}]}}, output="group")
        self.assertEqual(status, 0, err)
        lines = out.splitlines()
        self.assertIn("%s (2 hosts): changed" % compact(self.names), lines)
        header = [line.split() for line in err.splitlines() + lines if line.strip().startswith("task ")]
        self.assertEqual(header[0][:5], ["task", "ok", "changed", "failed", "skipped"])

    def test_for_each_runs_the_step_once_per_item_and_names_it(self):
        status, out, err = self.run_plan({"t": {"steps": [
            {"run": "echo {{site.name}}:{{site.port}}", "for_each": "sites", "loop_var": "site"},
            {"cd": "/", "for_each": ["x", "y"], "steps": [{"run": "echo {{item}} in $(pwd)"}]},
            {"run": "echo never", "for_each": []}]}},
            vars={"sites": [{"name": "shop", "port": 81}, {"name": "blog", "port": 82}]})
        self.assertEqual(status, 0, err)
        events = events_of(out)
        self.assertEqual(stdout_lines(events, self.names[0]), ["shop:81", "blog:82", "x in /", "y in /"])
        starts = [e["name"] for e in events if e["event"] == "step_start" and e["host"] == self.names[0]]
        self.assertEqual(starts, ["echo shop:81 [site=shop]", "echo blog:82 [site=blog]",
                                  "echo x in $(pwd) [item=x]", "echo y in $(pwd) [item=y]"])
        last = step_ends(events, self.names[0])[-1]
        self.assertEqual((last["step"], last["status"], last["error"]),
                         (4, "skipped", 't step 5 (run "echo never"): skipped: empty for_each'))

    def test_for_each_over_host_vars_runs_each_host_its_own_items(self):
        # issue 17: lists in host vars (the inventory) differ per host; nested loops see both
        # names; an empty list skips; register holds the last item's result.
        first, second = self.names
        sites = {first: [{"name": "shop", "pages": ["home", "cart"]}, {"name": "blog", "pages": ["home"]}],
                 second: []}
        ports = {first: [80], second: [80, 81]}
        hosts = [dict(h, vars=dict(h.get("vars", {}), sites=sites[h["name"]], ports=ports[h["name"]]))
                 for h in self.hosts]
        self.inventory_path = write_json(self.dir, "inventory.json", dict(self.inventory, hosts=hosts, groups={}))
        status, out, err = self.run_plan({"t": {"steps": [
            {"cd": "/", "for_each": "sites", "loop_var": "site", "steps": [
                {"run": "echo {{site.name}}/{{page}}", "for_each": "site.pages", "loop_var": "page",
                 "register": "last"}]},
            {"run": "echo port {{item}}", "for_each": "ports"},
            {"run": "echo after {{ last | default('nothing') }}"}]}})
        self.assertEqual(status, 0, err)
        events = events_of(out)
        self.assertEqual(stdout_lines(events, first),
                         ["shop/home", "shop/cart", "blog/home", "port 80", "after blog/home"])
        self.assertEqual(stdout_lines(events, second), ["port 80", "port 81", "after nothing"])
        starts = [e["name"] for e in events if e["event"] == "step_start" and e["host"] == first]
        self.assertEqual(starts[:3], ["echo shop/home [site=shop, page=home]", "echo shop/cart [site=shop, page=cart]",
                                      "echo blog/home [site=blog, page=home]"])
        # The same step numbers on both hosts; a host skips the copies it has no item for.
        self.assertEqual([(e["step"], e["status"]) for e in step_ends(events, first)],
                         [(0, "ok"), (1, "ok"), (2, "ok"), (3, "ok"), (4, "skipped"), (5, "ok")])
        self.assertEqual(step_ends(events, first)[4]["error"],
                         't step 5 (run "echo port {{item}}"): skipped: for_each has 1 item on this host')
        ends = [(e["step"], e["status"], e.get("error", "")) for e in step_ends(events, second)]
        self.assertEqual(ends[:3], [(n, "skipped", 't step %d (run "echo {{site.name}}/{{page}}"): skipped: empty for_each'
                                     % (n + 1)) for n in range(3)])
        self.assertEqual([end[:2] for end in ends[3:]], [(3, "ok"), (4, "ok"), (5, "ok")])

    def test_creates_and_removes_skip_in_the_same_command(self):
        status, out, err = self.run_plan({"t": {"steps": [
            {"run": "mkdir -p %s && touch %s/there" % (self.remote, self.remote)},
            {"cd": self.remote, "steps": [
                {"run": "echo made", "creates": "there"},
                {"run": "echo gone", "removes": "missing"},
                {"run": "echo ran-creates", "creates": "missing"},
                {"run": "echo ran-removes", "removes": "there"}]}]}})
        self.assertEqual(status, 0, err)
        events = events_of(out)
        self.assertEqual(stdout_lines(events, self.names[0]), ["ran-creates", "ran-removes"])
        ends = step_ends(events, self.names[0])
        self.assertEqual([(e["status"], e.get("changed", False)) for e in ends],
                         [("ok", True), ("skipped", False), ("skipped", False), ("ok", True), ("ok", True)])
        self.assertEqual(ends[1]["error"], 't step 2 (run "echo made"): skipped: creates "there" exists')
        self.assertEqual(ends[2]["error"], 't step 3 (run "echo gone"): skipped: removes "missing" does not exist')
        self.assertEqual([e["line"] for e in events if e["event"] == "output" and e["stream"] == "stderr"], [])


def compact(names):
    """Two fleet hosts as the group output folds them (node001, node002 -> node[001-002])."""
    prefix = os.path.commonprefix(names)
    while prefix and prefix[-1].isdigit():
        prefix = prefix[:-1]
    return "%s[%s-%s]" % (prefix, names[0][len(prefix):], names[1][len(prefix):])


class ControlFlowErrors(unittest.TestCase):
    """Load-time errors: exit 2 before anything connects, with file, pointer and line:column."""

    def load(self, plan_text):
        import tempfile
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "plan.json")
            with open(path, "w") as f:
                f.write(plan_text)
            status, out, err = run_deployd([path, "--dry-run"])
            return status, err.replace(path, "plan.json")

    def test_notify_names_an_unknown_task_or_a_task_that_is_not_a_handler(self):
        status, err = self.load('{"hosts": ["h"], "tasks": {\n'
                                ' "a": {"steps": [{"run": "x", "notify": ["reloda", "b"]}]},\n'
                                ' "b": {"steps": [{"run": "y"}]},\n'
                                ' "reload": {"handler": true, "steps": [{"run": "z"}]}}}\n')
        self.assertEqual(status, 2)
        self.assertEqual(err.splitlines(), [
            'deployd: error: plan.json:2:42: /tasks/a/steps/0/notify/0: notify: unknown task "reloda" (did you mean "reload"?)',
            'deployd: error: plan.json:2:52: /tasks/a/steps/0/notify/1: notify: task "b" is not a handler (add "handler": true to it)'])

    def test_for_each_over_something_that_is_not_a_list(self):
        status, err = self.load('{"hosts": ["h"], "vars": {"sites": "shop"}, "tasks": {\n'
                                ' "a": {"steps": [{"run": "x", "for_each": "sites"},\n'
                                '  {"run": "y", "for_each": 3}]}}}\n')
        self.assertEqual(status, 2)
        self.assertEqual(err.splitlines(), [
            'deployd: error: plan.json:2:43: /tasks/a/steps/0/for_each: for_each: variable "sites" is not a list'
            ' (it holds "shop", defined at plan.json:1:27)',
            'deployd: error: plan.json:3:28: /tasks/a/steps/1/for_each: expected a list, the name of a variable that'
            ' holds one, or "{{ EXPR }}" giving one, got 3'])

    def test_for_each_over_a_host_variable_that_is_not_a_list_names_the_host(self):
        status, err = self.load('{"hosts": ["a", {"name": "b", "vars": {"sites": "shop"}}],\n'
                                ' "vars": {"sites": []},\n'
                                ' "tasks": {"t": {"steps": [{"run": "x", "for_each": "sites"}]}}}\n')
        self.assertEqual(status, 2)
        self.assertEqual(err.splitlines(), [
            'deployd: error: plan.json:3:53: /tasks/t/steps/0/for_each: for_each: variable "sites" for host "b"'
            ' is not a list (it holds "shop", defined at plan.json:1:40)'])

    def test_the_rolling_lb_example_dry_runs_each_site_and_its_handler(self):
        example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "rolling-lb", "plan.json")
        status, out, err = run_deployd([example, "-H", "web1,web2", "--dry-run"])
        self.assertEqual(status, 0, err)
        lines = out.splitlines()
        # Both hosts run the same steps: one block, each host's name shown <host>.
        self.assertEqual(lines[0], "web[1-2] (2 hosts)")
        self.assertIn("  deploy step 3: printf '%s\\n' '1.0' > releases/1.0/VERSION  (in /tmp/deployd-rolling)"
                      "  (unless releases/1.0/VERSION exists)", lines)
        self.assertIn("  deploy step 7 [site=blog]: put site.conf -> /tmp/deployd-rolling/sites/blog.conf"
                      "  (notifies reload)", lines)
        self.assertIn("  reload step 1: echo reloading nginx on <host>  (if notified)", lines)


if __name__ == "__main__":
    unittest.main()
