# SPDX-License-Identifier: MIT
"""A small hostile SSH server for tests (issue 16, "Protocol-level hostile servers").

    hostile_server.py ADDRESS:PORT=MODE [ADDRESS:PORT=MODE ...]

Each listener behaves as MODE towards every connection; it prints "ready" once all listen and
runs until killed (port 0: any free port; "ready" is followed by the JSON object
{"ADDRESS:PORT=MODE": port, ...} of the ports bound). Any login user and any public key is accepted. Modes:

  normal            answers an exec with "hello" on stdout, exit status 0 (the control case)
  window_flood      floods the channel with WINDOW_ADJUST messages, then answers normally
  data_after_close  sends output, exit status, EOF and CLOSE, then more data after EOF and after
                    CLOSE (raw packets: paramiko itself never sends those)
  exit_signal_huge  ends the command with an exit-signal whose name and message are 15,000 bytes
  exit_signal_odd   ends it with a signal name holding escape sequences and newlines
  endless_stderr    sends extended data (stderr) without end and never exits
  packet_max        sends 2 MiB of stdout in packets of the client's maximum size, exit 0
  packet_huge       sends one CHANNEL_DATA packet of 256 KiB (over any SSH packet limit)
  global_requests   sends 5,000 global requests the client does not know (want-reply set),
                    then answers normally
  never_confirm     never answers a CHANNEL_OPEN (keepalives are answered: the peer looks alive)
  banner_endless    (no SSH) sends "SSH-2.0-" and then bytes without ever ending the line
  banner_lines      (no SSH) sends text lines before the banner, without end

What paramiko cannot do is done with raw messages on its transport (Transport._send_message),
which skips its window and state checks.
"""
import json
import socket
import sys
import threading
import time

import paramiko
from paramiko.common import (
    MSG_CHANNEL_OPEN,
    cMSG_CHANNEL_DATA,
    cMSG_CHANNEL_EXTENDED_DATA,
    cMSG_CHANNEL_REQUEST,
    cMSG_CHANNEL_WINDOW_ADJUST,
    cMSG_GLOBAL_REQUEST,
)
from paramiko.message import Message

HOST_KEY = paramiko.ECDSAKey.generate(bits=256)


class Server(paramiko.ServerInterface):
    def __init__(self):
        self.exec_started = threading.Event()

    def get_allowed_auths(self, username):
        return "publickey"

    def check_auth_publickey(self, username, key):
        return paramiko.AUTH_SUCCESSFUL

    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel, command):
        self.exec_started.set()
        return True

    def check_global_request(self, kind, msg):
        return False  # keepalive@openssh.com and anything else: REQUEST_FAILURE, an answer


def raw(transport, *parts):
    """Sends one message made of (kind, value) parts, bypassing paramiko's checks."""
    m = Message()
    for kind, value in parts:
        getattr(m, "add_" + kind)(value)
    transport._send_message(m)


def channel_data(transport, chan, data, stream=None):
    parts = [("byte", cMSG_CHANNEL_DATA if stream is None else cMSG_CHANNEL_EXTENDED_DATA),
             ("int", chan.remote_chanid)]
    if stream is not None:
        parts.append(("int", stream))
    raw(transport, *parts, ("string", data))


def exit_signal(transport, chan, name, message):
    raw(transport, ("byte", cMSG_CHANNEL_REQUEST), ("int", chan.remote_chanid),
        ("string", "exit-signal"), ("boolean", False), ("string", name), ("boolean", True),
        ("string", message), ("string", "en"))


def finish(chan, status=0):
    chan.send_exit_status(status)
    chan.shutdown_write()
    time.sleep(0.2)
    chan.close()


def behave(mode, transport, chan):
    t = transport
    if mode == "normal":
        chan.sendall(b"hello\n")
        finish(chan)
    elif mode == "window_flood":
        for _ in range(20000):
            raw(t, ("byte", cMSG_CHANNEL_WINDOW_ADJUST), ("int", chan.remote_chanid), ("int", 0x7FFFFFFF))
        chan.sendall(b"flood-survived\n")
        finish(chan)
    elif mode == "data_after_close":
        chan.sendall(b"before\n")
        chan.send_exit_status(0)
        chan.shutdown_write()
        for _ in range(100):
            channel_data(t, chan, b"after-eof\n")
        remote = chan.remote_chanid
        chan.close()
        for _ in range(100):  # at once: before the client has freed the channel
            raw(t, ("byte", cMSG_CHANNEL_DATA), ("int", remote), ("string", b"after-close\n"))
    elif mode == "exit_signal_huge":
        chan.sendall(b"dying\n")
        exit_signal(t, chan, "S" * 15000, "M" * 15000)  # under libssh2's 35,000-byte packet limit
        chan.shutdown_write()
        time.sleep(0.2)
        chan.close()
    elif mode == "exit_signal_odd":
        exit_signal(t, chan, "KILL\x1b]0;pwned\x07\nFAKE: ok\r", "\x1b[2J")
        chan.shutdown_write()
        time.sleep(0.2)
        chan.close()
    elif mode == "endless_stderr":
        chunk = b"e" * 16384
        while t.is_active() and not chan.closed:
            chan.sendall_stderr(chunk)
    elif mode == "packet_max":
        size = chan.out_max_packet_size
        sent = 0
        while sent < 2 * 1024 * 1024:
            chan.sendall(b"p" * (size - 1) + b"\n")
            sent += size
        finish(chan)
    elif mode == "packet_huge":
        channel_data(t, chan, b"h" * (256 * 1024))
        time.sleep(5)
        finish(chan)
    elif mode == "global_requests":
        for i in range(5000):
            raw(t, ("byte", cMSG_GLOBAL_REQUEST), ("string", "hostile-%d@deployd.test" % i),
                ("boolean", True), ("string", "x" * 100))
        chan.sendall(b"requests-survived\n")
        finish(chan)


def serve_ssh(conn, mode):
    t = paramiko.Transport(conn)
    t.add_server_key(HOST_KEY)
    if mode == "never_confirm":
        table = dict(t._handler_table)
        table[MSG_CHANNEL_OPEN] = lambda self, m: None  # heard, never answered
        t._handler_table = table
    server = Server()
    try:
        t.start_server(server=server)
        chan = t.accept(60)
        if chan is None:
            while t.is_active():  # never_confirm: stay alive and answer keepalives
                time.sleep(0.5)
            return
        if not server.exec_started.wait(30):
            return
        behave(mode, t, chan)
        while t.is_active():  # the client closes
            time.sleep(0.2)
    except Exception:  # the client went away: nothing to serve
        pass
    finally:
        t.close()


def serve_banner(conn, mode):
    try:
        if mode == "banner_endless":
            conn.sendall(b"SSH-2.0-")
            while True:
                conn.sendall(b"A" * 4096)
                time.sleep(0.01)
        else:
            while True:
                conn.sendall(b"not yet an SSH server, please wait\r\n" * 100)
                time.sleep(0.01)
    except OSError:
        pass
    finally:
        conn.close()


def listen(address, port, mode):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(16)
    target = serve_banner if mode.startswith("banner_") else serve_ssh

    def accept():
        while True:
            conn, _ = sock.accept()
            threading.Thread(target=target, args=(conn, mode), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return sock.getsockname()[1]


def main(args):
    ports = {}
    for arg in args:
        where, mode = arg.split("=", 1)
        address, port = where.rsplit(":", 1)
        ports[arg] = listen(address, int(port), mode)
    print("ready " + json.dumps(ports), flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main(sys.argv[1:])
