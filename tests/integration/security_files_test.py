# SPDX-License-Identifier: MIT
"""Issue 16 (security round 2), the file system side: each test plays the attack and shows it
failing. Temporary files followed as symlinks, `get` of devices, FIFOs and oversized files, the
mode of fetched files, a foreign run log folder, two hosts getting into one path, a full disk
under the run log, stdout closed at start, and escapes that could be misread."""
import glob
import json
import os
import pwd
import shlex
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, deployd_binary, run_deployd, write_json  # noqa: E402

LOGIN = "deployd"  # the fleet's login user
NOBODY = pwd.getpwnam("nobody")


def events_in(folder):
    """The events of the only run in the run log folder `folder`, parsed line by line."""
    runs = [d for d in os.listdir(folder) if not d.startswith(".")]
    assert len(runs) == 1, runs
    with open(os.path.join(folder, runs[0], "events.jsonl"), "rb") as f:
        return [json.loads(line) for line in f.read().splitlines()]


class SecurityFiles(FleetTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        os.chmod(cls.dir, 0o755)  # the login user must reach the remote folders inside
        cls.user = pwd.getpwnam(LOGIN)
        cls.count = 0

    def setUp(self):
        SecurityFiles.count += 1
        self.work = os.path.join(self.dir, "case%d" % self.count)
        os.makedirs(self.work)
        os.chmod(self.work, 0o755)
        self.remote = os.path.join(self.work, "remote")
        self.owned_folder(self.remote)

    def owned_folder(self, path):
        os.makedirs(path, exist_ok=True)
        os.chown(path, self.user.pw_uid, self.user.pw_gid)
        return path

    def owned_file(self, path, data, mode):
        with open(path, "wb") as f:
            f.write(data)
        os.chown(path, self.user.pw_uid, self.user.pw_gid)
        os.chmod(path, mode)
        return path

    def inventory_of(self, count):
        inventory = dict(self.inventory)
        inventory["hosts"] = inventory["hosts"][:count]
        inventory["groups"] = {}
        return write_json(self.work, "inventory.json", inventory)

    def names(self, count):
        return [h["name"] for h in self.inventory["hosts"][:count]]

    def run_plan(self, steps, hosts=1, extra=(), log_dir=None):
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {"t": {"steps": steps}}})
        self.log_dir = log_dir or os.path.join(self.work, "logs")
        return run_deployd([plan, "-i", self.inventory_of(hosts), "--log-dir", self.log_dir] + list(extra))

    def step_errors(self):
        return [e["error"] for e in events_in(self.log_dir) if e["event"] == "step_end" and e["error"]]

    # 1. Temporary files at predictable names, planted as symlinks.

    def test_put_never_writes_through_a_symlink_planted_at_the_temporary_name(self):
        # The victim belongs to the login user, as a root-owned file would to a root login.
        victim = self.owned_file(os.path.join(self.work, "victim"), b"precious\n", 0o600)
        with open(os.path.join(self.work, "app.conf"), "w") as f:
            f.write("new config\n")
        target = os.path.join(self.remote, "app.conf")
        # The old name, `.app.conf.deployd-RUNID.tmp`, is planted before the put: the run id is easy
        # to learn (releases/{{run.id}}, ps). A local step plants it, knowing the run id.
        planted = os.path.join(self.remote, ".app.conf.deployd-{{run.id}}.tmp")
        status, out, err = self.run_plan([
            {"local": "ln -s %s %s" % (victim, planted)},
            {"put": "app.conf", "to": target, "mode": "0644"}])
        self.assertEqual(status, 0, out + err)
        with open(victim, "rb") as f:
            self.assertEqual(f.read(), b"precious\n")
        self.assertEqual(stat.S_IMODE(os.stat(victim).st_mode), 0o600)
        with open(target) as f:
            self.assertEqual(f.read(), "new config\n")
        self.assertFalse(os.path.islink(target))
        links = glob.glob(os.path.join(self.remote, ".app.conf.deployd-*.tmp"))
        self.assertEqual([os.path.islink(p) for p in links], [True])  # the planted one, unused

    def test_put_replaces_a_symlink_at_the_target_and_never_chmods_through_it(self):
        victim = self.owned_file(os.path.join(self.work, "victim"), b"same\n", 0o600)
        with open(os.path.join(self.work, "same"), "wb") as f:
            f.write(b"same\n")
        target = os.path.join(self.remote, "same")
        os.symlink(victim, target)  # same content: the old code chmod'ed the victim and said unchanged
        status, out, err = self.run_plan([{"put": "same", "to": target, "mode": "0666"}])
        self.assertEqual(status, 0, out + err)
        self.assertEqual(stat.S_IMODE(os.stat(victim).st_mode), 0o600)
        self.assertFalse(os.path.islink(target))
        self.assertEqual(stat.S_IMODE(os.stat(target).st_mode), 0o666)

    def test_get_never_writes_through_a_symlink_planted_at_the_local_temporary_name(self):
        victim = os.path.join(self.work, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        os.chmod(victim, 0o600)
        source = self.owned_file(os.path.join(self.remote, "log"), b"remote log\n", 0o644)
        os.makedirs(os.path.join(self.work, "got"))
        status, out, err = self.run_plan([
            {"local": "ln -s %s got/.log.deployd-{{run.id}}.tmp" % victim},
            {"get": source, "to": "got/log"}])
        self.assertEqual(status, 0, out + err)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious\n")
        self.assertEqual(stat.S_IMODE(os.stat(victim).st_mode), 0o600)
        with open(os.path.join(self.work, "got", "log")) as f:
            self.assertEqual(f.read(), "remote log\n")

    # 5. get of what is not a regular file, and of too much.

    def test_get_refuses_devices_symlinks_to_them_and_fifos_and_leaves_nothing(self):
        os.symlink("/dev/zero", os.path.join(self.remote, "zero"))
        os.mkfifo(os.path.join(self.remote, "fifo"))
        os.chown(os.path.join(self.remote, "fifo"), self.user.pw_uid, self.user.pw_gid)
        # The timeout only bounds a failure of this test: a FIFO is refused without opening it.
        status, out, err = self.run_plan([
            {"get": "/dev/zero", "to": "got/dev", "ignore_errors": True, "timeout": "60s"},
            {"get": self.remote + "/zero", "to": "got/zero", "ignore_errors": True, "timeout": "60s"},
            {"get": self.remote + "/fifo", "to": "got/fifo", "ignore_errors": True, "timeout": "60s"},
            {"get": self.remote, "to": "got/folder", "ignore_errors": True, "timeout": "60s"}])
        self.assertEqual(status, 0, out + err)
        self.assertEqual(self.step_errors(), [
            't step 1 (get "/dev/zero"): get "/dev/zero": the remote path is a character device, '
            'not a regular file',
            't step 2 (get "%s/zero"): get "%s/zero": the remote path is a character device, '
            'not a regular file' % (self.remote, self.remote),
            't step 3 (get "%s/fifo"): get "%s/fifo": the remote path is a FIFO, not a regular file'
            % (self.remote, self.remote),
            't step 4 (get "%s"): get "%s": the remote path is a folder, not a regular file'
            % (self.remote, self.remote)])
        self.assertEqual(os.listdir(os.path.join(self.work, "got")) if os.path.exists(
            os.path.join(self.work, "got")) else [], [])

    def test_get_refuses_a_file_larger_than_max_size(self):
        source = self.owned_file(os.path.join(self.remote, "big"), b"x" * 2000, 0o644)
        status, out, err = self.run_plan([
            {"get": source, "to": "got/big", "max_size": "1K", "ignore_errors": True},
            {"get": source, "to": "got/fits", "max_size": 2000}])
        self.assertEqual(status, 0, out + err)
        self.assertEqual(self.step_errors(), [
            't step 1 (get "%s"): get "%s": the remote file is 2000 bytes, more than "max_size" '
            '(1024 bytes)' % (source, source)])
        self.assertEqual(os.listdir(os.path.join(self.work, "got")), ["fits"])

    # 6. The mode of a fetched file.

    def test_get_keeps_the_remote_permission_bits_unless_mode_says_otherwise(self):
        self.owned_file(os.path.join(self.remote, "secret"), b"s\n", 0o600)
        self.owned_file(os.path.join(self.remote, "script"), b"#!/bin/sh\n", 0o4750)
        self.owned_file(os.path.join(self.remote, "public"), b"p\n", 0o600)
        old = os.umask(0o022)
        try:
            status, out, err = self.run_plan([
                {"get": self.remote + "/secret", "to": "got/secret"},
                {"get": self.remote + "/script", "to": "got/script"},
                {"get": self.remote + "/public", "to": "got/public", "mode": "0644"}])
        finally:
            os.umask(old)
        self.assertEqual(status, 0, out + err)
        mode = {name: stat.S_IMODE(os.stat(os.path.join(self.work, "got", name)).st_mode)
                for name in ("secret", "script", "public")}
        self.assertEqual(mode, {"secret": 0o600, "script": 0o750, "public": 0o644})

    # 9. A run log folder that another user owns or can write.

    def test_a_foreign_or_shared_run_log_folder_is_refused_saying_how_to_fix_it(self):
        steps = [{"run": "true"}]
        foreign = os.path.join(self.work, "foreign")
        os.makedirs(foreign)
        os.chown(foreign, NOBODY.pw_uid, NOBODY.pw_gid)  # as if `nobody` had made it first
        status, out, err = self.run_plan(steps, log_dir=foreign)
        self.assertEqual(status, 2, out + err)
        self.assertIn('deployd: error: run log folder "%s" belongs to uid %d (nobody), not to you '
                      '(uid 0): another user could forge or redirect the run log: remove it '
                      '(choose another folder with --log-dir)' % (foreign, NOBODY.pw_uid), err)
        self.assertEqual(os.listdir(foreign), [])

        shared = os.path.join(self.work, "shared")
        os.makedirs(shared)
        os.chmod(shared, 0o777)
        status, out, err = self.run_plan(steps, log_dir=shared)
        self.assertEqual(status, 2, out + err)
        self.assertIn('run log folder "%s" is writable by other users (mode 0777): fix it with '
                      '`chmod go-w "%s"`' % (shared, shared), err)
        self.assertEqual(os.listdir(shared), [])

        # The folder above: whoever can write it can rename ours away and put theirs in its place.
        above = os.path.join(self.work, "above")
        os.makedirs(above)
        os.chmod(above, 0o777)
        status, out, err = self.run_plan(steps, log_dir=os.path.join(above, "runs"))
        self.assertEqual(status, 2, out + err)
        self.assertIn('run log folder "%s/runs" is inside "%s", which other users can write (mode '
                      '0777)' % (above, above), err)

        # Fixed as the message says, the run goes on.
        os.chmod(shared, 0o755)
        status, out, err = self.run_plan(steps, log_dir=shared)
        self.assertEqual(status, 0, out + err)

    def test_retry_failed_refuses_a_summary_another_user_could_have_forged(self):
        steps = [{"run": "test {{host}} != %s" % self.names(2)[1]}]
        status, out, err = self.run_plan(steps, hosts=2)
        self.assertEqual(status, 1, out + err)
        [run] = os.listdir(self.log_dir)
        summary = os.path.join(self.log_dir, run, "summary.json")
        os.chown(summary, NOBODY.pw_uid, NOBODY.pw_gid)
        status, out, err = run_deployd(["--retry-failed", os.path.join(self.work, "plan.json"), "-i",
                                        os.path.join(self.work, "inventory.json"), "--log-dir",
                                        self.log_dir])
        self.assertNotEqual(status, 0, out + err)
        self.assertIn('run summary "%s" is not used: "%s" belongs to uid %d (nobody), not to you '
                      '(uid 0): it may be forged; remove it' % (summary, summary, NOBODY.pw_uid), err)
        self.assertEqual(os.listdir(self.log_dir), [run])  # nothing ran

    # 10. Two hosts that get into one path, seen only at run time.

    def test_two_hosts_getting_into_one_run_id_path_fail_the_second_before_it_writes(self):
        first, second = self.names(2)
        for host in (first, second):
            self.owned_folder(os.path.join(self.remote, host))
            self.owned_file(os.path.join(self.remote, host, "log"), host.encode(), 0o644)
        status, out, err = self.run_plan(
            [{"get": self.remote + "/{{host}}/log", "to": "got/{{run.id}}.log"}], hosts=2)
        self.assertEqual(status, 1, out + err)
        [error] = self.step_errors()
        ends = [e for e in events_in(self.log_dir) if e["event"] == "host_end"]
        winner = [e["host"] for e in ends if e["status"] == "ok"]
        self.assertEqual(len(winner), 1, ends)
        [run] = os.listdir(self.log_dir)
        path = os.path.join(self.work, "got", run + ".log")
        self.assertIn('host %s already gets a file into "%s" in this task: put "{{host}}" in "to"'
                      % (winner[0], path), error)
        with open(path) as f:
            self.assertEqual(f.read(), winner[0])  # never overwritten by the other host

    # 11. A full disk under the run log.

    def test_a_full_run_log_disk_warns_once_exits_non_zero_and_prints_a_rerun_that_works(self):
        first, second = self.names(2)
        tiny = os.path.join(self.work, "tiny")
        os.makedirs(tiny)
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {"t": {"steps": [
            {"run": "seq 1 20000 | sed 's/$/ filling the run log/'; test {{host}} != %s" % second}]}}})
        inventory = self.inventory_of(2)
        # A private mount namespace: the 64 KiB tmpfs is seen by this deployd only.
        shell = 'mount -t tmpfs -o size=64k tmpfs "$1" && shift && exec "$@"'
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", shell, "sh",
                               tiny, deployd_binary(), plan, "-i", inventory, "-q", "--log-dir",
                               tiny + "/logs"], capture_output=True, text=True, timeout=300)
        err = done.stderr
        self.assertEqual(done.returncode, 1, err)  # a host failed: that status stays
        self.assertEqual(err.count("events from here on may be missing from it"), 1, err)
        self.assertIn('/events.jsonl": no space left on device: events from here on may be missing', err)
        self.assertIn('/summary.json": no space left on device: --retry-failed cannot use this run', err)
        self.assertIn("deployd: error: the run log %s/logs/" % tiny, err)
        # --retry-failed cannot find this run: the rerun line names the host instead.
        rerun = [line for line in done.stderr.splitlines() if line.startswith("deployd: rerun")]  # the summary's
        self.assertEqual(rerun, ["deployd: rerun the failed hosts: deployd %s --limit %s" % (plan, second)])
        command = shlex.split(rerun[0][len("deployd: rerun the failed hosts: "):])[1:]
        status, out, err = run_deployd(command + ["-i", inventory, "--log-dir", self.work + "/logs2",
                                                  "--output", "json"])
        self.assertEqual(status, 1, err)  # it runs, on that host alone
        hosts = {json.loads(line)["host"] for line in out.splitlines() if '"host_end"' in line}
        self.assertEqual(hosts, {second})

    def test_a_full_run_log_disk_turns_an_ok_run_into_exit_74(self):
        tiny = os.path.join(self.work, "tiny")
        os.makedirs(tiny)
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {"t": {"on": "local", "steps": [
            {"local": "seq 1 20000"}]}}})
        shell = 'mount -t tmpfs -o size=64k tmpfs "$1" && shift && exec "$@"'
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", shell, "sh",
                               tiny, deployd_binary(), plan, "-q", "--log-dir", tiny + "/logs"],
                              capture_output=True, text=True, timeout=300)
        self.assertEqual(done.returncode, 74, done.stderr)
        self.assertIn("deployd: error: the run log", done.stderr)

    # 14. Started with stdout closed.

    def test_with_stdout_closed_the_run_log_gets_events_only(self):
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {"t": {"on": "local", "steps": [
            {"local": "echo hello"}]}}})
        log_dir = os.path.join(self.work, "logs")
        done = subprocess.run("exec %s %s --log-dir %s >&-" % (deployd_binary(), plan, log_dir),
                              shell=True, capture_output=False, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        events = events_in(log_dir)  # every line parses: no terminal text in between
        self.assertEqual(events[0]["event"], "run_start")
        self.assertEqual(events[-1]["event"], "run_end")

    # 16. Escapes that could be misread.

    def test_escapes_are_unambiguous_in_the_log_and_bidi_is_shown_escaped_on_the_terminal(self):
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {"t": {"on": "local", "steps": [
            {"local": "printf 'a\\\\xff b\\377 c\\342\\200\\256d\\n'"}]}}})
        status, out, err = run_deployd([plan, "--log-dir", os.path.join(self.work, "logs")])
        self.assertEqual(status, 0, err)
        # The text `\xff`, the byte 0xff, and U+202E (which would show "d" before "c").
        [line] = [e["line"] for e in events_in(os.path.join(self.work, "logs")) if e["event"] == "output"]
        self.assertEqual(line, "a\\x5cxff b\\xff c\u202ed")
        self.assertIn("a\\x5cxff b\\xff c\\xe2\\x80\\xaed", out)
        self.assertNotIn("\u202e", out)


if __name__ == "__main__":
    unittest.main()
