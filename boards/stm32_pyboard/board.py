"""Pyboard v1.1 (stm32 port): logic-level (voltage) interface on UART4 (X1 TX, X2 RX),
8N1 with software parity.

Software parity here on purpose: MicroPython's UART read API has no per-character error
flag, so with the UART checking parity a damaged character is dropped or passed on by
the port's driver, and the core cannot tell (only the BCC may catch it). Reading 8N1
hands the parity bit to the core, which then treats each parity error as the profile
asks. The bits on the wire are the same as 7E1.
Metrology (docs/porting.md): X3 <- the energy pulse output (METER_CONSTANT imp/kWh, a falling
edge per impulse), X4 -> the relay driver (high: closed), X5 <- the supply monitor
(falling: power failing).
"""

from machine import UART, Pin
from metrology import PulseMetrology

BAUD = 2400
FRONT_END = "voltage"
PARITY = "soft"  # 8N1 in the UART, parity made and checked in bit 7 by the core
TX_ACTIVE = 1
STATE_DIR = "/flash/state"  # format /flash as littlefs2 (docs/boards.md): FAT renames are not atomic
WATCHDOG_MS = 8000  # machine.WDT, fed by the loop at least every second (docs/porting.md)
PULSE_PIN = "X3"
METER_CONSTANT = 1000  # imp/kWh of the pulse output
RELAY_PIN = "X4"
RELAY_CLOSED = 1  # the relay pin's level that closes the load switch
POWER_FAIL_PIN = "X5"
CONFIG_FILE = "/flash/meter.conf"


def uart() -> UART:
    return UART(4, baudrate=BAUD, bits=8, parity=None, stop=1, rxbuf=256)


def tx_enable() -> "Pin | None":
    return None  # full duplex: separate TX and RX wires


def led() -> "Pin | None":
    return Pin("LED_GREEN", Pin.OUT)


def metrology(now: int) -> "PulseMetrology | None":
    return PulseMetrology(
        Pin(PULSE_PIN, Pin.IN, Pin.PULL_UP),
        METER_CONSTANT,
        Pin(RELAY_PIN, Pin.OUT),
        RELAY_CLOSED,
        Pin(POWER_FAIL_PIN, Pin.IN, Pin.PULL_UP),
        now,
    )
