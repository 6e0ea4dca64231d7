#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Warm sessions (issue 20, part 3): the same 5-step plan on N fleet hosts run cold (direct
connections), then through `deployd serve` twice (the first run opens the sessions in the daemon,
the second borrows them), and a 1-host ad-hoc command (`deployd -H HOST -- true`) borrowing a
warm session, median of --repeat runs. The daemon gets a runtime folder of its own and is stopped
at the end.

  bench/warm_sessions.py --deployd build/deployd --fleet DIR [--hosts 500] [--repeat 15]
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench_support import fleet_inventory, measured  # noqa: E402

FIVE_STEPS = ["true", "echo step2", "uname -r", "test -d /tmp", "echo done"]
TICKS = os.sysconf("SC_CLK_TCK")


def process_table():
    """{pid: (parent pid, CPU ticks of it and its waited-for children)} from /proc."""
    table = {}
    for path in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(path) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(path.split("/")[2])] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    return table


def tree_seconds(roots):
    """CPU seconds of `roots` and everything below them (the fleet's sshd processes and shells)."""
    table = process_table()
    children = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    total, stack = 0, list(roots)
    while stack:
        pid = stack.pop()
        total += table.get(pid, (0, 0))[1]
        stack += children.get(pid, [])
    return total / TICKS


def sshd_roots(fleet):
    roots = []
    for path in glob.glob(os.path.join(fleet, "sshd", "*.pid")):
        with open(path) as f:
            roots.append(int(f.read()))
    return roots


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deployd", default="build/deployd")
    parser.add_argument("--fleet", required=True)
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    deployd = os.path.abspath(args.deployd)
    folder = tempfile.mkdtemp(prefix="warm-bench-")
    runtime = os.path.join(folder, "runtime")
    os.makedirs(runtime, mode=0o700)
    os.environ["XDG_RUNTIME_DIR"] = runtime
    os.environ.pop("SSH_AUTH_SOCK", None)
    inventory = fleet_inventory(args.fleet, args.hosts)
    inventory["groups"] = {"bench": [h["name"] for h in inventory["hosts"]]}
    inventory_path = os.path.join(folder, "inventory.json")
    with open(inventory_path, "w") as f:
        json.dump(inventory, f)
    plan = os.path.join(folder, "plan.json")
    with open(plan, "w") as f:
        json.dump({"version": 1, "policy": {"forks": args.hosts, "max_connecting": args.hosts},
                   "tasks": {"bench": {"on": "bench", "steps": [{"run": s} for s in FIVE_STEPS]}}}, f)
    logs = ["--log-dir", os.path.join(folder, "logs"), "-q"]
    run = [deployd, plan, "-i", inventory_path] + logs
    try:
        cold = measured(run)
        print("5 steps on %d hosts, direct connections: %.2f s wall, %.2f s client CPU" % ((args.hosts,) + cold))
        subprocess.run([deployd, "serve", "--idle", "10m"], check=True, capture_output=True)
        first = measured(run)
        print("  through deployd serve, first run (opens the sessions): %.2f s wall" % first[0])
        status = subprocess.run([deployd, "serve", "--status"], check=True, capture_output=True, text=True).stdout
        daemon = [int(status.split("pid ")[1].split(",")[0])]
        roots = sshd_roots(args.fleet)
        for attempt in range(3):
            sshd_before, daemon_before = tree_seconds(roots), tree_seconds(daemon)
            warm = measured(run)
            time.sleep(1)  # the shells of the last steps reaped
            sshd = tree_seconds(roots) - sshd_before
            print("  through deployd serve, warm run %d: %.2f s wall, %.2f s client CPU, %.2f s daemon CPU, "
                  "%.2f s fleet sshd CPU (%.2f ms per command)" % (
                      (attempt + 1,) + warm + (tree_seconds(daemon) - daemon_before, sshd,
                                               sshd * 1000 / (len(FIVE_STEPS) * args.hosts))))
        one = inventory["hosts"][0]["name"]
        ad_hoc = [deployd, "-i", inventory_path, "-H", one] + logs + ["--", "true"]
        walls = []
        for _ in range(args.repeat):
            start = time.monotonic()
            subprocess.run(ad_hoc, check=True, capture_output=True)
            walls.append(time.monotonic() - start)
        print("1-host ad-hoc `-- true`, warm: median %.1f ms, min %.1f ms (%d runs)" % (
            statistics.median(walls) * 1000, min(walls) * 1000, args.repeat))
    finally:
        subprocess.run([deployd, "serve", "--stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
