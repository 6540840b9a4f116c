"""pyserial URL handlers of the line simulator (tools/harness/simline.py): `sim://`."""
