# SPDX-License-Identifier: MIT
"""delegate_to on the fleet (issue 18): a step runs on another plan host's session for the task's
host, with that host's variables and events; on the controller with "local"; a delegate that
cannot be reached fails the step with the reason. Which sshd ran a command is told by
$SSH_CONNECTION (client address and port, server address and port)."""
import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, events_of, run_deployd, write_json  # noqa: E402

HOSTS = 4
UNUSED_ADDRESS = "127.0.34.250"  # in this fleet's range, where nothing listens


class Delegate(FleetTestCase):
    def run_plan(self, tasks, extra_hosts=()):
        inventory = dict(self.inventory)
        # The delegate, lb, is a host of the plan that no task targets.
        inventory["hosts"] = self.inventory["hosts"][:HOSTS + 1] + list(extra_hosts)
        inventory["groups"] = {"web": [h["name"] for h in self.inventory["hosts"][:HOSTS]]}
        inventory_path = write_json(self.dir, "inventory.json", inventory)
        plan = write_json(self.dir, "plan.json", {"version": 1, "tasks": tasks})
        status, out, err = run_deployd([plan, "-i", inventory_path, "--output", "json",
                                        "--log-dir", os.path.join(self.dir, "logs")])
        return status, events_of(out), err

    def web(self):
        return [h["name"] for h in self.inventory["hosts"][:HOSTS]]

    def lb(self):
        return self.inventory["hosts"][HOSTS]

    def test_delegated_steps_run_on_the_delegate_for_each_host_on_one_shared_session(self):
        lb = self.lb()
        status, events, err = self.run_plan({"deploy": {"on": "web", "steps": [
            {"run": "echo {{host}} {{delegate}} $SSH_CONNECTION", "delegate_to": lb["name"],
             "name": "out of the pool"},
            {"run": "echo own $SSH_CONNECTION"}]}})
        self.assertEqual(status, 0, err)
        starts = [e for e in events if e["event"] == "step_start" and e["step"] == 0]
        self.assertEqual(sorted(e["host"] for e in starts), self.web())
        self.assertTrue(all(e.get("delegate") == lb["name"] for e in starts), starts)
        own_starts = [e for e in events if e["event"] == "step_start" and e["step"] == 1]
        self.assertTrue(all("delegate" not in e for e in own_starts), own_starts)
        lines = {e["host"]: e["line"].split() for e in events if e["event"] == "output" and e["step"] == 0}
        self.assertEqual(sorted(lines), self.web())
        for host, words in lines.items():
            # Attributed to the host it ran for, with its variables; run by lb's sshd.
            self.assertEqual(words[:2], [host, lb["name"]])
            self.assertEqual(words[4], lb["address"])
        # One session to lb, shared by every host: one client port.
        self.assertEqual(len({words[3] for words in lines.values()}), 1, lines)
        own = {e["host"]: e["line"].split() for e in events if e["event"] == "output" and e["step"] == 1}
        addresses = {h["name"]: h["address"] for h in self.inventory["hosts"]}
        for host, words in own.items():
            self.assertEqual(words[3], addresses[host])

    def test_delegated_steps_to_one_host_run_at_once_as_channels_up_to_max_sessions(self):
        # 11 hosts delegate a 1 s step to lb: ten (stock sshd's MaxSessions) run at once on lb's
        # one session (taking turns, they would start 1 s apart), the eleventh waits for a
        # channel and still succeeds. Start times are lb's clock, at each command's start.
        if len(self.inventory["hosts"]) < 12:
            self.skipTest("needs a fleet of 12 hosts")
        hosts = self.inventory["hosts"][:11]
        lb = self.inventory["hosts"][11]
        inventory = dict(self.inventory, hosts=hosts + [lb], groups={"web": [h["name"] for h in hosts]})
        inventory_path = write_json(self.dir, "inventory.json", inventory)
        plan = write_json(self.dir, "plan.json", {"version": 1, "tasks": {
            "deploy": {"on": "web", "steps": [
                {"run": "echo {{host}} $(date +%s.%N) $SSH_CONNECTION; sleep 1; echo done {{host}}",
                 "delegate_to": lb["name"]}]}}})
        status, out, err = run_deployd([plan, "-i", inventory_path, "--output", "json",
                                        "--log-dir", os.path.join(self.dir, "logs")])
        self.assertEqual(status, 0, err)
        events = events_of(out)
        lines = {}
        for e in events:
            if e["event"] == "output":
                lines.setdefault(e["host"], []).append(e["line"].split())
        names = sorted(h["name"] for h in hosts)
        self.assertEqual(sorted(lines), names)
        for host, (first, last) in lines.items():
            self.assertEqual(first[0], host)  # output attributed to the host it ran for
            self.assertEqual(last, ["done", host])
            self.assertEqual(first[4], lb["address"])
        self.assertEqual(len({first[3] for first, _ in lines.values()}), 1, lines)  # one session
        starts = sorted(float(first[1]) for first, _ in lines.values())
        self.assertLess(starts[9] - starts[0], 1.0, starts)  # ten at once
        self.assertGreaterEqual(starts[10] - starts[0], 1.0, starts)  # the eleventh waited
        self.assertLess(starts[10] + 1 - starts[0], 4.0, starts)  # about two steps' time, not 11
        ends = [e for e in events if e["event"] == "step_end"]
        self.assertEqual(sorted(e["host"] for e in ends if e["status"] == "ok"), names)

    def test_a_delegate_allowing_fewer_channels_runs_that_many_at_once_and_the_rest_later(self):
        # A private sshd like the fleet's with MaxSessions 3: of 6 delegated 1 s steps, 3 run at
        # once; the host refuses a fourth channel, and each waits for one to end (not an error).
        if len(self.inventory["hosts"]) < 7:
            self.skipTest("needs a fleet of 7 hosts")
        # A private sshd on .251 of the fleet's /24, beside its hosts.
        address, port = self.lb()["address"].rsplit(".", 1)[0] + ".251", self.lb()["port"]
        self.assertNotIn(address, [h["address"] for h in self.inventory["hosts"]])
        with open(os.path.join(self.fleet, "sshd", "01.conf")) as f:
            lines = [line for line in f.read().splitlines()
                     if not line.startswith(("ListenAddress", "PidFile", "MaxSessions"))]
        config = os.path.join(self.dir, "sshd_limited.conf")
        with open(config, "w") as f:
            f.write("ListenAddress %s:%d\nMaxSessions 3\nPidFile %s\n%s\n" % (
                address, port, os.path.join(self.dir, "sshd_limited.pid"), "\n".join(lines)))
        sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", config])
        try:
            for _ in range(100):
                with socket.socket() as probe:
                    if probe.connect_ex((address, port)) == 0:
                        break
                time.sleep(0.05)
            limited = {"name": "limited", "address": address, "port": port, "host_key_check": "off"}
            hosts = self.inventory["hosts"][:6]
            inventory = dict(self.inventory, hosts=hosts + [limited],
                             groups={"web": [h["name"] for h in hosts]})
            inventory_path = write_json(self.dir, "inventory.json", inventory)
            plan = write_json(self.dir, "plan.json", {"version": 1, "tasks": {
                "deploy": {"on": "web", "steps": [
                    {"run": "echo {{host}} $(date +%s.%N) $SSH_CONNECTION; sleep 1",
                     "delegate_to": "limited"}]}}})
            status, out, err = run_deployd([plan, "-i", inventory_path, "--output", "json",
                                            "--log-dir", os.path.join(self.dir, "logs")])
        finally:
            sshd.terminate()
            sshd.wait()
        self.assertEqual(status, 0, err)
        lines = {e["host"]: e["line"].split() for e in events_of(out) if e["event"] == "output"}
        self.assertEqual(sorted(lines), sorted(h["name"] for h in hosts))
        self.assertEqual(len({words[3] for words in lines.values()}), 1, lines)  # one session
        starts = sorted(float(words[1]) for words in lines.values())
        self.assertLess(starts[2] - starts[0], 1.0, starts)  # three at once
        self.assertGreaterEqual(starts[3] - starts[0], 1.0, starts)  # the fourth waited

    def test_delegate_to_local_runs_on_the_controller_with_the_host_variables(self):
        status, events, err = self.run_plan({"deploy": {"on": "web", "steps": [
            {"run": "echo {{host}} {{delegate}} $PWD", "delegate_to": "local"}]}})
        self.assertEqual(status, 0, err)
        lines = {e["host"]: e["line"] for e in events if e["event"] == "output"}
        # In the plan's folder: on the controller (a host's command starts in its home folder).
        self.assertEqual(lines, {h: "%s local %s" % (h, os.path.realpath(self.dir)) for h in self.web()})
        starts = [e for e in events if e["event"] == "step_start"]
        self.assertTrue(starts and all(e.get("delegate") == "local" for e in starts), starts)

    def test_a_delegate_that_cannot_connect_fails_the_step_of_each_host_with_the_reason(self):
        ghost = {"name": "ghost", "address": UNUSED_ADDRESS, "port": self.lb()["port"]}
        status, events, err = self.run_plan({"deploy": {"on": "web", "steps": [
            {"run": "true", "delegate_to": "ghost"}, {"run": "echo not reached"}]}}, [ghost])
        self.assertEqual(status, 1, err)
        ends = {e["host"]: e for e in events if e["event"] == "step_end" and e["step"] == 0}
        self.assertEqual(sorted(ends), self.web())
        for host, end in ends.items():
            self.assertEqual(end["status"], "failed")
            self.assertEqual(end["error"], 'deploy step 1 (run "true"): delegate_to "ghost": connect %s:%d: '
                             "connection refused" % (UNUSED_ADDRESS, ghost["port"]))
        self.assertEqual([e for e in events if e["event"] == "output"], [])

    def test_a_delegate_that_is_not_a_plan_host_is_a_load_error(self):
        status, events, err = self.run_plan({"deploy": {"on": "web", "steps": [
            {"run": "true", "delegate_to": self.lb()["name"] + "x"}]}})
        self.assertEqual(status, 2)
        self.assertEqual(events, [])
        self.assertIn('"delegate_to": unknown host "%sx" (did you mean "%s"?)' % (self.lb()["name"], self.lb()["name"]),
                      err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
