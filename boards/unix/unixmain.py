"""The unix board's work: options, the state directory's lock, the line (boards/unix/main.py
starts it; its docstring lists the options).

It is a module, not the script itself, so that `make compile` builds it into .mpy with the
firmware: a script is compiled on the device at every start, and every name in it (locals
too) is interned, which a 64 KB heap cannot spare (docs/benchmarks.md).
"""
import gc
import os
import select
import socket
import sys
import time




# the board's own keys; every other key is the meter's (firmware/config.py)
BOARD_KEYS = ("tcp", "pty", "state", "lib", "heap_log", "test_tr", "config", "reset_storage", "load_w", "vending_key")


def _number(options, key, start, end):
    value = options.get(key, str(start))
    if not value.isdigit() or not start <= int(value) <= end:
        raise ValueError("config key %r must be a number from %d to %d, not %r" % (key, start, end, value))
    return int(value)


def parse_args(argv):
    options = {"state": "state"}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("--"):
            raise ValueError("%r is not an option (--key value)" % arg)
        key = arg[2:].replace("-", "_")
        if key in ("pty", "reset_storage"):
            options[key] = "1"
            i += 1
            continue
        if i + 1 >= len(argv) or argv[i + 1].startswith("--"):
            raise ValueError(arg + " needs a value")
        options[key] = argv[i + 1]
        i += 2
    if "config" in options:
        try:
            with open(options["config"]) as f:
                config = __import__("config").parse_config(f.read())
        except OSError:
            raise ValueError("cannot read " + options["config"])
        config.update(options)
        options = config
    if "vending_key" in options:  # options["dk"] from it, as a manufactured meter gets its key
        __import__("dkga").derive(options)
    # first: an unknown key is named, whatever else is wrong; main() drops the module again
    __import__("config").check(options, BOARD_KEYS)
    if ("tcp" in options) == ("pty" in options):
        raise ValueError("give exactly one of --tcp and --pty")
    if "tcp" in options:
        if options["tcp"].isdigit():  # a port alone: on this machine only
            options["tcp"] = "127.0.0.1:" + options["tcp"]
        host, _, port = options["tcp"].rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("config key 'tcp' must be HOST:PORT, not %r" % options["tcp"])
    _number(options, "heap_log", 0, 86400000)
    if "test_tr" in options:
        _number(options, "test_tr", 1, 1500)  # up to the profile's largest tr (TR_MAX)
    if "load_w" in options:  # W, or LOW-HIGH: boards/unix/load.py
        low, _, high = options["load_w"].partition("-")
        if not low or (_ and not high):  # "-5", "5-": not W nor LOW-HIGH, named as given
            low = options["load_w"]
        # watts up to what the Power register shows (tables.POWER_MAX_W)
        _number({"load_w": high or low}, "load_w", _number({"load_w": low}, "load_w", 0, 999999), 999999)
    return options


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


class SocketLine:
    """The unix board's UART for the core's loop (Server.run): one TCP connection at a
    time, as one serial port.

    A new connection is a new HHU plugged in: it replaces the old one, and the core forgets
    the old conversation (`line_replaced`). Writes never wait: what the HHU does not read
    piles up in the kernel (its send buffer kept small) and then in `_tx` here; answers
    that do not fit are lost, whole, as on a line nobody listens to. `wait` sleeps in
    select.poll until input, the loop's deadline or the board's own work (a simulated load,
    the heap log) want a pass.
    (Numbers are written out here: every new global name costs the board heap. The
    attributes have names the firmware interns anyway, for the same reason: `poll` the
    select.poll, `line` the connection, `_pending` input waits, `_tx` the answers the HHU
    has not taken yet, `_due` the next heap line.)
    """

    def __init__(self, listener, server, heap_log_ms=0, load=None):
        self.listener = listener
        self.server = server
        self.heap_log_ms = heap_log_ms
        self.load = load
        self.poll = select.poll()
        self.poll.register(listener, select.POLLIN)
        self.line = None
        self._pending = False
        self._tx = bytearray(128)  # answers the HHU has not taken yet
        self.count = 0  # bytes in _tx
        self._due = time.ticks_ms()

    def feed(self, now):
        """The board's own work, every pass of the loop (its `other`): ms until it wants
        the next pass."""
        wait = -1
        if self.heap_log_ms:
            if time.ticks_diff(now, self._due) >= 0:
                gc.collect()
                print("heap", gc.mem_alloc(), gc.mem_free())
                self._due = time.ticks_add(now, self.heap_log_ms)
            wait = max(0, time.ticks_diff(self._due, time.ticks_ms()))
        if self.load:
            self.load.poll(now)
            wait = 100 if wait < 0 else min(wait, 100)
        return wait

    def any(self):
        return self._pending

    def readinto(self, buf):
        self._pending = False
        try:
            n = self.line.readinto(buf)
        except OSError:
            n = 0
        if n is None:  # nothing more for now
            return 0
        if n == 0:  # the HHU hung up
            self.close()
            return 0
        self._pending = n == len(buf)  # there may be more
        return n

    def close(self):
        """The connection drops (the HHU hung up, or the loop's guard caught a fault, as
        a board's reset would drop its line); the next HHU is taken as usual."""
        if self.line is not None:
            self.poll.unregister(self.line)
            self.line.close()
            self.line = None
        self.count = 0
        self._pending = False

    def write(self, data, n=-1):
        """The first `n` bytes of `data` (all of it: -1) go out, or are lost whole."""
        if n < 0:
            n = len(data)
        conn, pending, count = self.line, self._tx, self.count
        if conn is not None and count + n <= len(pending):
            for i in range(n):  # no slice of the core's buffer
                pending[count + i] = data[i]
            if count:
                self.count = count + n  # behind what waits already: sent when the line takes it
            else:
                self.count = send(conn, pending, n)
                if self.count:
                    self.poll.modify(conn, select.POLLIN | select.POLLOUT)
        return n

    def wait(self, timeout):
        for obj, event in self.poll.poll(timeout):
            if obj is self.listener:
                try:
                    new, _ = self.listener.accept()
                except OSError:
                    continue  # the caller hung up before the call was taken
                if self.line is not None:
                    self.poll.unregister(self.line)
                    self.line.close()
                self.line = new
                new.setblocking(False)
                try:
                    # SO_SNDBUF (7 on Linux; the port's socket module has no name for it):
                    # a few hundred answers at most wait for an HHU that does not read
                    # (Linux makes 2048 its least, 4608 bytes)
                    new.setsockopt(socket.SOL_SOCKET, 7, 2048)
                except OSError:
                    pass  # not Linux: the kernel's own buffer size stands
                self.poll.register(new, select.POLLIN)
                self.count = 0  # the old HHU's answers are not the new one's
                self._pending = False
                self.server.line_replaced()
                continue
            if obj is not self.line:
                continue  # the connection that was just replaced
            if event & select.POLLOUT:
                self.count = send(self.line, self._tx, self.count)
                if not self.count:
                    self.poll.modify(self.line, select.POLLIN)
            if event & (select.POLLIN | select.POLLHUP | select.POLLERR):
                self._pending = True


def serve(line, server):
    """Run the meter on the line: the core's one loop (Server.run) over a SocketLine."""
    server.run(line, time.ticks_ms, bytearray(64), 1, line)


def send(conn, buf, end):
    """Give the kernel what it takes of buf[:end] without waiting; return the bytes left."""
    try:
        n = conn.write(memoryview(buf)[:end]) or 0  # None: it took nothing
    except OSError:
        return 0  # the HHU went away mid-response: as on a real line, it is lost
    if n and n < end:
        buf[:end - n] = buf[n:end]
    return end - n


def release(path):
    """Give the state directory back: `path` is this meter's entry from lock.lock()."""
    try:
        os.rmdir(path)
    except (OSError, TypeError):  # TypeError: None, nothing was held
        pass


def is_new(state):
    """A new meter's state directory: not there yet, or holding nothing of a meter (no
    record, no lock directory). Looked at before the lock makes the directory."""
    try:
        for name in os.listdir(state):
            if name.startswith("meter") or name.startswith("stub"):
                return False
    except OSError as e:
        return e.args[0] == 2  # ENOENT: the board makes it now
    return True


def main(argv, board_dir="."):
    if "--help" in argv or "-h" in argv:  # the options, one line each (boards/unix/usage.py)
        return __import__("usage").show()
    path = None  # this meter's lock entry
    problem = None  # why the state directory cannot be held: the meter then refuses tokens
    try:
        try:
            options = parse_args(argv)
        finally:
            sys.modules.pop("config", None)  # wanted once: a meter does not keep it
        gc.collect()
        # The firmware only now, after the check's garbage is gone: loaded into a clean
        # heap, its modules do not leave holes too small for the meter's larger objects
        import meter
        from storage import FileStore

        new = is_new(options["state"])
        import lock  # boards/unix/lock.py: wanted once, then its 1.9 kB go back to the heap
        path, problem = lock.lock(options["state"])  # before anything reads the records
        del sys.modules["lock"]
        lock = None
        gc.collect()  # the check's and the lock's garbage, before the meter takes its place
        # The cipher's module (named as its algorithm: sta, des, misty1) now, while the heap
        # is clean: its names may open a new qstr pool, 3.6 KB in one piece, which the heap
        # the build fragments may no longer have (docs/benchmarks.md)
        __import__(options.get("algorithm", "sta"))
        # a meter that cannot hold its directory writes nothing, not even a new record
        store = FileStore(options["state"], new and not problem)
        server = meter.build(options, store, time.ticks_ms(), BOARD_KEYS, True)
        if problem:
            print("error: %s: token entry refused" % problem, file=sys.stderr)
            if not server.app.refusing:
                server.app._refuse(8)  # tables.STORE_LOCK
        elif "reset_storage" in options:
            import recovery

            server, moved = recovery.reset_storage(store, server, options, time.ticks_ms(), BOARD_KEYS)
            print("reset storage:", "nothing to reset, the record is valid" if moved is None
                  else ", ".join(moved) or "nothing was left to move: a new record")
        load = None
        if "load_w" in options:  # boards/unix/load.py: only a meter with a simulated load carries it
            load = __import__("load").start(server.app, options["load_w"], time.ticks_ms())
        faults = store.load("faults", 2)  # LoopFaults, counted by the loop's guard
        if type(faults) is bytes and len(faults) == 2:
            server.app.faults = faults[0] << 8 | faults[1]
    except (OSError, ValueError) as e:  # the state directory is another meter's or unusable, a
        # bad option: one line on stderr (stdout's first line is the pty's path with --pty)
        release(path)
        print("error:", e, file=sys.stderr)
        return 2
    except ImportError as e:  # --lib DIR without the firmware: said by usage.py
        release(path)
        return __import__("usage").show(e)
    except MemoryError:  # a heap too small for the firmware: one line, not a traceback
        release(path)
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
            release(path)
            print("error: cannot listen on %s:%s (%s): is another meter running there? Start this one on "
                  "another port: make run TCP_PORT=7002, or --tcp 127.0.0.1:7002" % (host, port, e), file=sys.stderr)
            return 1
        print("VTC07 meter listening on %s:%s" % (host, port))
    line = SocketLine(listener, server, int(options.get("heap_log", "0")), load)
    try:
        while True:
            try:
                serve(line, server)
            except Exception as e:  # the one guard: one line, one count, carry on
                try:
                    import recovery

                    recovery.loop_fault(server, e, time.ticks_ms())
                except Exception:  # not even memory for that: the loop runs again as it is
                    gc.collect()
                line.close()  # the line drops, as on a board's reset
                time.sleep_ms(100)  # a fault that repeats at once cannot flood the console
    except KeyboardInterrupt:  # Ctrl-C: the way to stop it (make run), as a power fail
        if getattr(server.app, "consumption", None):
            server.app.consumption.power_failing(time.ticks_ms())  # what is billed, stored
        print("stopped")
    finally:
        release(path)
    return 0
