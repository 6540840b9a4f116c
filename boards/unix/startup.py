"""The unix board's start-up (boards/unix/unixmain.py's main calls `start` once): the
options (boards/unix/options.py) and the state directory's lock (lock.py), each dropped as
soon as it is done with, then the meter built and its line opened.

A module of its own: unixmain.main drops it from sys.modules once the meter listens, so
its bytecode goes back to the heap and only the loop's code (unixmain: SocketLine, serve)
stays (docs/boards.md, "Start-up heap").
"""

import gc
import os
import socket
import sys
import time

from unixmain import release


def listen(host, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(socket.getaddrinfo(host, port)[0][-1])
    s.listen(1)
    return s


def listen_free_port():
    """Loopback listener on a free port (the unix port's sockets have no getsockname)."""
    for _ in range(50):
        r = os.urandom(2)
        port = 20000 + ((r[0] << 8 | r[1]) % 40000)
        try:
            return listen("127.0.0.1", port), port
        except OSError:
            pass
    raise OSError("no free loopback port")


def start(argv, board_dir, held):
    """The meter built from `argv` and listening: (server, listener, load), or the exit
    status after a one-line error on stderr. held[0] is this meter's lock entry once it
    is taken (unixmain.release gives it back)."""
    try:
        parse = __import__("options")  # boards/unix/options.py: wanted once, as config is
        try:
            options = parse.parse_args(argv)
            new = parse.is_new(options["state"])
            keys = parse.BOARD_KEYS  # the meter's build wants them
        finally:
            sys.modules.pop("config", None)  # wanted once: a meter does not keep it
            sys.modules.pop("options", None)
            parse = None
        import lock  # boards/unix/lock.py: wanted once, then its 1.9 kB go back to the heap

        held[0], problem = lock.lock(options["state"])  # before anything reads the records
        del sys.modules["lock"]
        lock = None
        gc.collect()
        # The firmware only now, after the check's and the lock's garbage is gone: loaded
        # into a clean heap, its modules do not leave holes too small for the meter's larger
        # objects
        import meter
        from storage import FileStore

        gc.collect()

        # The cipher's module (named as its algorithm: sta, des, misty1) now, while the heap
        # is clean: its names may open a new qstr pool, 3.6 KB in one piece, which the heap
        # the build fragments may no longer have (docs/benchmarks.md)
        __import__(options.get("algorithm", "sta"))
        gc.collect()  # each module's loading garbage, before the build's larger objects
        # a meter that cannot hold its directory writes nothing, not even a new record
        store = FileStore(options["state"], new and not problem)
        server = meter.build(options, store, time.ticks_ms(), keys, True)
        if problem:
            print("error: %s: token entry refused" % problem, file=sys.stderr)
            if not server.app.refusing:
                server.app._refuse(8)  # tables.STORE_LOCK
        elif "reset_storage" in options:
            import recovery

            server, moved = recovery.reset_storage(store, server, options, time.ticks_ms(), keys)
            print(
                "reset storage:",
                "nothing to reset, the record is valid"
                if moved is None
                else ", ".join(moved) or "nothing was left to move: a new record",
            )
        load = None
        if "load_w" in options:  # boards/unix/load.py: only a meter with a simulated load carries it
            load = __import__("load").start(server.app, options["load_w"], time.ticks_ms())
        faults = store.load("faults", 2)  # LoopFaults, counted by the loop's guard
        if type(faults) is bytes and len(faults) == 2:
            server.app.faults = faults[0] << 8 | faults[1]
    except (OSError, ValueError) as e:  # the state directory is another meter's or unusable, a
        # bad option: one line on stderr (stdout's first line is the pty's path with --pty)
        release(held[0])
        print("error:", e, file=sys.stderr)
        return 2
    except ImportError as e:  # --lib DIR without the firmware: said by usage.py
        release(held[0])
        return __import__("usage").show(e)
    except MemoryError:  # a heap too small for the firmware: one line, not a traceback
        release(held[0])
        print("error: out of memory while starting: give the unix port a larger heap (-X heapsize)", file=sys.stderr)
        return 1
    if server.app.fault:  # on stderr: with --pty the first line of stdout is the pty's path
        import recovery

        print(recovery.fault_line(server), file=sys.stderr)
    if "test_tr" in options:
        server.tr = int(options["test_tr"])
    if "pty" in options:
        # The unix port cannot open a pty itself (no ffi/ioctl in this build): a small
        # CPython relay owns it, prints its path and carries its bytes to our socket.
        listener, port = listen_free_port()
        os.system("python3 %s/ptyrelay.py %d &" % (board_dir, port))
    else:
        host, port = options["tcp"].rsplit(":", 1)
        try:
            listener = listen(host, int(port))
        except OSError as e:  # most often another meter on that port
            release(held[0])
            print(
                "error: cannot listen on %s:%s (%s): is another meter running there? Start this one on "
                "another port: make run TCP_PORT=7002, or --tcp 127.0.0.1:7002" % (host, port, e),
                file=sys.stderr,
            )
            return 1
        print("VTC07 meter listening on %s:%s" % (host, port))
    return server, listener, load, int(options.get("heap_log", "0"))
