# SPDX-License-Identifier: MIT
"""Bastions (issue 7): targets that only jump hosts can reach, in network namespaces this test
makes (tests/integration/bastion_net.sh, as root), checked on JSON events."""
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import (SKIP, deployd_binary, events_of, fleet_dir, load_inventory,  # noqa: E402
                           run_deployd, write_json)

NET_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bastion_net.sh")
TARGETS = 100


def net(*args):
    subprocess.run([NET_SCRIPT] + list(args), check=True, capture_output=True)


def established_to(address, port):
    """TCP connections from this namespace to address:port now (ss from iproute2)."""
    out = subprocess.run(["ss", "-Htn", "state", "established", "dst", f"{address}:{port}"],
                         capture_output=True, text=True, check=True).stdout
    return len([line for line in out.splitlines() if line.strip()])


class Bastions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        main_fleet = fleet_dir()  # exits 77 (or fails) without a fleet, like every fleet test
        if os.geteuid() != 0:
            print("bastion tests need root (network namespaces)", file=sys.stderr)
            sys.exit(1 if os.environ.get("DEPLOYD_REQUIRE_FLEET") == "1" else SKIP)
        # A folder next to the main fleet (not under /tmp: sshd StrictModes); the port of the
        # main fleet keeps the namespaces of concurrent test runs apart.
        cls.dir = os.path.join(os.path.dirname(os.path.abspath(main_fleet)), "bastion-net")
        port = load_inventory(main_fleet)["hosts"][0].get("port", 22)
        net("down", cls.dir)
        fleet_script = os.environ.get("DEPLOYD_FLEET_SCRIPT", "")
        net("up", cls.dir, str(TARGETS), str(port), *([fleet_script] if fleet_script else []))
        with open(os.path.join(cls.dir, "bastion.json")) as f:
            cls.net = json.load(f)
        cls.inventory = load_inventory(cls.net["fleet"])
        cls.port = cls.net["port"]

    @classmethod
    def tearDownClass(cls):
        net("down", cls.dir)

    def plan(self, name, via, steps, count=TARGETS, extra_hosts=(), **defaults):
        targets = self.inventory["hosts"][:count]
        document = {
            "defaults": dict(self.inventory["defaults"], **defaults),
            "hosts": list(extra_hosts) + [dict(h, via=via) for h in targets],
            "tasks": {"t": {"on": [h["name"] for h in targets], "steps": steps}},
        }
        return write_json(self.dir, name, document)

    def hop(self, address):
        return f"deployd@{address}:{self.port}"

    def host_ends(self, out):
        return {e["host"]: e for e in events_of(out) if e["event"] == "host_end"}

    def test_the_controller_cannot_reach_the_targets_or_the_inner_bastion(self):
        for address in [self.inventory["hosts"][0]["address"], self.net["b1_behind_b0"]]:
            with self.assertRaises(OSError, msg=address):
                socket.create_connection((address, self.port), timeout=3).close()

    def test_100_targets_through_one_bastion_share_one_session(self):
        plan = self.plan("p100.json", [self.hop(self.net["b1"])],
                         [{"run": "echo via-{{host}}"}, {"run": "sleep 2"}])
        counts = []
        run = subprocess.Popen([deployd_binary(), plan, "--output", "json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        watcher = threading.Thread(target=lambda: [
            (counts.append(established_to(self.net["b1"], self.port)), time.sleep(0.1))
            for _ in range(40) if run.poll() is None])
        watcher.start()
        out, err = run.communicate(timeout=120)
        watcher.join()
        self.assertEqual(run.returncode, 0, err)
        events = events_of(out)
        self.assertEqual(events[-1]["counts"]["ok"], TARGETS)
        lines = {e["host"]: e["line"] for e in events if e["event"] == "output"}
        self.assertEqual(lines, {h["name"]: "via-" + h["name"] for h in self.inventory["hosts"]})
        self.assertEqual(max(counts), 1, "one TCP connection to the bastion for every target")

    def test_bulk_traffic_both_ways_on_many_tunnels_does_not_stall(self):
        # A stress test of the pump (its race is not reproduced on demand): a pump that sleeps
        # on the bastion's socket while input it already read sits in libssh2's packet list
        # waits for the next packet; with keepalives off, forever.
        payload = os.urandom(1 << 20)
        source = os.path.join(self.dir, "bulk.bin")
        with open(source, "wb") as f:
            f.write(payload)
        plan = self.plan("pbulk.json", [self.hop(self.net["b1"])],
                         [{"put": source, "to": "/tmp/bulk-{{host}}.bin"},
                          {"run": "seq 10000; sha256sum < /tmp/bulk-{{host}}.bin; "
                                  "rm /tmp/bulk-{{host}}.bin"}],
                         count=30, keepalive=0)
        status, out, err = run_deployd([plan, "--output", "json"], timeout=120)
        self.assertEqual(status, 0, err)
        digest = hashlib.sha256(payload).hexdigest()
        lines = {}
        for event in events_of(out):
            if event["event"] == "output":
                lines.setdefault(event["host"], []).append(event["line"])
        self.assertEqual(len(lines), 30)
        for host, seen in lines.items():
            self.assertEqual(seen[:10000], [str(n) for n in range(1, 10001)], host)
            self.assertEqual(seen[10000:], [f"{digest}  -"], host)

    def test_two_hops_the_second_bastion_reached_through_the_first(self):
        inner = {"name": "inner", "address": self.net["b1_behind_b0"], "port": self.port}
        plan = self.plan("p2.json", [self.hop(self.net["b0"]), "inner"],
                         [{"run": "echo two-hops"}], count=20, extra_hosts=[inner])
        status, out, err = run_deployd([plan, "--output", "json"], timeout=120)
        self.assertEqual(status, 0, err)
        ends = self.host_ends(out)
        self.assertEqual(len(ends), 20)
        self.assertTrue(all(e["status"] == "ok" for e in ends.values()), ends)

    def test_a_bastion_with_a_wrong_host_key_fails_its_targets_naming_it(self):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        os.path.join(self.dir, "other_key")], check=True, input=b"y\n",
                       capture_output=True)
        with open(os.path.join(self.dir, "other_key.pub")) as f:
            other = " ".join(f.read().split()[:2])
        bastion = f"[{self.net['b1']}]:{self.port}"
        known = os.path.join(self.dir, "known_hosts_wrong")
        with open(self.inventory["defaults"]["known_hosts"]) as f, open(known, "w") as out:
            for line in f:
                out.write(f"{bastion} {other}\n" if line.startswith(bastion + " ") else line)
        plan = self.plan("pkey.json", [self.hop(self.net["b1"])], [{"run": "true"}], count=10,
                         known_hosts=known)
        status, out, err = run_deployd([plan, "--output", "json"], timeout=120)
        self.assertEqual(status, 1, err)
        ends = self.host_ends(out)
        self.assertEqual(len(ends), 10)
        for end in ends.values():
            self.assertEqual(end["status"], "unreachable")
            self.assertIn(f'jump host "{self.hop(self.net["b1"])}"', end["error"])
            self.assertIn("does not match", end["error"])

    def test_an_unreachable_bastion_or_target_is_named_in_the_reason(self):
        closed = "deployd@127.0.0.1:1"  # nothing listens on port 1 of the controller
        plan = self.plan("pdown.json", [closed], [{"run": "true"}], count=3)
        status, out, err = run_deployd([plan, "--output", "json"], timeout=120)
        self.assertEqual(status, 1, err)
        for end in self.host_ends(out).values():
            self.assertEqual(end["status"], "unreachable")
            self.assertIn(f'jump host "{closed}": connect 127.0.0.1:1: connection refused', end["error"])
        ghost = {"name": "ghost", "address": "127.0.71.250", "port": self.port,
                 "via": [self.hop(self.net["b1"])]}
        document = {"defaults": self.inventory["defaults"], "hosts": [ghost],
                    "tasks": {"t": {"steps": [{"run": "true"}]}}}
        status, out, err = run_deployd([write_json(self.dir, "pghost.json", document), "--output",
                                        "json"], timeout=120)
        self.assertEqual(status, 1, err)
        self.assertEqual(self.host_ends(out)["ghost"]["error"],
                         f"tunnel to 127.0.71.250:{self.port}: channel open failure (connect failed)"
                         f' (via jump host "{self.hop(self.net["b1"])}") (3 attempts)')

    def test_a_bastion_that_dies_mid_run_fails_its_targets_and_the_run_ends(self):
        plan = self.plan("pdie.json", [self.hop(self.net["b1"])],
                         [{"run": "echo started"}, {"run": "sleep 60"}, {"run": "echo after"}],
                         count=20)
        run = subprocess.Popen([deployd_binary(), plan, "--output", "json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            started = set()
            lines = []
            while len(started) < 20:  # every host is inside `sleep 60`
                line = run.stdout.readline()
                self.assertTrue(line, "the run ended before every host started sleeping")
                lines.append(line)
                event = json.loads(line)
                if event["event"] == "step_start" and event["step"] == 1:
                    started.add(event["host"])
            killed = time.monotonic()
            net("kill-bastion", self.net["b1_pid_file"])
            out, err = run.communicate(timeout=30)
            self.assertLess(time.monotonic() - killed, 10, "the run must end soon after")
        finally:
            if run.poll() is None:
                run.kill()
            net("start-b1", self.dir)
        self.assertEqual(run.returncode, 1, err)
        ends = self.host_ends("".join(lines) + out)
        self.assertEqual(len(ends), 20)
        for end in ends.values():
            self.assertEqual(end["status"], "failed")
            self.assertIn(f'jump host "{self.hop(self.net["b1"])}" lost', end["error"])
        self.assertNotIn('"after"', out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
