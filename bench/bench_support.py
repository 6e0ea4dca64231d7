# SPDX-License-Identifier: MIT
"""What the benchmark scripts share: timing a command with its CPU, and fresh target folders."""
import json
import os
import pwd
import resource
import shutil
import subprocess
import sys
import time

LOGIN = "deployd"  # the fleet's login user


def measured(command, stdin=None):
    """(wall s, CPU s of the command and its children) of one run; exits if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run(command, input=stdin, capture_output=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit("%s failed (%d): %s" % (command[0], done.returncode, done.stderr.decode()[-2000:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def fresh_targets(root, names):
    """An empty folder per host under `root`, owned by the login user (no `unchanged` puts)."""
    shutil.rmtree(root, ignore_errors=True)
    user = pwd.getpwnam(LOGIN)
    for path in [root] + [os.path.join(root, n) for n in names]:
        os.makedirs(path)
        os.chown(path, user.pw_uid, user.pw_gid)


def fleet_inventory(fleet, count):
    """The fleet's inventory cut to its first `count` hosts, without groups; exits if too small."""
    with open(os.path.join(fleet, "inventory.json")) as f:
        inventory = json.load(f)
    if len(inventory["hosts"]) < count:
        sys.exit("the fleet has %d hosts, %d needed" % (len(inventory["hosts"]), count))
    inventory["hosts"] = inventory["hosts"][:count]
    inventory["groups"] = {}
    return inventory
