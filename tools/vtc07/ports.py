"""`vtc07 ports`: the serial ports, with the USB VID:PID of each adapter, and a warning for
the adapters known to mishandle 7E1, the VTC07 line's framing (docs/hhu.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from .cli import Report

# (VID, PID) -> what goes wrong in 7E1, and what to do about it
KNOWN_7E1 = {
    (0x1A86, 0x7523): "CH340/HL-340: passes the parity bit through as bit 7 in 7E1; use --parity soft, or "
    "--parity uart (the HHU then takes 7-bit data and says so)",
    (0x1A86, 0x5523): "CH341: passes the parity bit through as bit 7 in 7E1; use --parity soft",
    (0x1A86, 0xE018): "CH9344: its Linux driver corrupts 7E1 characters; use --parity soft",
    (0x1A86, 0x55D9): "CH348: its Linux driver (ch9344) corrupts 7E1 characters; use --parity soft",
}
# the vendor driver's device names, whatever the IDs say
KNOWN_NAMES = {"ttyCH9344USB": KNOWN_7E1[(0x1A86, 0xE018)]}


def warning(port: Any) -> Optional[str]:
    """What is known to go wrong with this port's adapter in 7E1, or None."""
    if port.vid is not None and (port.vid, port.pid) in KNOWN_7E1:
        return KNOWN_7E1[(port.vid, port.pid)]
    for name, text in KNOWN_NAMES.items():
        if name in port.device:
            return text
    return None


def describe(port: Any) -> dict[str, Any]:
    """One port as the JSON report has it (device, description, hwid as pyserial gives them)."""
    usb = "%04X:%04X" % (port.vid, port.pid) if port.vid is not None else None
    return {
        "device": port.device,
        "description": port.description,
        "hwid": port.hwid,
        "usb": usb,
        "warning": warning(port),
    }


def run(rep: Report, comports: Optional[Callable[[], Any]] = None) -> int:
    if comports is None:
        from serial.tools import list_ports

        comports = list_ports.comports
    ports = [describe(p) for p in sorted(comports(), key=lambda p: p.device)]
    rep.data["ports"] = ports
    for p in ports:
        rep.line(
            "%-20s %s%s  [%s]" % (p["device"], "USB %s  " % p["usb"] if p["usb"] else "", p["description"], p["hwid"])
        )
        if p["warning"]:
            rep.line("%20s warning: %s" % ("", p["warning"]))
    if not ports:
        rep.line("no serial ports found (the simulated meter is socket://127.0.0.1:7001)")
    return 0
