"""Pyboard v1.1 (stm32 port): logic-level (voltage) interface on UART4 (X1 TX, X2 RX),
8N1 with software parity.

Software parity here on purpose: MicroPython's UART read API has no per-character error
flag, so with the UART checking parity a damaged character is dropped or passed on by
the port's driver, and the core cannot tell (only the BCC may catch it). Reading 8N1
hands the parity bit to the core, which then treats each parity error as the profile
asks. The bits on the wire are the same as 7E1.
"""
from machine import UART, Pin

BAUD = 2400
FRONT_END = "voltage"
PARITY = "soft"  # 8N1 in the UART, parity made and checked in bit 7 by the core
TX_ACTIVE = 1
STATE_DIR = "/flash/state"  # format /flash as littlefs2 (docs/boards.md): FAT renames are not atomic
CONFIG_FILE = "/flash/meter.conf"


def uart() -> UART:
    return UART(4, baudrate=BAUD, bits=8, parity=None, stop=1, rxbuf=256)


def tx_enable() -> "Pin | None":
    return None  # full duplex: separate TX and RX wires


def led() -> "Pin | None":
    return Pin("LED_GREEN", Pin.OUT)
