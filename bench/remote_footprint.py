#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What each step costs the host: CPU of the fleet's sshd processes and everything they start,
per step, for deployd, Fabric 2 and OpenSSH with ControlMaster running `true`, and running
`sh -c true` (openssh-sh: what `sh -c` semantics cost at least) (issue 20, part 4).

The fleet's sshd listeners are moved into a cgroup v1 `cpuacct` group of their own, whose
counter keeps the CPU of every process that ran in it, exited ones included (a listener's
cutime misses the processes that init reaps). Each tool runs K steps of `true` on N hosts,
then 1 step on the same N hosts; the difference over N * (K - 1) is the cost of one more step
on an open session, the connection's own cost taken out. Needs root (cgroup). Usage:
  bench/remote_footprint.py --fleet build/fleet [--hosts 20] [--steps 21] [--repeat 3]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vs_openssh  # noqa: E402
import wan_bench  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CGROUP = "/sys/fs/cgroup/cpuacct/deployd-footprint-%d" % os.getpid()


def fleet_cpu():
    """Seconds of CPU used so far by the fleet's cgroup, once every connection has ended."""
    with open(os.path.join(CGROUP, "cpuacct.usage")) as f:
        return int(f.read()) / 1e9


def settled_cpu(pids):
    vs_openssh.sshd_cpu(pids)  # waits (bounded) until no listener has a connection left
    return fleet_cpu()


def deployd(args, folder, names, steps, pids):
    inventory, _ = vs_openssh.write_inventory(folder, args.fleet, len(names))
    plan = vs_openssh.write_plan(folder, "plan.json", ["true"] * steps, len(names), len(names))
    before = settled_cpu(pids)
    subprocess.run([args.deployd, plan, "-i", inventory, "--output", "json", "--log-dir",
                    os.path.join(folder, "logs")], capture_output=True, check=True)
    return settled_cpu(pids) - before


def fabric(args, folder, names, steps, pids):
    before = settled_cpu(pids)
    wan_bench.fabric(args.fleet, names, {"steps": ["true"] * steps})
    return settled_cpu(pids) - before


def openssh(args, folder, names, steps, pids):
    before = settled_cpu(pids)
    vs_openssh.control_master_run(args.fleet, names, ["true"] * steps, [], folder)
    return settled_cpu(pids) - before


def openssh_sh(args, folder, names, steps, pids):
    """The floor for `sh -c` semantics: the login shell execs one `sh -c` per step."""
    before = settled_cpu(pids)
    vs_openssh.control_master_run(args.fleet, names, ["sh -c true"] * steps, [], folder)
    return settled_cpu(pids) - before


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deployd", default=os.path.join(REPO, "build", "deployd"))
    parser.add_argument("--fleet", required=True)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--steps", type=int, default=21)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tools", default="deployd,fabric,openssh,openssh-sh")
    args = parser.parse_args()
    args.deployd = os.path.abspath(args.deployd)
    args.fleet = os.path.abspath(args.fleet)
    pids = vs_openssh.fleet_pids(args.fleet)
    os.mkdir(CGROUP)
    try:
        for pid in pids:
            with open(os.path.join(CGROUP, "cgroup.procs"), "w") as f:
                f.write(str(pid))
        folder = tempfile.mkdtemp(prefix="footprint-", dir="/tmp")
        _, names = vs_openssh.write_inventory(folder, args.fleet, args.hosts)
        tools = {"deployd": deployd, "fabric": fabric, "openssh": openssh, "openssh-sh": openssh_sh}
        results = {name: [] for name in args.tools.split(",")}
        for _ in range(args.repeat):  # interleaved, so that the machine's drift hits every tool
            for name in results:
                many = tools[name](args, folder, names, args.steps, pids)
                one = tools[name](args, folder, names, 1, pids)
                results[name].append(1000 * (many - one) / (len(names) * (args.steps - 1)))
        print("| tool | host CPU per further step (sshd + shells), median | runs |")
        print("| --- | --- | --- |")
        for name, runs in results.items():
            print("| %s | %.2f ms | %s |" % (name, statistics.median(runs), ", ".join("%.2f" % r for r in runs)))
    finally:
        with open("/sys/fs/cgroup/cpuacct/cgroup.procs", "w") as root:
            for pid in pids:
                try:
                    root.write(str(pid))
                    root.flush()
                except OSError:
                    pass
        os.rmdir(CGROUP)


if __name__ == "__main__":
    main()
