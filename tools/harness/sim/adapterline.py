"""A model of the serial adapters HHUs use on real meters, as a TCP relay between the HHU
and a meter (host only; the tests run `vtc07` through it):

    with AdapterLine(meter_port, echo=True, leak_parity=True, split_ms=3) as line:
        vtc07 --port socket://127.0.0.1:<line.port> --echo --parity uart ...

- `echo`: a half-duplex current-loop or RS-485 adapter: every byte the HHU sends comes
  back to it, as it goes out, ahead of the meter's answer.
- `leak_parity`: a CH340 in 7E1, which hands the parity bit up as bit 7: every byte the
  HHU receives (the meter's 7-bit characters, and the echo) gets its even parity there.
  The meter then runs `--parity uart` (bare 7-bit characters, as from a 7E1 UART).
- `split_ms`: characters arrive one at a time, this many ms apart (a USB adapter's
  latency timer, a slow line), not as the meter wrote them.

Each connection the HHU makes is a connection to the meter of its own (one `vtc07` command
each), as a probe plugged in again.
"""

import threading
import time

from noisyline import Relay


def even_parity(b):
    """The 7-bit character `b` with its even parity bit in bit 7."""
    return b | 0x80 if bin(b & 0x7F).count("1") & 1 else b & 0x7F


class AdapterLine(Relay):
    def __init__(self, meter_port, echo=False, leak_parity=False, split_ms=0, echo_damage=None, host="127.0.0.1"):
        """`echo_damage(bytes) -> bytes`: what happens to the echo on its way back (a collision)."""
        self.echo, self.leak_parity, self.split_ms = echo, leak_parity, split_ms
        self.echo_damage = echo_damage or (lambda data: data)
        super().__init__(meter_port, host, backlog=4)

    def _accept(self):
        while True:
            ends = self._connect()
            if ends is None:
                return
            hhu_side, meter_side = ends
            lock = threading.Lock()  # the HHU's receive line: echo and answers, one byte at a time
            threading.Thread(target=self._pump, args=(hhu_side, meter_side, hhu_side, lock), daemon=True).start()
            threading.Thread(target=self._pump, args=(meter_side, hhu_side, None, lock), daemon=True).start()

    def _to_hhu(self, sock, data, lock):
        if self.leak_parity:
            data = bytes(even_parity(b) for b in data)
        with lock:
            if not self.split_ms:
                sock.sendall(data)
                return
            for b in data:
                sock.sendall(bytes((b,)))
                time.sleep(self.split_ms / 1000)

    def _pump(self, src, dst, echo_to, lock):
        """src -> dst; `echo_to`: the HHU's socket when src is the HHU (the echo goes back)."""
        try:
            while True:
                data = src.recv(256)
                if not data:
                    break
                if echo_to is None:
                    self._to_hhu(dst, data, lock)
                    continue
                if self.echo:
                    self._to_hhu(echo_to, self.echo_damage(data), lock)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._shut(src, dst)
