"""Raspberry Pi Pico (rp2 port): optical port on UART0, hardware 7E1.

Wiring (docs/boards.md): GP0 (UART0 TX) -> IR LED driver, GP1 (UART0 RX) <- IR receiver.
Metrology (docs/porting.md): GP2 <- the energy pulse output (METER_CONSTANT imp/kWh, a
falling edge per impulse), GP3 -> the relay driver (high: closed), GP4 <- the supply
monitor (falling: power failing).
The RP2040 UART does 7 data bits with even parity itself, and inverts TX and RX in the
pad if the optical head's logic is inverted (INVERT).
"""

from machine import UART, Pin
from metrology import PulseMetrology

BAUD = 2400  # profile section 1: fixed per board, 2400 Bd by default
FRONT_END = "optical"
PARITY = "uart"  # 7E1 in the UART (bits=7, parity=0)
INVERT = False  # True for a head whose LED is on for a 0 bit (idle low)
TX_ACTIVE = 1
STATE_DIR = "/state"  # littlefs2, the rp2 port's default file system
WATCHDOG_MS = 8000  # machine.WDT, fed by the loop at least every second (docs/porting.md)
CONFIG_FILE = "/meter.conf"
PULSE_PIN = 2
METER_CONSTANT = 1000  # imp/kWh of the pulse output
RELAY_PIN = 3
RELAY_CLOSED = 1  # the relay pin's level that closes the load switch
POWER_FAIL_PIN = 4


def uart() -> UART:
    invert = UART.INV_TX | UART.INV_RX if INVERT else 0
    return UART(0, baudrate=BAUD, bits=7, parity=0, stop=1, tx=Pin(0), rx=Pin(1), rxbuf=256, invert=invert)


def tx_enable() -> "Pin | None":
    return None  # the IR LED is driven by TX alone


def led() -> "Pin | None":
    return Pin("LED", Pin.OUT)  # on while the meter transmits


def metrology(now: int) -> "PulseMetrology | None":
    return PulseMetrology(
        Pin(PULSE_PIN, Pin.IN, Pin.PULL_UP),
        METER_CONSTANT,
        Pin(RELAY_PIN, Pin.OUT),
        RELAY_CLOSED,
        Pin(POWER_FAIL_PIN, Pin.IN, Pin.PULL_UP),
        now,
    )
