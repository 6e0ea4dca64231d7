# SPDX-License-Identifier: MIT
"""Issue 6: memory stays bounded whatever the output's size, and the run log keeps every byte.

One host prints 1 GiB (a million 1 KiB lines), one 10 million short lines, one a 100 MiB line
with no newline. deployd runs in group mode (the mode that must not hold output) with stdout
on a pipe; its peak RSS (VmHWM from /proc, and the kernel's ru_maxrss) must stay under 64 MiB,
and the output events of the run log, joined back, must hash as the hosts' output does.
Under ASan (DEPLOYD_SANITIZED=1) the RSS budget is not checked (shadow memory and the
quarantine of freed blocks are ASan's, not deployd's), and the volumes are an eighth; everything
else is."""
import glob
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, deployd_binary, sanitized, write_json  # noqa: E402

BUDGET_KIB = 64 * 1024
# Under ASan the budget is not checked and every byte costs several times more: an eighth of the
# volume still goes through the same paths (the 100 MiB line stays whole).
SCALE = 8 if sanitized() else 1
FLOOD = (1 << 30) // SCALE
FLOOD_TEXT = "1.0 GiB" if SCALE == 1 else "%.1f MiB" % (FLOOD / (1 << 20))
LONG_LINE = 100 << 20
LINES = 10_000_000 // SCALE
# The 1023 zeros of printf '%01023d' 0, and yes's newline: 1 KiB a line.
KIB_LINE = b"0" * 1023 + b"\n"


def expected_digests():
    """sha256 of what each host prints, as the run log can give it back: a last line without a
    newline comes back with one (events carry lines; whether the last had "\\n" is not kept)."""
    flood = hashlib.sha256()
    block = KIB_LINE * 1024
    for _ in range(FLOOD // len(block)):
        flood.update(block)
    counted = hashlib.sha256()
    for start in range(1, LINES + 1, 100_000):
        counted.update("".join("%d\n" % n for n in range(start, min(start + 100_000, LINES + 1))).encode())
    long_line = hashlib.sha256()
    chunk = b"y" * (1 << 20)
    for _ in range(LONG_LINE // len(chunk)):
        long_line.update(chunk)
    long_line.update(b"\n")
    return {"node001": flood.hexdigest(), "node002": counted.hexdigest(), "node003": long_line.hexdigest()}


def vm_hwm_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def log_digests(events_path):
    """Joins the output events of each host back into its bytes and hashes them. Lines without
    escapes are sliced straight from the JSON text (the run log's layout is fixed), which keeps
    11 million lines to seconds; a line with any escape, and every 1000th, goes through json."""
    prefix = b'{"event":"output","time":"'
    digests = {}
    count = 0
    with open(events_path, "rb") as f:
        for raw in f:
            if not raw.startswith(prefix):
                continue
            count += 1
            host_at = raw.index(b'"host":"', len(prefix)) + 8
            host = raw[host_at:raw.index(b'"', host_at)].decode()
            line_at = raw.index(b',"line":"', host_at) + 9
            if raw.endswith(b'"}\n'):
                value, partial = raw[line_at:-3], False
            else:
                value, partial = raw[line_at:-len(b'","partial":true}\n')], True
            if b"\\" in value or count % 1000 == 0:
                event = json.loads(raw)
                value, partial = event["line"].encode(), bool(event.get("partial"))
            digest = digests.get(host)
            if digest is None:
                digest = digests[host] = hashlib.sha256()
            digest.update(value if partial else value + b"\n")
    return {host: digest.hexdigest() for host, digest in digests.items()}


def run_measured(args, keep_stdout=True):
    """Runs deployd; returns (status, stdout (or its size when not keep_stdout), stderr,
    peak VmHWM KiB, ru_maxrss KiB)."""
    proc = subprocess.Popen([deployd_binary()] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = [0]

    def watch():
        while proc.returncode is None:
            peak[0] = max(peak[0], vm_hwm_kib(proc.pid) or 0)
            time.sleep(0.05)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    err = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
    reader.start()
    if keep_stdout:
        out = proc.stdout.read()
    else:
        out = 0
        while True:
            chunk = proc.stdout.read(1 << 20)
            if not chunk:
                break
            out += len(chunk)
    reader.join()
    _, wait_status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(wait_status)
    watcher.join()
    proc.stdout.close()
    proc.stderr.close()
    return proc.returncode, out, err[0], peak[0], usage.ru_maxrss


class OutputMemory(FleetTestCase):
    def assert_within_budget(self, peak, maxrss):
        self.assertGreater(peak, 0)
        if sanitized():
            print("sanitized build: the %d KiB budget is not checked (ASan's memory)" % BUDGET_KIB,
                  file=sys.stderr)
            return
        self.assertLess(peak, BUDGET_KIB)
        self.assertLess(maxrss, BUDGET_KIB)

    def inventory_of(self, count):
        inventory = dict(self.inventory)
        inventory["hosts"] = self.inventory["hosts"][:count]
        inventory["groups"] = {}
        return write_json(self.dir, "inventory.json", inventory)

    def test_stream_and_json_modes_stream_a_long_line_and_many_lines(self):
        command = ("case {{host}} in node001) seq 1 2000000;; "
                   "node002) yes y | tr -d '\\n' | head -c " + str(LONG_LINE) + ";; esac")
        plan = write_json(self.dir, "stream.json", {"version": 1, "tasks": {"flood": {"steps": [
            {"run": command}]}}})
        for mode in ("stream", "json"):
            status, size, err, peak, maxrss = run_measured(
                [plan, "-i", self.inventory_of(2), "--output", mode, "--log-dir", os.path.join(self.dir, "logs")],
                keep_stdout=False)
            self.assertEqual(status, 0, err)
            print("%s mode: VmHWM %d KiB, ru_maxrss %d KiB" % (mode, peak, maxrss), file=sys.stderr)
            self.assert_within_budget(peak, maxrss)
            self.assertGreater(size, LONG_LINE)  # it all went through, as it came

    def test_huge_outputs_keep_memory_bounded_and_every_byte_in_the_run_log(self):
        expected = {}
        expecting = threading.Thread(target=lambda: expected.update(expected_digests()))
        expecting.start()
        command = ("case {{host}} in "
                   "node001) yes \"$(printf '%01023d' 0)\" | head -c " + str(FLOOD) + ";; "
                   "node002) seq 1 " + str(LINES) + ";; "
                   "node003) yes y | tr -d '\\n' | head -c " + str(LONG_LINE) + ";; esac")
        plan = write_json(self.dir, "flood.json", {"version": 1, "tasks": {"flood": {"steps": [
            {"run": command, "name": "flood"}]}}})
        logs = os.path.join(self.dir, "huge-logs")
        status, out, err, peak, maxrss = run_measured(
            [plan, "-i", self.inventory_of(3), "--output", "group", "--log-dir", logs])
        text = out.decode("utf-8", "replace")
        self.assertEqual(status, 0, err.decode("utf-8", "replace") + text[-2000:])
        print("deployd peak RSS: VmHWM %d KiB, ru_maxrss %d KiB (budget %d KiB)"
              % (peak, maxrss, BUDGET_KIB), file=sys.stderr)
        self.assert_within_budget(peak, maxrss)
        # Group mode said where the rest is, for each of the three.
        self.assertEqual(text.count("in all: the rest is in the run log"), 3, text[-3000:])
        self.assertIn("... %d lines, %s in all" % (FLOOD // len(KIB_LINE), FLOOD_TEXT), text)
        self.assertIn("... %d lines, " % LINES, text)
        self.assertIn("... 1 line, 100.0 MiB in all", text)
        self.assertLess(len(out), 64 << 10)  # the terminal got digests, not the output
        [events] = glob.glob(os.path.join(logs, "*", "events.jsonl"))
        got = log_digests(events)
        expecting.join()
        self.assertEqual(got, expected)


if __name__ == "__main__":
    unittest.main()
