"""Pseudo-terminal front end for the unix board (CPython, started by main.py --pty).

Opens a pty pair in raw mode, prints the path of its terminal side as the first line of
the board's output, connects to the board's loopback port and carries bytes both ways
until either side closes. Parity stays in the bytes, as on an 8N1 line.
"""

import os
import select
import socket
import sys
import time
import tty


def main(port):
    master, slave = os.openpty()
    tty.setraw(slave)
    print(os.ttyname(slave), flush=True)
    for _ in range(100):  # the board may still be starting to listen
        try:
            sock = socket.create_connection(("127.0.0.1", port))
            break
        except OSError:
            time.sleep(0.05)
    else:
        return 1
    while True:
        ready, _, _ = select.select([master, sock], [], [])
        if sock in ready:
            data = sock.recv(256)
            if not data:
                return 0
            os.write(master, data)
        if master in ready:
            try:
                data = os.read(master, 256)
            except OSError:  # no terminal side open right now
                time.sleep(0.05)
                continue
            sock.sendall(data)


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
