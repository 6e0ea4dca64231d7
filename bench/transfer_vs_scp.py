#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 4's benchmark: one file uploaded to N hosts, deployd `put` vs `xargs -P N scp`.

Both run in the same invocation, alternately, against the same fleet (same key, same sshd), into
fresh per-host folders (deployd would otherwise report `unchanged`). Reported per tool: median wall
time, aggregate MB/s (N x size / wall), client CPU (user + sys of the tool and its children) and
client CPU per MiB sent; then deployd's wall as a ratio of scp's (target: at most 0.9). Usage:
  bench/transfer_vs_scp.py --deployd build/deployd --fleet DIR [--hosts 50] [--mib 20] [--rounds 3]
"""
import argparse
import json
import os
import shutil
import tempfile

from bench_support import fleet_inventory, fresh_targets, measured


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--deployd", required=True)
    parser.add_argument("--fleet", default=os.environ.get("DEPLOYD_FLEET_DIR"))
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--mib", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    inventory = fleet_inventory(args.fleet, args.hosts)
    names = [h["name"] for h in inventory["hosts"]]
    work = tempfile.mkdtemp(prefix="deployd-bench-xfer-")
    os.chmod(work, 0o755)
    root = os.path.join(work, "remote")
    source = os.path.join(work, "artifact.bin")
    with open(source, "wb") as f:
        for _ in range(args.mib):
            f.write(os.urandom(1 << 20))
    with open(os.path.join(work, "inventory.json"), "w") as f:
        json.dump(inventory, f)
    with open(os.path.join(work, "plan.json"), "w") as f:
        json.dump({"version": 1, "tasks": {"up": {"steps": [
            {"put": source, "to": root + "/{{host}}/artifact.bin"}]}}}, f)
    deployd = [args.deployd, os.path.join(work, "plan.json"), "-i", os.path.join(work, "inventory.json"),
               "--output", "json", "--log-dir", os.path.join(work, "logs"), "-f", str(args.hosts)]
    listing = "\n".join(names) + "\n"
    scp = ["sh", "-c", "printf '%s' \"$0\" | xargs -P {n} -I@ scp -q -F {cfg} {src} @:{root}/@/artifact.bin"
           .format(n=args.hosts, cfg=os.path.join(args.fleet, "ssh_config"), src=source, root=root), listing]
    results = {"deployd": [], "scp": []}
    try:
        for _ in range(args.rounds):
            for tool, command in (("scp", scp), ("deployd", deployd)):
                fresh_targets(root, names)
                results[tool].append(measured(command))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total_mib = args.mib * args.hosts
    print("%d MiB to %d hosts, %d rounds (median wall; CPU of that round's client)" %
          (args.mib, args.hosts, args.rounds))
    print("%-8s %8s %9s %12s %12s" % ("tool", "wall s", "MB/s", "client CPU s", "CPU ms/MiB"))
    medians = {}
    for tool, runs in results.items():
        wall, cpu = sorted(runs)[len(runs) // 2]
        medians[tool] = wall
        print("%-8s %8.2f %9.1f %12.2f %12.2f" % (tool, wall, total_mib * 1.048576 / wall, cpu,
                                                   cpu * 1000 / total_mib))
    print("deployd / scp wall ratio: %.2f (target <= 0.90); all walls: %s" % (
        medians["deployd"] / medians["scp"],
        {t: ["%.2f" % w for w, _ in r] for t, r in results.items()}))


if __name__ == "__main__":
    main()
