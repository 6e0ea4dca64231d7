# SPDX-License-Identifier: MIT
"""Run control on the real fleet (issue 5): timeouts and cancels that stop the remote processes,
staged interrupts, abort grace, retries, connection retries, vanished hosts."""
import glob
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import (FleetTestCase, TcpListener, descendants_of, events_of,  # noqa: E402
                           processes_with, run_deployd, write_json)

FLEET_SCRIPT = os.environ.get("DEPLOYD_FLEET_SCRIPT") or os.path.join(
    os.path.dirname(__file__), "..", "..", "scripts", "fleet")


def wait_until_gone(text, seconds=5):
    deadline = time.time() + seconds
    while processes_with(text) and time.time() < deadline:
        time.sleep(0.05)
    return processes_with(text)


def kill_if_there(pid):
    """SIGKILL (a stopped process dies too); a process already gone is fine."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def comm_of(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


class RunControl(FleetTestCase):
    def setUp(self):
        self.work = os.path.join(self.dir, self.id().rsplit(".", 1)[-1])
        os.makedirs(self.work)
        self.logs = os.path.join(self.work, "logs")
        # A sleep no other test runs, to find its processes on the hosts.
        self.nap = "sleep %d" % random.randint(700000, 799999)

    def inventory_of(self, count):
        inventory = dict(self.inventory)
        inventory["hosts"] = self.inventory["hosts"][:count]
        inventory["groups"] = {}
        return write_json(self.work, "inventory-%d.json" % count, inventory)

    def names(self, count):
        return [h["name"] for h in self.inventory["hosts"][:count]]

    def plan(self, document):
        document.setdefault("version", 1)
        return write_json(self.work, "plan.json", document)

    def start(self, plan, hosts, *extra):
        return subprocess.Popen(
            [os.environ["DEPLOYD"], plan, "-i", self.inventory_of(hosts), "--output", "json",
             "--log-dir", self.logs] + list(extra),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def wait_for_steps(self, run, count, seconds=30):
        """Reads JSON events until `count` step_start events came; returns the lines read."""
        lines, started = [], 0
        deadline = time.time() + seconds
        while started < count and time.time() < deadline:
            line = run.stdout.readline()
            if not line:
                break
            lines.append(line.decode())
            if b'"event":"step_start"' in line:
                started += 1
        self.assertEqual(started, count, "steps never started: " + "".join(lines))
        return lines

    def summary(self):
        [run_dir] = glob.glob(os.path.join(self.logs, "*"))
        with open(os.path.join(run_dir, "summary.json")) as f:
            import json
            summary = json.load(f)
        with open(os.path.join(run_dir, "events.jsonl")) as f:
            events = events_of(f.read())
        return summary, events

    def test_timeout_stops_the_remote_command_and_its_children(self):
        plan = self.plan({"tasks": {"t": {"steps": [
            {"run": "%s & %s; echo never" % (self.nap, self.nap), "timeout": "1s"}]}}})
        started = time.time()
        code, out, err = run_deployd([plan, "-i", self.inventory_of(3), "--output", "json", "--log-dir", self.logs])
        elapsed = time.time() - started
        self.assertEqual(code, 1, err)
        ends = [e for e in events_of(out) if e["event"] == "step_end"]
        self.assertEqual(len(ends), 3)
        for end in ends:
            self.assertEqual(end["status"], "timed_out")
            self.assertIn("its processes were stopped", end["error"])
        self.assertLess(elapsed, 20, "a 1 s timeout took %.1f s" % elapsed)
        self.assertEqual(wait_until_gone(self.nap), [], "a sleep of the timed-out step survived")

    def test_timeout_stops_a_sudo_step_run_as_root(self):
        plan = self.plan({"tasks": {"t": {"steps": [{"run": self.nap, "timeout": "1s", "sudo": True}]}}})
        code, out, err = run_deployd([plan, "-i", self.inventory_of(1), "--output", "json", "--log-dir", self.logs])
        self.assertEqual(code, 1, err)
        self.assertEqual(wait_until_gone(self.nap), [], "the root-owned sleep survived")

    def test_sigint_lets_steps_finish_within_grace_then_cancels_them(self):
        plan = self.plan({"policy": {"abort_grace": "1s"}, "tasks": {"t": {"steps": [
            {"run": self.nap}, {"run": "echo never"}]}}})
        run = self.start(plan, 3)
        self.wait_for_steps(run, 3)
        started = time.time()
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
        self.assertEqual(run.returncode, 130, err.decode())
        self.assertLess(time.time() - started, 15)
        self.assertIn(b"starting nothing new; 3 running steps get 1s to finish", err)
        summary, events = self.summary()
        self.assertEqual(summary["status"], "interrupted")
        self.assertEqual(events[-1]["event"], "run_end")
        self.assertEqual(events[-1]["exit_code"], 130)
        hosts = {e["host"]: e for e in events if e["event"] == "host_end"}
        self.assertEqual(set(hosts), set(self.names(3)))
        for end in hosts.values():
            self.assertEqual(end["status"], "aborted")
            self.assertIn("the run was interrupted and the grace period (1s) ran out", end["error"])
        self.assertEqual([e for e in events if e["event"] == "output"], [], "`echo never` ran")
        self.assertEqual(wait_until_gone(self.nap), [], "an interrupted step's sleep survived")

    def test_second_sigint_cancels_at_once_and_sigterm_exits_143(self):
        plan = self.plan({"policy": {"abort_grace": "10m"}, "tasks": {"t": {"steps": [{"run": self.nap}]}}})
        run = self.start(plan, 2)
        self.wait_for_steps(run, 2)
        run.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=60)
        self.assertEqual(run.returncode, 143, err.decode())
        summary, _ = self.summary()
        self.assertEqual(summary["status"], "interrupted")
        self.assertEqual(wait_until_gone(self.nap), [])

    def test_sighup_is_staged_like_sigterm_and_the_run_log_is_written(self):
        # Issue 16 #8: a closed terminal killed the run at once, remote steps left running.
        plan = self.plan({"policy": {"abort_grace": "10m"}, "tasks": {"t": {"steps": [{"run": self.nap}]}}})
        run = self.start(plan, 2)
        self.wait_for_steps(run, 2)
        run.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        run.send_signal(signal.SIGHUP)
        out, err = run.communicate(timeout=60)
        self.assertEqual(run.returncode, 129, err.decode())
        self.assertIn(b"SIGHUP: starting nothing new", err)
        # The grace is configured (10m, as the plan writes it); each step's time is measured.
        self.assertIn(b"2 running steps get 10m to finish", err)
        self.assertRegex(err, rb"\(running (\d+ms|\d+\.\ds|\dm\d\ds)\)\n")
        self.assertIn(b"(a second SIGINT, SIGTERM or SIGHUP: cancel them now", err)
        self.assertNotIn(b"Ctrl-C again", err)
        summary, events = self.summary()
        self.assertEqual(summary["status"], "interrupted")
        self.assertEqual(events[-1]["event"], "run_end")
        self.assertEqual(wait_until_gone(self.nap), [])

    def test_events_are_written_as_they_come_and_a_killed_run_is_retried_from_them(self):
        # Issue 16 #8: events.jsonl was flushed at step ends only; after a SIGKILL, --retry-failed
        # silently retried an older run.
        plan = self.plan({"tasks": {"t": {"steps": [
            {"run": "echo started-{{host}}; %s" % self.nap}]}}})
        run = self.start(plan, 2)
        [events_path] = self.wait_for_file(os.path.join(self.logs, "*", "events.jsonl"))
        run_id = os.path.basename(os.path.dirname(events_path))
        deadline = time.time() + 30  # the output lines reach the file while the steps still run
        text = ""
        while time.time() < deadline and text.count("\"line\":\"started-") < 2:
            with open(events_path) as f:
                text = f.read()
            time.sleep(0.1)
        self.assertEqual(text.count("\"line\":\"started-"), 2, text)
        run.kill()
        run.communicate(timeout=30)
        for pid in processes_with(self.nap):
            kill_if_there(pid)
        status, out, err = run_deployd(["--retry-failed", plan, "-i", self.inventory_of(2),
                                        "--log-dir", self.logs, "--dry-run"])
        self.assertEqual(status, 0, err)
        self.assertIn("WARNING: run %s never finished" % run_id, err)
        self.assertIn("retrying run %s on 2 hosts" % run_id, err)

    def wait_for_file(self, pattern, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            found = glob.glob(pattern)
            if found:
                return found
            time.sleep(0.05)
        self.fail("no " + pattern)

    def test_third_sigint_exits_at_once_with_a_complete_run_log(self):
        plan = self.plan({"policy": {"abort_grace": "10m"}, "tasks": {"t": {"steps": [
            {"run": "trap '' TERM; %s" % self.nap}]}}})
        run = self.start(plan, 2)
        self.wait_for_steps(run, 2)
        for _ in range(3):
            run.send_signal(signal.SIGINT)
            time.sleep(0.2)
        out, err = run.communicate(timeout=30)
        self.assertEqual(run.returncode, 130, err.decode())
        self.assertIn(b"exiting at once", err)
        summary, events = self.summary()
        self.assertEqual(summary["status"], "interrupted")
        self.assertEqual(events[-1]["event"], "run_end")
        for pid in processes_with(self.nap):  # what the third Ctrl-C left behind, by design
            kill_if_there(pid)

    def test_canary_failure_aborts_before_any_other_host_starts(self):
        hosts = self.names(20)
        plan = self.plan({"policy": {"batches": [1, "10%", "100%"], "max_failures": 0},
                          "tasks": {"deploy": {"steps": [{"run": "echo deploy"}]},
                                    "test": {"needs": ["deploy"], "steps": [{"run": "test {{host}} != %s" % hosts[0]}]}}})
        code, out, err = run_deployd([plan, "-i", self.inventory_of(20), "--output", "json", "--log-dir", self.logs])
        self.assertEqual(code, 3, err)
        events = events_of(out)
        started = {e["host"] for e in events if e["event"] == "step_start"}
        self.assertEqual(started, {hosts[0]})
        aborted = [e for e in events if e["event"] == "host_end" and e["status"] == "aborted"]
        self.assertEqual(len(aborted), 19)

    def test_abort_grace_cancels_a_long_step_on_another_host(self):
        hosts = self.names(2)
        plan = self.plan({"policy": {"on_failure": "abort", "abort_grace": "500ms"}, "tasks": {"t": {"steps": [
            {"run": "if [ {{host}} = %s ]; then sleep 1; exit 1; fi; %s" % (hosts[0], self.nap)}]}}})
        code, out, err = run_deployd([plan, "-i", self.inventory_of(2), "--output", "json", "--log-dir", self.logs])
        self.assertEqual(code, 3, err)
        ends = {e["host"]: e for e in events_of(out) if e["event"] == "host_end"}
        self.assertEqual(ends[hosts[0]]["status"], "failed")
        self.assertEqual(ends[hosts[1]]["status"], "aborted")
        self.assertIn("grace period (500ms) ran out", ends[hosts[1]]["error"])
        self.assertEqual(wait_until_gone(self.nap), [])

    def test_retries_run_a_flaky_step_until_it_passes(self):
        # The hosts' login user cannot enter this test's private folder: the markers go in /tmp.
        prefix = "/tmp/deployd-retry-%d-" % random.randint(0, 1 << 30)
        marker = prefix + "{{host}}"
        self.addCleanup(lambda: [os.remove(p) for p in glob.glob(prefix + "*")])
        plan = self.plan({"tasks": {"t": {"steps": [{
            "run": "echo x >> %s; test $(wc -l < %s) -ge 3" % (marker, marker),
            "retries": 3, "retry_delay": "100ms"}]}}})
        code, out, err = run_deployd([plan, "-i", self.inventory_of(2), "--output", "json", "--log-dir", self.logs])
        self.assertEqual(code, 0, err)
        events = events_of(out)
        for host in self.names(2):
            starts = [e for e in events if e["event"] == "step_start" and e["host"] == host]
            self.assertEqual(len(starts), 3)
            failed = [e["error"] for e in events if e["event"] == "step_end" and e["host"] == host and e["status"] == "failed"]
            self.assertEqual(len(failed), 2)
            # The command is shown resolved, cut to its first characters.
            for attempt, delay in ((1, "100ms"), (2, "200ms")):
                self.assertRegex(failed[attempt - 1], r'^t step 1 \(run "echo x >> %s; [^"]*"\): attempt '
                                 r"%d of 4 failed \(exited with status 1 after [0-9.]+m?s\); retrying in %s$"
                                 % (re.escape(marker.replace("{{host}}", host)), attempt, delay))

    def test_connection_refused_twice_then_accepted_is_retried(self):
        target = self.inventory["hosts"][0]
        address = target.get("address", target["name"])
        port = self.inventory.get("defaults", {}).get("port", target.get("port", 22))
        listener = socket.socket()
        listener.bind(("127.0.12.2", 0))
        proxy_port = listener.getsockname()[1]
        listener.close()  # closed: connections are refused until the proxy opens it again
        proxy = TcpListener("127.0.12.2", proxy_port, target=(address, port), delay=1.6)
        try:
            plan = self.plan({"policy": {"connect_retries": 3, "connect_retry_delay": "1s"},
                              "hosts": [{"name": "late", "address": "127.0.12.2", "port": proxy_port,
                                         "host_key_check": "off"}],
                              "tasks": {"t": {"steps": [{"run": "echo through"}]}}})
            code, out, err = run_deployd([plan, "-i", self.inventory_of(0), "--output", "json", "--log-dir", self.logs])
        finally:
            proxy.close()
        self.assertEqual(code, 0, out + err)
        self.assertIn("through", out)
        self.assertGreaterEqual(proxy.accepted, 1)

    def test_a_host_that_accepts_tcp_and_never_answers_fails_at_connect_timeout(self):
        silent = TcpListener("127.0.12.3")
        try:
            plan = self.plan({"policy": {"connect_retries": 0},
                              "hosts": [{"name": "mute", "address": silent.address, "port": silent.port,
                                         "connect_timeout": "1s"}],
                              "tasks": {"t": {"steps": [{"run": "true"}]}}})
            started = time.time()
            code, out, err = run_deployd([plan, "-i", self.inventory_of(0), "--output", "json", "--log-dir", self.logs])
            elapsed = time.time() - started
        finally:
            silent.close()
        self.assertEqual(code, 1, err)
        [end] = [e for e in events_of(out) if e["event"] == "host_end"]
        self.assertEqual(end["status"], "unreachable")
        self.assertIn("timed out after 1s", end["error"])
        self.assertLess(elapsed, 15)

    def test_a_low_open_files_limit_queues_hosts_with_a_warning(self):
        plan = self.plan({"tasks": {"t": {"steps": [{"run": "echo hi"}]}}})
        done = subprocess.run(
            ["bash", "-c", 'ulimit -n 100 && exec "$@"', "bash", os.environ["DEPLOYD"], plan,
             "-i", self.inventory_of(24), "--output", "json", "--log-dir", self.logs],
            capture_output=True, text=True, timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("open files limit (RLIMIT_NOFILE, hard limit included) is 100: working on at most 12 "
                      "hosts at once instead of 24", done.stderr)
        ends = [e for e in events_of(done.stdout) if e["event"] == "host_end"]
        self.assertEqual(len(ends), 24)
        self.assertTrue(all(e["status"] == "ok" for e in ends))

    def listener_of(self, host):
        """The PID of the fleet's sshd that serves `host`."""
        return int(subprocess.run([FLEET_SCRIPT, "pids", self.fleet, host], capture_output=True,
                                  text=True, check=True).stdout.split()[0])

    def connection_processes(self, host):
        return [pid for pid in descendants_of(self.listener_of(host)) if comm_of(pid) == "sshd"]

    def test_a_host_whose_sshd_is_killed_mid_step_fails_and_the_others_finish(self):
        victim, other = self.inventory["hosts"][0], self.inventory["hosts"][-1]
        # The other host is served by another sshd: the victim's listener's connection
        # processes are ours alone.
        self.assertNotEqual(self.listener_of(other["name"]), self.listener_of(victim["name"]),
                            "the fleet has one sshd")
        inventory = write_json(self.work, "inventory-two-sshd.json",
                               dict(self.inventory, hosts=[victim, other], groups={}))
        plan = self.plan({"tasks": {"t": {"steps": [{"run": "if [ {{host}} = %s ]; then %s; fi; sleep 2; echo done" % (victim["name"], self.nap)}]}}})
        started = time.time()
        run = subprocess.Popen([os.environ["DEPLOYD"], plan, "-i", inventory, "--output", "json",
                                "--log-dir", self.logs], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.wait_for_steps(run, 2)
        time.sleep(0.3)
        for pid in self.connection_processes(victim["name"]):
            kill_if_there(pid)
        out, err = run.communicate(timeout=60)
        self.assertLess(time.time() - started, 30)
        self.assertEqual(run.returncode, 1, err.decode())
        ends = {e["host"]: e for e in events_of(out.decode()) if e["event"] == "host_end"}
        self.assertEqual(ends[victim["name"]]["status"], "failed")
        self.assertRegex(ends[victim["name"]]["error"], r"^t step 1 \(run .*\): connection lost during command: ")
        self.assertEqual(ends[other["name"]]["status"], "ok")
        self.assertEqual(self.summary()[1][-1]["exit_code"], 1)
        for pid in processes_with(self.nap):
            kill_if_there(pid)

    def test_a_host_that_vanishes_mid_step_is_detected_by_keepalive(self):
        host = self.names(1)[0]
        inventory = dict(self.inventory)
        inventory["hosts"] = [dict(self.inventory["hosts"][0], keepalive="1s")]
        inventory["groups"] = {}
        inventory_path = write_json(self.work, "inventory-keepalive.json", inventory)
        plan = self.plan({"tasks": {"t": {"steps": [{"run": self.nap}]}}})
        run = subprocess.Popen([os.environ["DEPLOYD"], plan, "-i", inventory_path, "--output", "json",
                                "--log-dir", self.logs], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.wait_for_steps(run, 1)
        time.sleep(0.5)
        frozen = self.connection_processes(host)  # the host stops answering, its socket stays open
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            started = time.time()
            out, err = run.communicate(timeout=30)
            detected = time.time() - started
        finally:
            for pid in frozen + processes_with(self.nap):
                kill_if_there(pid)
        self.assertEqual(run.returncode, 1, err.decode())
        [end] = [e for e in events_of(out.decode()) if e["event"] == "host_end"]
        # libssh2 sends keepalives every 2 s at least; a host is gone when one stays unanswered
        # for 2 intervals (+1 s of libssh2's rounding): at most 3 intervals + 1 s after it froze.
        self.assertIn("no answer from the host for 4s (keepalive every 2s)", end["error"])
        self.assertLess(detected, 3 * 2 + 1 + 10, "the step itself would run for minutes")

    def test_deployd_stopped_for_longer_than_the_dead_peer_limit_does_not_fail_a_live_host(self):
        # deployd's own silence is not the host's: stopped (SIGSTOP) past 2 keepalive intervals
        # + 1 s while a command runs, it must find the host's answers waiting and go on.
        keepalive = 2
        stall = 2 * keepalive + 1 + 2
        inventory = dict(self.inventory)
        inventory["hosts"] = [dict(self.inventory["hosts"][0], keepalive="%ds" % keepalive)]
        inventory["groups"] = {}
        inventory_path = write_json(self.work, "inventory-keepalive.json", inventory)
        plan = self.plan({"tasks": {"t": {"steps": [
            {"run": "sleep %d; echo done" % (keepalive + stall + 3)}]}}})
        run = subprocess.Popen([os.environ["DEPLOYD"], plan, "-i", inventory_path, "--output", "json",
                                "--log-dir", self.logs], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.wait_for_steps(run, 1)
            time.sleep(keepalive + 1)  # a keepalive goes out and is answered
            os.kill(run.pid, signal.SIGSTOP)
            time.sleep(stall)
        finally:
            os.kill(run.pid, signal.SIGCONT)
        out, err = run.communicate(timeout=120)
        self.assertEqual(run.returncode, 0, err.decode())
        [end] = [e for e in events_of(out.decode()) if e["event"] == "host_end"]
        self.assertEqual(end["status"], "ok", end)

    def test_a_transfer_to_a_host_that_stops_answering_ends_at_its_step_timeout(self):
        host = self.names(1)[0]
        source = os.path.join(self.work, "big.bin")
        with open(source, "wb") as f:
            f.truncate(4 << 30)  # sparse: read fast here, far longer to send than the test waits
        target = "/tmp/deployd-frozen-put-%d" % random.randint(0, 10 ** 9)
        plan = self.plan({"tasks": {"t": {"steps": [{"run": "true"},
                                                    {"put": source, "to": target, "timeout": "3s"}]}}})
        run = self.start(plan, 1)
        self.wait_for_steps(run, 2)
        frozen = self.connection_processes(host)  # the upload stalls; the socket stays open
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            started = time.time()
            out, err = run.communicate(timeout=60)
            stopped_after = time.time() - started
        finally:
            for pid in frozen:
                kill_if_there(pid)
            for leftover in glob.glob("/tmp/.deployd-frozen-put-*") + glob.glob(target):
                os.remove(leftover)
        self.assertEqual(run.returncode, 1, err.decode())
        [end] = [e for e in events_of(out.decode()) if e["event"] == "step_end" and e["step"] == 1]
        self.assertEqual(end["status"], "failed")
        self.assertIn("timed out after 3s; the connection was dropped to stop the transfer", end["error"])
        self.assertLess(stopped_after, 3 + 5)
        self.assertFalse(os.path.exists(target))  # never half-written


    def test_a_transfer_to_a_frozen_host_without_a_timeout_ends_at_the_dead_peer_limit(self):
        # No step timeout: the keepalive rule covers transfers too (2 intervals + 1 s of silence
        # while requests are in flight), so a frozen host cannot hold an upload for ever.
        host = self.names(1)[0]
        keepalive = 2
        source = os.path.join(self.work, "big.bin")
        with open(source, "wb") as f:
            f.truncate(4 << 30)  # sparse: read fast here, far longer to send than the test waits
        target = "/tmp/deployd-stalled-put-%d" % random.randint(0, 10 ** 9)
        inventory = dict(self.inventory)
        inventory["hosts"] = [dict(self.inventory["hosts"][0], keepalive="%ds" % keepalive)]
        inventory["groups"] = {}
        inventory_path = write_json(self.work, "inventory-keepalive.json", inventory)
        plan = self.plan({"tasks": {"t": {"steps": [{"run": "true"}, {"put": source, "to": target}]}}})
        run = subprocess.Popen([os.environ["DEPLOYD"], plan, "-i", inventory_path, "--output", "json",
                                "--log-dir", self.logs], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.wait_for_steps(run, 2)
        time.sleep(0.5)
        frozen = self.connection_processes(host)
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            out, err = run.communicate(timeout=120)
        finally:
            for pid in frozen:
                kill_if_there(pid)
            for leftover in glob.glob("/tmp/.deployd-stalled-put-*") + glob.glob(target):
                os.remove(leftover)
        self.assertEqual(run.returncode, 1, err.decode())
        [end] = [e for e in events_of(out.decode()) if e["event"] == "step_end" and e["step"] == 1]
        self.assertEqual(end["status"], "failed")
        self.assertIn("no answer from the host for %ds during the transfer (keepalive every %ds): "
                      "connection lost" % (2 * keepalive, keepalive), end["error"])
        self.assertFalse(os.path.exists(target))


if __name__ == "__main__":
    unittest.main()
