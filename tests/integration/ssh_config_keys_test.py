# SPDX-License-Identifier: MIT
"""Issue 7 (first half) on the fleet: ssh_config aliases, passphrase keys decrypted once,
accept-new writing known_hosts once per run."""
import json
import os
import pty
import re
import resource
import select
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import (FleetTestCase, deployd_binary, events_of, generate_key,  # noqa: E402
                           run_deployd, write_json)

PASSPHRASE = "correct horse battery staple"
KEY_HOSTS = 100
NEW_HOSTS = 200


def plan_file(folder, name="plan.json", **extra):
    document = {"version": 1, "tasks": {"t": {"steps": [{"run": "echo ok-{{host}}"}]}}}
    document.update(extra)
    return write_json(folder, name, document)


class SshConfigAliases(FleetTestCase):
    """Hosts known only by their ssh_config aliases: -F, Include, Match, tokens, precedence."""

    def write_config(self):
        hosts = self.inventory["hosts"][:6]
        defaults = self.inventory["defaults"]
        include = os.path.join(self.dir, "conf.d")
        os.makedirs(include, exist_ok=True)
        with open(os.path.join(include, "10-users.conf"), "w") as f:
            f.write("Match host 127.*\n  User %s\n" % defaults["user"])
        # The fleet key under a name that only the %r/%p tokens produce.
        key = os.path.join(self.dir, "key-%s-%d" % (defaults["user"], hosts[0]["port"]))
        shutil.copy(defaults["identity"], key)
        os.chmod(key, 0o600)
        lines = []
        for i, host in enumerate(hosts):
            lines += ["Host alias%d" % i, "  HostName %s" % host["address"]]
        lines += [
            "Host alias5",
            "  Port 1",  # the plan's defaults set no port, so this wins for alias5 only...
            "Host alias* !alias5",
            "  Port %d" % hosts[0]["port"],
            "Host alias5",
            "  Port %d" % hosts[0]["port"],  # ...and this line is never reached: first value wins
            "Host *",
            "  Include %s/*.conf" % include,
            "  IdentityFile %s/key-%%r-%%p" % self.dir,
            "  IdentitiesOnly yes",
            "  UserKnownHostsFile %s" % defaults["known_hosts"],
            "  StrictHostKeyChecking yes",
            "  ConnectTimeout 7",
            "  ServerAliveInterval 20",
            "  ForwardAgent no",
            "Host jumped",
            "  ProxyJump bastion-user@alias0:%d" % hosts[0]["port"],
        ]
        path = os.path.join(self.dir, "ssh_config")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path, hosts

    def test_dry_run_verbose_names_the_source_of_every_value(self):
        config, hosts = self.write_config()
        plan = plan_file(self.dir, defaults={"connect_timeout": "3s"},
                         hosts=["alias0", {"name": "alias1", "port": hosts[1]["port"]}, "jumped"])
        status, out, err = run_deployd([plan, "-F", config, "-n", "-v"])
        self.assertEqual(status, 0, err)
        block = out.split("alias1 (")[0]
        self.assertIn("address:         %s  (ssh_config %s:2)" % (hosts[0]["address"], config), block)
        self.assertIn("port:            %d  (ssh_config %s:16)" % (hosts[0]["port"], config), block)
        self.assertRegex(block, r"user: +%s  \(ssh_config .*/conf.d/10-users.conf:2\)"
                         % self.inventory["defaults"]["user"])
        self.assertIn("identity:        %s/key-%s-%d  (ssh_config %s:21)"
                      % (self.dir, self.inventory["defaults"]["user"], hosts[0]["port"], config), block)
        self.assertIn("identities_only: yes  (ssh_config %s:22)" % config, block)
        self.assertIn("host_key_check:  strict  (ssh_config %s:24)" % config, block)
        self.assertIn("connect_timeout: 3s  (plan defaults)", block)
        self.assertIn("keepalive:       20s  (ssh_config %s:26)" % config, block)
        self.assertIn("ssh_config:      %s  (command line -F)" % config, block)
        alias1 = out.split("alias1 (")[1].split("jumped (")[0]
        self.assertIn("port:            %d  (plan host)" % hosts[1]["port"], alias1)
        jumped = out.split("jumped (")[1]
        self.assertIn("via:             bastion-user@alias0:%d  (ssh_config %s:29)"
                      % (hosts[0]["port"], config), jumped)
        # issue 19: `ForwardAgent no` changes nothing for deployd: said under -v only, as written.
        self.assertIn("deployd: %s:27:3: keyword \"ForwardAgent\" does not apply to deployd: ignored\n"
                      % config, err)
        self.assertEqual(err.count("ForwardAgent"), 1, err)
        self.assertNotIn("warning", err)
        status, out, quiet_err = run_deployd([plan, "-F", config, "-n"])
        self.assertEqual(status, 0, quiet_err)
        self.assertEqual(quiet_err, "")

    def test_a_real_run_on_hosts_known_only_by_their_aliases(self):
        config, hosts = self.write_config()
        plan = plan_file(self.dir)
        names = ["alias%d" % i for i in range(5)]
        status, out, err = run_deployd([plan, "-F", config, "-H", ",".join(names), "--output", "json"],
                                       timeout=120)
        self.assertEqual(status, 0, err)
        events = events_of(out)
        lines = {e["host"]: e["line"] for e in events if e["event"] == "output"}
        self.assertEqual(lines, {name: "ok-" + name for name in names})
        # alias5 took `Port 1` (the first value obtained), so it is refused: the order matters.
        status, out, err = run_deployd([plan, "-F", config, "-H", "alias5", "--output", "json"], timeout=60)
        self.assertEqual(status, 1, err)
        ends = [e for e in events_of(out) if e["event"] == "host_end"]
        self.assertIn("%s:1" % hosts[5]["address"], ends[0]["error"])

    def test_an_ssh_config_error_names_file_and_line_and_nothing_runs(self):
        config = os.path.join(self.dir, "bad_config")
        with open(config, "w") as f:
            f.write("Host *\n  Include %s/missing-dir/*.conf\n  Port none\n" % self.dir)
        status, out, err = run_deployd([plan_file(self.dir), "-F", config, "-H", "x"])
        self.assertEqual(status, 2)
        self.assertIn("%s:3:3: bad Port \"none\"" % config, err)  # line:column of the keyword


class JumpHostEntry(FleetTestCase):
    """Issue 16 #2: a `via` hop that is no plan host logs in with its own ssh_config entry, as
    OpenSSH logs in to a ProxyJump hop, never with the target's user, identity or password."""

    def run_through_gate(self, gate_user, gate_identity):
        gate, target = self.inventory["hosts"][0], self.inventory["hosts"][1]
        defaults = self.inventory["defaults"]
        stranger = generate_key(self.dir, "stranger-%s" % gate_user)  # authorized nowhere
        config = os.path.join(self.dir, "jump_config-%s" % gate_user)
        with open(config, "w") as f:
            f.write("Host gate\n  HostName %s\n  Port %d\n  User %s\n  IdentityFile %s\n"
                    "  IdentitiesOnly yes\n  UserKnownHostsFile %s\n"
                    % (gate["address"], gate["port"], gate_user, gate_identity or stranger,
                       defaults["known_hosts"]))
        # The target logs in as the password user, with a key no host accepts and its password.
        web = {"name": "web", "address": target["address"], "port": target["port"],
               "user": "deployd-pw", "identity": stranger, "password_env": "FLEET_PASSWORD",
               "known_hosts": defaults["known_hosts"], "via": "gate", "ssh_config": config}
        plan = write_json(self.dir, "jump-plan.json",
                          {"version": 1, "hosts": [web], "tasks": {"t": {"steps": [{"run": "whoami"}]}}})
        with open(os.path.join(self.fleet, "password")) as f:
            password = f.read().strip()
        status, out, err = run_deployd([plan, "--output", "json"], timeout=120,
                                       env=dict(os.environ, FLEET_PASSWORD=password))
        self.assertNotIn(password, out + err)
        return status, events_of(out), err

    def test_the_hop_logs_in_with_its_own_entry_and_the_target_with_its_own_keys(self):
        # "gate" is known only through its entry (HostName, Port); its login (user deployd, the
        # fleet key) is the entry's: the target's user and key would be refused there.
        status, events, err = self.run_through_gate(self.inventory["defaults"]["user"],
                                                    self.inventory["defaults"]["identity"])
        self.assertEqual(status, 0, err)
        lines = [e["line"] for e in events if e["event"] == "output"]
        self.assertEqual(lines, ["deployd-pw"])

    def test_a_hop_whose_own_login_fails_is_never_sent_the_targets_password(self):
        # The hop's entry names the password user: the target's password would log it in.
        status, events, err = self.run_through_gate("deployd-pw", None)
        self.assertEqual(status, 1, err)
        ends = [e for e in events if e["event"] == "host_end"]
        self.assertEqual(ends[0]["status"], "unreachable")
        # Only the entry's key was offered: no password (the label "password" would be listed).
        stranger = os.path.join(self.dir, "stranger-deployd-pw")
        self.assertTrue(ends[0]["error"].startswith(
            'jump host "gate": authentication failed for user "deployd-pw" (tried %s)' % stranger),
            ends[0]["error"])


def authorize(fleet, public_key_path):
    """Adds a key to the fleet's authorized_keys; returns the previous text to restore."""
    path = os.path.join(fleet, "authorized_keys")
    with open(path) as f:
        before = f.read()
    with open(public_key_path) as f, open(path, "a") as out:
        out.write(f.read())
    return before


def child_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class PassphraseKeys(FleetTestCase):
    """Encrypted keys are decrypted once, before any connection, and sign for every host."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.keys = {}
        cls.saved = None
        for kind in ("ed25519", "ecdsa"):
            path = os.path.join(cls.dir, "locked_" + kind)
            subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", PASSPHRASE, "-f", path], check=True)
            cls.keys[kind] = path
            saved = authorize(cls.fleet, path + ".pub")
            cls.saved = cls.saved if cls.saved is not None else saved

    @classmethod
    def tearDownClass(cls):
        if cls.saved is not None:
            with open(os.path.join(cls.fleet, "authorized_keys"), "w") as f:
                f.write(cls.saved)
        super().tearDownClass()

    def inventory_with(self, key, count, **defaults):
        inventory = dict(self.inventory, hosts=self.inventory["hosts"][:count], groups={})
        inventory["defaults"] = dict(self.inventory["defaults"], identity=key, **defaults)
        return write_json(self.dir, "inv-%d.json" % count, inventory)

    def run_timed(self, key, count, env=None):
        plan = plan_file(self.dir)
        before = child_cpu()
        status, out, err = run_deployd([plan, "-i", self.inventory_with(key, count, passphrase_env="KEY_PW"),
                                        "--output", "json"], timeout=300, env=env)
        spent = child_cpu() - before
        self.assertEqual(status, 0, err)
        ends = [e for e in events_of(out) if e["event"] == "host_end"]
        self.assertEqual([e["status"] for e in ends], ["ok"] * count)
        return spent

    def test_an_encrypted_key_serves_100_hosts_at_a_plain_keys_cost_per_host(self):
        self.assertGreaterEqual(len(self.inventory["hosts"]), KEY_HOSTS, "the fleet is too small")
        env = dict(os.environ, KEY_PW=PASSPHRASE)
        env.pop("SSH_AUTH_SOCK", None)
        plain = self.inventory["defaults"]["identity"]
        figures = {}
        for label, key in (("plain ed25519", plain), ("encrypted ed25519", self.keys["ed25519"]),
                           ("encrypted ecdsa", self.keys["ecdsa"])):
            one = min(self.run_timed(key, 1, env) for _ in range(2))
            many = min(self.run_timed(key, KEY_HOSTS, env) for _ in range(2))
            figures[label] = ((many - one) / (KEY_HOSTS - 1) * 1000, one * 1000)
        for label, (per_host, one) in figures.items():
            print("%-18s client CPU per host %.2f ms (marginal over %d hosts); 1-host run %.0f ms"
                  % (label, per_host, KEY_HOSTS, one), file=sys.stderr)
        plain_cost = figures["plain ed25519"][0]
        for label in ("encrypted ed25519", "encrypted ecdsa"):
            # libssh2's own loader would spend ~225 ms of bcrypt per host: here it is paid once,
            # so the per-host cost is a plain key's (with room for a busy 2-core machine).
            self.assertLess(figures[label][0], plain_cost * 2 + 2.0, figures)
            self.assertGreater(figures[label][1], 50, "the one-time bcrypt cost should show")

    def test_a_wrong_passphrase_stops_the_run_before_any_connection(self):
        env = dict(os.environ, KEY_PW="not the passphrase")
        env.pop("SSH_AUTH_SOCK", None)
        for kind, key in self.keys.items():
            log_dir = os.path.join(self.dir, "logs-" + kind)
            status, out, err = run_deployd([plan_file(self.dir), "-i",
                                            self.inventory_with(key, 3, passphrase_env="KEY_PW"),
                                            "--output", "json", "--log-dir", log_dir], env=env)
            self.assertEqual(status, 2, err)
            self.assertEqual(err.strip(), "deployd: error: %s: wrong passphrase (passphrase_env \"KEY_PW\")" % key)
            self.assertEqual(out, "")
            self.assertFalse(os.path.exists(log_dir))

    def test_an_encrypted_key_without_passphrase_or_terminal_is_refused_before_connecting(self):
        env = dict(os.environ)
        env.pop("SSH_AUTH_SOCK", None)
        inventory = dict(self.inventory, hosts=self.inventory["hosts"][:2], groups={})
        inventory["defaults"] = dict(self.inventory["defaults"], identity=self.keys["ed25519"])
        done = subprocess.run([deployd_binary(), plan_file(self.dir), "-i",
                               write_json(self.dir, "inv-nopw.json", inventory)],
                              capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                              start_new_session=True, timeout=60)  # no controlling terminal
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn("%s: the key is encrypted" % self.keys["ed25519"], done.stderr)

    def test_the_passphrase_is_asked_once_on_the_terminal_without_echo(self):
        env = dict(os.environ)
        env.pop("SSH_AUTH_SOCK", None)
        inventory = dict(self.inventory, hosts=self.inventory["hosts"][:5], groups={})
        inventory["defaults"] = dict(self.inventory["defaults"], identity=self.keys["ed25519"])
        args = [deployd_binary(), plan_file(self.dir), "-i", write_json(self.dir, "inv-tty.json", inventory),
                "--log-dir", os.path.join(self.dir, "logs-tty")]
        pid, fd = pty.fork()  # the child's controlling terminal is the pty: /dev/tty
        if pid == 0:
            os.execve(args[0], args, env)
        screen = b""
        deadline = time.time() + 60
        answered = False
        while time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], 1)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
            if not answered and b"Enter passphrase for key" in screen:
                os.write(fd, (PASSPHRASE + "\n").encode())
                answered = True
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == 0:  # still running: never let the test hang
            os.kill(pid, 9)
            _, status = os.waitpid(pid, 0)
        os.close(fd)
        text = screen.decode("utf-8", "replace")
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, text)
        self.assertEqual(text.count("Enter passphrase for key %s: " % self.keys["ed25519"]), 1, text)
        self.assertNotIn(PASSPHRASE, text)  # not echoed
        self.assertEqual(text.count("| ok-node"), 5, text)

    def test_the_agent_signs_for_an_encrypted_key_it_holds(self):
        agent = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True, check=True).stdout
        sock = re.search(r"SSH_AUTH_SOCK=([^;]+);", agent).group(1)
        pid = int(re.search(r"SSH_AGENT_PID=(\d+);", agent).group(1))
        try:
            env = dict(os.environ, SSH_AUTH_SOCK=sock)
            # ssh-add reads the passphrase through SSH_ASKPASS when forced to.
            askpass = os.path.join(self.dir, "askpass.sh")
            with open(askpass, "w") as f:
                f.write("#!/bin/sh\necho '%s'\n" % PASSPHRASE)
            os.chmod(askpass, 0o700)
            subprocess.run(["ssh-add", self.keys["ecdsa"]], check=True, capture_output=True,
                           env=dict(env, SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force"),
                           stdin=subprocess.DEVNULL)
            inventory = dict(self.inventory, hosts=self.inventory["hosts"][:3], groups={})
            inventory["defaults"] = dict(self.inventory["defaults"], identity=self.keys["ecdsa"])
            done = subprocess.run([deployd_binary(), plan_file(self.dir), "-i",
                                   write_json(self.dir, "inv-agent.json", inventory)],
                                  capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                                  start_new_session=True, timeout=60)
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        finally:
            os.kill(pid, 15)


class AcceptNew(FleetTestCase):
    """accept-new on 200 new hosts: 200 lines written once, whole under two concurrent runs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        script = os.environ.get("DEPLOYD_FLEET_SCRIPT")
        if not script:
            raise unittest.SkipTest("DEPLOYD_FLEET_SCRIPT is not set: cannot start 200 hosts")
        first = cls.inventory["hosts"][0]
        # The main fleet's addresses, on the next port: 200 hosts nobody has seen.
        cls.new_fleet = os.path.join(os.path.dirname(os.path.abspath(cls.fleet)), "accept-new-fleet")
        subprocess.run([script, "stop", cls.new_fleet], capture_output=True)
        subprocess.run([script, "start", cls.new_fleet, str(NEW_HOSTS), "--base-address",
                        first["address"], "--port", str(first["port"] + 1)], check=True,
                       capture_output=True)
        cls.script = script
        with open(os.path.join(cls.new_fleet, "inventory.json")) as f:
            cls.new_inventory = json.load(f)

    @classmethod
    def tearDownClass(cls):
        subprocess.run([cls.script, "stop", cls.new_fleet], capture_output=True)
        super().tearDownClass()

    def accept_inventory(self, known_hosts, mode):
        inventory = dict(self.new_inventory, groups={})
        inventory["defaults"] = dict(inventory["defaults"], known_hosts=known_hosts, host_key_check=mode)
        return write_json(self.dir, "inv-%s.json" % mode, inventory)

    def test_two_concurrent_runs_write_200_whole_lines(self):
        known_hosts = os.path.join(self.dir, "known_hosts_new")
        plan = plan_file(self.dir)
        inventory = self.accept_inventory(known_hosts, "accept-new")
        runs = [subprocess.Popen([deployd_binary(), plan, "-i", inventory, "--output", "json",
                                  "--log-dir", os.path.join(self.dir, "logs%d" % i)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(2)]
        for run in runs:
            out, err = run.communicate(timeout=300)
            self.assertEqual(run.returncode, 0, err)
            self.assertEqual(events_of(out)[-1]["counts"]["ok"], NEW_HOSTS)
        with open(known_hosts) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), NEW_HOSTS)
        port = self.new_inventory["hosts"][0]["port"]
        line_format = re.compile(r"^\[node\d{3}\]:%d,\[127\.\d+\.\d+\.\d+\]:%d ssh-ed25519 [A-Za-z0-9+/=]+$"
                                 % (port, port))
        self.assertEqual([l for l in lines if not line_format.match(l)], [])
        self.assertEqual(len(set(l.split()[0] for l in lines)), NEW_HOSTS)
        # A later strict run finds every host in what was written.
        status, out, err = run_deployd([plan, "-i", self.accept_inventory(known_hosts, "strict"), "--output", "json"])
        self.assertEqual(status, 0, err)

    def test_a_hashed_file_gets_hashed_entries(self):
        known_hosts = os.path.join(self.dir, "known_hosts_hashed")
        with open(known_hosts, "w") as f:
            f.write("|1|MDEyMzQ1Njc4OWFiY2RlZmdoaWo=|2X7Qm7dm0Ohu5rz5fMNlVk8yEDs= ssh-ed25519 "
                    "AAAAC3NzaC1lZDI1NTE5AAAAIDnMOS46HT4CyGl8xykPVVUKbN4TFnium0J9cncYmlq5\n")
        inventory = dict(self.new_inventory, hosts=self.new_inventory["hosts"][:5], groups={})
        inventory["defaults"] = dict(inventory["defaults"], known_hosts=known_hosts,
                                     host_key_check="accept-new")
        path = write_json(self.dir, "inv-hashed.json", inventory)
        status, out, err = run_deployd([plan_file(self.dir), "-i", path])
        self.assertEqual(status, 0, err)
        with open(known_hosts) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 1 + 2 * 5)  # one hashed line per name and per address
        self.assertTrue(all(l.startswith("|1|") for l in lines), lines)
        self.assertNotIn("node00", "\n".join(lines))
        # ssh-keygen -F finds a hashed host, as OpenSSH would.
        host = inventory["hosts"][2]
        found = subprocess.run(["ssh-keygen", "-F", "[%s]:%d" % (host["name"], host["port"]), "-f",
                                known_hosts], capture_output=True, text=True)
        self.assertEqual(found.returncode, 0, found.stdout + found.stderr)
        inventory["defaults"]["host_key_check"] = "strict"
        status, out, err = run_deployd([plan_file(self.dir), "-i",
                                        write_json(self.dir, "inv-hashed-strict.json", inventory)])
        self.assertEqual(status, 0, err)


if __name__ == "__main__":
    unittest.main()
