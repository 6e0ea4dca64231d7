# SPDX-License-Identifier: MIT
"""Issue "Core" end to end: deployd against the real sshd fleet, checked on JSON events."""
import collections
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import (FleetTestCase, TcpListener, events_of, generate_key,  # noqa: E402
                           run_deployd, write_json)

HOSTS = 100


class CoreRun(FleetTestCase):
    def plan(self, tasks, hosts=None, **extra):
        document = {"version": 1, "tasks": tasks}
        if hosts is not None:
            document["hosts"] = hosts
        document.update(extra)
        return write_json(self.dir, "plan.json", document)

    def fleet_inventory(self, count):
        inventory = dict(self.inventory)
        inventory["hosts"] = self.inventory["hosts"][:count]
        inventory["groups"] = {}
        return write_json(self.dir, "inventory.json", inventory)

    def test_three_steps_on_100_hosts_every_line_checked(self):
        self.assertGreaterEqual(len(self.inventory["hosts"]), HOSTS, "the fleet is too small")
        plan = self.plan({"check": {"steps": [
            {"run": "echo out-{{host}}; echo second-{{host}}"},
            {"run": "echo err-{{host}} >&2; echo out2"},
            {"run": "printf 'no newline at end'", "name": "tail"}]}})
        status, out, err = run_deployd([plan, "-i", self.fleet_inventory(HOSTS), "--output", "json",
                                        "--log-dir", os.path.join(self.dir, "logs")])
        self.assertEqual(status, 0, err)
        events = events_of(out)
        self.assertEqual(events[0]["event"], "run_start")
        self.assertEqual(events[0]["hosts"], HOSTS)
        self.assertEqual(events[-1]["event"], "run_end")
        self.assertEqual(events[-1]["counts"]["ok"], HOSTS)
        lines = collections.defaultdict(list)
        for event in events:
            if event["event"] == "output":
                lines[event["host"]].append((event["step"], event["stream"], event["line"]))
        self.assertEqual(len(lines), HOSTS)
        for host, got in lines.items():
            # Order holds within a stream; stdout and stderr are separate pipes on the host.
            self.assertEqual([g for g in got if g[1] == "stdout"],
                             [(0, "stdout", "out-" + host), (0, "stdout", "second-" + host),
                              (1, "stdout", "out2"), (2, "stdout", "no newline at end")], host)
            self.assertEqual([g for g in got if g[1] == "stderr"], [(1, "stderr", "err-" + host)], host)
        ends = [e for e in events if e["event"] == "step_end"]
        self.assertEqual(len(ends), 3 * HOSTS)
        self.assertTrue(all(e["status"] == "ok" and e["exit_status"] == 0 for e in ends))

    def test_exit_status_and_exit_signal_are_reported(self):
        plan = self.plan({"t": {"steps": [{"run": "exit 3", "ignore_errors": True},
                                          {"run": "kill -KILL $$"}]}})
        status, out, err = run_deployd([plan, "-i", self.fleet_inventory(1), "--output", "json"])
        self.assertEqual(status, 1, err)
        ends = [e for e in events_of(out) if e["event"] == "step_end"]
        self.assertEqual((ends[0]["status"], ends[0]["exit_status"]), ("failed", 3))
        self.assertIs(ends[0].get("ignored"), True)  # ignore_errors: the host went on
        self.assertEqual((ends[1]["status"], ends[1]["exit_status"]), ("failed", None))
        self.assertNotIn("ignored", ends[1])
        self.assertEqual(ends[1]["exit_signal"], "KILL")
        self.assertIn("killed by signal KILL", ends[1]["error"])

    def test_stdin_is_closed_and_the_process_list_shows_no_value(self):
        # Issue 14 bug 3: `cat` waited on stdin until the timeout. Issue 16 #7: env values and
        # commands were in the remote `sh -c` argument, readable by every user with ps.
        token = "envtok-%d" % os.getpid()
        plan = self.plan({"t": {"steps": [
            {"run": "cat; read -r line || echo done", "timeout": "120s"},
            {"run": "tr '\\0' ' ' </proc/$$/cmdline; echo; ps -eo args", "env": {"TOKEN": token}},
            {"run": "echo \"$TOKEN\" | wc -c", "env": {"TOKEN": token}, "sudo": False},
            {"cd": "~/", "steps": [{"run": "pwd -P"}]},
            {"run": "cd ~ && pwd -P"}]}})
        status, out, err = run_deployd([plan, "-i", self.fleet_inventory(1), "--output", "json"])
        self.assertEqual(status, 0, err)
        events = events_of(out)
        by_step = collections.defaultdict(list)
        for event in events:
            if event["event"] == "output" and event["stream"] == "stdout":
                by_step[event["step"]].append(event["line"])
        self.assertEqual(by_step[0], ["done"])
        self.assertEqual(by_step[1][0], "sh -s ")
        self.assertFalse([line for line in by_step[1] if token in line], by_step[1])
        self.assertEqual(by_step[2], [str(len(token) + 1)])
        self.assertEqual(by_step[3], by_step[4])

    def test_each_connection_failure_fails_only_its_host(self):
        good = self.inventory["hosts"][:3]
        wrong_key = generate_key(self.dir, "wrong_host_key")
        with open(wrong_key + ".pub") as f:
            key_type, key_text = f.read().split()[:2]
        victim = good[1]
        bad_known_hosts = os.path.join(self.dir, "known_hosts_wrong")
        with open(bad_known_hosts, "w") as f:
            f.write("[%s]:%d %s %s\n" % (victim["address"], victim["port"], key_type, key_text))
        stranger = generate_key(self.dir, "stranger_key")
        silent = TcpListener()
        try:
            hosts = list(good) + [
                {"name": "closed-port", "address": "127.0.11.250", "port": 2},
                {"name": "silent", "address": silent.address, "port": silent.port, "connect_timeout": "1s"},
                {"name": "wrong-host-key", "address": victim["address"], "port": victim["port"],
                 "known_hosts": bad_known_hosts},
                {"name": "not-authorized", "address": victim["address"], "port": victim["port"],
                 "identity": stranger},
            ]
            inventory = dict(self.inventory, hosts=hosts, groups={})
            status, out, err = run_deployd([self.plan({"t": {"steps": [{"run": "echo ok"}]}}),
                                            "-i", write_json(self.dir, "inv.json", inventory),
                                            "--output", "json"], timeout=60)
        finally:
            silent.close()
        self.assertEqual(status, 1, err)
        ends = {e["host"]: e for e in events_of(out) if e["event"] == "host_end"}
        for host in good:
            self.assertEqual(ends[host["name"]]["status"], "ok")
        self.assertEqual(ends["closed-port"]["status"], "unreachable")
        self.assertEqual(ends["closed-port"]["error"],
                         "connect 127.0.11.250:2: connection refused (3 attempts)")
        self.assertEqual(ends["silent"]["status"], "unreachable")
        self.assertIn("timed out", ends["silent"]["error"])
        self.assertIn("host key", ends["wrong-host-key"]["error"])
        self.assertIn("does not match", ends["wrong-host-key"]["error"])
        self.assertIn("authentication failed", ends["not-authorized"]["error"])
        self.assertIn(stranger, ends["not-authorized"]["error"])

    def test_password_from_password_env_logs_in_when_no_key_is_authorized(self):
        with open(os.path.join(self.fleet, "password")) as f:
            password = f.read().strip()
        host = self.inventory["hosts"][0]
        stranger = generate_key(self.dir, "no_such_key")
        login = {"address": host["address"], "port": host["port"], "user": "deployd-pw",
                 "identity": stranger}
        hosts = [dict(login, name="by-password", password_env="FLEET_PASSWORD"),
                 dict(login, name="unset-variable", password_env="NO_SUCH_VARIABLE")]
        inventory = write_json(self.dir, "inv-pw.json", dict(self.inventory, hosts=hosts, groups={}))
        plan = self.plan({"t": {"steps": [{"run": "whoami"}]}})
        env = dict(os.environ, FLEET_PASSWORD=password)
        env.pop("NO_SUCH_VARIABLE", None)
        status, out, err = run_deployd([plan, "-i", inventory, "--output", "json"], env=env)
        self.assertEqual(status, 1, err)
        events = events_of(out)
        ends = {e["host"]: e for e in events if e["event"] == "host_end"}
        self.assertEqual(ends["by-password"]["status"], "ok")
        self.assertIn({"event": "output", "host": "by-password", "task": "t", "step": 0,
                       "stream": "stdout", "line": "deployd-pw"},
                      [{k: v for k, v in e.items() if k != "time"} for e in events])
        self.assertEqual(ends["unset-variable"]["status"], "unreachable")
        self.assertIn('"NO_SUCH_VARIABLE"', ends["unset-variable"]["error"])
        self.assertNotIn(password, out + err)

    def test_stream_output_prefixes_every_line_and_ends_with_a_summary(self):
        plan = self.plan({"t": {"steps": [{"run": "echo hi; echo oops >&2"}]}})
        status, out, err = run_deployd([plan, "-i", self.fleet_inventory(3)])
        self.assertEqual(status, 0, err)
        # As pdsh: the hosts' stdout on stdout, their stderr and the summary on stderr (issue 19).
        self.assertEqual(sorted(out.splitlines()), ["%s | hi" % h["name"] for h in self.inventory["hosts"][:3]])
        for host in self.inventory["hosts"][:3]:
            self.assertIn("%s ! oops\n" % host["name"], err)
        self.assertIn("deployd: 3 hosts: 3 ok in ", err)

    def test_an_invalid_plan_exits_2_and_connects_nowhere(self):
        plan = self.plan({"t": {"steps": [{"rn": "echo"}]}}, hosts=["127.0.11.251"])
        status, out, err = run_deployd([plan])
        self.assertEqual(status, 2)
        self.assertIn('unknown key "rn" (did you mean "run"?)', err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
