# SPDX-License-Identifier: MIT
"""Shared helpers for integration tests: the fleet, the deployd binary, JSON events."""
import glob
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

SKIP = 77  # meson's exit status for a skipped test
SEE_HELP = " (see deployd --help)\n"  # how a usage error of deployd PLAN ends


def fleet_dir():
    """The running fleet (scripts/fleet start), or exit 77 unless a fleet is required."""
    path = os.environ.get("DEPLOYD_FLEET_DIR")
    if path and os.path.exists(os.path.join(path, "inventory.json")):
        return path
    if os.environ.get("DEPLOYD_REQUIRE_FLEET") == "1":
        print("DEPLOYD_REQUIRE_FLEET=1 but no fleet at DEPLOYD_FLEET_DIR", file=sys.stderr)
        sys.exit(1)
    print("no fleet (set DEPLOYD_FLEET_DIR): skipping", file=sys.stderr)
    sys.exit(SKIP)


def deployd_binary():
    return os.environ["DEPLOYD"]


def sanitized():
    """True when DEPLOYD is an ASan/UBSan build (meson sets DEPLOYD_SANITIZED=1 under
    -Db_sanitize): its memory and speed are the sanitizers', so budgets on them do not apply."""
    return os.environ.get("DEPLOYD_SANITIZED") == "1"


def load_inventory(fleet):
    with open(os.path.join(fleet, "inventory.json")) as f:
        return json.load(f)


def write_json(folder, name, document):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        json.dump(document, f, indent=1)
    return path


def run_deployd(args, timeout=300, cwd=None, env=None):
    """Runs deployd; returns (exit status, stdout text, stderr text)."""
    done = subprocess.run([deployd_binary()] + args, capture_output=True, timeout=timeout, cwd=cwd,
                          env=env)
    return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")


def events_of(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def stdout_lines(events, host):
    """The stdout lines `host` printed, from JSON events."""
    return [e["line"] for e in events if e["event"] == "output" and e["host"] == host and e["stream"] == "stdout"]


def descendants_of(pid):
    """Every process below `pid` (an sshd listener's connection processes), from /proc."""
    parents = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.split("/")[2])] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, p in parents.items() if p == parent]
        found += children
        frontier += children
    return found


def processes_with(text):
    """PIDs of processes whose command line contains `text` (the fleet's hosts are this machine)."""
    found = []
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as f:
                if text.encode() in f.read().replace(b"\0", b" "):
                    found.append(int(path.split("/")[2]))
        except OSError:
            continue
    return [pid for pid in found if pid != os.getpid()]


def generate_key(folder, name):
    path = os.path.join(folder, name)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)
    return path


class TcpListener:
    """A TCP listener on a loopback address, for connections that go wrong on purpose.

    Without a target it accepts and never says a word (not even an SSH banner), holding each
    connection open. With TARGET (address, port) it forwards each connection both ways, passing
    each side's end on (half-close); a subclass may override forward() to drop a connection at a
    chosen point. With DELAY it listens only after that many seconds on PORT: until then
    connections are refused. `accepted` counts the connections."""

    def __init__(self, address="127.0.12.1", port=0, target=None, delay=0):
        assert address.startswith("127."), "loopback only"
        self.address, self.port, self.target = address, port, target
        self.accepted = 0
        self.sock = None
        self.closed = False
        self.connections = []  # held (silent) or relayed, ended by close()
        self.lock = threading.Lock()
        self.timer = None
        if delay:
            assert port, "a delayed listener needs its port chosen in advance"
            self.timer = threading.Timer(delay, self._listen)
            self.timer.start()
        else:
            self._listen()

    def _listen(self):
        with self.lock:
            if self.closed:
                return
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((self.address, self.port))
            self.sock.listen(16)
            self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, args=(self.sock,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.connections.append(client)
            if self.target:
                threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client):
        try:
            server = socket.create_connection(self.target)
        except OSError:
            client.close()
            return
        with self.lock:
            self.connections.append(server)
        peer = {client: server, server: client}
        state = self.connection_state()
        reading = [client, server]
        try:
            while reading:
                ready, _, _ = select.select(reading, [], [])
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        peer[sock].shutdown(socket.SHUT_WR)
                        reading.remove(sock)
                    elif not self.forward(state, sock is client, data, peer[sock]):
                        return
        except OSError:
            return
        finally:
            client.close()
            server.close()

    def connection_state(self):
        """What forward() keeps about one connection (a subclass's own)."""
        return None

    def forward(self, state, from_client, data, sink):
        """Passes DATA on to SINK; False drops the connection there, as if the far end died."""
        sink.sendall(data)
        return True

    def close(self):
        with self.lock:
            self.closed = True
            if self.timer:
                self.timer.cancel()
            if self.sock:
                # shutdown first: it wakes the thread blocked in accept(), which close() does not
                for sock in [self.sock] + self.connections:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                self.sock.close()
            if not self.target:
                for conn in self.connections:  # relayed ones are closed by their own thread
                    conn.close()


class FleetTestCase(unittest.TestCase):
    """A test case with the fleet's inventory and a private temporary folder."""

    @classmethod
    def setUpClass(cls):
        cls.fleet = fleet_dir()
        cls.inventory = load_inventory(cls.fleet)
        cls.tmp = tempfile.TemporaryDirectory(prefix="deployd-it-")
        cls.dir = cls.tmp.name

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()


class PlanTestCase(FleetTestCase):
    """Runs plans on the fleet's first HOSTS hosts (group "first": the first of them), with JSON
    events and a run log of the test's own."""
    HOSTS = 3

    def setUp(self):
        self.hosts = self.inventory["hosts"][:self.HOSTS]
        self.names = [h["name"] for h in self.hosts]
        inventory = dict(self.inventory, hosts=self.hosts, groups={"first": [self.names[0]]})
        self.inventory_path = write_json(self.dir, "inventory.json", inventory)

    def run_plan(self, tasks, *args, **plan):
        plan.update({"version": 1, "tasks": tasks})
        path = write_json(self.dir, "plan.json", plan)
        return run_deployd([path, "-i", self.inventory_path, "--output", "json",
                            "--log-dir", os.path.join(self.dir, "logs")] + list(args))
