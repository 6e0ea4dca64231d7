# SPDX-License-Identifier: MIT
"""Issue 4 end to end: put and get on the real fleet, checksums, mode, unchanged, faults."""
import glob
import hashlib
import os
import pwd
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, descendants_of, events_of, run_deployd, write_json  # noqa: E402

HOSTS = 50
LOGIN = "deployd"  # the fleet's login user
FLEET_SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "fleet")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_random(path, size):
    with open(path, "wb") as f:
        left = size
        while left > 0:
            chunk = min(left, 1 << 20)
            f.write(os.urandom(chunk))
            left -= chunk
    return path


class Transfer(FleetTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        os.chmod(cls.dir, 0o755)  # the login user must reach the remote folders inside
        cls.remote = os.path.join(cls.dir, "remote")
        cls.user = pwd.getpwnam(LOGIN)
        cls.owned_folder(cls.remote)

    @classmethod
    def owned_folder(cls, path):
        os.makedirs(path, exist_ok=True)
        os.chown(path, cls.user.pw_uid, cls.user.pw_gid)
        return path

    def listener_of(self, host):
        """The PID of the fleet's sshd that serves `host`."""
        return int(subprocess.run([FLEET_SCRIPT, "pids", self.fleet, host], capture_output=True,
                                  text=True, check=True).stdout.split()[0])

    def inventory_of(self, count):
        inventory = dict(self.inventory)
        inventory["hosts"] = self.inventory["hosts"][:count]
        inventory["groups"] = {}
        return write_json(self.dir, "inventory.json", inventory)

    def run_plan(self, steps, hosts=HOSTS, name="plan.json"):
        plan = write_json(self.dir, name, {"version": 1, "tasks": {"t": {"steps": steps}}})
        status, out, err = run_deployd([plan, "-i", self.inventory_of(hosts), "--output", "json",
                                        "--log-dir", os.path.join(self.dir, "logs")], timeout=600)
        return status, (events_of(out) if status != 2 else []), err

    def ends(self, events, step):
        return [e for e in events if e["event"] == "step_end" and e["step"] == step]

    def names(self, count=HOSTS):
        return [h["name"] for h in self.inventory["hosts"][:count]]

    def assert_no_temp_files(self, folder):
        self.assertEqual(glob.glob(os.path.join(folder, "**", ".*.deployd-*.tmp"), recursive=True), [])

    def test_files_of_1k_0_and_50m_reach_50_hosts_whole_then_are_unchanged(self):
        sources = {"small": write_random(os.path.join(self.dir, "small.bin"), 1024),
                   "empty": write_random(os.path.join(self.dir, "empty.bin"), 0),
                   "big": write_random(os.path.join(self.dir, "big.bin"), 50 << 20)}
        target = self.remote + "/{{host}}"
        steps = [{"run": "mkdir -p " + target},
                 {"put": "small.bin", "to": target + "/small", "mode": "0640"},
                 {"put": "empty.bin", "to": target + "/empty"},
                 {"put": "big.bin", "to": target + "/big", "mode": "0600"}]
        status, events, err = self.run_plan(steps)
        self.assertEqual(status, 0, err)
        for step, (name, size) in ((1, ("small", 1024)), (2, ("empty", 0)), (3, ("big", 50 << 20))):
            ends = self.ends(events, step)
            self.assertEqual(len(ends), HOSTS)
            for end in ends:
                self.assertEqual(end["status"], "ok", end)
                self.assertEqual(end["transfer"]["bytes"], size, end)
                self.assertFalse(end["transfer"]["unchanged"], end)
        # A transfer that lasts seconds reports its progress, in bytes that only grow.
        progress = [e for e in events if e["event"] == "progress" and e["step"] == 3]
        self.assertTrue(progress, "no progress event for 50 MiB to %d hosts" % HOSTS)
        for event in progress:
            self.assertEqual(event["total"], 50 << 20)
            self.assertLessEqual(event["bytes"], event["total"])
            self.assertGreater(event["bytes_per_second"], 0)
        expected = {name: sha256(path) for name, path in sources.items()}
        for host in self.names():
            for name, digest in expected.items():
                path = os.path.join(self.remote, host, name)
                self.assertEqual(sha256(path), digest, path)
            self.assertEqual(os.stat(os.path.join(self.remote, host, "small")).st_mode & 0o777, 0o640)
            self.assertEqual(os.stat(os.path.join(self.remote, host, "big")).st_mode & 0o777, 0o600)
        self.assert_no_temp_files(self.remote)

        # The same run again: every file is already there.
        status, events, err = self.run_plan(steps)
        self.assertEqual(status, 0, err)
        for step in (1, 2, 3):
            for end in self.ends(events, step):
                self.assertTrue(end["transfer"]["unchanged"], end)
                self.assertEqual(end["transfer"]["bytes"], 0, end)

        # get from every host into a local folder per host, created on the way.
        got = os.path.join(self.dir, "got")
        status, events, err = self.run_plan([{"get": target + "/small", "to": "got/{{host}}/small"}])
        self.assertEqual(status, 0, err)
        for host in self.names():
            self.assertEqual(sha256(os.path.join(got, host, "small")), expected["small"], host)
        self.assert_no_temp_files(got)

    def test_a_get_into_one_path_from_two_hosts_is_a_plan_error(self):
        status, _, err = self.run_plan([{"get": "/etc/hostname", "to": "got/one"}], hosts=2)
        self.assertEqual(status, 2)
        self.assertIn("would both write \"got/one\"", err)

    def test_a_missing_local_file_is_a_plan_error_before_connecting(self):
        status, _, err = self.run_plan([{"put": "no-such-file.tgz", "to": "/tmp/x"}])
        self.assertEqual(status, 2)
        self.assertIn("/tasks/t/steps/0/put: local file \"no-such-file.tgz\" does not exist", err)

    def fault(self, to, source, expected):
        status, events, err = self.run_plan([{"put": source, "to": to}], hosts=1)
        self.assertEqual(status, 1, err)
        end = self.ends(events, 0)[0]
        self.assertEqual(end["status"], "failed")
        self.assertIn(expected, end["error"])
        self.assertFalse(os.path.exists(to))
        return end

    def test_a_missing_remote_folder_fails_the_host_naming_the_folder(self):
        write_random(os.path.join(self.dir, "f.bin"), 10)
        self.fault(self.remote + "/absent/f", "f.bin",
                   "put \"%s/absent/f\": remote folder \"%s/absent\" does not exist" % (self.remote, self.remote))

    def test_permission_denied_names_the_path(self):
        write_random(os.path.join(self.dir, "f.bin"), 10)
        locked = os.path.join(self.dir, "locked")
        os.makedirs(locked, exist_ok=True)  # root's, 0755: the login user cannot write in it
        end = self.fault(locked + "/f", "f.bin", "permission denied")
        self.assertIn(locked + "/f", end["error"])

    def test_a_full_remote_disk_fails_and_leaves_nothing(self):
        full = os.path.join(self.dir, "full")
        os.makedirs(full, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", full], check=True)
        try:
            os.chown(full, self.user.pw_uid, self.user.pw_gid)
            write_random(os.path.join(self.dir, "two_mib.bin"), 2 << 20)
            end = self.fault(full + "/f", "two_mib.bin", "put \"%s/f\"" % full)
            self.assertIn("disk may be full", end["error"])
            self.assertEqual(os.listdir(full), [])  # the temporary file was removed
        finally:
            subprocess.run(["umount", full], check=True)

    def test_a_dropped_connection_fails_the_host_and_leaves_the_destination_untouched(self):
        source = write_random(os.path.join(self.dir, "huge.bin"), 300 << 20)
        # Outside self.remote: the temporary file may stay (the session that could remove it is gone).
        folder = self.owned_folder(os.path.join(self.dir, "drop"))
        target = os.path.join(folder, "f")
        with open(target, "w") as f:
            f.write("old")
        os.chown(target, self.user.pw_uid, self.user.pw_gid)
        host = self.names(1)[0]
        # A host of another sshd runs meanwhile: only the victim's connection processes are killed.
        other = self.inventory["hosts"][-1]["name"]
        self.assertNotEqual(self.listener_of(other), self.listener_of(host), "the fleet has one sshd")
        inventory = write_json(self.dir, "drop-inventory.json", dict(
            self.inventory, hosts=[self.inventory["hosts"][0], self.inventory["hosts"][-1]], groups={}))
        plan = write_json(self.dir, "drop.json", {"version": 1, "tasks": {
            "t": {"on": host, "steps": [{"put": source, "to": target}]},
            "u": {"on": other, "steps": [{"run": "sleep 2; echo fine"}]}}})
        started = time.time()
        run = subprocess.Popen([os.environ["DEPLOYD"], plan, "-i", inventory, "--output", "json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while time.time() < deadline:
            temps = glob.glob(os.path.join(folder, ".f.deployd-*.tmp"))
            if temps and os.path.getsize(temps[0]) > (1 << 20):
                break
            time.sleep(0.005)
        self.assertTrue(temps, "the upload never started")
        # The connection's sshd processes (privileged monitor, session, sftp-server) all go.
        for pid in descendants_of(self.listener_of(host)):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        out, err = run.communicate(timeout=120)
        self.assertLess(time.time() - started, 100)
        self.assertEqual(run.returncode, 1, err)
        events = events_of(out.decode())
        [end] = [e for e in self.ends(events, 0) if e["host"] == host]
        self.assertEqual(end["status"], "failed")
        self.assertIn("put \"%s\"" % target, end["error"])
        self.assertRegex(end["error"], r"\.tmp\": connection lost: (send|receive) failed ")
        ends = {e["host"]: e for e in events if e["event"] == "host_end"}
        self.assertEqual((ends[host]["status"], ends[host]["error"]), ("failed", end["error"]))
        self.assertEqual(ends[other]["status"], "ok")
        self.assertEqual(events[-1]["exit_code"], 1)
        with open(target) as f:
            self.assertEqual(f.read(), "old")


if __name__ == "__main__":
    unittest.main()
