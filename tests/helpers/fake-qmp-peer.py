#!/usr/bin/env python3
"""A QMP peer for the security tests, run as any user (setpriv).

Usage: fake-qmp-peer.py SOCKET RECORD [REPLY]...
   or: python3 -c "$(cat fake-qmp-peer.py)" SOCKET RECORD [REPLY]...

Listens on the unix socket SOCKET and prints 'ready' on stdout once it
does. Each client gets QEMU 7.2's greeting; qmp_capabilities is answered
with {"return": {}}; the commands after it get the REPLY texts in order
(raw QMP text, '@ID@' standing for the command's id, sent as written so
that a test can send what json would never write), then {"return": {}}.
A REPLY that starts with '!' is sent instead right after the handshake's
reply (an event, as written), and '!close' closes the connection there.

RECORD gets one line per event, flushed at once: 'connected', 'command
NAME', 'fds N' for every message that carried N descriptors (SCM_RIGHTS),
'closed'. Runs until killed or until its standard input ends (the test
that started it is gone).
"""
import array
import json
import os
import socket
import sys
import threading

GREETING = (b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, '
            b'"package": ""}, "capabilities": ["oob"]}}\r\n')


def exit_with_stdin():
    sys.stdin.buffer.read()
    os._exit(0)


def main():
    threading.Thread(target=exit_with_stdin, daemon=True).start()
    path, record_path = sys.argv[1], sys.argv[2]
    replies = [r for r in sys.argv[3:] if not r.startswith("!")]
    after_handshake = [r[1:] for r in sys.argv[3:] if r.startswith("!")]
    record = open(record_path, "a", encoding="utf-8")

    def note(line):
        record.write(line + "\n")
        record.flush()

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        note("connected")
        try:
            serve(conn, note, replies, after_handshake)
        except OSError:
            pass    # the client went away mid-write
        note("closed")
        conn.close()


def serve(conn, note, replies, after_handshake):
    """One client, until it closes the connection."""
    conn.sendall(GREETING)
    pending = b""
    while True:
        fds = array.array("i")
        data, ancdata, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(16 * fds.itemsize))
        for level, kind, cdata in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(cdata[:len(cdata) - (len(cdata) % fds.itemsize)])
        if len(fds) > 0:
            note("fds %d" % len(fds))
        if not data:
            return
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if not line.strip():
                continue
            message = json.loads(line)
            command = message.get("execute", "?")
            note("command " + command)
            ident = json.dumps(message.get("id"))
            if command != "qmp_capabilities" and replies:
                reply = replies.pop(0)
            else:
                reply = '{"return": {}, "id": @ID@}'
            conn.sendall(reply.replace("@ID@", ident).encode("utf-8") + b"\r\n")
            if command == "qmp_capabilities":
                for extra in after_handshake:
                    if extra == "close":
                        conn.shutdown(socket.SHUT_RDWR)
                        break
                    conn.sendall(extra.encode("utf-8") + b"\r\n")

main()
