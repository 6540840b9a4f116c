"""One meter per state directory (issue 10).

Two meters on one state directory would each accept the same token and apply its credit
twice. The unix port has no flock, kill or getpid, so the lock is made of what Linux and
the port do have: atomic directory operations and /proc.

Each meter makes an entry `meter.lock/<pid>-<start time>` in the state directory and then
lists `meter.lock/`. It runs only if no other live meter's entry is there; otherwise it
takes its entry back and, after a short random pause, tries again (two meters started at
the same instant: one of them wins), and gives up after a few tries. As every meter makes
its entry before it lists, two meters can never both miss each other: at most one runs.
The start time (clock ticks since boot, /proc/<pid>/stat) ties an entry to one process, not
to a PID that a later process may get. An entry whose process is gone, or is a zombie
(killed, not yet reaped), is stale: a meter killed with SIGKILL blocks nobody. A stale
entry is taken over by renaming it to this meter's name, so a full or read-only-for-new-
entries file system after a cut still lets the next meter hold its directory.

A directory that cannot be held (a plain file named meter.lock, a read-only or full file
system with no stale entry to take over) is not the end of the meter: `lock` says why, and
the board starts refusing tokens (StorageFault 8) while it answers reads.

The names here are ones the unix port or the firmware already interns: each new name
would cost the board heap (docs/profile-choices.md, "One meter per state directory").
"""

import os
import time


def ident(n):
    """`<pid>-<start time>` of the live process `n` ("self": this one), else None."""
    try:
        with open("/proc/%s/stat" % n, "rb") as f:
            data = f.read()
    except OSError:
        return None
    # pid (command) state ppid ... (the command may hold spaces): the start time is the
    # 22nd field; a state of Z (zombie, 90) or X (dead, 88) is a process that has ended
    field = data[data.rfind(b")") + 2 :].split()
    if len(field) < 20 or field[0][0] in (88, 90):
        return None
    return data[: data.find(b" ")].decode() + "-" + field[19].decode()


def lock(state):
    """Hold `state` for this process: (the path of its entry (a directory: os.rmdir gives
    the state directory back), None), or (None, why it cannot be held); OSError with a
    one-line reason when `state` is no directory or another live meter holds it."""
    line = ident("self")
    if line is None:
        raise OSError("cannot lock state directory %s: no /proc to tell a running meter by" % state)
    root = state + "/meter.lock"
    path = root + "/" + line
    try:
        try:
            os.mkdir(state)
        except OSError:
            pass  # there already (or cannot be made: stat says so)
        if os.stat(state)[0] & 0xF000 != 0x4000:  # S_IFDIR
            raise OSError(20)
    except OSError as e:
        # 20 ENOTDIR: --state names a file (MicroPython's OSError carries only the number)
        why = "it is not a directory" if e.args and e.args[0] == 20 else "OSError %s" % e
        raise OSError("cannot use state directory %s: %s" % (state, why))
    try:
        try:
            os.mkdir(root)
        except OSError:
            pass  # there already (or cannot be made: listdir says so)
        for _ in range(4):
            for name in os.listdir(root):  # a stale entry is renamed ours: no new entry
                if name != line and ident(name.split("-", 1)[0]) != name:
                    try:
                        os.rename(root + "/" + name, path)
                        break
                    except OSError:
                        pass  # another meter starting just now took it first
            else:
                os.mkdir(path)
            last = None  # a live meter's entry
            for name in os.listdir(root):
                if name == line:
                    continue
                if ident(name.split("-", 1)[0]) == name:
                    last = name
                    continue
                try:
                    os.rmdir(root + "/" + name)
                except OSError:
                    pass  # another meter starting just now removed it first
            if last is None:
                return path, None
            os.rmdir(path)
            time.sleep_ms(1 + os.urandom(1)[0] % 40)
    except OSError as e:
        # 20 ENOTDIR: meter.lock is a file; 28 ENOSPC, 30 EROFS: no entry can be made
        return None, "cannot hold state directory %s (%s): OSError %s" % (state, root, e)
    raise OSError("state directory %s is in use by another meter (process %s)" % (state, last.split("-", 1)[0]))
