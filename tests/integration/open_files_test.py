#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""1000 hosts under `ulimit -n 256` (issue 9): hosts queue, nothing runs out of descriptors.

The 1000 hosts are names over the fleet's addresses (round robin), each its own SSH session to
a real sshd. A barrier holds every host that has run its first task until all have: with more
hosts than descriptors, those waiting must give their session back and connect again.
"""
import os
import subprocess
import tempfile
import time
import unittest

from fleet_support import FleetTestCase, events_of, write_json

HOSTS = 1000
LIMIT = 256


def open_descriptors(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class OpenFilesLimitTest(FleetTestCase):
    def inventory_of_many(self, count):
        fleet_hosts = self.inventory["hosts"]
        hosts = []
        for i in range(count):
            real = fleet_hosts[i % len(fleet_hosts)]
            hosts.append({"name": "h%04d" % (i + 1), "address": real["address"], "port": real["port"]})
        return write_json(self.dir, "inventory-%d.json" % count,
                          {"defaults": self.inventory["defaults"], "hosts": hosts})

    def test_1000_hosts_under_ulimit_256_queue_and_all_succeed_through_a_barrier(self):
        plan = write_json(self.dir, "plan.json", {"tasks": {
            "first": {"steps": [{"run": "echo first {{host}}"}]},
            "second": {"needs": ["first"], "barrier": True, "steps": [{"run": "echo second {{host}}"}]}}})
        command = ["bash", "-c", 'ulimit -n %d && exec "$@"' % LIMIT, "bash", os.environ["DEPLOYD"], plan,
                   "-i", self.inventory_of_many(HOSTS), "--output", "json", "--log-dir", self.dir + "/logs"]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            run = subprocess.Popen(command, stdout=out, stderr=err)
            most_open, deadline = 0, time.monotonic() + 540
            while run.poll() is None and time.monotonic() < deadline:
                try:
                    most_open = max(most_open, open_descriptors(run.pid))
                except FileNotFoundError:
                    break
                time.sleep(0.02)
            if run.poll() is None:
                run.kill()
                self.fail("deployd did not finish %d hosts in 9 minutes" % HOSTS)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(), err.read().decode()

        self.assertEqual(run.returncode, 0, stderr[-3000:])
        self.assertIn("deployd: warning: the open files limit (RLIMIT_NOFILE, hard limit included) is 256: "
                      "working on at most 64 hosts at once instead of 256", stderr)
        self.assertNotIn("too many open files", stdout + stderr)
        self.assertLessEqual(most_open, LIMIT)
        events = events_of(stdout)
        ends = {e["host"]: e["status"] for e in events if e["event"] == "host_end"}
        self.assertEqual(len(ends), HOSTS)
        self.assertEqual(set(ends.values()), {"ok"})
        # Every host's output is its own, in both tasks: no session mixed up by reconnecting.
        lines = {(e["host"], e["line"]) for e in events if e["event"] == "output"}
        for i in range(1, HOSTS + 1):
            host = "h%04d" % i
            self.assertIn((host, "first " + host), lines)
            self.assertIn((host, "second " + host), lines)


if __name__ == "__main__":
    unittest.main()
