"""The end-to-end demo (`make demo`, with `make run` going in another terminal).

Shows each `vtc07` command it runs, then its output: sign on, generate a credit token for
the simulated meter, enter it, read the credit, enter it again and see it refused as Used.

The token's TID is the meter's last TID + 1 (read from register 800B), so the demo gives a
new token every run. A vending system would use the minutes since the key's base date,
but the unix board's default key counts from 1993, and those TIDs ran out in November 2024.
"""
import argparse
import subprocess
import sys

VTC07 = [sys.executable, "-m", "vtc07"]


def run(args, check=True):
    print("$ vtc07 " + " ".join(args))
    result = subprocess.run(VTC07 + args, capture_output=True, text=True)
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
    last = run(port + ["read", "LastTID", "BaseDate"]).stdout.split("\n")
    tid = int(last[0].split()[2]) + 1
    base_date = last[1].split()[2]
    token = run(["generate", "--base-date", base_date, "--tid", str(tid), "credit",
                 "--amount", args.amount]).stdout.strip()
    run(port + ["token", token])
    run(port + ["read", "CreditElectricity"])
    again = run(port + ["token", token], check=False)
    if "10 Used" not in again.stdout:
        raise SystemExit("demo: the second entry was not refused as Used")
    print("The meter took the token once and refused it the second time (10 Used).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
