# SPDX-License-Identifier: MIT
"""Issue 9, fault matrix, the client side: host keys of other types, hashed known_hosts entries,
a known_hosts file missing or unreadable, identities missing, open to others or locked, an agent
that is not running. Each fault gives a clear error naming the host (or, for a controller-side
file every host needs, one error naming the file before anything connects, exit 2), leaves the
other hosts alone and never hangs."""
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, deployd_binary, events_of, run_deployd, write_json  # noqa: E402

# Private sshds of this file: 127.0.61.0/24, ports 2261-2269.
KEY_TYPES_BASE = "127.0.61.1"
KEY_TYPES_PORT = 2261
TIMEOUT = 60
RUNS = itertools.count()  # every run here ends in seconds; a hang fails the test instead of blocking it


def plan_file(folder):
    return write_json(folder, "plan.json",
                      {"version": 1, "tasks": {"t": {"steps": [{"run": "echo ok-{{host}}"}]}}})


def host_ends(stdout):
    return {e["host"]: e for e in events_of(stdout) if e["event"] == "host_end"}


def key_line(names, public_key_path):
    with open(public_key_path) as f:
        key_type, key_data = f.read().split()[:2]
    return "%s %s %s\n" % (",".join(names), key_type, key_data)


def known_names(host):
    return ["[%s]:%d" % (host["name"], host["port"]), "[%s]:%d" % (host["address"], host["port"])]


class KeysTestCase(FleetTestCase):
    """Runs deployd on a few hosts of an inventory, with a clean environment."""

    def write_inventory(self, source, count, name, hosts=None, **defaults):
        inventory = dict(source, hosts=hosts or source["hosts"][:count], groups={})
        inventory["defaults"] = dict(source["defaults"], connect_timeout="5s", **defaults)
        for key in [k for k, v in inventory["defaults"].items() if v is None]:
            del inventory["defaults"][key]
        return write_json(self.dir, name + ".json", inventory)

    def run_json(self, inventory, env=None):
        """Runs the plan with no terminal (setsid, stdin /dev/null): nothing can wait for a prompt."""
        started = time.monotonic()
        self.log_dir = os.path.join(self.dir, "logs-%d" % next(RUNS))
        done = subprocess.run([deployd_binary(), plan_file(self.dir), "-i", inventory, "--output", "json",
                               "--log-dir", self.log_dir],
                              capture_output=True, text=True, env=env or self.env(),
                              stdin=subprocess.DEVNULL, start_new_session=True, timeout=TIMEOUT)
        self.assertLess(time.monotonic() - started, 30, "a fault must not stall the run")
        return done.returncode, done.stdout, done.stderr

    def env(self, **extra):
        env = dict(os.environ)
        env.pop("SSH_AUTH_SOCK", None)
        env.update(extra)
        return env

    def assert_refused_before_connecting(self, status, out, err, message):
        self.assertEqual(status, 2, err)
        self.assertEqual(err.strip(), "deployd: error: " + message)
        self.assertEqual(out, "")  # no run_start: nothing connected


class OtherKeyTypes(KeysTestCase):
    """A server with ed25519, ECDSA and RSA host keys; known_hosts has one type per host."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        script = os.environ.get("DEPLOYD_FLEET_SCRIPT")
        if not script:
            raise unittest.SkipTest("DEPLOYD_FLEET_SCRIPT is not set: cannot start an sshd with more host keys")
        cls.script = script
        cls.key_fleet = os.path.join(os.path.dirname(os.path.abspath(cls.fleet)), "key-types-fleet")
        subprocess.run([script, "stop", cls.key_fleet], capture_output=True)
        subprocess.run([script, "start", cls.key_fleet, "3", "--base-address", KEY_TYPES_BASE, "--port",
                        str(KEY_TYPES_PORT), "--extra-host-keys", "ecdsa,rsa"], check=True, capture_output=True)
        with open(os.path.join(cls.key_fleet, "inventory.json")) as f:
            cls.key_inventory = json.load(f)

    @classmethod
    def tearDownClass(cls):
        subprocess.run([cls.script, "stop", cls.key_fleet], capture_output=True)
        super().tearDownClass()

    def known_hosts(self, name, types):
        """known_hosts with the host key of types[i] for host i."""
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            for host, key_type in zip(self.key_inventory["hosts"], types):
                f.write(key_line(known_names(host), os.path.join(self.key_fleet, "host_%s_key.pub" % key_type)))
        return path

    def test_the_key_type_known_hosts_has_is_the_one_negotiated(self):
        # libssh2 1.10 alone would ask for ECDSA first, and node002 (known by ed25519) would fail.
        known = self.known_hosts("kh-mixed", ["ecdsa", "ed25519", "ecdsa"])
        status, out, err = self.run_json(self.write_inventory(self.key_inventory, 3, "inv-mixed", known_hosts=known))
        self.assertEqual(status, 0, err)
        self.assertEqual({h: e["status"] for h, e in host_ends(out).items()},
                         {"node001": "ok", "node002": "ok", "node003": "ok"})

    def test_a_host_known_only_by_its_rsa_key_is_refused_with_the_reason(self):
        known = self.known_hosts("kh-rsa", ["rsa", "ed25519", "ecdsa"])
        status, out, err = self.run_json(self.write_inventory(self.key_inventory, 3, "inv-rsa", known_hosts=known))
        self.assertEqual(status, 1, err)
        ends = host_ends(out)
        self.assertEqual(ends["node001"]["status"], "unreachable")
        self.assertEqual(
            ends["node001"]["error"],
            "host key for \"node001\" (%s:%d) does not match %s:1 (host_key_check strict): the server showed "
            "a ssh-ed25519 key and the file has only ssh-rsa keys for this host; libssh2 1.10 checks RSA host "
            "keys only with ssh-rsa (SHA-1) signatures, which OpenSSH >= 8.8 servers no longer make: add the "
            "host's ed25519 or ECDSA key (ssh-keyscan -t ed25519)" % (KEY_TYPES_BASE, KEY_TYPES_PORT, known))
        self.assertEqual([ends[h]["status"] for h in ("node002", "node003")], ["ok", "ok"])


class OtherKeyTypeNotOffered(KeysTestCase):
    """The fleet's sshd has an ed25519 key only; known_hosts has an ECDSA key for node001."""

    def known_hosts(self):
        hosts = self.inventory["hosts"][:3]
        stranger = os.path.join(self.dir, "stranger_ecdsa")
        if not os.path.exists(stranger):
            subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", stranger], check=True)
        path = os.path.join(self.dir, "kh-ecdsa")
        with open(path, "w") as f:
            f.write(key_line(known_names(hosts[0]), stranger + ".pub"))
            for host in hosts[1:]:
                f.write(key_line(known_names(host), os.path.join(self.fleet, "host_ed25519_key.pub")))
        return path, hosts[0]

    def test_strict_and_accept_new_refuse_it_naming_both_types(self):
        for mode in ("strict", "accept-new"):
            known, first = self.known_hosts()
            with open(known) as f:
                before = f.read()
            status, out, err = self.run_json(self.write_inventory(self.inventory, 3, "inv-" + mode, known_hosts=known,
                                                            host_key_check=mode))
            self.assertEqual(status, 1, err)
            ends = host_ends(out)
            self.assertEqual(
                ends["node001"]["error"],
                "host key for \"node001\" (%s:%d) does not match %s:1 (host_key_check %s): the server showed a "
                "ssh-ed25519 key and the file has only ecdsa-sha2-nistp256 keys for this host: the server "
                "offers none of those key types" % (first["address"], first["port"], known, mode))
            self.assertEqual([ends[h]["status"] for h in ("node002", "node003")], ["ok", "ok"])
            with open(known) as f:
                self.assertEqual(f.read(), before, "accept-new must not record a key of another type")


class HashedKnownHosts(KeysTestCase):
    """Entries hashed by ssh-keygen -H ([host]:port names; port-22 names in the unit tests)."""

    def test_hashed_entries_match_and_a_hashed_mismatch_names_its_line(self):
        hosts = self.inventory["hosts"][:3]
        stranger = os.path.join(self.dir, "stranger_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger], check=True)
        known = os.path.join(self.dir, "kh-hashed")
        with open(known, "w") as f:
            f.write(key_line([known_names(hosts[0])[0]], os.path.join(self.fleet, "host_ed25519_key.pub")))
            f.write(key_line([known_names(hosts[1])[1]], os.path.join(self.fleet, "host_ed25519_key.pub")))
            f.write(key_line([known_names(hosts[2])[0]], stranger + ".pub"))
        subprocess.run(["ssh-keygen", "-q", "-H", "-f", known], check=True, capture_output=True)
        with open(known) as f:
            text = f.read()
        self.assertEqual([l[:3] for l in text.splitlines()], ["|1|"] * 3)
        self.assertNotIn("node00", text)
        status, out, err = self.run_json(self.write_inventory(self.inventory, 3, "inv-hashed", known_hosts=known))
        self.assertEqual(status, 1, err)
        ends = host_ends(out)
        self.assertEqual(ends["node001"]["status"], "ok")  # by its hashed name
        self.assertEqual(ends["node002"]["status"], "ok")  # by its hashed address
        # issue 19: a changed key says what the server showed and how to remove the old key.
        shown = subprocess.run(["ssh-keygen", "-l", "-f", os.path.join(self.fleet, "host_ed25519_key.pub")],
                               check=True, capture_output=True, text=True).stdout.split()[1]
        self.assertEqual(ends["node003"]["error"], "host key for \"node003\" (%s:%d) does not match %s:3 "
                         "(host_key_check strict): HOST KEY CHANGED: the server showed ssh-ed25519 %s; someone "
                         "may be intercepting the connection, or the host was reinstalled (then remove its old "
                         "key: ssh-keygen -R '%s' -f %s)"
                         % (hosts[2]["address"], hosts[2]["port"], known, shown, known_names(hosts[2])[0], known))


class KnownHostsFile(KeysTestCase):
    """The known_hosts file missing, a folder, a FIFO."""

    def per_host_inventory(self, name, known, mode):
        """node001 uses `known`; node002 the fleet's known_hosts."""
        hosts = [dict(self.inventory["hosts"][0], known_hosts=known, host_key_check=mode),
                 self.inventory["hosts"][1]]
        return self.write_inventory(self.inventory, 2, name, hosts=hosts)

    def test_a_missing_file_under_strict_is_one_error_before_connecting(self):
        # issue 19: said once, not once per host (every host using it would be refused).
        known = os.path.join(self.dir, "kh-missing-strict")
        status, out, err = self.run_json(self.per_host_inventory("inv-missing", known, "strict"))
        self.assert_refused_before_connecting(
            status, out, err, "cannot read %s: no such file, so no host key can be checked (create it, or let "
            "host_key_check accept-new record the keys once) (the known_hosts of host \"node001\", "
            "host_key_check strict)" % known)
        self.assertFalse(os.path.exists(known))

    def test_accept_new_creates_a_missing_file_owner_only(self):
        known = os.path.join(self.dir, "kh-missing-new")
        status, out, err = self.run_json(self.per_host_inventory("inv-new", known, "accept-new"))
        self.assertEqual(status, 0, err)
        self.assertEqual(os.stat(known).st_mode & 0o777, 0o600)
        first = self.inventory["hosts"][0]
        with open(known) as f:
            self.assertEqual(f.read(), key_line(known_names(first), os.path.join(self.fleet, "host_ed25519_key.pub")))
        # In a folder that does not exist the run still works; the keys are not recorded, and it says so.
        known = os.path.join(self.dir, "no-such-folder", "known_hosts")
        status, out, err = self.run_json(self.per_host_inventory("inv-new-nodir", known, "accept-new"))
        self.assertEqual(status, 0, err)
        self.assertIn("deployd: warning: cannot write %s: no such file or directory: the new host keys of this "
                      "run were not saved" % known, err)

    def test_a_folder_or_fifo_in_place_of_the_file_is_one_error_before_connecting(self):
        folder = os.path.join(self.dir, "kh-folder")
        os.mkdir(folder)
        fifo = os.path.join(self.dir, "kh-fifo")
        os.mkfifo(fifo)  # opening it would block: it must not be opened
        for path, reason in ((folder, "it is a directory"), (fifo, "not a regular file")):
            for mode in ("strict", "accept-new"):
                status, out, err = self.run_json(self.per_host_inventory("inv-unreadable", path, mode))
                self.assert_refused_before_connecting(
                    status, out, err, "cannot read %s: %s (the known_hosts of host \"node001\", host_key_check %s)"
                    % (path, reason, mode))
        # host_key_check off does not read the file.
        status, out, err = self.run_json(self.per_host_inventory("inv-off", folder, "off"))
        self.assertEqual(status, 0, err)


class Identities(KeysTestCase):
    """Identity files missing, open to others, locked; an agent that is not running."""

    def home(self, name, keys):
        """A HOME whose ~/.ssh holds `keys` (file name -> (source, mode))."""
        home = os.path.join(self.dir, name)
        os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
        for file_name, (source, mode) in keys.items():
            target = os.path.join(home, ".ssh", file_name)
            shutil.copy(source, target)
            os.chmod(target, mode)
        return home

    def test_a_named_identity_that_is_missing_or_open_to_others_stops_the_run(self):
        missing = os.path.join(self.dir, "no-such-key")
        status, out, err = self.run_json(self.write_inventory(self.inventory, 3, "inv-nokey", identity=missing))
        self.assert_refused_before_connecting(status, out, err,
                                              "identity %s: cannot read: no such file or directory" % missing)
        self.assertFalse(os.path.exists(self.log_dir))

        key = os.path.join(self.dir, "open_key")
        shutil.copy(self.inventory["defaults"]["identity"], key)
        inventory = self.write_inventory(self.inventory, 3, "inv-open", identity=key)
        for mode in (0o644, 0o640):
            os.chmod(key, mode)
            status, out, err = self.run_json(inventory)
            self.assert_refused_before_connecting(
                status, out, err, "identity %s: permissions %04o are too open: a private key must be accessible "
                "by its owner only (chmod 600 %s)" % (key, mode, key))
        os.chmod(key, 0o600)  # the same file, owner only: it works
        status, out, err = self.run_json(inventory)
        self.assertEqual(status, 0, err)

    def test_a_default_key_open_to_others_is_skipped_with_the_reason(self):
        fleet_key = self.inventory["defaults"]["identity"]
        home = self.home("home-open", {"id_ed25519": (fleet_key, 0o644)})
        hosts = [self.inventory["hosts"][0], dict(self.inventory["hosts"][1], identity=fleet_key)]
        inventory = self.write_inventory(self.inventory, 2, "inv-default-open", hosts=hosts, identity=None)
        status, out, err = self.run_json(inventory, self.env(HOME=home))
        self.assertEqual(status, 1, err)
        ends = host_ends(out)
        path = os.path.join(home, ".ssh", "id_ed25519")
        self.assertEqual(ends["node001"]["error"], "authentication failed for user \"deployd\" (tried %s "
                         "(permissions 0644 are too open: a private key must be accessible by its owner only "
                         "(chmod 600 %s)))" % (path, path))
        self.assertEqual(ends["node002"]["status"], "ok")

    def test_a_locked_default_key_without_passphrase_or_terminal_is_skipped_and_the_next_one_used(self):
        locked = os.path.join(self.dir, "locked_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "some passphrase", "-f", locked], check=True)
        only_locked = self.home("home-locked", {"id_ed25519": (locked, 0o600)})
        inventory = self.write_inventory(self.inventory, 2, "inv-default-locked", identity=None)
        status, out, err = self.run_json(inventory, self.env(HOME=only_locked))
        self.assertEqual(status, 1, err)
        path = os.path.join(only_locked, ".ssh", "id_ed25519")
        for end in host_ends(out).values():
            self.assertEqual(end["error"], "authentication failed for user \"deployd\" (tried %s (encrypted, and "
                             "no passphrase_env given))" % path)
        # With a usable key after it (~/.ssh/id_ecdsa is tried next), every host logs in.
        both = self.home("home-locked-then-plain", {"id_ed25519": (locked, 0o600),
                                                    "id_ecdsa": (self.inventory["defaults"]["identity"], 0o600)})
        status, out, err = self.run_json(inventory, self.env(HOME=both))
        self.assertEqual(status, 0, err)

    def test_an_agent_that_is_not_running_is_named_and_the_keys_after_it_are_tried(self):
        socket_path = os.path.join(self.dir, "no-agent.sock")
        fleet_key = self.inventory["defaults"]["identity"]
        hosts = [self.inventory["hosts"][0], dict(self.inventory["hosts"][1], identity=fleet_key)]
        inventory = self.write_inventory(self.inventory, 2, "inv-agent", hosts=hosts, identity=None)
        empty_home = self.home("home-empty", {})
        status, out, err = self.run_json(inventory, self.env(HOME=empty_home, SSH_AUTH_SOCK=socket_path))
        self.assertEqual(status, 1, err)
        ends = host_ends(out)
        self.assertEqual(ends["node001"]["error"], "authentication failed for user \"deployd\" (tried agent (not "
                         "running: SSH_AUTH_SOCK %s: no such file or directory))" % socket_path)
        self.assertEqual(ends["node002"]["status"], "ok")
        # SSH_AUTH_SOCK unset, no key: the message says what was looked for.
        status, out, err = self.run_json(inventory, self.env(HOME=empty_home))
        self.assertEqual(status, 1, err)
        self.assertEqual(host_ends(out)["node001"]["error"],
                         "authentication failed for user \"deployd\" (nothing to try: no identity given, "
                         "SSH_AUTH_SOCK unset, no ~/.ssh/id_ed25519, id_ecdsa or id_rsa, no password_env)")
        # A dead agent does not stop the default keys after it.
        home = self.home("home-key", {"id_ed25519": (fleet_key, 0o600)})
        status, out, err = self.run_json(inventory, self.env(HOME=home, SSH_AUTH_SOCK=socket_path))
        self.assertEqual(status, 0, err)


if __name__ == "__main__":
    unittest.main()
