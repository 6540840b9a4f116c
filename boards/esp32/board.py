"""ESP32 DevKitC (esp32 port): two-wire 20 mA current loop on UART2, hardware 7E1.

Wiring (docs/boards.md): GPIO17 (UART2 TX) -> loop transmitter, GPIO16 (UART2 RX) <-
loop receiver, GPIO4 -> transmitter enable (active high). The loop carries our own
characters back to our receiver: boards/common/link.py removes that echo.
"""
from machine import UART, Pin

BAUD = 2400
FRONT_END = "current_loop"
PARITY = "uart"  # 7E1 in the UART (bits=7, parity=0)
TX_ACTIVE = 1
STATE_DIR = "/state"  # littlefs2, the esp32 port's default file system
CONFIG_FILE = "/meter.conf"


def uart() -> UART:
    return UART(2, baudrate=BAUD, bits=7, parity=0, stop=1, tx=17, rx=16, rxbuf=256)


def tx_enable() -> "Pin | None":
    return Pin(4, Pin.OUT)


def led() -> "Pin | None":
    return Pin(2, Pin.OUT)
