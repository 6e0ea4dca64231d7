#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Memory and file descriptors per connected host (issue "Hardening", resource limits).

For each fleet size N, deployd connects N hosts (forks N), runs `true` on each, then holds every
session open at a barrier while each host runs `sleep HOLD`. deployd's RSS and open descriptors
are sampled from /proc every 20 ms; the cost per host is the slope against the 1-host run:
(peak(N) - peak(1)) / (N - 1). A last run puts all hosts under `ulimit -n 256` and checks that
they queue (the open files warning), never exceed the limit, and all succeed.

Usage (a fleet of at least max(--hosts) hosts, e.g. scripts/fleet start DIR 1000):
  bench/host_resources.py --deployd build/deployd --fleet DIR [--hosts 1,250,500,1000] [--hold 2]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def inventory_hosts(fleet):
    with open(os.path.join(fleet, "inventory.json")) as f:
        return json.load(f)


def write_plan(folder, count, forks, hold):
    plan = {
        "policy": {"forks": forks},
        "tasks": {
            "connect": {"steps": [{"run": "true"}]},
            "hold": {"needs": ["connect"], "barrier": True, "steps": [{"run": "sleep %g" % hold}]},
        },
    }
    path = os.path.join(folder, "plan-%d.json" % count)
    with open(path, "w") as f:
        json.dump(plan, f)
    return path


def write_inventory(folder, fleet, count):
    inventory = inventory_hosts(fleet)
    if len(inventory["hosts"]) < count:
        sys.exit("the fleet has %d hosts, %d asked" % (len(inventory["hosts"]), count))
    inventory["hosts"] = inventory["hosts"][:count]
    inventory.pop("groups", None)
    path = os.path.join(folder, "inventory-%d.json" % count)
    with open(path, "w") as f:
        json.dump(inventory, f)
    return path


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sampled_run(command):
    """Runs command, sampling its RSS and descriptor count; returns (status, peaks, stdout, stderr)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        peak_rss = peak_fds = 0
        while process.poll() is None:
            try:
                peak_rss = max(peak_rss, rss_kb(process.pid))
                peak_fds = max(peak_fds, len(os.listdir("/proc/%d/fd" % process.pid)))
            except (FileNotFoundError, ProcessLookupError):
                break
            time.sleep(0.02)
        status = process.wait()
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return status, {"rss_kb": peak_rss, "fds": peak_fds, "wall": wall}, out.read().decode(), err.read().decode()


def host_statuses(stdout):
    ends = [json.loads(line) for line in stdout.splitlines() if '"host_end"' in line]
    return [e["status"] for e in ends if e.get("event") == "host_end"]


def measure(args, folder, count, limit=None):
    plan = write_plan(folder, count, count, args.hold)
    inventory = write_inventory(folder, args.fleet, count)
    command = [args.deployd, plan, "-i", inventory, "--output", "json",
               "--log-dir", os.path.join(folder, "logs")]
    if limit:
        command = ["bash", "-c", 'ulimit -n %d && exec "$@"' % limit, "bash"] + command
    status, peaks, out, err = sampled_run(command)
    statuses = host_statuses(out)
    ok = statuses.count("ok")
    if status != 0 or ok != count:
        sys.exit("%d hosts: exit %d, %d of %d hosts ok\n%s" % (count, status, ok, count, err[-2000:]))
    peaks["warning"] = next((line for line in err.splitlines() if "RLIMIT_NOFILE" in line), "")
    return peaks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployd", required=True)
    parser.add_argument("--fleet", required=True, help="a scripts/fleet folder")
    parser.add_argument("--hosts", default="1,250,500,1000")
    parser.add_argument("--hold", type=float, default=2.0, help="seconds every session stays open")
    args = parser.parse_args()
    counts = sorted({int(n) for n in args.hosts.split(",")} | {1})
    report = ["# deployd resources per connected host (%s)" % time.strftime("%Y-%m-%d %H:%M"), ""]
    with tempfile.TemporaryDirectory(prefix="deployd-resources-") as folder:
        base = None
        for count in counts:
            peaks = measure(args, folder, count)
            base = base or peaks
            line = "- %4d hosts connected at once: peak RSS %6.1f MiB, peak %5d descriptors, %.1fs" % (
                count, peaks["rss_kb"] / 1024, peaks["fds"], peaks["wall"])
            if count > 1:
                line += "; per host above 1 host: %.1f KiB, %.2f descriptors" % (
                    (peaks["rss_kb"] - base["rss_kb"]) / (count - 1), (peaks["fds"] - base["fds"]) / (count - 1))
            report.append(line)
            print(report[-1], flush=True)
        largest = counts[-1]
        peaks = measure(args, folder, largest, limit=256)
        report.append("- %d hosts under `ulimit -n 256`: all ok in %.1fs, peak %d descriptors, peak RSS %.1f MiB;"
                      " deployd said: %s" % (largest, peaks["wall"], peaks["fds"], peaks["rss_kb"] / 1024,
                                             peaks["warning"] or "(nothing)"))
        print(report[-1], flush=True)
        if peaks["fds"] > 256:
            sys.exit("more descriptors open than the limit allows: %d" % peaks["fds"])
    print("\n".join(report))


if __name__ == "__main__":
    main()
