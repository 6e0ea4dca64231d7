# SPDX-License-Identifier: MIT
"""examples/flask-app end to end, on an isolated fleet this test starts itself (scripts/fleet
start --isolated): bootstrap, deploy 1.0, serve, verify over HTTP, deploy 2.0 (pruning old
releases), a bad 3.0 that fails its tests on the canary and must leave every host on 2.0,
rollback to 1.0 (examples/lib/releases.json's deploy:rollback), a refused rollback, stop. Each host's /var/www is its private folder
FLEET/hosts/NAME/var-www, which the assertions read directly."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from fleet_support import SKIP, deployd_binary, events_of

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXAMPLE = os.path.join(REPO, "examples", "flask-app")
# This test's own addresses and ports, apart from the shared test fleet (127.0.20.x:2222) and
# the demo (127.0.10.x:2222, HTTP 8000).
BASE_ADDRESS = os.environ.get("DEPLOYD_FLASK_TEST_ADDRESS", "127.0.41.101")
SSH_PORT = os.environ.get("DEPLOYD_FLASK_TEST_PORT", "2241")
HTTP_PORT = "18041"
HOSTS = 3


def skip_or_fail(why):
    print(f"flask_demo_test: {why}", file=sys.stderr)
    sys.exit(1 if os.environ.get("DEPLOYD_REQUIRE_FLEET") == "1" else SKIP)


def process_alive(pid):
    """True if PID runs; a zombie counts as ended (PID 1 here may reap late)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def fleet_script():
    return os.environ.get("DEPLOYD_FLEET_SCRIPT") or os.path.join(REPO, "scripts", "fleet")


class FlaskDemoTest(unittest.TestCase):
    """One sequence, in order: each test method is a stage that relies on the ones before."""

    @classmethod
    def setUpClass(cls):
        cls.fleet = tempfile.mkdtemp(prefix="deployd-flask-it.", dir="/run")
        cls.work = tempfile.TemporaryDirectory(prefix="deployd-flask-it-")
        cls.plan_dir = os.path.join(cls.work.name, "flask-app")
        shutil.copytree(EXAMPLE, cls.plan_dir,
                        ignore=shutil.ignore_patterns("build", ".deployd", "__pycache__"))
        # The plan imports ../lib/releases.json.
        shutil.copytree(os.path.join(REPO, "examples", "lib"), os.path.join(cls.work.name, "lib"))
        cls.plan = os.path.join(cls.plan_dir, "plan.json")
        started = subprocess.run(
            [fleet_script(), "start", cls.fleet, str(HOSTS), "--isolated", "--base-address",
             BASE_ADDRESS, "--port", SSH_PORT], capture_output=True, text=True)
        if started.returncode != 0:
            cls.tearDownClass()
            raise RuntimeError("scripts/fleet start --isolated failed:\n" + started.stderr)
        with open(os.path.join(cls.fleet, "inventory.json")) as f:
            cls.hosts = {h["name"]: h["address"] for h in json.load(f)["hosts"]}
        cls.releases = {}  # "1.0" -> run id

    @classmethod
    def tearDownClass(cls):
        subprocess.run([fleet_script(), "stop", cls.fleet], capture_output=True)
        shutil.rmtree(cls.fleet, ignore_errors=True)
        cls.work.cleanup()

    # -- helpers ------------------------------------------------------------------------------

    def deployd(self, *args, expect=0):
        """Runs the plan with ARGS on the fleet (JSON events); returns the events."""
        done = subprocess.run(
            [deployd_binary(), self.plan, *args, "--var", f"http_port={HTTP_PORT}", "--output",
             "json", "-i", os.path.join(self.fleet, "inventory.json")],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, expect,
                         f"deployd {' '.join(args)}:\n{done.stdout[-4000:]}\n{done.stderr}")
        return events_of(done.stdout)

    def app_dir(self, host):
        return os.path.join(self.fleet, "hosts", host, "var-www", "yourapplication")

    def release_folders(self, host):
        return sorted(os.listdir(os.path.join(self.app_dir(host), "releases")))

    def current(self, host):
        return os.readlink(os.path.join(self.app_dir(host), "current"))

    def http_get(self, host, path):
        url = f"http://{self.hosts[host]}:{HTTP_PORT}{path}"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.read().decode()

    def wait_for_version(self, host, version):
        """The version page's answer once it is VERSION (a switch reloads within a second)."""
        answer = None
        for _ in range(50):
            try:
                answer = self.http_get(host, "/version")
            except OSError as error:
                answer = repr(error)
            if answer == version + "\n":
                break
            time.sleep(0.2)
        return answer

    def run_id(self, events):
        return next(e["run_id"] for e in events if e["event"] == "run_start")

    def assert_live_everywhere(self, version):
        run = self.releases[version]
        for host in self.hosts:
            with self.subTest(host=host):
                self.assertEqual(self.current(host), f"releases/{run}")
                self.assertEqual(self.wait_for_version(host, version), version + "\n")

    # -- the sequence -------------------------------------------------------------------------

    def reloads(self, events):
        """host -> the status of the reload handler's step there."""
        return {e["host"]: e["status"] for e in events
                if e["event"] == "step_end" and e["task"] == "reload"}

    def test_1_bootstrap_prepares_each_host_in_its_own_var_www(self):
        events = self.deployd("bootstrap")
        self.assertEqual(self.reloads(events), {host: "ok" for host in self.hosts},
                         "a new config notifies reload")
        again = self.deployd("bootstrap")
        self.assertEqual(self.reloads(again), {host: "skipped" for host in self.hosts},
                         "an unchanged config does not")
        for host in self.hosts:
            with self.subTest(host=host):
                app = self.app_dir(host)
                self.assertTrue(os.access(os.path.join(app, "env", "bin", "python"), os.X_OK))
                self.assertEqual(os.readlink(os.path.join(app, "application.cfg")),
                                 f"config/{host}.cfg")
                wsgi = os.path.join(self.fleet, "hosts", host, "var-www", "yourapplication.wsgi")
                with open(wsgi) as f:
                    self.assertIn("from yourapplication import app as application", f.read())
                self.assertEqual(self.release_folders(host), [])

    def test_2_rollback_with_nothing_deployed_is_refused(self):
        events = self.deployd("rollback", expect=3)
        errors = [e["line"] for e in events if e["event"] == "output" and e["stream"] == "stderr"]
        self.assertIn("rollback refused on node001: nothing is deployed", errors)

    def test_3_deploy_1_0_serves_it_over_http(self):
        events = self.deployd("deploy", "serve", "verify", "--var", "version=1.0",
                              "--var", "expect=1.0")
        self.releases["1.0"] = self.run_id(events)
        self.assert_live_everywhere("1.0")
        for host in self.hosts:
            with self.subTest(host=host):
                self.assertEqual(self.release_folders(host), [self.releases["1.0"]])
                self.assertEqual(self.http_get(host, "/"),
                                 f"Hello (yourapplication 1.0 on {host})\n")

    def test_4_deploy_2_0_switches_and_keeps_the_last_five_releases(self):
        # Four older releases on each host, so that 2.0 makes six and the oldest must go.
        old = [f"20000101T00000{i}Z-000000" for i in range(4)]
        for host in self.hosts:
            for name in old:
                os.makedirs(os.path.join(self.app_dir(host), "releases", name))
        events = self.deployd("deploy", "verify", "--var", "version=2.0", "--var", "expect=2.0")
        self.releases["2.0"] = self.run_id(events)
        self.assert_live_everywhere("2.0")
        for host in self.hosts:
            with self.subTest(host=host):
                self.assertEqual(self.release_folders(host),
                                 old[1:] + [self.releases["1.0"], self.releases["2.0"]])

    def test_5_a_release_failing_its_tests_on_the_canary_changes_no_host(self):
        before = {host: self.release_folders(host) for host in self.hosts}
        events = self.deployd("deploy", "--var", "version=3.0",
                              "--var", "overlay=defects/broken-version-page", expect=3)
        failed = [(e["host"], e["task"]) for e in events
                  if e["event"] == "step_end" and e["status"] == "failed"]
        self.assertEqual(failed, [("node001", "test")])
        started = {e["host"] for e in events if e["event"] == "step_start" and e["host"] != "local"}
        self.assertEqual(started, {"node001"}, "only the canary may start")
        self.assert_live_everywhere("2.0")
        for host in self.hosts:
            with self.subTest(host=host):
                self.assertEqual(self.release_folders(host), before[host])
        # The test task's always() step removed the canary's unpacked copy all the same.
        self.assertTrue(os.path.isdir(os.path.join(self.fleet, "hosts", "node001", "tmp")))
        self.assertFalse(os.path.exists(
            os.path.join(self.fleet, "hosts", "node001", "tmp", "yourapplication-tests")))

    def test_6_rollback_returns_every_host_to_1_0_and_removes_2_0(self):
        self.deployd("rollback", "verify", "--var", "expect=1.0")
        self.assert_live_everywhere("1.0")
        for host in self.hosts:
            with self.subTest(host=host):
                self.assertNotIn(self.releases["2.0"], self.release_folders(host))
                self.assertIn(self.releases["1.0"], self.release_folders(host))

    def test_7_rollback_past_the_oldest_release_is_refused(self):
        # Without the empty stand-ins of test 4 (older releases), 1.0 is the oldest release.
        for host in self.hosts:
            for name in self.release_folders(host):
                if name.startswith("2000"):
                    os.rmdir(os.path.join(self.app_dir(host), "releases", name))
        events = self.deployd("rollback", expect=3)
        errors = [e["line"] for e in events if e["event"] == "output" and e["stream"] == "stderr"]
        self.assertIn("rollback refused on node001: no release before "
                      f"releases/{self.releases['1.0']}", errors)
        self.assert_live_everywhere("1.0")
        for host in self.hosts:
            with self.subTest(host=host):
                self.assertEqual(self.release_folders(host), [self.releases["1.0"]])

    def test_8_stop_ends_every_app_server(self):
        pids = {}
        for host in self.hosts:
            with open(os.path.join(self.app_dir(host), "server.pid")) as f:
                pids[host] = int(f.read())
        self.deployd("stop")
        for host, pid in pids.items():
            with self.subTest(host=host):
                for _ in range(50):
                    if not process_alive(pid):
                        break
                    time.sleep(0.1)
                self.assertFalse(process_alive(pid), f"server {pid} still runs")
                self.assertFalse(os.path.exists(os.path.join(self.app_dir(host), "server.pid")))

    def test_9_the_hello_example_runs_on_the_isolated_hosts(self):
        hello = os.path.join(REPO, "examples", "hello", "plan.json")
        done = subprocess.run(
            [deployd_binary(), hello, "--output", "json", "--log-dir",
             os.path.join(self.work.name, "logs"), "-i", os.path.join(self.fleet, "inventory.json")],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stdout[-2000:] + done.stderr)
        greetings = {e["host"] for e in events_of(done.stdout)
                     if e["event"] == "output" and e["line"].startswith("hello from deployd to ")}
        self.assertEqual(greetings, set(self.hosts))


if __name__ == "__main__":
    if os.geteuid() != 0:
        skip_or_fail("not root: scripts/fleet start --isolated needs root")
    if not os.path.exists("/usr/sbin/sshd"):
        skip_or_fail("no /usr/sbin/sshd")
    unittest.main(verbosity=2)
