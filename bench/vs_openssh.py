#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""deployd against plain OpenSSH on the same local fleet, measured in the same run.

Workloads (issue "Core"; latency runs first, on a machine not yet busy with the others):
  echo     `echo ok` on N hosts: deployd vs `xargs -P N ssh` with OpenSSH's default algorithms
           and forced to curve25519 + aes128-ctr (same key, host key checking on)
  steps5   5 steps on 200 hosts: deployd vs OpenSSH ControlMaster (one master per host, then
           five `xargs -P` rounds)
  latency  the same 5 steps on ONE host: deployd's wall time (vs ControlMaster)

Figures are ratios against baselines measured in this very run: timings on a shared 2-core
machine are noisy, ratios much less so. Usage:
  bench/vs_openssh.py --deployd build/deployd [--hosts 500] [--fleet DIR] [--workloads echo,steps5,latency]
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIVE_STEPS = ["true", "echo step2", "uname -r", "test -d /tmp", "echo done"]
FORCED = ["-o", "KexAlgorithms=curve25519-sha256", "-o", "Ciphers=aes128-ctr"]


def machine_ticks():
    """(all ticks, idle ticks) of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]  # idle + iowait


def run_measured(command, sshd_pids, env=None):
    """Runs command; returns dict(wall, cpu, rss_kb, sshd_cpu, busy, status, out, err)."""
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_sshd = sshd_cpu(sshd_pids)
    total_before, idle_before = machine_ticks()
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, env=env)
    wall = time.monotonic() - start
    total_after, idle_after = machine_ticks()
    busy = 1 - (idle_after - idle_before) / max(total_after - total_before, 1)
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after_children.ru_utime - before_children.ru_utime) + (after_children.ru_stime - before_children.ru_stime)
    return {"wall": wall, "cpu": cpu, "rss_kb": after_children.ru_maxrss, "busy": busy,
            "sshd_cpu": sshd_cpu(sshd_pids) - before_sshd, "status": done.returncode,
            "out": done.stdout, "err": done.stderr}


def peak_rss_kb(command, env=None):
    """Peak RSS of one command, from a fresh helper process so earlier children do not count."""
    probe = ("import resource,subprocess,sys;"
             "subprocess.run(sys.argv[1:],capture_output=True);"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", probe] + command, capture_output=True, env=env, check=True)
    return int(done.stdout.decode().strip())


def children_of(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def sshd_cpu(pids, settle_seconds=15):
    """CPU seconds the fleet's sshd processes and their reaped children have used.

    A connection's processes reach the listener's cutime/cstime only once they have exited
    and been reaped, so wait (bounded) until no listener has a connection child left."""
    deadline = time.monotonic() + settle_seconds
    while any(children_of(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return total / ticks


def fleet_pids(fleet):
    out = subprocess.run([os.path.join(REPO, "scripts", "fleet"), "pids", fleet], capture_output=True,
                         text=True, check=True).stdout
    return [int(p) for p in out.split()]


def write_plan(folder, name, steps, hosts_count, forks):
    plan = {"version": 1, "policy": {"forks": forks, "max_connecting": forks},
            "tasks": {"bench": {"on": "bench", "steps": [{"run": s} for s in steps]}}}
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        json.dump(plan, f)
    return path


def write_inventory(folder, fleet, count):
    with open(os.path.join(fleet, "inventory.json")) as f:
        inventory = json.load(f)
    hosts = inventory["hosts"][:count]
    if len(hosts) < count:
        sys.exit("the fleet has %d hosts, %d needed" % (len(hosts), count))
    inventory["hosts"] = hosts
    inventory["groups"] = {"bench": [h["name"] for h in hosts]}
    path = os.path.join(folder, "inventory-%d.json" % count)
    with open(path, "w") as f:
        json.dump(inventory, f)
    return path, [h["name"] for h in hosts]


def deployd_run(args, folder, fleet, count, steps, pids):
    inventory, _ = write_inventory(folder, fleet, count)
    plan = write_plan(folder, "plan-%d.json" % count, steps, count, max(count, 1))
    command = [args.deployd, plan, "-i", inventory, "--output", "json", "--log-dir", os.path.join(folder, "logs")]
    result = run_measured(command, pids)
    if result["status"] != 0:
        sys.exit("deployd failed (%d): %s" % (result["status"], result["err"].decode()[-2000:]))
    result["rss_kb"] = peak_rss_kb(command)
    return result


def xargs_ssh(fleet, names, command, extra, pids, parallel):
    ssh = ["ssh", "-F", os.path.join(fleet, "ssh_config")] + extra
    xargs = ["xargs", "-P", str(parallel), "-I{}"] + ssh + ["{}", command]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_sshd = sshd_cpu(pids)
    start = time.monotonic()
    done = subprocess.run(xargs, input="\n".join(names).encode(), capture_output=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit("ssh baseline failed: " + done.stderr.decode()[-2000:])
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "sshd_cpu": sshd_cpu(pids) - before_sshd}


def control_master_run(fleet, names, steps, pids, folder):
    """OpenSSH at its best for many steps: one master per host, then one xargs round per step."""
    control = ["-o", "ControlMaster=auto", "-o", "ControlPath=%s/cm-%%C" % folder, "-o", "ControlPersist=60"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_sshd = sshd_cpu(pids)
    start = time.monotonic()
    for step in steps:
        xargs = ["xargs", "-P", str(len(names)), "-I{}", "ssh", "-F", os.path.join(fleet, "ssh_config")] + \
            FORCED + control + ["{}", step]
        subprocess.run(xargs, input="\n".join(names).encode(), capture_output=True, check=True)
    wall = time.monotonic() - start
    # Stop the masters. ControlPersist daemonises them, so their CPU is not in our rusage.
    for name in names:
        subprocess.run(["ssh", "-F", os.path.join(fleet, "ssh_config")] + control + ["-O", "exit", name],
                       capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "sshd_cpu": sshd_cpu(pids) - before_sshd}


def per_host_ms(seconds, hosts):
    return 1000.0 * seconds / hosts


def echo_workload(args, folder, fleet, pids, report):
    count = args.hosts
    _, names = write_inventory(folder, fleet, count)
    base_rss = deployd_run(args, folder, fleet, 1, ["echo ok"], pids)["rss_kb"]
    ours = deployd_run(args, folder, fleet, count, ["echo ok"], pids)
    default_ssh = xargs_ssh(fleet, names, "echo ok", [], pids, count)
    forced_ssh = xargs_ssh(fleet, names, "echo ok", FORCED, pids, count)
    cores = os.cpu_count()
    floor = ours["sshd_cpu"] / cores
    rows = [
        ("deployd", ours), ("ssh (defaults)", default_ssh), ("ssh (curve25519, aes128-ctr)", forced_ssh)]
    report.append("## echo ok on %d hosts" % count)
    report.append("| tool | wall s | client CPU ms/host | sshd CPU s |")
    report.append("| --- | --- | --- | --- |")
    for label, r in rows:
        report.append("| %s | %.2f | %.2f | %.2f |" % (label, r["wall"], per_host_ms(r["cpu"], count), r["sshd_cpu"]))
    report.append("")
    report.append("- deployd peak RSS: %d KB (1 host: %d KB): %.1f KB per host above the base"
                  % (ours["rss_kb"], base_rss, (ours["rss_kb"] - base_rss) / max(count - 1, 1)))
    report.append("- wall ratio deployd/ssh defaults: %.2f (target <= 0.4)" % (ours["wall"] / default_ssh["wall"]))
    report.append("- wall ratio deployd/ssh forced curve25519: %.2f (target <= 0.8)" % (ours["wall"] / forced_ssh["wall"]))
    report.append("- client CPU ratio deployd/ssh defaults: %.3f; deployd/ssh forced: %.3f"
                  % (ours["cpu"] / default_ssh["cpu"], ours["cpu"] / forced_ssh["cpu"]))
    report.append("- server-bound floor (deployd run's sshd CPU / %d cores): %.2f s; deployd wall = %.2fx floor"
                  % (cores, floor, ours["wall"] / floor if floor else float("nan")))
    report.append("- machine CPU busy during deployd's run: %.0f%% (sshd accounting misses kernel work and"
                  " processes reaped by init, so this is the truer measure of being server-bound)"
                  % (100 * ours["busy"]))
    report.append("")


def steps5_workload(args, folder, fleet, pids, report):
    count = min(200, args.hosts)
    _, names = write_inventory(folder, fleet, count)
    ours = deployd_run(args, folder, fleet, count, FIVE_STEPS, pids)
    master = control_master_run(fleet, names, FIVE_STEPS, pids, folder)
    report.append("## 5 steps on %d hosts" % count)
    report.append("| tool | wall s | client CPU ms/host | sshd CPU s |")
    report.append("| --- | --- | --- | --- |")
    for label, r in (("deployd", ours), ("ssh ControlMaster", master)):
        report.append("| %s | %.2f | %.2f | %.2f |" % (label, r["wall"], per_host_ms(r["cpu"], count), r["sshd_cpu"]))
    report.append("")
    report.append("- wall ratio deployd/ControlMaster: %.2f (target <= 0.55)" % (ours["wall"] / master["wall"]))
    report.append("- server-bound floor: %.2f s; deployd wall = %.2fx floor; machine CPU busy during deployd's run: %.0f%%"
                  % (ours["sshd_cpu"] / os.cpu_count(), ours["wall"] / (ours["sshd_cpu"] / os.cpu_count()),
                     100 * ours["busy"]))
    report.append("")


def latency_workload(args, folder, fleet, pids, report):
    _, names = write_inventory(folder, fleet, 1)
    walls = sorted(deployd_run(args, folder, fleet, 1, FIVE_STEPS, pids)["wall"] for _ in range(args.repeat))
    masters = sorted(control_master_run(fleet, names, FIVE_STEPS, pids, folder)["wall"] for _ in range(args.repeat))
    report.append("## 5 steps on one host (median of %d)" % args.repeat)
    report.append("- deployd: %.0f ms (target <= 60 ms); ssh ControlMaster: %.0f ms; ratio %.2f"
                  % (1000 * walls[len(walls) // 2], 1000 * masters[len(masters) // 2],
                     walls[len(walls) // 2] / masters[len(masters) // 2]))
    report.append("")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deployd", default=os.path.join(REPO, "build", "deployd"))
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--fleet", help="use this running fleet instead of starting one")
    parser.add_argument("--workloads", default="latency,echo,steps5")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the one-host latency workload")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="deployd-bench-")
    fleet = args.fleet or os.path.join(REPO, "build", "bench-fleet")
    started = False
    if not args.fleet:
        subprocess.run([os.path.join(REPO, "scripts", "fleet"), "start", fleet, str(args.hosts)], check=True)
        started = True
    try:
        pids = fleet_pids(fleet)
        report = ["# deployd vs OpenSSH (%s, %d cores)" % (time.strftime("%Y-%m-%d %H:%M"), os.cpu_count()), ""]
        workloads = {"echo": echo_workload, "steps5": steps5_workload, "latency": latency_workload}
        for name in args.workloads.split(","):
            workloads[name](args, folder, fleet, pids, report)
        print("\n".join(report))
    finally:
        if started:
            subprocess.run([os.path.join(REPO, "scripts", "fleet"), "stop", fleet])
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
