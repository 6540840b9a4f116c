"""The end-to-end demo (`make demo`, with `make run` going in another terminal).

Shows each `vtc07` command it runs, then its output: sign on, generate a credit token for
the simulated meter, enter it, read the credit, enter it again and see it refused as Used.

The token's TID is the meter's last TID + 1 (read from register 800B), so the demo gives a
new token every run. A vending system would use the minutes since the key's base date,
but the unix board's default key counts from 1993, and those TIDs ran out in November 2024.
The key is derived (the default vending key) from the key data the meter reports: its key
revision, key type, supply group, tariff index, base date and algorithm, so the demo
follows a key change such as the one in docs/hhu.md.
"""

import argparse
import json
import os
import subprocess
import sys

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
import hostpath

VTC07 = [sys.executable, "-m", "vtc07"]
ENV = dict(
    os.environ,
    PYTHONPATH=os.pathsep.join(
        [os.path.join(hostpath.ROOT, "tools")] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    ),
)
KEY_DATA = (
    "LastTID",
    "KeyRevisionNumber",
    "KeyType",
    "SupplyGroupCode",
    "TariffIndex",
    "BaseDate",
    "EncryptionAlgorithm",
)
ALGORITHMS = {"7": "sta", "9": "des", "11": "misty1"}


def run(args, check=True):
    print("$ vtc07 " + " ".join(args))
    result = subprocess.run(VTC07 + args, capture_output=True, text=True, env=ENV)
    text = (result.stdout + result.stderr).rstrip()
    if text:
        print(text)
    print()
    if check and result.returncode != 0:
        raise SystemExit("demo stopped: vtc07 exited with %d" % result.returncode)
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", default="socket://127.0.0.1:7001")
    p.add_argument("--amount", default="10")
    args = p.parse_args(argv)
    port = ["--port", args.port]
    run(port + ["id"])
    meter = {
        r["name"]: r["value"] for r in json.loads(run(port + ["read", "--json"] + list(KEY_DATA)).stdout)["registers"]
    }
    token = run(
        [
            "generate",
            "--tid",
            str(int(meter["LastTID"]) + 1),
            "--krn",
            str(int(meter["KeyRevisionNumber"])),
            "--key-type",
            str(int(meter["KeyType"])),
            "--sgc",
            str(int(meter["SupplyGroupCode"])),
            "--ti",
            str(int(meter["TariffIndex"])),
            "--base-date",
            str(int(meter["BaseDate"])),
            "--algorithm",
            ALGORITHMS.get(str(int(meter["EncryptionAlgorithm"])), "sta"),
            "credit",
            "--amount",
            args.amount,
        ]
    ).stdout.strip()
    run(port + ["token", token])
    run(port + ["read", "CreditElectricity"])
    again = run(port + ["token", token], check=False)
    if "10 Used" not in again.stdout:
        raise SystemExit("demo: the second entry was not refused as Used")
    print("The meter took the token once and refused it the second time (10 Used).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
