"""Power cuts during token sessions on the unix board (host side).

    python3 tools/harness/reliability/powercut.py [--runs 100] [--seed 1]

Each run starts the unix board on one state directory, signs on, writes a new credit
token (or, three times in ten, a token under another meter's key, which the lockout
counts) and kills the process (SIGKILL: no clean-up, like pulling the plug) at a random
instant between 0 and 400 ms after the write went out, which spans the ACK at tr and the
token's processing and save. The state directory is then read on the host and checked
against a model that knows which tokens were applied (those whose TID is or was in the
store; the store keeps the newest 50): the credit is exactly the sum of the applied
tokens, no TID is stored twice, and a token once applied stays applied. At the end every
token that was not applied and is newer than the oldest TID kept is entered once more on
a clean line and must be accepted now; two applied ones must come back Used (not more:
three refusals in a row would lock token entry); a token older than the 50 newest can
no longer be taken (the STS rule: Old). The credit must then be the sum of the applied
tokens: nothing lost, nothing doubled. A rejected token's result must be readable (stored)
exactly when its lockout count is stored: no cut leaves a readable rejection uncounted.
"""

import random
import sys
import tempfile
import time

sys.path.append(__file__[: __file__.rfind("/") + 1] + "..")  # tools/harness, for hostpath (README.md)
import hostpath  # noqa: F401  (firmware/ on sys.path)
from meterapp import DEFAULT_DK, MeterApplication
from storage import FileStore
from tables import TID_STORE_MIN
from unixboard import UnixBoard, micropython_binary

from vtc07 import tracefile, vending

DK = int(DEFAULT_DK, 16)  # the unix board's default key
OTHER_DK = 0xE94023262E9993C2  # another meter's key (sts-tokens.md)
SIGN_ON = b"/?!\r\n"


def ask(sock, chars):
    """Send 7-bit characters (with parity), return the answer in the trace notation."""
    sock.sendall(tracefile.to_line(list(chars)))
    return tracefile.escape(tracefile.from_line(sock.recv(64)))


def check_state(state, amounts, applied):
    """The stored state against the model; adds what is now stored to `applied`."""
    app = MeterApplication(FileStore(state), {})
    assert not app.refusing, "a storage fault: %d" % app.fault
    assert len(set(app.tids)) == len(app.tids), "a TID stored twice"
    unknown = [t for t in app.tids if t not in amounts]
    assert not unknown, "TIDs no token had: %r" % unknown
    dropped = applied - set(app.tids)
    assert not dropped or (len(app.tids) >= TID_STORE_MIN and max(dropped) < min(app.tids)), (
        "applied tokens missing from the store: %r" % sorted(dropped)
    )
    applied |= set(app.tids)
    expected = sum(amounts[t] for t in applied)
    assert app.credit[0] == expected, "credit %d, applied tokens add up to %d" % (app.credit[0], expected)
    return set(app.tids)


def lockout_state(state):
    app = MeterApplication(FileStore(state), {})
    return app.lockout.count, app.last[0]


def campaign(micropython, runs, seed=1, state=None):
    rng = random.Random(seed)
    state = state or tempfile.mkdtemp(prefix="powercut-")
    amounts = {}  # TID -> amount (tenths)
    tokens = {}
    applied = set()
    cut_before_save = cut_after_save = 0
    rejections = {"counted": 0, "cut before evaluation or save": 0}
    for run in range(runs):
        tid = 1000 + run
        count, last = lockout_state(state)
        reject = rng.random() < 0.3 and count < 2 and last != 13
        if reject:  # under another meter's key: a CRC error that counts for the lockout
            number = vending.token(0, 0, rng.randint(0, 15), tid, vending.amount_field(1), OTHER_DK)
        else:
            amount = rng.randint(1, 500)
            number = vending.token(0, 0, rng.randint(0, 15), tid, vending.amount_field(amount), DK)
            amounts[tid] = amount
            tokens[tid] = number
        board = UnixBoard(micropython, state).start()
        sock = board.connect()
        try:
            assert ask(sock, SIGN_ON).startswith("/STS")
            sock.sendall(tracefile.to_line(list(tracefile.write_request(0x0004, "%017X" % number))))
            time.sleep(rng.uniform(0, 0.4))
        finally:
            board.stop()  # SIGKILL: the power cut
            sock.close()
        stored = check_state(state, amounts, applied)
        if reject:
            after, status = lockout_state(state)
            # the rejection is readable (TokenStatus 13) exactly when it is counted
            assert (after, status) in ((count, last), (count + 1, 13)), (count, last, after, status)
            rejections["counted" if after == count + 1 else "cut before evaluation or save"] += 1
        elif tid in stored:
            cut_after_save += 1
        else:
            cut_before_save += 1
    # once more, on a line that is not cut: the missed tokens that can still be taken,
    # then two that were applied
    kept = check_state(state, amounts, applied)
    oldest = min(kept) if len(kept) >= TID_STORE_MIN else -1
    missed = [t for t in tokens if t not in applied and t > oldest]
    old = len([t for t in tokens if t not in applied and t <= oldest])
    again = missed + sorted(applied)[-2:]
    board = UnixBoard(micropython, state).start()
    sock = board.connect()
    used = accepted = 0
    try:
        assert ask(sock, SIGN_ON).startswith("/STS")
        for tid in again:
            assert ask(sock, tracefile.write_request(0x0004, "%017X" % tokens[tid])) == "<ACK>"
            time.sleep(0.05)
            status = ask(sock, tracefile.read_request(0x0005))
            if "(10)" in status:
                assert tid in applied, "token %d Used but never applied" % tid
                used += 1
            elif "(01)" in status:
                assert tid not in applied, "token %d applied twice" % tid
                applied.add(tid)
                accepted += 1
            else:
                raise AssertionError("token %d answered %s" % (tid, status))
        credit = ask(sock, tracefile.read_request(0x8001))
    finally:
        board.stop()
        sock.close()
    total = sum(amounts[t] for t in applied)
    assert "(%010d)" % total in credit, "final credit %s, applied tokens add up to %d" % (credit, total)
    assert accepted == len(missed) and used == len(again) - len(missed)
    return {
        "runs": runs,
        "cut_before_save": cut_before_save,
        "cut_after_save": cut_after_save,
        "rejections_counted": rejections["counted"],
        "rejections_cut": rejections["cut before evaluation or save"],
        "used": used,
        "accepted": accepted,
        "old": old,
        "final_credit": total,
    }


def main(argv):
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 100
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 1
    micropython = micropython_binary()
    result = campaign(micropython, runs, seed)
    print(
        "%(runs)d power cuts: the token was not applied %(cut_before_save)d times, applied "
        "%(cut_after_save)d times. Entered again: %(accepted)d missed tokens accepted, %(used)d "
        "applied ones Used; %(old)d missed ones too old to take. Credit %(final_credit)d "
        "tenths, the exact sum of the applied tokens: "
        "nothing lost, nothing doubled. Rejected tokens: %(rejections_counted)d counted with their "
        "result, %(rejections_cut)d cut before their result was stored (neither readable nor "
        "counted); 0 readable and uncounted" % result
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
