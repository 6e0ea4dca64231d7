# SPDX-License-Identifier: MIT
"""What the benchmark scripts share: timing a command with its CPU, and fresh target folders."""
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
