#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 18's benchmark: a folder of many small files sent to N hosts, deployd `put` with
`"recursive": true` vs `xargs -P N scp -r` and, when installed, `xargs -P N rsync -a`.

Same method as transfer_vs_scp.py: every tool in the same invocation, alternately, against the
same fleet (same key, same sshd), into fresh per-host folders; median wall per tool, client CPU
(user + sys of the tool and its children). Then a second deployd run of the same plan: every
file is already there, so the step reports `unchanged` (rsync's no-op run beside it). Usage:
  bench/folder_vs_scp.py --deployd build/deployd --fleet DIR [--hosts 20] [--files 1000] [--rounds 3]
"""
import argparse
import json
import os
import shutil
import tempfile

from bench_support import fleet_inventory, fresh_targets, measured


def make_folder(path, files):
    """`files` files of 1-8 KiB of random bytes in 10 subfolders: a static site, a virtualenv."""
    for i in range(files):
        folder = os.path.join(path, "d%02d" % (i % 10))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "f%04d.bin" % i), "wb") as f:
            f.write(os.urandom(1024 * (1 + i % 8)))
    return sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(path) for n in ns)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--deployd", required=True)
    parser.add_argument("--fleet", default=os.environ.get("DEPLOYD_FLEET_DIR"))
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    inventory = fleet_inventory(args.fleet, args.hosts)
    names = [h["name"] for h in inventory["hosts"]]
    work = tempfile.mkdtemp(prefix="deployd-bench-folder-")
    os.chmod(work, 0o755)
    root = os.path.join(work, "remote")
    source = os.path.join(work, "site")
    size = make_folder(source, args.files)
    with open(os.path.join(work, "inventory.json"), "w") as f:
        json.dump(inventory, f)
    with open(os.path.join(work, "plan.json"), "w") as f:
        json.dump({"version": 1, "tasks": {"up": {"steps": [
            {"put": source, "to": root + "/{{host}}/site", "recursive": True}]}}}, f)
    deployd = [args.deployd, os.path.join(work, "plan.json"), "-i", os.path.join(work, "inventory.json"),
               "--output", "json", "--log-dir", os.path.join(work, "logs"), "-f", str(args.hosts)]
    listing = "\n".join(names) + "\n"
    config = os.path.join(args.fleet, "ssh_config")
    tools = {
        "deployd": deployd,
        "scp -r": ["sh", "-c", "printf '%s' \"$0\" | xargs -P {n} -I@ scp -q -r -F {cfg} {src} @:{root}/@/site"
                   .format(n=args.hosts, cfg=config, src=source, root=root), listing],
    }
    if shutil.which("rsync"):
        tools["rsync -a"] = ["sh", "-c", "printf '%s' \"$0\" | xargs -P {n} -I@ rsync -a -e 'ssh -F {cfg}' "
                             "{src}/ @:{root}/@/site/".format(n=args.hosts, cfg=config, src=source, root=root),
                             listing]
    results = {tool: [] for tool in tools}
    again = {"deployd": [], "rsync -a": []}
    try:
        for _ in range(args.rounds):
            for tool, command in tools.items():
                fresh_targets(root, names)
                results[tool].append(measured(command))
                if tool in again and tool in tools:
                    again[tool].append(measured(command))  # everything is there already
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%d files (%.1f MiB) to %d hosts, %d rounds (median wall; CPU of that round's client)" %
          (args.files, size / 1048576, args.hosts, args.rounds))
    print("%-22s %8s %12s" % ("tool", "wall s", "client CPU s"))
    medians = {}
    rows = list(results.items()) + [(t + " (again)", r) for t, r in again.items() if r]
    for tool, runs in rows:
        wall, cpu = sorted(runs)[len(runs) // 2]
        medians[tool] = wall
        print("%-22s %8.2f %12.2f" % (tool, wall, cpu))
    print("deployd / scp -r wall ratio: %.2f; all walls: %s" % (
        medians["deployd"] / medians["scp -r"],
        {t: ["%.2f" % w for w, _ in r] for t, r in rows}))


if __name__ == "__main__":
    main()
