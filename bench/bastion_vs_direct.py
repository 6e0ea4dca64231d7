#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""100 hosts through one bastion vs 100 hosts direct vs OpenSSH `ssh -J` (issue 7), same run.

The targets are sshds in a network namespace that only the bastion reaches
(tests/integration/bastion_net.sh, run as root). The direct run is deployd started inside that
namespace, so all three reach the very same target sshds:
  direct   ip netns exec NS deployd plan.json                      (127.0.71.x)
  bastion  deployd plan.json, every host "via": "deployd@198.18.K.2:PORT" (see bastion_net.sh)
  ssh -J   xargs -P N ssh -F fleet/ssh_config -J 198.18.K.2 nodeNNN 'echo ok', with OpenSSH's
           default algorithms, and forced to curve25519 + aes128-ctr (deployd's) on both hops
Rounds alternate the three and the medians are reported (the machine is shared and noisy).
Usage: sudo bench/bastion_vs_direct.py --deployd build/deployd [--hosts 100] [--rounds 3]
       [--port 2299] [--dir build/bench-bastion]
"""
import argparse
import json
import os
import statistics
import subprocess

from bench_support import measured


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NET = os.path.join(REPO, "tests", "integration", "bastion_net.sh")


def write_plan(folder, name, inventory, count, via):
    hosts = inventory["hosts"][:count]
    plan = {"version": 1, "defaults": inventory["defaults"],
            "policy": {"forks": count, "max_connecting": count},
            "hosts": [dict(h, via=via) if via else h for h in hosts],
            "tasks": {"bench": {"steps": [{"run": "echo ok"}]}}}
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        json.dump(plan, f)
    return path, [h["name"] for h in hosts]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--deployd", required=True)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=2299)
    parser.add_argument("--dir", default=os.path.join(REPO, "build", "bench-bastion"))
    args = parser.parse_args()
    deployd = os.path.abspath(args.deployd)
    folder = os.path.abspath(args.dir)
    subprocess.run([NET, "down", folder], check=True)
    subprocess.run([NET, "up", folder, str(args.hosts), str(args.port)], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        with open(os.path.join(folder, "bastion.json")) as f:
            net = json.load(f)
        with open(os.path.join(net["fleet"], "inventory.json")) as f:
            inventory = json.load(f)
        bastion = "deployd@%s:%d" % (net["b1"], net["port"])
        direct_plan, names = write_plan(folder, "direct.json", inventory, args.hosts, None)
        via_plan, _ = write_plan(folder, "via.json", inventory, args.hosts, [bastion])
        namespace = "deployd-bt-%d" % net["port"]
        # "Host *" first: the first value obtained wins, for the jump host too.
        forced_config = os.path.join(folder, "ssh_config_forced")
        with open(os.path.join(net["fleet"], "ssh_config")) as f, open(forced_config, "w") as out:
            out.write("Host *\n  KexAlgorithms curve25519-sha256\n  Ciphers aes128-ctr\n" + f.read())

        def ssh_j(config):
            return ["xargs", "-P", str(args.hosts), "-I{}", "ssh", "-F", config, "-J", net["b1"],
                    "{}", "echo ok"]

        log_dir = ["--log-dir", os.path.join(folder, "logs")]
        runs = {
            "deployd direct": [["ip", "netns", "exec", namespace, deployd, direct_plan] + log_dir, None],
            "deployd via bastion": [[deployd, via_plan] + log_dir, None],
            "ssh -J, xargs -P %d" % args.hosts: [
                ssh_j(os.path.join(net["fleet"], "ssh_config")), "\n".join(names).encode()],
            "ssh -J (curve25519, aes128-ctr)": [ssh_j(forced_config), "\n".join(names).encode()],
        }
        results = {label: [] for label in runs}
        for _ in range(args.rounds):
            for label, (command, stdin) in runs.items():
                results[label].append(measured(command, stdin))
        print("## %d hosts, `echo ok`, median of %d rounds" % (args.hosts, args.rounds))
        print("| run | wall s | client CPU s | client CPU ms/host |")
        print("| --- | --- | --- | --- |")
        medians = {}
        for label, samples in results.items():
            wall = statistics.median(s[0] for s in samples)
            cpu = statistics.median(s[1] for s in samples)
            medians[label] = wall
            print("| %s | %.2f | %.2f | %.2f |" % (label, wall, cpu, 1000 * cpu / args.hosts))
        labels = list(runs)
        print("\n- wall via bastion / direct: %.2f (target <= 1.5)"
              % (medians[labels[1]] / medians[labels[0]]))
        print("- wall via bastion / ssh -J: %.2f; / ssh -J forced curve25519: %.2f"
              % (medians[labels[1]] / medians[labels[2]], medians[labels[1]] / medians[labels[3]]))
    finally:
        subprocess.run([NET, "down", folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
