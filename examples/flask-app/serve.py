#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A small WSGI server for the demo (wsgiref, from Python's standard library).

usage: serve.py WSGI_FILE ADDRESS PORT PID_FILE LOG_FILE

It detaches (double fork: the SSH step that starts it returns once it listens, or fails with the
reason), writes PID_FILE, serves the `application` of WSGI_FILE on ADDRESS:PORT and, like
mod_wsgi's daemon mode, starts afresh in the same process (exec) when WSGI_FILE's modification
time changes, so that `touch yourapplication.wsgi` after a release switch serves the new release.
When PID_FILE names a running serve.py, it says so and does nothing.
"""
import os
import runpy
import sys
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

RELOADED = "SERVE_PY_RELOADED"  # set across the exec: already detached


def detach(log_file):
    """Double-forks into a daemon. Returns None in the original process, after printing what the
    daemon reported (its exit status says whether it serves), or, in the daemon, the pipe to
    report on."""
    read_end, write_end = os.pipe()
    if os.fork():
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            message = pipe.read().strip()
        print(message or "the server died while starting (see its log)")
        sys.exit(0 if message.startswith("serving") else 1)
    os.close(read_end)
    os.setsid()
    if os.fork():
        os._exit(0)
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    return write_end


def modified(path):
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None


def watch(server, wsgi_file, stamp, reload_wanted):
    while modified(wsgi_file) == stamp:
        time.sleep(0.2)
    reload_wanted.set()
    server.shutdown()


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # one short line per request, no reverse DNS
        sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), format % args))


def already_serving(pid_file):
    """The PID of a serve.py still running for PID_FILE, or None."""
    try:
        with open(pid_file) as f:
            pid = int(f.read())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return pid if b"serve.py" in f.read() else None
    except (OSError, ValueError):
        return None


def main(wsgi_file, address, port, pid_file, log_file):
    url = f"http://{address}:{port}/"
    reloaded = os.environ.get(RELOADED) == "1"
    ready = None
    if not reloaded:
        pid = already_serving(pid_file)
        if pid:
            print(f"already serving {url} (pid {pid})")
            return 0
        ready = detach(log_file)
        if ready is None:  # the parent: tell how the daemon's start went
            return 0
        os.environ[RELOADED] = "1"
    try:
        application = runpy.run_path(wsgi_file)["application"]
        server = make_server(address, int(port), application, WSGIServer, QuietHandler)
    except Exception as error:  # the parent reports it and fails the step
        report(ready, f"cannot serve {url}: {error!r}")
        raise
    with open(pid_file + ".tmp", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(pid_file + ".tmp", pid_file)
    print(f"serving {wsgi_file} on {url} (pid {os.getpid()})", file=sys.stderr, flush=True)
    report(ready, f"serving {url} (pid {os.getpid()})")
    stamp = modified(wsgi_file)
    reload_wanted = threading.Event()
    threading.Thread(target=watch, args=(server, wsgi_file, stamp, reload_wanted),
                     daemon=True).start()
    server.serve_forever()
    server.server_close()
    if reload_wanted.is_set():
        print(f"{wsgi_file} changed: reloading", file=sys.stderr, flush=True)
        os.execv(sys.executable, [sys.executable] + sys.argv)
    return 0


def report(ready, line):
    """Sends LINE to the waiting parent (first start only) and closes the pipe."""
    if ready is not None:
        os.write(ready, (line + "\n").encode())
        os.close(ready)


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__.split("\n\n")[1])
    sys.exit(main(*sys.argv[1:]))
