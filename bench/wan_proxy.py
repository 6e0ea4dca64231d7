#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A WAN in front of a local fleet: a delaying TCP relay per host, on loopback only (issue 20).

The kernel here has no netem, so every fleet host gets a listening socket on another loopback
address (127.0.41.x by default, same port) whose bytes reach the host's sshd, and the host's
bytes come back, each direction `--rtt-ms / 2` later, optionally at most `--mbit` per connection
and direction. Writes into OUT, for every tool to use as it would a real fleet:
  inventory.json   deployd -i (the fleet's, each address replaced by its relay's)
  ssh_config       ssh -F (HostName = the relay; same key, user and strict host key checking)
  known_hosts      the fleet's entries plus [RELAY]:PORT for every host
  proxy-N.pid, proxy-N.stats.json (written on SIGTERM/SIGINT: how late the relay delivered)

The TCP handshake with the relay is local and instant; to keep a connection's cost right, the
relay dials the host only one one-way delay after accepting (the SYN's trip), so the server's
banner reaches the client one RTT after connect(), as over a WAN where it rides right behind the
SYN-ACK; and it holds what the client sends until 1.5 RTT after accepting, when the client's
first bytes would reach the host over a WAN (sent once the SYN-ACK is back). Clients then see
"TCP connect" as ~0 and the banner as ~1 RTT; the sum is what a WAN costs.

Usage:
  bench/wan_proxy.py --fleet DIR --out OUT --rtt-ms 50 [--mbit 100] [--hosts N]
                     [--listen-base 127.0.41.1] [--processes 2]
Runs until SIGTERM (each process's PID is in OUT/proxy-N.pid). `--write-only` writes the files
and exits; `--shard I/K` serves the I-th of K slices of the hosts (what --processes starts).
"""
import argparse
import asyncio
import ipaddress
import json
import os
import signal
import socket
import statistics
import subprocess
import sys

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
CHUNK = 256 * 1024
# Bytes a relay direction holds before it stops reading: far above the bandwidth-delay product
# of any RTT here (100 MB/s x 50 ms = 5 MB), so the relay never limits a window itself.
MAX_QUEUED = 16 * 1024 * 1024
# WAN_PROXY_TRACE=FILE: one line per chunk read (ms, direction, bytes), to see which message
# waits for which; for one connection at a time.
TRACE = open(os.environ["WAN_PROXY_TRACE"], "a", buffering=1) if os.environ.get("WAN_PROXY_TRACE") else None


def loopback(text):
    address = ipaddress.ip_address(text)
    if address not in LOOPBACK:
        sys.exit("wan_proxy: %s is not a loopback address (127.0.0.0/8): refusing" % text)
    return address


def relay_addresses(base, count):
    """count addresses from base, skipping .0 and .255 (as scripts/fleet does)."""
    addresses = []
    address = loopback(base)
    while len(addresses) < count:
        if int(address) & 0xFF not in (0, 255):
            addresses.append(loopback(str(address)))
        address += 1
    return [str(a) for a in addresses]


def write_files(fleet, out, count, listen_base, write=True):
    """Writes OUT's inventory, ssh_config and known_hosts (unless not `write`); returns the
    routes [(relay address, port, host address, port)]."""
    with open(os.path.join(fleet, "inventory.json")) as f:
        inventory = json.load(f)
    hosts = inventory["hosts"][:count] if count else inventory["hosts"]
    if count and len(hosts) < count:
        sys.exit("wan_proxy: the fleet has %d hosts, %d asked" % (len(hosts), count))
    relays = relay_addresses(listen_base, len(hosts))
    fleet_addresses = {str(loopback(h["address"])) for h in hosts}
    if fleet_addresses & set(relays):
        sys.exit("wan_proxy: the relay addresses overlap the fleet's: pick another --listen-base")
    routes = []
    with open(os.path.join(fleet, "known_hosts")) as f:
        known = f.read().splitlines()
    key_of = {}
    for line in known:
        name, key_type, key = line.split()[:3]
        key_of[name] = (key_type, key)
    extra = []
    for host, relay in zip(hosts, relays):
        port = host["port"]
        routes.append((relay, port, host["address"], port))
        original = "[%s]:%d" % (host["address"], port) if port != 22 else host["address"]
        spelled = "[%s]:%d" % (relay, port) if port != 22 else relay
        key_type, key = key_of[original]
        extra.append("%s %s %s" % (spelled, key_type, key))
        host["address"] = relay
    if not write:
        return routes
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "known_hosts"), "w") as f:
        f.write("\n".join(known + extra) + "\n")
    inventory["hosts"] = hosts
    inventory["defaults"]["known_hosts"] = os.path.join(out, "known_hosts")
    inventory["groups"] = {"fleet": [h["name"] for h in hosts]}
    with open(os.path.join(out, "inventory.json"), "w") as f:
        json.dump(inventory, f, indent=1)
    with open(os.path.join(out, "ssh_config"), "w") as f:
        f.write("# The fleet behind bench/wan_proxy.py's relays: ssh -F %s/ssh_config node001\n" % out)
        for host in hosts:
            f.write("Host %s\n  HostName %s\n  Port %d\n" % (host["name"], host["address"], host["port"]))
        f.write("Host *\n  User %s\n  IdentityFile \"%s\"\n  IdentitiesOnly yes\n"
                "  UserKnownHostsFile \"%s\"\n  GlobalKnownHostsFile /dev/null\n"
                "  StrictHostKeyChecking yes\n  BatchMode yes\n"
                % (inventory["defaults"]["user"], inventory["defaults"]["identity"],
                   os.path.join(out, "known_hosts")))
    return routes


class Stats:
    """How late the relay delivered chunks against their due time: the harness's own error."""

    def __init__(self):
        self.lateness = []  # seconds, one per delivered chunk (capped sample)
        self.connections = 0
        self.bytes = 0

    def note(self, late, size):
        self.bytes += size
        if len(self.lateness) < 200000:
            self.lateness.append(late)

    def summary(self):
        late = sorted(self.lateness) or [0.0]
        return {"connections": self.connections, "bytes": self.bytes, "chunks": len(self.lateness),
                "late_ms_median": 1000 * statistics.median(late),
                "late_ms_p99": 1000 * late[min(len(late) - 1, int(0.99 * len(late)))],
                "late_ms_max": 1000 * late[-1]}


def quick_ack(reader):
    """ACKs at once: a delayed ACK (40 ms) from the relay would stall a peer's Nagle, an artifact
    of the relay. (ACKs are local, so the relay hides, rather than adds, the WAN's Nagle waits.)"""
    transport = getattr(reader, "_transport", None)
    sock = transport.get_extra_info("socket") if transport else None
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        except OSError:
            pass


async def pump(reader, writer, delay, rate, stats, label="", not_before=0.0):
    """Copies reader to writer, each chunk `delay` after it arrived (and not before loop time
    `not_before`), at most `rate` bytes/s."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()
    room = asyncio.Event()
    room.set()
    queued = 0

    async def read_side():
        nonlocal queued
        try:
            while True:
                await room.wait()
                data = await reader.read(CHUNK)
                quick_ack(reader)
                if TRACE:
                    TRACE.write("%.1f %s %d\n" % (1000 * loop.time(), label, len(data)))
                queue.put_nowait((loop.time() + delay, data))
                if not data:
                    return
                queued += len(data)
                if queued >= MAX_QUEUED:
                    room.clear()
        except (ConnectionError, OSError):
            queue.put_nowait((loop.time() + delay, b""))

    async def write_side():
        nonlocal queued
        free_at = 0.0  # when the capped link has sent what it was given
        while True:
            due, data = await queue.get()
            due = max(due, not_before)
            if rate:
                due = max(due, free_at)
                free_at = due + len(data) / rate
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            stats.note(max(0.0, loop.time() - due), len(data))
            writer.write(data)
            await writer.drain()
            queued -= len(data)
            if queued < MAX_QUEUED:
                room.set()

    reading = asyncio.ensure_future(read_side())
    try:
        await write_side()
    finally:
        reading.cancel()


async def relay(client_reader, client_writer, upstream, delay, rate, stats):
    stats.connections += 1
    loop = asyncio.get_running_loop()
    accepted = loop.time()
    try:
        # The SYN's trip: the host sees the connection one one-way delay after the client made it.
        await asyncio.sleep(max(0.0, accepted + delay - loop.time()))
        host_reader, host_writer = await asyncio.open_connection(*upstream)
    except OSError:
        client_writer.close()
        return
    for w in (client_writer, host_writer):
        sock = w.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        # Over a WAN the client can send only once the SYN-ACK is back (1 RTT), so its first
        # bytes reach the host 1.5 RTT after it dialled; here connect() returned at once.
        await asyncio.gather(pump(client_reader, host_writer, delay, rate, stats, "client->host",
                                  not_before=accepted + 3 * delay),
                             pump(host_reader, client_writer, delay, rate, stats, "host->client"))
    except (ConnectionError, OSError, asyncio.CancelledError):
        pass  # a reset, or the relay stopping
    finally:
        for w in (client_writer, host_writer):
            w.close()


async def serve(routes, delay, rate, stats_path):
    stats = Stats()
    servers = []
    for relay_address, relay_port, host_address, host_port in routes:
        upstream = (host_address, host_port)
        servers.append(await asyncio.start_server(
            lambda r, w, u=upstream: relay(r, w, u, delay, rate, stats),
            relay_address, relay_port, backlog=1024))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    for server in servers:
        server.close()
    with open(stats_path, "w") as f:
        json.dump(stats.summary(), f)


def start(fleet, out, count, rtt_ms, mbit=0.0, listen_base="127.0.41.1", processes=1):
    """Writes OUT's files, starts the relay processes and waits until they listen; returns PIDs."""
    write_files(fleet, out, count, listen_base)
    pids = []
    for index in range(processes):
        command = [sys.executable, os.path.abspath(__file__), "--fleet", fleet, "--out", out,
                   "--rtt-ms", str(rtt_ms), "--mbit", str(mbit), "--hosts", str(count),
                   "--listen-base", listen_base, "--shard", "%d/%d" % (index, processes)]
        child = subprocess.Popen(command, stdout=subprocess.PIPE)
        if child.stdout.readline().strip() != b"ready":
            child.kill()
            sys.exit("wan_proxy: a relay process did not start")
        pids.append(child.pid)
        with open(os.path.join(out, "proxy-%d.pid" % index), "w") as f:
            f.write("%d\n" % child.pid)
    return pids


def stop(pids, out):
    """Stops the relay processes (by PID) and returns their stats."""
    stats = []
    for index, pid in enumerate(pids):
        try:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        path = os.path.join(out, "proxy-%d.stats.json" % index)
        if os.path.exists(path):
            with open(path) as f:
                stats.append(json.load(f))
    return stats


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fleet", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--rtt-ms", type=float, default=50.0)
    parser.add_argument("--mbit", type=float, default=0.0, help="cap per connection and direction (0: none)")
    parser.add_argument("--hosts", type=int, default=0, help="the first N hosts (0: all)")
    parser.add_argument("--listen-base", default="127.0.41.1")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--shard", help="I/K: serve only every K-th host from the I-th")
    parser.add_argument("--write-only", action="store_true")
    args = parser.parse_args()
    if args.write_only:
        write_files(args.fleet, args.out, args.hosts, args.listen_base)
        return
    if not args.shard:
        pids = start(args.fleet, args.out, args.hosts, args.rtt_ms, args.mbit, args.listen_base, args.processes)
        print("relays up (PIDs %s), RTT %g ms: %s/inventory.json, %s/ssh_config"
              % (" ".join(map(str, pids)), args.rtt_ms, args.out, args.out), flush=True)
        return
    index, shards = (int(x) for x in args.shard.split("/"))
    routes = write_files(args.fleet, args.out, args.hosts, args.listen_base, write=False)[index::shards]
    rate = args.mbit * 1e6 / 8
    asyncio.run(serve(routes, args.rtt_ms / 2000.0, rate,
                      os.path.join(args.out, "proxy-%d.stats.json" % index)))


if __name__ == "__main__":
    main()
