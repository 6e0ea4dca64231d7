# SPDX-License-Identifier: MIT
"""--report FILE and `deployd show` on the real fleet (issue 21): the report of a run with a
secret, a retry, a failure and rolling waves is written at its end, holds no secret, and is the
same file `deployd show RUN --html` writes later; an interrupted run still gets its report."""
import glob
import json
import os
import random
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, events_of, run_deployd, write_json  # noqa: E402

HOSTS = 6
SECRET = "s3cret-%06d" % random.randint(0, 999999)  # what the secret step registers
VAR_SECRET = "hunter2-%06d" % random.randint(0, 999999)  # a --var value


class Report(FleetTestCase):
    def setUp(self):
        self.work = os.path.join(self.dir, self.id().rsplit(".", 1)[-1])
        os.makedirs(self.work)
        self.logs = os.path.join(self.work, "logs")
        inventory = dict(self.inventory)
        inventory["hosts"] = self.inventory["hosts"][:HOSTS]
        inventory["groups"] = {}
        self.inventory_path = write_json(self.work, "inventory.json", inventory)
        self.names = [h["name"] for h in inventory["hosts"]]

    def run_dir(self):
        [run_dir] = glob.glob(os.path.join(self.logs, "*"))
        return run_dir

    def test_report_of_a_rolling_run_with_a_secret_a_retry_and_a_failure(self):
        flaky = os.path.join("/tmp", "deployd-report-flaky-%d" % random.randint(0, 10**9))
        plan = write_json(self.work, "plan.json", {"version": 1, "policy": {"batches": [2, "50%"]}, "tasks": {
            "deploy": {"steps": [
                {"run": "echo " + SECRET, "secret": True, "register": "token"},
                {"run": "echo 'the token is {{token}}'; echo '<script>document.title=1</script>'"},
                # The second host fails its first attempt, then passes the retry.
                {"name": "flaky", "retries": 1, "retry_delay": "100ms",
                 "run": "if [ {{host}} = %s ] && [ ! -e %s ]; then touch %s; echo nope >&2; exit 1; fi"
                        % (self.names[1], flaky, flaky)},
                {"name": "check", "run": "if [ {{host}} = %s ]; then echo broken >&2; exit 3; fi" % self.names[4]}]}}})
        report = os.path.join(self.work, "report.html")
        code, out, err = run_deployd([plan, "-i", self.inventory_path, "--var", "pw=" + VAR_SECRET,
                                      "--log-dir", self.logs, "--report", report, "--output", "json"])
        if os.path.exists(flaky):
            os.unlink(flaky)
        self.assertEqual(code, 1, err)
        with open(report, encoding="utf-8") as f:
            page = f.read()
        self.assertEqual(os.stat(report).st_mode & 0o777, 0o600)
        self.assertNotIn(SECRET, page)
        self.assertNotIn(VAR_SECRET, page)
        self.assertIn("the token is ***", page)
        self.assertIn("--var pw=***", page)
        self.assertIn("\\u003cscript\\u003edocument.title=1", page)
        self.assertNotIn("<script>document.title", page)
        self.assertIn("deploy step 4 (&quot;check&quot;): exited with status 3 after", page)
        self.assertIn("broken", page)
        self.assertIn('<td class="n retried">1</td>', page)
        with open(os.path.join(self.run_dir(), "run.json")) as f:
            context = json.load(f)
        self.assertEqual(context["hosts"], self.names)
        self.assertEqual(context["wave_ends"], [2, 5, 6])
        self.assertNotIn(VAR_SECRET, json.dumps(context))
        # The same report from the run log alone, later, without the plan.
        os.rename(plan, plan + ".gone")
        again = os.path.join(self.work, "again.html")
        run_id = os.path.basename(self.run_dir())
        code, out, err = run_deployd(["show", run_id, "--log-dir", self.logs, "--html", again])
        self.assertEqual(code, 0, err)
        with open(again, encoding="utf-8") as f:
            self.assertEqual(f.read(), page)
        code, out, err = run_deployd(["show", run_id, "--log-dir", self.logs, "--timeline", "--hosts", "3"])
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 6, out)  # title, axis, 3 hosts, legend
        self.assertIn("✗", out)  # the failed check
        code, out, err = run_deployd(["show", "20990101T000000Z-000000", "--log-dir", self.logs, "--timeline"])
        self.assertEqual(code, 2)
        self.assertIn('run "20990101T000000Z-000000" not found in', err)

    def test_an_interrupted_run_still_writes_its_report(self):
        nap = "sleep %d" % random.randint(700000, 799999)
        plan = write_json(self.work, "plan.json", {"version": 1, "policy": {"abort_grace": "10m"},
                                                   "tasks": {"t": {"steps": [{"run": "echo started; " + nap}]}}})
        report = os.path.join(self.work, "report.html")
        run = subprocess.Popen([os.environ["DEPLOYD"], plan, "-i", self.inventory_path, "--output", "json",
                                "--log-dir", self.logs, "--report", report],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started, deadline = 0, time.time() + 30
        while started < HOSTS and time.time() < deadline:
            line = run.stdout.readline()
            if not line:
                break
            started += b'"event":"step_start"' in line
        self.assertEqual(started, HOSTS)
        run.send_signal(signal.SIGINT)  # starting nothing new: the steps get 10 minutes
        time.sleep(0.3)
        run.send_signal(signal.SIGINT)  # cancelled now
        out, err = run.communicate(timeout=60)
        self.assertEqual(run.returncode, 130, err.decode())
        with open(report, encoding="utf-8") as f:
            page = f.read()
        self.assertIn('id="result">interrupted (exit 130)</span>', page)
        self.assertIn("<b>%d</b> hosts:" % HOSTS, page)  # one failure group: the same cancel

    def test_report_folder_must_exist_before_anything_runs(self):
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {"t": {"steps": [{"run": "true"}]}}})
        code, out, err = run_deployd([plan, "-i", self.inventory_path, "--log-dir", self.logs,
                                      "--report", os.path.join(self.work, "no", "such", "r.html")])
        self.assertEqual(code, 2)
        self.assertIn("--report: the folder", err)
        self.assertFalse(os.path.exists(self.logs), "a run log for a run that never started")


if __name__ == "__main__":
    unittest.main(verbosity=2)
