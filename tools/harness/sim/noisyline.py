"""A TCP line between an HHU and a meter that can damage what it carries (host only).

    with NoisyLine(meter_port, to_meter=f, to_hhu=g) as line:
        Hhu("socket://127.0.0.1:%d" % line.port)

`f` and `g` take each chunk of bytes going that way and return what arrives instead
(the same bytes, changed ones, or b"" for a dropped chunk). Used by the tests to make a
real meter process NAK, go silent, or send garbled answers, without a mock meter.
"""

import socket
import threading


def flip_parity(index=0):
    """A damage function: the byte at `index` (negative from the end) gets its bit 7 flipped."""

    def damage(data):
        if not data:
            return data
        b = bytearray(data)
        b[index] ^= 0x80
        return bytes(b)

    return damage


def drop(data):
    return b""


class Relay:
    """A TCP relay between an HHU (connecting to `port`) and the meter at `meter_port`:
    the listener, the sockets it made, and closing them. A subclass's `_accept` runs in
    a thread of its own and carries the bytes."""

    def __init__(self, meter_port, host="127.0.0.1", backlog=1):
        self._meter = (host, meter_port)
        self._listener = socket.socket()
        self._listener.bind((host, 0))
        self._listener.listen(backlog)
        self.port = self._listener.getsockname()[1]
        self._socks = []
        self._start()

    def _start(self):
        """Run `_accept` beside the caller (a subclass may give it a process instead)."""
        threading.Thread(target=self._accept, daemon=True).start()

    def _connect(self, nodelay=False):
        """The next HHU connection and a connection of its own to the meter, or None once
        the listener is closed. `nodelay`: each byte goes out as it is sent."""
        try:
            hhu_side, _ = self._listener.accept()
        except OSError:
            return None
        meter_side = socket.create_connection(self._meter)
        if nodelay:
            for s in (hhu_side, meter_side):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socks += [hhu_side, meter_side]
        return hhu_side, meter_side

    @staticmethod
    def _shut(*socks):
        """The relay's two ends are over: the peers see the line drop."""
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self._listener.close()
        for s in self._socks:
            s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class NoisyLine(Relay):
    def __init__(self, meter_port, to_meter=None, to_hhu=None, host="127.0.0.1"):
        self.to_meter = to_meter or (lambda d: d)
        self.to_hhu = to_hhu or (lambda d: d)
        super().__init__(meter_port, host)

    def _accept(self):
        ends = self._connect()
        if ends is None:
            return
        hhu_side, meter_side = ends
        threading.Thread(
            target=self._pump, args=(hhu_side, meter_side, lambda d: self.to_meter(d)), daemon=True
        ).start()
        self._pump(meter_side, hhu_side, lambda d: self.to_hhu(d))

    @staticmethod
    def _pump(src, dst, damage):
        try:
            while True:
                data = src.recv(256)
                if not data:
                    break
                out = damage(data)
                if out:
                    dst.sendall(out)
        except OSError:
            pass
        finally:
            NoisyLine._shut(src, dst)


class Channel:
    """A noisy line as a damage function: each bit of each character flips with
    probability `ber`; each character is lost with probability `ber` and doubled with
    probability `ber`; and a chunk is held back 0-200 ms with probability 100 x `ber`
    (a gap inside or between messages). Seeded, so a run can be repeated."""

    def __init__(self, ber, seed=1):
        import random

        self.ber = ber
        self.rng = random.Random(seed)
        self.flipped = self.lost = self.doubled = self.gaps = 0

    def __call__(self, data):
        import time

        rng, ber = self.rng, self.ber
        if ber and rng.random() < min(1.0, 100 * ber):
            self.gaps += 1
            time.sleep(rng.uniform(0, 0.2))
        out = bytearray()
        for b in data:
            r = rng.random()
            if r < ber:
                self.lost += 1
                continue
            for bit in range(8):
                if rng.random() < ber:
                    b ^= 1 << bit
                    self.flipped += 1
            out.append(b)
            if r > 1 - ber:
                self.doubled += 1
                out.append(b)
        return bytes(out)
