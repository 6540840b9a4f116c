"""pyserial URL handlers of the line simulator (tools/harness/sim/simline.py): `sim://`."""
