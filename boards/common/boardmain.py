"""What every hardware board's main.py runs: build the meter and serve its line.

The board module (boards/<name>/board.py, copied to the device as board.py) says what
differs: FRONT_END, PARITY, BAUD, STATE_DIR, CONFIG_FILE, and the functions uart(),
tx_enable() and led() that make the port's objects, and metrology() (a
boards/common/metrology.py PulseMetrology, or None: a meter without a load switch). The meter's own settings (identity,
key, timing) come from CONFIG_FILE (`key = value` lines, firmware/meter.py) if it exists.
A config file the meter cannot take (a line that is not `key = value`, an unknown key, a
value out of range: firmware/config.py) starts no meter: the board prints the one-line
reason on its console (the USB REPL) and main() returns.

`main` runs the line inside one guard: whatever raises in the core, the application,
storage, metrology or a board callback is one console line and one count in LoopFaults
(companion register 8021, stored: it survives restarts), and the meter carries on from its
stored record (firmware/recovery.py `loop_fault`). A board that sets WATCHDOG_MS gets a
machine.WDT armed by the loop and fed on every pass, whose wait is cut to FEED_MS: a loop
that hangs resets the board, which comes back from its stored record (docs/porting.md).
"""

import meter
from link import Link
from storage import FileStore

FEED_MS = 1000  # OWN: the longest the loop waits between watchdog feeds

# front end -> (half duplex: a direction pin and one direction at a time, hears its own echo)
FRONT_ENDS = {
    "optical": (True, False),  # IR head: transmitter and receiver side by side, one talks
    "current_loop": (True, True),  # two-wire 20 mA loop: our transmission loops back
    "voltage": (False, False),  # logic-level UART: separate TX and RX wires
}


def read_config(path):
    try:
        with open(path) as f:
            return __import__("config").parse_config(f.read())  # meter.check drops it again
    except OSError:
        return {}  # no file: the defaults of firmware/config.py


def build(board, clock, sleep_ms):
    """The board's Link, or None (and the reason printed) for a bad config file."""
    try:
        config = read_config(board.CONFIG_FILE)
        # The board's wiring decides parity and speed, not the config file; a value the
        # file gives is still checked, so a typo there is not silently overridden.
        meter.check(config)
        config["parity"] = board.PARITY
        config["baud"] = str(board.BAUD)
        server = meter.build(config, FileStore(board.STATE_DIR), clock())
    except ValueError as e:
        print("error:", e)
        return None
    faults = server.app.store.load("faults", 2)  # LoopFaults, counted by the loop's guard
    if type(faults) is bytes and len(faults) == 2:
        server.app.faults = faults[0] << 8 | faults[1]
    if server.app.fault:  # the meter still starts: it answers reads and refuses tokens
        import recovery

        print(recovery.fault_line(server))
    half_duplex, echo = FRONT_ENDS[board.FRONT_END]
    metrology = board.metrology(clock()) if hasattr(board, "metrology") else None
    if metrology is not None and hasattr(server.app, "consumption"):  # the stub has no credit
        metrology.attach(server.app)
    else:
        metrology = None
    return Link(
        board.uart(),
        server,
        board.BAUD,
        clock,
        sleep_ms,
        half_duplex=half_duplex,
        echo=echo,
        tx_enable=board.tx_enable(),
        tx_active=board.TX_ACTIVE,
        led=board.led(),
        metrology=metrology,
    )


def main(board):
    import time

    lnk = build(board, time.ticks_ms, time.sleep_ms)
    if not lnk:  # no meter: the config's error is printed, the REPL stays usable
        return
    wdt = watchdog(lnk, getattr(board, "WATCHDOG_MS", 0))
    while True:
        try:
            lnk.run()
        except KeyboardInterrupt:  # Ctrl-C on the REPL: a developer takes the board
            if wdt is not None:
                keep_fed(wdt)
            raise
        except Exception as e:  # the one guard: one line, one count, carry on
            try:
                import recovery  # frozen: its bytecode is in flash, the import is small

                recovery.loop_fault(lnk.server, e, time.ticks_ms())
            except Exception:  # not even memory for that: the loop runs again as it is
                pass
            time.sleep_ms(100)  # a fault that repeats at once cannot flood the console


def watchdog(lnk, timeout_ms):
    """Arm machine.WDT (none when `timeout_ms` is 0) and feed it from every pass of the
    loop, whose wait is cut to FEED_MS so that an idle meter feeds it too."""
    if not timeout_ms:
        return None
    import machine

    wdt = machine.WDT(timeout=timeout_ms)
    wait = lnk.wait

    def fed(ms):
        wdt.feed()
        return wait(FEED_MS if ms < 0 or ms > FEED_MS else ms)

    lnk.wait = fed  # the loop (server.Loop) sleeps in it after every pass: link.py stays as every board shares it
    return wdt


def keep_fed(wdt):
    """The developer stopped the meter for the REPL (mpremote does so to deploy): a timer
    feeds the watchdog, which cannot be disarmed, until the next reset."""
    import machine

    for n in (-1, 0):  # a soft timer (rp2, stm32), else hardware timer 0 (esp32)
        try:
            machine.Timer(n, period=FEED_MS, callback=lambda t: wdt.feed())
            return
        except (ValueError, OSError):
            pass
