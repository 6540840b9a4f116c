"""ESP32 DevKitC (esp32 port): two-wire 20 mA current loop on UART2, hardware 7E1.

Wiring (docs/boards.md): GPIO17 (UART2 TX) -> loop transmitter, GPIO16 (UART2 RX) <-
loop receiver, GPIO4 -> transmitter enable (active high). The loop carries our own
characters back to our receiver: boards/common/link.py removes that echo.
Metrology (docs/porting.md): GPIO25 <- the energy pulse output (METER_CONSTANT imp/kWh, a
falling edge per impulse), GPIO26 -> the relay driver (high: closed), GPIO27 <- the
supply monitor (falling: power failing).
"""

from machine import UART, Pin
from metrology import PulseMetrology

BAUD = 2400
FRONT_END = "current_loop"
PARITY = "uart"  # 7E1 in the UART (bits=7, parity=0)
TX_ACTIVE = 1
STATE_DIR = "/state"  # littlefs2, the esp32 port's default file system
WATCHDOG_MS = 8000  # machine.WDT, fed by the loop at least every second (docs/porting.md)
PULSE_PIN = 25
METER_CONSTANT = 1000  # imp/kWh of the pulse output
RELAY_PIN = 26
RELAY_CLOSED = 1  # the relay pin's level that closes the load switch
POWER_FAIL_PIN = 27
CONFIG_FILE = "/meter.conf"


def uart() -> UART:
    return UART(2, baudrate=BAUD, bits=7, parity=0, stop=1, tx=17, rx=16, rxbuf=256)


def tx_enable() -> "Pin | None":
    return Pin(4, Pin.OUT)


def led() -> "Pin | None":
    return Pin(2, Pin.OUT)


def metrology(now: int) -> "PulseMetrology | None":
    return PulseMetrology(
        Pin(PULSE_PIN, Pin.IN, Pin.PULL_UP),
        METER_CONSTANT,
        Pin(RELAY_PIN, Pin.OUT),
        RELAY_CLOSED,
        Pin(POWER_FAIL_PIN, Pin.IN, Pin.PULL_UP),
        now,
    )
