# SPDX-License-Identifier: MIT
"""Issue 9, fault matrix, network and server side: each fault fails its own host with a message
that names the host and what happened (on the terminal and in the run log's events.jsonl), the
other hosts of the run succeed, nothing hangs, and the exit status is the contract's (1: the run
finished and some hosts failed or were unreachable).

Faults covered elsewhere, with these same points asserted: a silent listener without retries
(run_control_test.py), sshd killed mid-command (run_control_test.py) and mid-upload
(transfer_test.py). Private sshds and listeners of this file use 127.0.51.0/24 and ports
2251-2259, apart from the fleet, so that cutting or killing them disturbs no other test."""
import glob
import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import (FleetTestCase, TcpListener, deployd_binary, descendants_of,  # noqa: E402
                           sanitized, write_json)

SSHD = "/usr/sbin/sshd"
FAKE_DNS = "127.0.50.53"  # the nameserver of the DNS test's private resolv.conf
MSG_KEXINIT, MSG_NEWKEYS = 20, 21  # RFC 4253 message numbers
# A server that hangs up: a FIN, or a reset when the proxy closes with bytes of the client unread.
HUNG_UP = r"(connection closed by the server|receive failed \(connection reset or broken\))"


class Run:
    """One finished deployd run: exit status, terminal text, run-log events, wall time."""

    def __init__(self, code, screen, events, elapsed):
        self.code, self.screen, self.events, self.elapsed = code, screen, events, elapsed

    def host_end(self, host):
        [end] = [e for e in self.events if e["event"] == "host_end" and e["host"] == host]
        return end


class PrivateSshd:
    """An sshd of the test's own, with the fleet's host key and authorized key, listening on the
    given `ListenAddress` values; started in the foreground (-D) so its PID is ours to stop."""

    def __init__(self, fleet, folder, listen):
        os.makedirs(folder, exist_ok=True)
        self.conf = os.path.join(folder, "sshd.conf")
        self.log = os.path.join(folder, "sshd.log")
        template = sorted(glob.glob(os.path.join(fleet, "sshd", "*.conf")))[0]
        with open(template) as f:
            kept = [line for line in f if not line.startswith(("ListenAddress", "PidFile"))]
        with open(self.conf, "w") as f:
            f.writelines(["ListenAddress %s\n" % entry for entry in listen])
            f.write('PidFile "%s"\n' % os.path.join(folder, "sshd.pid"))
            f.writelines(kept)
        self.process = subprocess.Popen([SSHD, "-D", "-f", self.conf, "-E", self.log],
                                        stdin=subprocess.DEVNULL)

    def wait_ready(self, address, port, family=socket.AF_INET, seconds=10):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("private sshd exited: " + open(self.log).read())
            try:
                with socket.socket(family, socket.SOCK_STREAM) as probe:
                    probe.settimeout(2)
                    probe.connect((address, port))
                    if probe.recv(64).startswith(b"SSH-2.0-"):
                        probe.sendall(b"SSH-2.0-deployd_test_probe\r\n")
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private sshd never answered on %s port %d" % (address, port))

    def stop(self):
        sessions = descendants_of(self.process.pid)
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pid in sessions:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass


class FakeDns:
    """A DNS server on FAKE_DNS port 53 (UDP) that answers NXDOMAIN to every query and keeps
    (name, type) of each, so a test can see that the lookup came here and nowhere else."""

    def __init__(self, answers=True):
        self.answers = answers  # False: the server keeps every query and never answers
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((FAKE_DNS, 53))
        self.sock.settimeout(0.1)  # so that close() ends the thread, and the address is free again
        self.closed = False
        self.queries = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.closed:
            try:
                query, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            labels, at = [], 12
            while at < len(query) and query[at] != 0:
                labels.append(query[at + 1:at + 1 + query[at]].decode("ascii", "replace"))
                at += 1 + query[at]
            question = query[12:at + 5]
            if len(question) < 5:
                continue
            self.queries.append((".".join(labels), struct.unpack("!H", query[at + 1:at + 3])[0]))
            if not self.answers:
                continue
            # QR, the query's RD, RA, rcode 3 (NXDOMAIN); one question, no records.
            flags = 0x8000 | (struct.unpack("!H", query[2:4])[0] & 0x0100) | 0x0080 | 3
            self.sock.sendto(query[:2] + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + question, peer)

    def close(self):
        self.closed = True
        self.thread.join()
        self.sock.close()


class SshStream:
    """One direction of an SSH connection as the proxy sees it: the identification line, then
    binary packets, readable until this side sent NEWKEYS (RFC 4253 sections 4.2, 6, 7.3)."""

    def __init__(self):
        self.buffer = b""
        self.has_banner = False
        self.is_encrypted = False

    def feed(self, data):
        """Returns (plaintext message numbers completed, bytes that came after NEWKEYS)."""
        if self.is_encrypted:
            return [], data
        self.buffer += data
        messages = []
        if not self.has_banner:
            while b"\n" in self.buffer and not self.has_banner:
                line, self.buffer = self.buffer.split(b"\n", 1)
                self.has_banner = line.startswith(b"SSH-")
        while self.has_banner and len(self.buffer) >= 6:
            length = struct.unpack("!I", self.buffer[:4])[0]
            if len(self.buffer) < 4 + length:
                break
            messages.append(self.buffer[5])
            self.buffer = self.buffer[4 + length:]
            if messages[-1] == MSG_NEWKEYS:
                self.is_encrypted = True
                rest, self.buffer = self.buffer, b""
                return messages, rest
        return messages, b""


class CuttingProxy(TcpListener):
    """Forwards TCP to an sshd and drops each connection at one point, as if the server's
    process died there: "kex" once the server's KEXINIT has been passed on (the key exchange
    has begun), "auth" when the client sends its first packet after the server answered its
    encrypted service request (the authentication request: libssh2 sends nothing else then)."""

    def __init__(self, address, port, target, cut):
        self.cut, self.cuts = cut, []
        super().__init__(address, port, target=target)

    def connection_state(self):
        return {"streams": {True: SshStream(), False: SshStream()},
                "client_sent_encrypted": False, "server_answered": False}

    def forward(self, state, from_client, data, sink):
        messages, encrypted = state["streams"][from_client].feed(data)
        if not from_client and self.cut == "kex" and MSG_KEXINIT in messages:
            # Pass the KEXINIT on (and whatever came with it), then die.
            sink.sendall(data)
            self.cuts.append("kex")
            return False
        if from_client and encrypted:
            if self.cut == "auth" and state["server_answered"]:
                self.cuts.append("auth")
                return False
            state["client_sent_encrypted"] = True
        if not from_client and encrypted and state["client_sent_encrypted"]:
            state["server_answered"] = True
        sink.sendall(data)
        return True


def known_hosts_line(fleet, names):
    with open(os.path.join(fleet, "host_ed25519_key.pub")) as f:
        key_type, key = f.read().split()[:2]
    return "%s %s %s\n" % (",".join(names), key_type, key)


class NetworkFaults(FleetTestCase):
    def setUp(self):
        self.work = os.path.join(self.dir, self.id().rsplit(".", 1)[-1])
        os.makedirs(self.work)
        self.runs = 0

    def fleet_hosts(self, count=2):
        return [h["name"] for h in self.inventory["hosts"][:count]]

    def inventory_path(self):
        inventory = dict(self.inventory, hosts=self.inventory["hosts"][:2], groups={})
        return write_json(self.work, "inventory.json", inventory)

    def deploy(self, hosts, steps, policy=None, prefix=(), extra=(), timeout=90):
        """Runs `steps` on `hosts` (plan host entries) and two fleet hosts, in stream mode."""
        self.runs += 1
        document = {"version": 1, "hosts": hosts, "tasks": {"t": {"steps": steps}}}
        if policy:
            document["policy"] = policy
        plan = write_json(self.work, "plan-%d.json" % self.runs, document)
        logs = os.path.join(self.work, "logs-%d" % self.runs)
        started = time.time()
        done = subprocess.run(list(prefix) + [deployd_binary(), plan, "-i", self.inventory_path(),
                                              "--log-dir", logs] + list(extra),
                              capture_output=True, timeout=timeout)
        elapsed = time.time() - started
        screen = done.stdout.decode("utf-8", "replace") + done.stderr.decode("utf-8", "replace")
        [run_dir] = glob.glob(os.path.join(logs, "*"))
        with open(os.path.join(run_dir, "events.jsonl")) as f:
            events = [json.loads(line) for line in f if line.strip()]
        return Run(done.returncode, screen, events, elapsed)

    def assert_host_fault(self, run, host, status, error):
        """`host` ended with `status` and an error matching the regex `error`, shown on the
        terminal on a line that names the host; the other hosts all succeeded; exit status 1."""
        self.assertEqual(run.code, 1, run.screen)
        end = run.host_end(host)
        self.assertEqual(end["status"], status, end)
        self.assertRegex(end["error"], error)
        shown = [line for line in run.screen.splitlines()
                 if line.lstrip().startswith(host) and end["error"] in line]
        self.assertTrue(shown, "the terminal does not show %r for %s:\n%s" % (end["error"], host, run.screen))
        others = [e for e in run.events if e["event"] == "host_end" and e["host"] != host]
        self.assertEqual({e["host"] for e in others} | {host}, {host} | set(self.fleet_hosts()))
        self.assertTrue(all(e["status"] == "ok" for e in others), run.screen)
        [run_end] = [e for e in run.events if e["event"] == "run_end"]
        self.assertEqual(run_end["exit_code"], 1)
        return end

    def start_sshd(self, name, listen, address, port, family=socket.AF_INET):
        sshd = PrivateSshd(self.fleet, os.path.join(self.work, name), listen)
        self.addCleanup(sshd.stop)
        sshd.wait_ready(address, port, family)
        return sshd

    def write_known_hosts(self, name, entries):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(known_hosts_line(self.fleet, entries))
        return path

    # 1. A DNS name that does not resolve -----------------------------------------------------
    @unittest.skipUnless(os.geteuid() == 0, "needs root: a private mount namespace for resolv.conf")
    def test_a_name_that_does_not_resolve_fails_at_once_and_is_not_retried(self):
        # The machine's resolv.conf names a nameserver off loopback: deployd runs in a private
        # mount namespace whose resolv.conf names the fake server, so no query leaves 127/8.
        resolv_conf = os.path.join(self.work, "resolv.conf")
        with open(resolv_conf, "w") as f:
            f.write("nameserver %s\noptions attempts:1 timeout:2\n" % FAKE_DNS)
        dns = FakeDns()
        self.addCleanup(dns.close)
        namespace = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                     'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv_conf]
        name = "no-such-host.invalid"
        run = self.deploy([{"name": "ghost", "address": name}], [{"run": "echo reached"}],
                          {"connect_retries": 2, "connect_retry_delay": "5s"}, prefix=namespace)
        end = self.assert_host_fault(run, "ghost", "unreachable",
                                     '^resolve "%s": the name does not resolve' % re.escape(name))
        self.assertNotIn("attempts", end["error"])
        self.assertIn(name, [query for query, _ in dns.queries], "the lookup never reached the fake DNS")
        # One lookup (A and AAAA at most once each), and no retry: it would wait 5 s first.
        types = [qtype for query, qtype in dns.queries if query == name]
        self.assertEqual(len(types), len(set(types)), dns.queries)
        self.assertLess(run.elapsed, 5)

    @unittest.skipUnless(os.geteuid() == 0, "needs root: a private mount namespace for resolv.conf")
    def test_a_dns_server_that_does_not_answer_is_a_temporary_failure_and_is_retried(self):
        resolv_conf = os.path.join(self.work, "resolv.conf")
        with open(resolv_conf, "w") as f:
            f.write("nameserver %s\noptions attempts:1 timeout:1\n" % FAKE_DNS)
        dns = FakeDns(answers=False)
        self.addCleanup(dns.close)
        namespace = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                     'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv_conf]
        name = "slow-dns.invalid"
        run = self.deploy([{"name": "ghost", "address": name}], [{"run": "echo reached"}],
                          {"connect_retries": 1, "connect_retry_delay": "100ms"}, prefix=namespace)
        self.assert_host_fault(run, "ghost", "unreachable",
                               '^resolve "%s": the name could not be resolved: no answer from the DNS server '
                               r'\(temporary failure\) \(2 attempts\)$' % re.escape(name))
        # Two lookups: the first, and the retry.
        self.assertEqual(len([q for q, qtype in dns.queries if q == name and qtype == 1]), 2, dns.queries)

    # 2. IPv6 loopback ------------------------------------------------------------------------
    def test_ipv6_loopback_works_with_known_hosts_entries_for_it(self):
        self.start_sshd("sshd6", ["[::1]:2251"], "::1", 2251, socket.AF_INET6)
        strict = self.write_known_hosts("known_hosts", ["[::1]:2251"])
        step = [{"run": 'echo "from ${SSH_CONNECTION% * *}"'}]
        run = self.deploy([{"name": "six", "address": "::1", "port": 2251, "known_hosts": strict}], step)
        self.assertEqual(run.code, 0, run.screen)
        self.assertIn("six     | from ::1 ", run.screen)
        for name in ["six"] + self.fleet_hosts():
            self.assertEqual(run.host_end(name)["status"], "ok")
        # accept-new records the key under [::1]:2251 (and the name), as OpenSSH spells it.
        learned = os.path.join(self.work, "known_hosts_learned")
        run = self.deploy([{"name": "six", "address": "::1", "port": 2251, "known_hosts": learned,
                            "host_key_check": "accept-new"}], step)
        self.assertEqual(run.code, 0, run.screen)
        with open(learned) as f:
            self.assertEqual(f.read().split()[0].split(","), ["[six]:2251", "[::1]:2251"])
        # A wrong key for [::1]:2251 is refused, and the message shows the address so.
        wrong = os.path.join(self.work, "known_hosts_wrong")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(self.work, "other")],
                       check=True)
        with open(os.path.join(self.work, "other.pub")) as f, open(wrong, "w") as out:
            out.write("[::1]:2251 " + " ".join(f.read().split()[:2]) + "\n")
        run = self.deploy([{"name": "six", "address": "::1", "port": 2251, "known_hosts": wrong}], step)
        self.assert_host_fault(run, "six", "unreachable",
                               r'^host key for "six" \(\[::1\]:2251\) does not match ')
        # "[::1]" (as known_hosts and URLs write it) is a plan error, not a DNS lookup of a name.
        plan = write_json(self.work, "brackets.json", {"version": 1, "hosts": [
            {"name": "six", "address": "[::1]", "port": 2251}], "tasks": {"t": {"steps": step}}})
        done = subprocess.run([deployd_binary(), plan], capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn('/hosts/0/address: "[::1]": write an IPv6 address without brackets ("::1"), '
                      'and its port in "port"', done.stderr)

    # 3. Port closed --------------------------------------------------------------------------
    def test_a_closed_port_is_retried_per_policy_then_unreachable(self):
        host = [{"name": "closed", "address": "127.0.51.3", "port": 2253}]
        for retries, attempts in [(None, 3), (0, 1)]:  # None: the default, 2 retries
            policy = {"connect_retry_delay": "100ms"}
            if retries is not None:
                policy["connect_retries"] = retries
            run = self.deploy(host, [{"run": "true"}], policy, extra=["-v"])
            suffix = r" \(3 attempts\)$" if attempts > 1 else "$"
            self.assert_host_fault(run, "closed", "unreachable",
                                   "^connect 127.0.51.3:2253: connection refused" + suffix)
            dialled = run.screen.count("closed: connecting to deployd@127.0.51.3:2253")
            self.assertEqual(dialled, attempts, run.screen)
            self.assertLess(run.elapsed, 10)

    # 4. TCP accepted, then silence (run_control_test.py: without retries) ---------------------
    def test_a_silent_listener_times_out_each_attempt_and_is_retried(self):
        silent = TcpListener("127.0.51.4")
        self.addCleanup(silent.close)
        run = self.deploy([{"name": "mute", "address": silent.address, "port": silent.port,
                            "connect_timeout": "1s"}], [{"run": "true"}],
                          {"connect_retries": 1, "connect_retry_delay": "100ms"})
        self.assert_host_fault(run, "mute", "unreachable",
                               r"^connect 127\.0\.51\.4:\d+: timed out after 1s \(ssh handshake\) \(2 attempts\)$")
        self.assertEqual(silent.accepted, 2)
        self.assertLess(run.elapsed, 2 * 1 + 0.1 + 5, "two 1 s timeouts and the delay, plus slack")

    # 5. sshd dies during the key exchange or during authentication -------------------------
    def cut_connections(self, cut, port, retries):
        sshd_port = port + 1
        self.start_sshd("sshd", ["127.0.51.5:%d" % sshd_port], "127.0.51.5", sshd_port)
        proxy = CuttingProxy("127.0.51.5", port, ("127.0.51.5", sshd_port), cut)
        self.addCleanup(proxy.close)
        known_hosts = self.write_known_hosts("known_hosts", ["[127.0.51.5]:%d" % port])
        runs = []
        for connect_retries in retries:  # None: the default, 2 retries
            policy = {"connect_retry_delay": "100ms"}
            if connect_retries is not None:
                policy["connect_retries"] = connect_retries
            before = proxy.accepted
            run = self.deploy([{"name": "cut", "address": "127.0.51.5", "port": port,
                                "known_hosts": known_hosts}], [{"run": "echo through"}], policy)
            runs.append((run, proxy.accepted - before))
            self.assertLess(run.elapsed, 15)
        self.assertEqual(set(proxy.cuts), {cut}, "the proxy did not cut where it should")
        return runs

    def test_sshd_dying_during_the_key_exchange_is_a_lost_connection_and_retried(self):
        [(once, dialled_once), (default, dialled)] = self.cut_connections("kex", 2255, [0, None])
        error = r"^ssh handshake with 127\.0\.51\.5:2255 \(key exchange\): " + HUNG_UP
        self.assert_host_fault(once, "cut", "unreachable", error + "$")
        self.assertEqual(dialled_once, 1)
        self.assert_host_fault(default, "cut", "unreachable", error + r" \(3 attempts\)$")
        self.assertEqual(dialled, 3)

    def test_sshd_dying_during_authentication_is_a_lost_connection_and_retried(self):
        [(once, dialled_once), (default, dialled)] = self.cut_connections("auth", 2257, [0, None])
        error = (r"^authentication with 127\.0\.51\.5:2257: " + HUNG_UP +
                 r" \(tried %s\)" % re.escape(self.inventory["defaults"]["identity"]))
        end = self.assert_host_fault(once, "cut", "unreachable", error + "$")
        self.assertNotIn("authentication failed", end["error"])
        self.assertEqual(dialled_once, 1)
        self.assert_host_fault(default, "cut", "unreachable", error + r" \(3 attempts\)$")
        self.assertEqual(dialled, 3)

    # 7. 100 MiB of output, then the connection drops ---------------------------------------
    def test_100_mib_of_output_then_a_dropped_connection_fails_only_that_host(self):
        victim = self.fleet_hosts()[0]
        # The victim's shell kills its own session's sshd process (found up its /proc parents)
        # once base64 has written 100 MiB of zeros: 1,839,607 lines of 76 "A" and one of 4.
        drop = ("head -c 100M /dev/zero | base64; p=$$; "
                "while [ \"$(cat /proc/$p/comm)\" != sshd ]; do p=$(cut -d' ' -f4 /proc/$p/stat); done; "
                "kill -9 $p")
        step = {"run": "if [ {{host}} = %s ]; then %s; else echo fine; fi" % (victim, drop)}
        document = {"version": 1, "tasks": {"t": {"steps": [step]}}}
        plan = write_json(self.work, "plan.json", document)
        logs = os.path.join(self.work, "logs")
        with open(os.path.join(self.work, "screen.txt"), "wb") as screen:
            deployd = subprocess.Popen([deployd_binary(), plan, "-i", self.inventory_path(),
                                        "--log-dir", logs], stdout=screen, stderr=subprocess.STDOUT)
            watchdog = threading.Timer(120, deployd.kill)
            watchdog.start()
            started = time.time()
            _, status, usage = os.wait4(deployd.pid, 0)
            elapsed = time.time() - started
            watchdog.cancel()
            deployd.returncode = os.waitstatus_to_exitcode(status)
        self.assertLess(elapsed, 100, "deployd hung")
        with open(os.path.join(self.work, "screen.txt"), "rb") as f:
            text = f.read().decode("utf-8", "replace")
        self.assertEqual(deployd.returncode, 1, text[-3000:])
        if not sanitized():  # ASan's shadow memory and quarantine are not deployd's
            self.assertLess(usage.ru_maxrss, 64 * 1024, "peak RSS in KiB")
        [run_dir] = glob.glob(os.path.join(logs, "*"))
        lines, ends = 0, {}
        line_event = ('"host":"%s","task":"t","step":0,"stream":"stdout","line":"%s"}' % (victim, "A" * 76)).encode()
        with open(os.path.join(run_dir, "events.jsonl"), "rb") as f:
            for raw in f:
                if raw.startswith(b'{"event":"output"'):
                    lines += raw.rstrip(b"\n").endswith(line_event)
                elif b'"event":"host_end"' in raw:
                    end = json.loads(raw)
                    ends[end["host"]] = end
        # What sshd had read from the pipe but not sent yet is lost with it: a few MiB at most.
        self.assertGreater(lines, 1_839_607 - (8 << 20) // 77, "output lines in the run log")
        self.assertLessEqual(lines, 1_839_607)
        self.assertEqual(ends[victim]["status"], "failed")
        self.assertRegex(ends[victim]["error"], r"\): connection lost during command: ")
        self.assertIn(victim + " failed: ", text)
        self.assertEqual(ends[self.fleet_hosts()[1]]["status"], "ok")

    # 8. The remote command closes its output early and runs on ------------------------------
    def test_a_command_that_closes_its_output_early_is_waited_for(self):
        victim, other = self.fleet_hosts()
        step = {"run": "if [ {{host}} = %s ]; then echo early; exec >&- 2>&-; sleep 3; exit 7; fi; "
                       "echo fine" % victim}
        run = self.deploy([], [step], timeout=60)
        end = self.assert_host_fault(run, victim, "failed", r"exited with status 7 after 3\.\ds$")
        [step_end] = [e for e in run.events if e["event"] == "step_end" and e["host"] == victim]
        self.assertEqual((step_end["status"], step_end["exit_status"]), ("failed", 7))
        self.assertGreaterEqual(step_end["duration_ms"], 3000)
        self.assertLess(run.elapsed, 15)
        self.assertIn(victim + " | early", run.screen)
        self.assertEqual(run.host_end(other)["status"], "ok")


if __name__ == "__main__":
    unittest.main()
