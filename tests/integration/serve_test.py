# SPDX-License-Identifier: MIT
"""Warm sessions (issue 20, part 3): `deployd serve` keeps each host's session open after a run and
lends it to the user's next run. Which connection ran a command is told by $SSH_CONNECTION (the
client's port), which connection processes sshd runs by /proc. Each test has a runtime folder of
its own (XDG_RUNTIME_DIR), so no other run on the machine meets its daemon."""
import glob
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import (FleetTestCase, deployd_binary, events_of, processes_with,  # noqa: E402
                           write_json)

HOSTS = 2


def connection_processes(client_port):
    """PIDs of the processes holding the TCP connection whose client port is `client_port`
    (sshd's side of one session), from /proc/net/tcp and each process's descriptors."""
    inodes = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].split(":")[1], 16)
            if remote_port == client_port:
                inodes.add("socket:[%s]" % fields[9])
    pids = set()
    for fd in glob.glob("/proc/[0-9]*/fd/*"):
        try:
            if os.readlink(fd) in inodes:
                pids.add(int(fd.split("/")[2]))
        except OSError:
            continue
    return pids


class Serve(FleetTestCase):
    def setUp(self):
        os.umask(0o022)
        self.runtime = tempfile.mkdtemp(prefix="serve-", dir=self.dir)
        os.chmod(self.runtime, 0o700)
        self.folder = os.path.join(self.runtime, "deployd")
        self.env = dict(os.environ, XDG_RUNTIME_DIR=self.runtime)
        self.env.pop("SSH_AUTH_SOCK", None)
        self.hosts = self.inventory["hosts"][:HOSTS]
        self.known_hosts = os.path.join(self.runtime, "known_hosts")
        shutil.copy(self.inventory["defaults"]["known_hosts"], self.known_hosts)
        inventory = dict(self.inventory, hosts=self.hosts, groups={"fleet": [h["name"] for h in self.hosts]})
        inventory["defaults"] = dict(self.inventory["defaults"], known_hosts=self.known_hosts)
        self.inventory_path = write_json(self.runtime, "inventory.json", inventory)

    def tearDown(self):
        self.deployd(["serve", "--stop"])

    def deployd(self, args, **kwargs):
        done = subprocess.run([deployd_binary()] + args, capture_output=True, timeout=120,
                              env=self.env, **kwargs)
        return done.returncode, done.stdout.decode(), done.stderr.decode()

    def run_plan(self, steps, *args):
        plan = write_json(self.runtime, "plan.json", {"version": 1, "tasks": {"t": {"on": "fleet", "steps": steps}}})
        status, out, err = self.deployd([plan, "-i", self.inventory_path, "--output", "json", "-v",
                                         "--log-dir", os.path.join(self.runtime, "logs")] + list(args))
        return status, events_of(out), err

    def client_ports(self, *args):
        """Runs `echo $SSH_CONNECTION` on each host; {host: client port}."""
        status, events, err = self.run_plan([{"run": "echo $SSH_CONNECTION"}], *args)
        self.assertEqual(status, 0, err)
        return {e["host"]: int(e["line"].split()[1]) for e in events if e["event"] == "output"}, err

    def start(self, idle="60s"):
        status, out, err = self.deployd(["serve", "--idle", idle])
        self.assertEqual(status, 0, err)
        self.assertIn("deployd serve: running", out)

    def log(self):
        with open(os.path.join(self.folder, "serve.log")) as f:
            return f.read()

    def test_the_second_run_borrows_the_sessions_of_the_first(self):
        self.start()
        first, err = self.client_ports()
        self.assertEqual(sorted(first), [h["name"] for h in self.hosts])
        self.assertIn("deployd serve opened a session", err)
        second, err = self.client_ports()
        self.assertEqual(second, first)  # the same TCP connections
        self.assertIn("borrowed a warm session from deployd serve", err)
        status, out, err = self.deployd(["serve", "--status"])
        self.assertEqual(status, 0, err)
        self.assertIn("2 warm sessions, 0 lent now", out)
        for host in self.hosts:
            self.assertRegex(out, r"%s@%s:%d  idle ([0-9]+ms|[0-9]+\.[0-9]s)  lent 1 time " % (
                self.inventory["defaults"]["user"], host["address"], host["port"]))

    def test_commands_through_the_daemon_keep_output_status_timeouts_and_transfers(self):
        self.start()
        self.client_ports()  # warm
        source = os.path.join(self.runtime, "payload.txt")
        with open(source, "w") as f:
            f.write("payload\n")
        target = "/tmp/serve-test-%d-{{host}}.txt" % os.getpid()  # one machine: a file per host
        status, events, err = self.run_plan([
            {"run": "printf 'out\\n'; printf 'err\\n' >&2", "name": "streams"},
            {"put": source, "to": target},
            {"get": target, "to": "fetched/{{host}}.txt"},
            {"run": "cat %s; rm -f %s" % (target, target)},
            {"run": "sleep 5", "timeout": "1s"}])
        self.assertEqual(status, 1, err)
        self.assertIn("borrowed a warm session", err)
        # The put and the get went through the daemon: no handshake.
        self.assertEqual(err.count("ssh handshake done"), 0, err)
        for host in self.hosts:
            fetched = os.path.join(self.runtime, "fetched", host["name"] + ".txt")
            with open(fetched) as f:
                self.assertEqual(f.read(), "payload\n")
            self.assertEqual(os.stat(fetched).st_mode & 0o777, 0o644)  # 0644 on the host, umask 022
        for host in self.hosts:
            lines = [(e["stream"], e["line"]) for e in events if e["event"] == "output" and e["host"] == host["name"]]
            self.assertEqual([line for line in lines if line[0] == "stdout"], [("stdout", "out"), ("stdout", "payload")])
            self.assertEqual([line for line in lines if line[0] == "stderr"], [("stderr", "err")])
            ends = [e for e in events if e["event"] == "step_end" and e["host"] == host["name"]]
            self.assertEqual([e["status"] for e in ends], ["ok", "ok", "ok", "ok", "timed_out"], ends)
            self.assertRegex(ends[4]["error"], r"timed out after 1\.\ds; its processes were stopped")
        status, events, err = self.run_plan([{"run": "exit 3"}])
        self.assertEqual(status, 1, err)
        ends = [e for e in events if e["event"] == "step_end"]
        self.assertTrue(all("exited with status 3" in e["error"] for e in ends), ends)

    def test_a_second_sigterm_cancels_the_command_in_the_daemon_and_its_session_stays_warm(self):
        self.start()
        first, _ = self.client_ports()
        nap = "sleep 31.%d" % os.getpid()  # a command line no other test runs
        plan = write_json(self.runtime, "nap.json", {"version": 1, "policy": {"abort_grace": "10m"},
                                                      "tasks": {"t": {"on": "fleet", "steps": [{"run": nap}]}}})
        run = subprocess.Popen([deployd_binary(), plan, "-i", self.inventory_path, "--output", "json",
                                "--log-dir", os.path.join(self.runtime, "logs")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)
        deadline = time.time() + 20
        while len(processes_with(nap)) < 2 * HOSTS and time.time() < deadline:  # sh -c and sleep
            time.sleep(0.05)
        run.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        run.send_signal(signal.SIGTERM)
        cancelled = time.time()
        out, err = run.communicate(timeout=60)
        self.assertEqual(run.returncode, 143, err.decode())
        self.assertLess(time.time() - cancelled, 10)  # not the 31 s of the command
        deadline = time.time() + 5
        while processes_with(nap) and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(processes_with(nap), [], "the cancelled command's processes survived")
        second, _ = self.client_ports()
        self.assertEqual(second, first)  # the sessions went back to the daemon, usable

    def test_a_get_of_a_run_with_another_umask_than_the_daemon_connects_directly(self):
        self.start()  # umask 022 (setUp)
        self.client_ports()
        target = "/tmp/serve-umask-%d-{{host}}.txt" % os.getpid()
        os.umask(0o077)
        try:
            status, events, err = self.run_plan([
                {"run": "echo x > %s; chmod 644 %s" % (target, target)},
                {"get": target, "to": "private/{{host}}.txt"},
                {"run": "rm -f %s" % target}])
        finally:
            os.umask(0o022)
        self.assertEqual(status, 0, err)
        self.assertEqual(err.count("ssh handshake done"), HOSTS, err)  # each get: a session of its own
        for host in self.hosts:
            fetched = os.path.join(self.runtime, "private", host["name"] + ".txt")
            self.assertEqual(os.stat(fetched).st_mode & 0o777, 0o600)  # the run's umask, not the daemon's

    def test_a_template_is_installed_rendered_by_a_run_with_a_daemon(self):
        # The daemon reads a put's source file itself; a template's bytes exist only in the
        # run, so they go over a direct session (the daemon would install the unrendered file).
        self.start()
        self.client_ports()
        source = os.path.join(self.runtime, "app.conf.j2")
        with open(source, "w") as f:
            f.write("name = {{host}}\n")
        target = "/tmp/serve-template-%d-{{host}}.conf" % os.getpid()
        status, events, err = self.run_plan([
            {"template": source, "to": target},
            {"run": "cat %s; rm -f %s" % (target, target)}])
        self.assertEqual(status, 0, err)
        self.assertEqual(err.count("ssh handshake done"), HOSTS, err)  # each template: direct
        for host in self.hosts:
            lines = [e["line"] for e in events if e["event"] == "output" and e["host"] == host["name"]]
            self.assertEqual(lines, ["name = " + host["name"]])

    def test_relative_key_and_known_hosts_paths_are_the_run_s_not_the_daemon_s(self):
        self.start()  # its working folder is /
        shutil.copy(self.inventory["defaults"]["identity"], os.path.join(self.runtime, "key"))
        os.chmod(os.path.join(self.runtime, "key"), 0o600)
        inventory = {"defaults": dict(self.inventory["defaults"], identity="key", known_hosts="known_hosts"),
                     "hosts": self.hosts, "groups": {"fleet": [h["name"] for h in self.hosts]}}
        write_json(self.runtime, "relative.json", inventory)
        status, out, err = self.deployd(["-i", "relative.json", "-H", self.hosts[0]["name"], "-v", "--log-dir",
                                         "logs", "--", "true"], cwd=self.runtime)
        self.assertEqual(status, 0, err)
        self.assertIn("deployd serve opened a session", err)

    def test_persist_starts_the_daemon_for_later_runs(self):
        status, out, err = self.deployd(["serve", "--status"])
        self.assertEqual(status, 1)
        self.assertIn("not running", err)
        first, _ = self.client_ports("--persist", "30s")
        status, out, err = self.deployd(["serve", "--status"])
        self.assertEqual(status, 0, err)
        self.assertIn("sessions closed after 30s idle", out)
        second, _ = self.client_ports()
        self.assertEqual(second, first)

    def test_an_ad_hoc_command_borrows_the_plan_s_session(self):
        self.start()
        first, _ = self.client_ports()
        host = self.hosts[0]
        status, out, err = self.deployd(["-i", self.inventory_path, "-H", host["name"], "--output", "json",
                                         "--log-dir", os.path.join(self.runtime, "logs"), "--",
                                         "echo $SSH_CONNECTION"])
        self.assertEqual(status, 0, err)
        lines = [e["line"] for e in events_of(out) if e["event"] == "output"]
        self.assertEqual(int(lines[0].split()[1]), first[host["name"]])

    def test_a_session_lost_while_idle_is_opened_again_and_the_run_is_ok(self):
        self.start()
        first, _ = self.client_ports()
        victim = self.hosts[0]["name"]
        pids = connection_processes(first[victim])
        self.assertTrue(pids, "no sshd process holds port %d" % first[victim])
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:  # sshd's monitor, gone with its child
                pass
        deadline = time.time() + 5
        while connection_processes(first[victim]) and time.time() < deadline:
            time.sleep(0.05)
        second, err = self.client_ports()
        self.assertNotEqual(second[victim], first[victim])
        other = self.hosts[1]["name"]
        self.assertEqual(second[other], first[other])
        self.assertIn("the idle session was lost; connecting again", self.log())

    def test_idle_sessions_are_closed_and_then_the_daemon_exits(self):
        self.start(idle="1s")
        first, _ = self.client_ports()
        deadline = time.time() + 10
        while any(connection_processes(port) for port in first.values()) and time.time() < deadline:
            time.sleep(0.1)
        self.assertFalse(any(connection_processes(port) for port in first.values()))
        self.assertIn("idle for", self.log())
        while time.time() < deadline and os.path.exists(os.path.join(self.folder, "serve.sock")):
            time.sleep(0.1)
        status, out, err = self.deployd(["serve", "--status"])
        self.assertEqual(status, 1, out)
        self.assertIn("not running", err)

    def test_a_changed_host_key_is_not_masked_by_a_warm_session(self):
        self.start()
        first, _ = self.client_ports()
        victim = self.hosts[0]
        # Another key for the first host, the second untouched (the same file, rewritten).
        other_key = os.path.join(self.runtime, "other_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other_key], check=True)
        with open(other_key + ".pub") as f:
            public = " ".join(f.read().split()[:2])
        with open(self.known_hosts) as f:
            lines = f.read().splitlines()
        names = ("[%s]:%d" % (victim["address"], victim["port"]), "[%s]:%d" % (victim["name"], victim["port"]))
        rewritten = [(line.split()[0] + " " + public) if line.split()[0] in names else line for line in lines]
        with open(self.known_hosts, "w") as f:
            f.write("\n".join(rewritten) + "\n")
        status, events, err = self.run_plan([{"run": "echo $SSH_CONNECTION"}])
        self.assertEqual(status, 1, err)
        ends = {e["host"]: e for e in events if e["event"] == "host_end"}
        self.assertEqual(ends[victim["name"]]["status"], "unreachable")
        self.assertIn("does not match", ends[victim["name"]]["error"])
        other = self.hosts[1]["name"]
        self.assertEqual(ends[other]["status"], "ok")
        lines = [e["line"] for e in events if e["event"] == "output" and e["host"] == other]
        self.assertEqual(int(lines[0].split()[1]), first[other])  # still warm
        self.assertIn("host key no longer passes", self.log())

    def test_another_user_is_refused_by_the_daemon_and_by_the_client(self):
        self.start()
        # Even if the folder and the socket were opened to everyone, another uid gets nothing.
        os.chmod(self.dir, 0o711)
        os.chmod(self.runtime, 0o711)
        os.chmod(self.folder, 0o711)
        os.chmod(os.path.join(self.folder, "serve.sock"), 0o666)

        def as_nobody():
            os.setgid(65534)
            os.setuid(65534)

        probe = (
            "import socket,struct,sys\n"
            "s=socket.socket(socket.AF_UNIX)\n"
            "s.connect(sys.argv[1])\n"
            "s.settimeout(5)\n"
            "try:\n"
            "    s.sendall(struct.pack('>IB',1,9))\n"  # Status
            "    print(len(s.recv(100)))\n"
            "except (BrokenPipeError, ConnectionResetError):\n"  # closed before or after our request
            "    print(0)\n")
        done = subprocess.run(["/usr/bin/python3", "-c", probe, os.path.join(self.folder, "serve.sock")],
                              capture_output=True, timeout=30, preexec_fn=as_nobody)
        self.assertEqual(done.stdout.decode().strip(), "0", done.stderr)  # closed unanswered
        self.assertIn("refused a connection from uid 65534", self.log())
        # A run of that user does not trust a folder it does not own.
        done = subprocess.run([deployd_binary(), "serve", "--status"], capture_output=True, timeout=30,
                              env=self.env, preexec_fn=as_nobody)
        self.assertEqual(done.returncode, 1)
        self.assertIn("belongs to uid 0, not to you", done.stderr.decode())
        os.chmod(self.folder, 0o700)
        # The owner still gets an answer.
        self.assertEqual(self.deployd(["serve", "--status"])[0], 0)

    def test_a_daemon_that_died_leaves_runs_connecting_directly_until_persist_starts_another(self):
        self.start()
        status, out, err = self.deployd(["serve", "--status"])
        pid = int(re.search(r"pid (\d+),", out).group(1))
        os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 5
        while os.path.exists("/proc/%d" % pid) and time.time() < deadline:
            time.sleep(0.05)
        self.assertTrue(os.path.exists(os.path.join(self.folder, "serve.sock")))  # left behind
        _, err = self.client_ports()
        self.assertEqual(err.count("ssh handshake done"), HOSTS, err)  # direct, and ok
        self.assertNotIn("deployd serve", err)
        first, err = self.client_ports("--persist", "30s")
        self.assertIn("deployd serve opened a session", err)
        second, err = self.client_ports()
        self.assertEqual(second, first)

    def test_a_folder_open_to_others_is_never_used(self):
        os.makedirs(self.folder, mode=0o755)
        os.chmod(self.folder, 0o755)
        status, out, err = self.deployd(["serve", "--idle", "10s"])
        self.assertEqual(status, 1)
        self.assertIn("has mode 0755", err)
        ports, err = self.client_ports()  # direct
        self.assertNotIn("deployd serve", err)


if __name__ == "__main__":
    unittest.main()
