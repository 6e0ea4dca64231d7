#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""deployd, Fabric 2, OpenSSH ControlMaster and Ansible over a simulated WAN (issue 20, part 1).

Every tool reaches the same local fleet through bench/wan_proxy.py's delaying relays (loopback
only), in one run:
  latency  5 steps on ONE host (median of --repeat runs)
  steps5   5 steps on --hosts hosts (default 200)
  put      a --mib MiB file (default 20) to --put-hosts hosts (default 20)
Walls are reported with their ratio to the baseline measured in the same run (OpenSSH with
ControlMaster for steps, `xargs -P scp` for the put). deployd's round trips per phase come from
its own `-v` timings (TCP, banner, key exchange, auth, each step's channel open, exec request,
output, close): the same 1-host plan through a 0 ms relay and through the RTT relay, and
(phase at RTT - phase at 0) / RTT, so that the fleet's own CPU time is not counted as round trips.

  bench/wan_bench.py --fleet DIR [--rtt-ms 50] [--hosts 200] [--put-hosts 20] [--mib 20]
                     [--tools deployd,fabric,openssh,ansible] [--workloads latency,steps5,put]

DIR is a running fleet (scripts/fleet start DIR N --base-address 127.0.40.1 --port 2240) with at
least max(--hosts, --put-hosts) hosts; the relays listen on --listen-base (127.0.41.1) and
--zero-base (127.0.42.1), which must not overlap the fleet. Fabric runs under /usr/bin/python3
(Debian's python3-fabric), Ansible is Debian's ansible-core (pipelining + ControlPersist).
"""
import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_support import fresh_targets  # noqa: E402
import vs_openssh  # noqa: E402  (write_plan, write_inventory, control_master_run, FIVE_STEPS)
import wan_proxy  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = vs_openssh.FIVE_STEPS
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, where python3-fabric is


def measured(command, env=None, input_text=None):
    """Runs command; returns (wall s, client CPU s); exits on failure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, env=env,
                          input=input_text.encode() if input_text else None)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit("%s failed (%d): %s%s" % (command[0], done.returncode, done.stdout.decode()[-1500:],
                                           done.stderr.decode()[-1500:]))
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done


# --- deployd -------------------------------------------------------------------------------

PHASE_LINES = [
    ("tcp connect", re.compile(r": tcp connect done in ([\d.]+)ms")),
    ("banner", re.compile(r": ssh handshake done in [\d.]+ms \(banner ([\d.]+)ms")),
    ("key exchange", re.compile(r"key exchange ([\d.]+)ms\)")),
    ("authentication", re.compile(r": authentication done in ([\d.]+)ms")),
]
EXEC_LINE = re.compile(r": exec: channel open ([\d.]+)ms, exec request ([\d.]+)ms, "
                       r"output to EOF ([\d.]+)ms, close ([\d.]+)ms")


def deployd_phases(stderr, wall):
    """{phase: ms} from one 1-host run's -v lines."""
    text = stderr.decode()
    phases = {}
    for name, pattern in PHASE_LINES:
        found = pattern.search(text)
        phases[name] = float(found.group(1)) if found else float("nan")
    for index, found in enumerate(EXEC_LINE.finditer(text), 1):
        for part, value in zip(("channel open", "exec request", "output to EOF", "close"), found.groups()):
            phases["step %d %s" % (index, part)] = float(value)
    phases["the rest (process start, plan, disconnect, exit)"] = 1000 * wall - sum(phases.values())
    phases["wall"] = 1000 * wall
    return phases


def deployd_steps(args, folder, wan, count, verbose=False):
    inventory, _ = vs_openssh.write_inventory(folder, wan, count)
    plan = vs_openssh.write_plan(folder, "plan-%d.json" % count, STEPS, count, max(count, 1))
    command = [args.deployd, plan, "-i", inventory, "--output", "json", "--log-dir", os.path.join(folder, "logs")]
    wall, cpu, done = measured(command + (["-v"] if verbose else []))
    return wall, cpu, done.stderr


# --- Fabric 2 (runs as a child under Debian's python, like a `fab` invocation) --------------

def fabric_worker(argv):
    import paramiko
    from fabric import Config, Connection, ThreadingGroup
    spec = json.loads(argv[0])
    config = Config(runtime_ssh_path=spec["ssh_config"])
    config.load_ssh_config()
    connections = []
    for name in spec["hosts"]:
        connection = Connection(name, config=config,
                                connect_kwargs={"look_for_keys": False, "allow_agent": False})
        connection.client.load_host_keys(spec["known_hosts"])
        connection.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        connections.append(connection)
    group = ThreadingGroup.from_connections(connections)
    if "steps" in spec:
        for step in spec["steps"]:
            group.run(step, hide=True)
    else:
        # Group.put has no per-host destination: one thread per host, as ThreadingGroup does.
        import threading
        errors = []

        def put(connection):
            try:
                connection.put(spec["put"], spec["to"].replace("{host}", connection.original_host))
            except Exception as error:  # reported below: the run must fail, not hang
                errors.append(error)
        threads = [threading.Thread(target=put, args=(c,)) for c in connections]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            sys.exit("fabric put failed: %r" % errors[0])
    group.close()


def fabric(wan, names, extra):
    spec = dict(extra, ssh_config=os.path.join(wan, "ssh_config"), known_hosts=os.path.join(wan, "known_hosts"),
                hosts=names)
    wall, cpu, _ = measured([SYSTEM_PYTHON, os.path.abspath(__file__), "--fabric-worker", json.dumps(spec)])
    return wall, cpu


# --- OpenSSH --------------------------------------------------------------------------------

def openssh_steps(wan, names, folder):
    result = vs_openssh.control_master_run(wan, names, STEPS, [], folder)
    return result["wall"], result["cpu"]


def scp_put(wan, names, source, root):
    listing = "\n".join(names) + "\n"
    command = ["sh", "-c", "printf '%s' \"$0\" | xargs -P {n} -I@ scp -q -F {cfg} {src} @:{root}/@/artifact.bin"
               .format(n=len(names), cfg=os.path.join(wan, "ssh_config"), src=source, root=root), listing]
    wall, cpu, _ = measured(command)
    return wall, cpu


# --- Ansible --------------------------------------------------------------------------------

def ansible_setup(folder, wan, names):
    """An ansible.cfg with pipelining and ControlPersist; returns (env, control dir)."""
    control = tempfile.mkdtemp(prefix="acp-", dir="/tmp")
    with open(os.path.join(folder, "hosts.ini"), "w") as f:
        f.write("[bench]\n" + "\n".join(names) + "\n")
    with open(os.path.join(folder, "ansible.cfg"), "w") as f:
        f.write("[defaults]\nforks = %d\nhost_key_checking = True\ngathering = explicit\n"
                "interpreter_python = /usr/bin/python3\nretry_files_enabled = False\n"
                "[ssh_connection]\npipelining = True\n"
                "ssh_args = -F %s -o ControlMaster=auto -o ControlPersist=60s\n"
                "control_path = %s/%%%%C\n" % (max(len(names), 1), os.path.join(wan, "ssh_config"), control))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(folder, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return env, control


def ansible_stop_masters(wan, names, control):
    for name in names:
        subprocess.run(["ssh", "-F", os.path.join(wan, "ssh_config"), "-o", "ControlPath=%s/%%C" % control,
                        "-O", "exit", name], capture_output=True)
    shutil.rmtree(control, ignore_errors=True)


def ansible(folder, wan, names, tasks):
    env, control = ansible_setup(folder, wan, names)
    play = os.path.join(folder, "play.json")  # YAML is a superset of JSON
    with open(play, "w") as f:
        json.dump([{"hosts": "bench", "gather_facts": False, "tasks": tasks}], f)
    try:
        wall, cpu, _ = measured(["ansible-playbook", "-i", os.path.join(folder, "hosts.ini"), play], env=env)
    finally:
        ansible_stop_masters(wan, names, control)
    return wall, cpu


def ansible_steps(folder, wan, names):
    return ansible(folder, wan, names, [{"command": step} for step in STEPS])


# --- workloads ------------------------------------------------------------------------------

def table(report, title, rows, baseline, count):
    report.append("### " + title)
    report.append("| tool | wall s | ratio to %s | client CPU ms/host |" % baseline)
    report.append("| --- | --- | --- | --- |")
    base = dict(rows).get(baseline)
    for label, (wall, cpu) in rows:
        ratio = "%.2f" % (wall / base[0]) if base else "-"
        report.append("| %s | %.3f | %s | %.1f |" % (label, wall, ratio, 1000 * cpu / count))
    report.append("")


def median_run(runs):
    walls = sorted(runs, key=lambda r: r[0])
    return walls[len(walls) // 2]


def latency_workload(args, folder, wan, zero, report):
    _, names = vs_openssh.write_inventory(folder, wan, 1)
    rows = []
    tools = args.tools.split(",")
    if "deployd" in tools:
        at_rtt, at_zero = [], []
        for _ in range(args.repeat):
            wall, cpu, err = deployd_steps(args, folder, zero, 1, verbose=True)
            at_zero.append(deployd_phases(err, wall))
            wall, cpu, err = deployd_steps(args, folder, wan, 1, verbose=True)
            at_rtt.append((wall, cpu, deployd_phases(err, wall)))
        rows.append(("deployd", median_run([(w, c) for w, c, _ in at_rtt])))
    if "openssh" in tools:
        rows.append(("OpenSSH ControlMaster", median_run([openssh_steps(wan, names, folder)
                                                         for _ in range(args.repeat)])))
    if "fabric" in tools:
        rows.append(("Fabric 2", median_run([fabric(wan, names, {"steps": STEPS}) for _ in range(args.repeat)])))
    if "ansible" in tools:
        rows.append(("Ansible (pipelining, ControlPersist)",
                     median_run([ansible_steps(folder, wan, names) for _ in range(args.repeat)])))
    table(report, "5 steps on 1 host (median of %d runs)" % args.repeat, rows, "OpenSSH ControlMaster", 1)
    if "deployd" not in tools:
        return
    report.append("### deployd's round trips per phase (1 host x 5 steps; medians of %d runs)" % args.repeat)
    report.append("Round trips = (phase at RTT %g ms - phase through a 0 ms relay) / RTT." % args.rtt_ms)
    report.append("")
    report.append("| phase | ms at RTT 0 | ms at RTT %g | round trips |" % args.rtt_ms)
    report.append("| --- | --- | --- | --- |")
    for phase in at_zero[0]:
        zero_ms = statistics.median(p.get(phase, float("nan")) for p in at_zero)
        rtt_ms = statistics.median(p.get(phase, float("nan")) for _, _, p in at_rtt)
        report.append("| %s | %.1f | %.1f | %.2f |" % (phase, zero_ms, rtt_ms, (rtt_ms - zero_ms) / args.rtt_ms))
    report.append("")


def steps5_workload(args, folder, wan, zero, report):
    count = args.hosts
    _, names = vs_openssh.write_inventory(folder, wan, count)
    rows = []
    tools = args.tools.split(",")
    if "deployd" in tools:
        wall, cpu, _ = deployd_steps(args, folder, wan, count)
        rows.append(("deployd", (wall, cpu)))
    if "openssh" in tools:
        rows.append(("OpenSSH ControlMaster", openssh_steps(wan, names, folder)))
    if "fabric" in tools:
        rows.append(("Fabric 2", fabric(wan, names, {"steps": STEPS})))
    if "ansible" in tools:
        rows.append(("Ansible (pipelining, ControlPersist)", ansible_steps(folder, wan, names)))
    table(report, "5 steps on %d hosts" % count, rows, "OpenSSH ControlMaster", count)


def put_workload(args, folder, wan, zero, report):
    count = args.put_hosts
    inventory, names = vs_openssh.write_inventory(folder, wan, count)
    os.chmod(folder, 0o755)
    root = os.path.join(folder, "remote")
    source = os.path.join(folder, "artifact.bin")
    with open(source, "wb") as f:
        for _ in range(args.mib):
            f.write(os.urandom(1 << 20))
    os.chmod(source, 0o644)
    target = root + "/{host}/artifact.bin"
    rows = []
    tools = args.tools.split(",")
    if "openssh" in tools:
        fresh_targets(root, names)
        rows.append(("scp (xargs -P)", scp_put(wan, names, source, root)))
    if "deployd" in tools:
        plan = os.path.join(folder, "put.json")
        with open(plan, "w") as f:
            json.dump({"version": 1, "tasks": {"up": {"steps": [
                {"put": source, "to": target.replace("{host}", "{{host}}")}]}}}, f)
        fresh_targets(root, names)
        wall, cpu, _ = measured([args.deployd, plan, "-i", inventory, "--output", "json", "--log-dir",
                                 os.path.join(folder, "logs"), "-f", str(count)])
        rows.append(("deployd", (wall, cpu)))
    if "fabric" in tools:
        fresh_targets(root, names)
        rows.append(("Fabric 2", fabric(wan, names, {"put": source, "to": target})))
    if "ansible" in tools:
        fresh_targets(root, names)
        rows.append(("Ansible (pipelining, ControlPersist)", ansible(
            folder, wan, names, [{"copy": {"src": source, "dest": root + "/{{ inventory_hostname }}/artifact.bin"}}])))
    table(report, "%d MiB put to %d hosts" % (args.mib, count), rows, "scp (xargs -P)", count)
    for label, (wall, _) in rows:
        report.append("- %s: %.1f MB/s aggregate" % (label, count * args.mib * 1.048576 / wall))
    report.append("")
    shutil.rmtree(root, ignore_errors=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--fabric-worker":
        return fabric_worker(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deployd", default=os.path.join(REPO, "build", "deployd"))
    parser.add_argument("--fleet", required=True, help="a running fleet (scripts/fleet start)")
    parser.add_argument("--rtt-ms", type=float, default=50.0)
    parser.add_argument("--mbit", type=float, default=0.0, help="bandwidth cap per connection and direction")
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--put-hosts", type=int, default=20)
    parser.add_argument("--mib", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the 1-host workload")
    parser.add_argument("--tools", default="deployd,openssh,fabric,ansible")
    parser.add_argument("--workloads", default="latency,steps5,put")
    parser.add_argument("--listen-base", default="127.0.41.1")
    parser.add_argument("--zero-base", default="127.0.42.1")
    parser.add_argument("--processes", type=int, default=2, help="relay processes")
    args = parser.parse_args()
    if "ansible" in args.tools and not shutil.which("ansible-playbook"):
        sys.exit("ansible-playbook not found (apt-get install ansible-core), or leave it out with --tools")
    args.deployd = os.path.abspath(args.deployd)
    args.fleet = os.path.abspath(args.fleet)
    folder = tempfile.mkdtemp(prefix="wan-", dir="/tmp")
    wan, zero = os.path.join(folder, "wan"), os.path.join(folder, "zero")
    count = max(args.hosts, args.put_hosts, 1)
    pids = wan_proxy.start(args.fleet, wan, count, args.rtt_ms, args.mbit, args.listen_base, args.processes)
    zero_pids = wan_proxy.start(args.fleet, zero, 1, 0, 0, args.zero_base, 1)
    load = os.getloadavg()
    report = ["## WAN run %s: RTT %g ms%s, %d cores, load average %.1f at the start" % (
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), args.rtt_ms,
        ", %g Mbit/s per connection" % args.mbit if args.mbit else "", os.cpu_count(), load[0]), ""]
    try:
        workloads = {"latency": latency_workload, "steps5": steps5_workload, "put": put_workload}
        for name in args.workloads.split(","):
            workloads[name](args, folder, wan, zero, report)
            print("\n".join(report), file=sys.stderr, flush=True)  # progress, in case of a stop
    finally:
        stats = wan_proxy.stop(pids, wan) + wan_proxy.stop(zero_pids, zero)
        shutil.rmtree(folder, ignore_errors=True)
    late = [s for s in stats if s.get("chunks")]
    if late:
        report.append("Relay accuracy (delivery later than due, per chunk): median %.2f ms, p99 %.2f ms, max %.1f ms"
                      % (max(s["late_ms_median"] for s in late), max(s["late_ms_p99"] for s in late),
                         max(s["late_ms_max"] for s in late)))
    report.append("Load average at the end: %.1f" % os.getloadavg()[0])
    print("\n".join(report))


if __name__ == "__main__":
    main()
