"""The unix board's work: the line and the loop (boards/unix/main.py starts it; its
docstring lists the options). What only start-up wants (options, the state directory's
lock, building the meter) is boards/unix/startup.py, dropped once the meter listens.

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


class SocketLine:
    """The unix board's UART for the core's loop (server.Loop): one TCP connection at a
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
    """Run the meter on the line: the core's one loop (server.Loop) over a SocketLine."""
    from server import Loop

    Loop(server, line, time.ticks_ms, bytearray(64), 1, line).run()


def send(conn, buf, end):
    """Give the kernel what it takes of buf[:end] without waiting; return the bytes left."""
    try:
        n = conn.write(memoryview(buf)[:end]) or 0  # None: it took nothing
    except OSError:
        return 0  # the HHU went away mid-response: as on a real line, it is lost
    if n and n < end:
        buf[: end - n] = buf[n:end]
    return end - n


def release(path):
    """Give the state directory back: `path` is this meter's entry from lock.lock()."""
    try:
        os.rmdir(path)
    except (OSError, TypeError):  # TypeError: None, nothing was held
        pass


def main(argv, board_dir="."):
    if "--help" in argv or "-h" in argv:  # the options, one line each (boards/unix/usage.py)
        return __import__("usage").show()
    held = [None]  # this meter's lock entry, once startup.start has taken it
    try:
        started = __import__("startup").start(argv, board_dir, held)
    except MemoryError:  # not even the heap for start-up's own code
        release(held[0])
        print("error: out of memory while starting: give the unix port a larger heap (-X heapsize)", file=sys.stderr)
        return 1
    finally:
        sys.modules.pop("startup", None)  # wanted once: its bytecode goes back to the heap
    if type(started) is int:  # the exit status after its one-line error
        return started
    server, listener, load, heap_log = started
    started = None
    gc.collect()  # start-up's code and garbage, before the loop's first allocations
    line = SocketLine(listener, server, heap_log, load)
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
        release(held[0])
    return 0
