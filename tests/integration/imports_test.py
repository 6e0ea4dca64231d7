# SPDX-License-Identifier: MIT
"""imports on the fleet (issue 18): examples/lib/releases.json, Capistrano's flow as a library,
deploys into release folders, keeps the newest ones and rolls back; examples/releases dry-runs.
The fleet's hosts share this machine's /tmp, so the test reads what they wrote directly."""
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, events_of, run_deployd, write_json  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIBRARY = os.path.join(REPO, "examples", "lib", "releases.json")
HOSTS = 2


class Releases(FleetTestCase):
    def setUp(self):
        self.root = "/tmp/deployd-it-releases-%d" % os.getpid()
        self.addCleanup(shutil.rmtree, self.root, True)
        inventory = dict(self.inventory)
        # deploy_to per host: the hosts share /tmp here, not on real servers.
        inventory["hosts"] = [dict(h, vars={"deploy_to": "%s/%s" % (self.root, h["name"])})
                              for h in self.inventory["hosts"][:HOSTS]]
        inventory["groups"] = {}
        self.inventory_path = write_json(self.dir, "inventory.json", inventory)
        self.plan = write_json(self.dir, "plan.json", {
            "version": 1,
            "vars": {"keep_releases": 2, "release_command": "basename \"$PWD\" > REVISION"},
            "imports": {"deploy": {"file": LIBRARY, "needs": ["build"]}},
            "tasks": {"build": {"on": "local", "steps": [{"local": "true"}]},
                      "release": {"needs": "deploy:finished", "default": True,
                                  "steps": [{"run": "cat {{deploy_to}}/current/REVISION"}]}}})

    def deployd(self, *args):
        status, out, err = run_deployd([self.plan, "-i", self.inventory_path, "--output", "json",
                                        "--log-dir", os.path.join(self.dir, "logs")] + list(args))
        self.assertEqual(status, 0, err)
        return events_of(out)

    def host_dir(self, index):
        return os.path.join(self.root, self.inventory["hosts"][index]["name"])

    def test_three_deploys_keep_two_releases_and_a_rollback_goes_back_one(self):
        runs = []
        for _ in range(3):
            if runs:
                time.sleep(1)  # run ids sort to the second (make_run_id): releases are named by them
            events = self.deployd()
            runs.append(events[0]["run_id"])
            tasks = [e["task"] for e in events if e["event"] == "step_start" and e["host"] != "local"]
            self.assertEqual(list(dict.fromkeys(tasks)),
                             ["deploy:check", "deploy:updating", "deploy:publishing", "deploy:finished", "release"])
            shown = {e["host"]: e["line"] for e in events if e["event"] == "output" and e["task"] == "release"}
            self.assertEqual(set(shown.values()), {runs[-1]})
        for index in range(HOSTS):
            folder = self.host_dir(index)
            self.assertEqual(sorted(os.listdir(os.path.join(folder, "releases"))), runs[1:])
            self.assertEqual(os.readlink(os.path.join(folder, "current")), "releases/" + runs[2])
        events = self.deployd("deploy:rollback")
        lines = [e["line"] for e in events if e["event"] == "output"]
        self.assertEqual(lines, ["rolled back from %s to %s" % (runs[2], runs[1])] * HOSTS)
        for index in range(HOSTS):
            folder = self.host_dir(index)
            self.assertEqual(os.readlink(os.path.join(folder, "current")), "releases/" + runs[1])
            self.assertEqual(sorted(os.listdir(os.path.join(folder, "releases"))), runs[1:2])

    def test_the_releases_example_dry_runs(self):
        example = os.path.join(REPO, "examples", "releases", "plan.json")
        status, out, err = run_deployd([example, "--dry-run", "-H", "node001"])
        self.assertEqual(status, 0, err)
        for task in ["pack", "upload", "deploy:check", "deploy:updating", "deploy:publishing",
                     "deploy:finished", "release"]:
            self.assertIn("  %s step 1: " % task, out)
        self.assertNotIn("deploy:rollback", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
