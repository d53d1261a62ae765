#!/usr/bin/env python3
"""Queue files torn by a system crash. yubin-queue answers "ok" after one
fsync of the renamed file (queue/README, step 1), so after a power loss a
file whose fsync had not ended may be on disk with its name but not all
of its bytes; its sender never heard "ok". Nobody can pull the plug in a
test, so this one leaves what such a crash leaves: copies of a real queue
file with a flipped byte, a torn tail, zeros, the seal's placeholder, in
incoming/, active/ and hold/, and a boot id in queue/lock/boot that is
not this boot's. yubin-qmgr must remove exactly those at start (one log
line each), deliver the whole ones (a sealed file and one from before
seals), and check only once per boot."""
import os, shutil, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, maildir_messages, wait_for  # noqa: E402

t = Tap()
t.need("torn queue files", "yubin-run", "sendmail", "yubin-queue", "yubin-qmgr", "yubin-local")

with Instance() as y:
    q = os.path.join(y.root, "queue")
    demo = y.maildir("demo@example.test")
    y.stop()
    # with nothing running, sendmail executes yubin-queue: the file stays in incoming/
    y.sendmail("-f", "a@example.org", "demo@example.test",
               message=b"Subject: whole\nMessage-ID: <whole@test>\n\nall of it reached the disk\n")
    names = os.listdir(os.path.join(q, "incoming"))
    t.eq(len(names), 1, "one message written with qmgr down")
    with open(os.path.join(q, "incoming", names[0]), "rb") as f:
        good = f.read()
    lines = good.split(b"\n")
    t.ok(lines[0] == b"V1" and lines[2].startswith(b"K") and len(lines[2]) == 33 and lines[2] != b"K" + b"0" * 32,
         "the third record is the seal", lines[:3])

    def put(state, name, data):
        with open(os.path.join(q, state, name), "wb") as f:
            f.write(data)

    body = good.index(b"all of it")
    torn = {
        ("incoming", "DEADBEEF0001"): good[:body] + b"X" + good[body + 1:],            # a flipped byte
        ("incoming", "DEADBEEF0002"): good[:-10],                                        # the tail never written
        ("incoming", "DEADBEEF0003"): good[:body] + b"\0" * (len(good) - body),         # zeros (unwritten blocks)
        ("incoming", "DEADBEEF0004"): good.replace(lines[2], b"K" + b"0" * 32),          # sealed never
        ("incoming", "DEADBEEF0005"): b"",                                               # the name, no bytes
        ("active", "DEADBEEF0006"): good[:body],
        ("hold", "DEADBEEF0007"): good[:-1],
    }
    for (state, name), data in torn.items():
        put(state, name, data)
    old = good.replace(lines[2] + b"\n", b"").replace(b"whole@test", b"old@test")     # before seals
    put("incoming", "DEADBEEF0010", old)
    with open(os.path.join(q, "lock", "boot"), "w") as f:
        f.write("00000000-0000-0000-0000-000000000000\n")    # the boot before the crash

    y.start()
    msgs = wait_for(lambda: len(maildir_messages(demo)) >= 2 and maildir_messages(demo), 30) or {}
    ids = sorted(m.split(b"Message-ID: ")[1].split(b"\n")[0].decode() for m in msgs.values() if b"Message-ID: " in m)
    t.eq(ids, ["<old@test>", "<whole@test>"], "the sealed file and the one from before seals are delivered")
    log = y.log()
    for (state, name) in torn:
        t.ok(f"{name}: removed from queue/{state}: torn by a system crash" in log,
             f"torn file {state}/{name} removed with a log line", log[-2000:])
    t.ok(not any(os.path.exists(os.path.join(q, s, n)) for (s, n) in torn), "none of them is left")
    t.ok("checked for files torn by a system crash: 7 removed" in log, "one summary line", log[-2000:])
    with open("/proc/sys/kernel/random/boot_id") as f:
        boot = f.read().strip()
    with open(os.path.join(q, "lock", "boot")) as f:
        t.eq(f.read().strip(), boot, "lock/boot now holds this boot's id")

    # the same boot again: no check (only a system crash tears files)
    y.stop()
    checks, starts = y.log().count("checked for files torn"), y.log().count("yubin-qmgr: started (pid")
    put("hold", "DEADBEEF0020", good[:-1])
    y.start()
    t.ok(wait_for(lambda: y.log().count("yubin-qmgr: started (pid") > starts, 10) and
         y.log().count("checked for files torn") == checks and
         os.path.exists(os.path.join(q, "hold", "DEADBEEF0020")),
         "a restart within the same boot checks nothing", y.log()[-1500:])
t.done()
