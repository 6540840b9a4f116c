"""`sim://NAME`: a simulated meter's port, made by simline.attach (pyserial finds this module
by the URL's scheme in serial.protocol_handler_packages)."""

from simline import serial_class_for_url  # noqa: F401
