# SPDX-License-Identifier: MIT
"""The HTML report in a real browser: Debian's headless chromium loads the report of a recorded
run (fixture/: successes, a failure, a retry, waves, a barrier, a masked secret, a host printing
HTML and script, a run cut short) and the test reads the DOM it built. Exits 77 (SKIP) without
chromium; scripts/dev installs it, so CI runs these.

fixture/ is the exact format deployd records, made by `scripts/fake-run tests/browser/fixture
--hosts 24 --steps 6 --lines 2 --forks 8 --batches 2,50% --hostile` (the same command makes it
again, byte for byte)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from html.parser import HTMLParser

DEPLOYD = os.environ.get("DEPLOYD", "deployd")
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_LOGS = os.path.join(HERE, "fixture")
RUN_ID = "20261204T132000Z-000015"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Headless chromium as root needs --no-sandbox. The browser itself phones home (updates, time,
# accounts) whatever the page does: no host name resolves, so none of that leaves the machine.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                  "--host-resolver-rules=MAP * ~NOTFOUND", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-domain-reliability", "--no-pings",
                  "--disable-breakpad", "--disable-default-apps", "--mute-audio", "--virtual-time-budget=10000"]


def chromium(*args, timeout=120):
    profile = tempfile.mkdtemp(prefix="deployd-chromium-")
    try:
        result = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, "--user-data-dir=" + profile, *args],
                                capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if result.returncode != 0:
        raise AssertionError("chromium failed (%d): %s" % (result.returncode, result.stderr[-2000:]))
    return result.stdout


class SummaryParser(HTMLParser):
    """Counts the task grid's rows and collects the header's and the failures' text."""

    def __init__(self):
        super().__init__()
        self.task_rows = 0
        self.header_text = ""
        self.failure_text = ""
        self.section = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id") in ("header", "tasks", "failures"):
            self.section = attrs["id"]
        if tag == "tr" and self.section == "tasks" and "data-task" in attrs:
            self.task_rows += 1

    def handle_endtag(self, tag):
        if tag in ("table", "ol"):
            self.section = None

    def handle_data(self, data):
        if self.section == "header":
            self.header_text += data
        elif self.section == "failures":
            self.failure_text += data


class HtmlReportInBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="deployd-html-test-")
        cls.report = os.path.join(cls.dir, "report.html")
        result = subprocess.run([DEPLOYD, "show", RUN_ID, "--log-dir", FIXTURE_LOGS, "--html", cls.report],
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise AssertionError("deployd show failed: " + result.stderr)
        with open(cls.report, encoding="utf-8") as f:
            cls.page = f.read()
        cls.url = "file://" + cls.report
        cls.dom = chromium("--dump-dom", cls.url)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_the_page_script_ran_under_its_own_content_security_policy(self):
        # The script sets data-ready last: it ran whole, so the CSP's hash matches it.
        self.assertRegex(self.dom, r'<body[^>]*data-ready="1"')

    def test_timeline_rows_fold_identical_hosts_and_show_each_odd_one(self):
        rows = re.findall(r'<div class="tl-row ([a-z]+)"[^>]*?(?:data-hosts="(\d+)"|data-host="([^"]+)")', self.dom)
        self.assertTrue(rows, "no timeline rows in the DOM")
        folded = sum(int(n) for kind, n, _ in rows if kind == "fold")
        single = [h for kind, _, h in rows if kind == "host"]
        self.assertEqual(folded + len(single), 24, rows)  # every host in exactly one row
        for odd in ["node0006", "node0014", "node0003"]:  # failed, retried, cut short
            self.assertIn(odd, single)
        self.assertIn('class="bar s5"', self.dom)  # the retried attempt
        self.assertIn('class="bar s2"', self.dom)  # the failed step
        self.assertIn('class="bar s4"', self.dom)  # the step the interrupt cut short
        self.assertIn('class="mark barrier"', self.dom)
        self.assertIn(">wave 2<", self.dom)

    def test_slowest_first_rows(self):
        dom = chromium("--dump-dom", self.url + "#order=slow")
        hosts = re.findall(r'<div class="tl-row host"[^>]*data-host="([^"]+)"', dom)
        self.assertGreater(len(hosts), 10)
        self.assertEqual(hosts[0], "node0003")  # its step ran until the interrupt ended the run
        self.assertEqual(len(set(hosts)), len(hosts))

    def test_task_grid_counts(self):
        grid = re.search(r'<table class="grid" id="tasks">(.*?)</table>', self.dom, re.S).group(1)
        counts = {}
        for task, cells in re.findall(r'<tr data-task="([^"]+)">(.*?)</tr>', grid, re.S):
            counts[task] = [int(c) for c in re.findall(r'<td class="n [a-z]+">(\d+)</td>', cells)]
        # ok, changed, failed, skipped, aborted, retried: hosts by their worst step in the task.
        self.assertEqual(counts["prepare"], [24, 0, 0, 0, 0, 0])
        self.assertEqual(counts["deploy"][2], 1)   # node0006 failed migrate schema
        self.assertEqual(counts["restart"][5], 1)  # node0014 retried
        self.assertEqual(sum(counts["restart"][:5]), 23)
        self.assertIn("<svg class=\"hist\"", grid)

    def test_failures_are_folded_with_their_stderr_and_a_link_to_the_output(self):
        failures = re.search(r'<ol id="failures">(.*?)</ol>', self.dom, re.S).group(1)
        self.assertIn("deploy step 1 (migrate schema): exited with status 1", failures)
        self.assertIn("error: migration 0042 failed", failures)
        self.assertIn('href="#host=node0006"', failures)
        self.assertIn("did not finish: the run ended first", failures)  # node0003

    def test_header(self):
        header = re.search(r'<table class="kv" id="header">(.*?)</table>', self.dom, re.S).group(1)
        self.assertIn("interrupted (exit 130)", header)
        self.assertIn("deployd /srv/deploy/plan.json -i fleet.json --var token=*** --report report.html", header)
        self.assertIn("<td>ops</td>", header)
        self.assertIn("batches: [2,50%]", header)

    def test_no_secret_and_host_html_stays_text(self):
        self.assertNotIn("pwned", re.search(r"<title>(.*?)</title>", self.dom, re.S).group(1))
        self.assertFalse("<img" in self.dom, "an element from a host's output")
        self.assertIn("token=***", self.page)
        self.assertFalse("s3cr3t" in self.page, "the secret's value")
        # The hostile host's output, opened by its link: its lines are text in the DOM.
        dom = chromium("--dump-dom", self.url + "#host=node0002")
        lines = re.search(r'<pre id="out-lines"[^>]*data-host="node0002"[^>]*>(.*?)</pre>', dom, re.S)
        self.assertIsNotNone(lines, "the host's output did not open from its link")
        self.assertIn("&lt;script&gt;document.title='pwned'&lt;/script&gt;", lines.group(1))
        self.assertIn("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;", lines.group(1))
        self.assertNotIn("pwned", re.search(r"<title>(.*?)</title>", dom, re.S).group(1))

    def test_no_network_and_no_url_but_as_text(self):
        self.assertRegex(self.page, r"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                                    r"script-src 'sha256-[A-Za-z0-9+/=]+';")
        self.assertNotRegex(self.page, r"(src|href|action)=\"?(https?:)?//")
        self.assertNotIn("http://", self.page)
        self.assertNotIn("https://", self.page)
        # Chromium's own record of the requests the page made: none. A control page that loads
        # an image shows the record would have it.
        self.assertEqual(self.page_requests(self.url), [])
        control = os.path.join(self.dir, "control.html")
        with open(control, "w", encoding="utf-8") as f:
            f.write('<html><body><img src="http://127.0.0.1:9/control.png"></body></html>')
        self.assertEqual(self.page_requests("file://" + control), ["http://127.0.0.1:9/control.png"])

    def page_requests(self, url):
        """The URLs of the network requests the page at `url` started (the browser's own have no
        origin), from chromium's net log."""
        netlog = os.path.join(self.dir, "netlog.json")
        chromium("--log-net-log=" + netlog, "--dump-dom", url)
        with open(netlog, encoding="utf-8", errors="replace") as f:
            log = json.load(f)
        start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        return [e["params"]["url"] for e in log["events"]
                if e["type"] == start_job and e.get("params", {}).get("url")
                and e["params"].get("initiator") != "not an origin"]

    def test_summary_without_javascript(self):
        # Header, task grid and failures are in the file's markup itself, not drawn by the script:
        # parsed as a browser parses it with scripting off.
        parser = SummaryParser()
        parser.feed(self.page)
        self.assertEqual(parser.task_rows, 4)
        self.assertIn("deploy step 1 (migrate schema): exited with status 1", parser.failure_text)
        self.assertIn("error: migration 0042 failed", parser.failure_text)
        self.assertIn("interrupted (exit 130)", parser.header_text)
        # (Chromium's --dump-dom and --screenshot need script themselves: with scripting off they
        # write nothing, so the markup is what is checked.)

    def test_screenshot(self):
        png = os.path.join(self.dir, "report.png")
        chromium("--window-size=1280,900", "--screenshot=" + png, self.url)
        with open(png, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"\x89PNG"), "not a PNG")
        self.assertGreater(len(data), 20_000)  # not a blank page


if __name__ == "__main__":
    if CHROMIUM is None:
        print("SKIP: chromium is not installed (scripts/dev deps installs it)")
        sys.exit(77)
    unittest.main(verbosity=2)
