#!/usr/bin/env python3
"""Privileges, checked at run time from /proc while sessions are open:
a yubin-run instance started by root keeps the split of the production
setup. Every network-facing program (smtpd on 25 and 587, tlsd, pop3d,
imapd, anvil) and every mailbox program after login (yubin-pop3,
yubin-imap) runs with no uid or gid 0 (real, effective, saved, fs), no
capabilities (effective or permitted — permitted ones could be raised
again) and no supplementary group but its own; the queue writer, qmgr
and remote likewise (remote may hold the queue group to read queue
files). Root is allowed only where the design says: yubin-run, the qmgr
helper that starts agents, and yubin-local's parent (it switches to each
recipient). Needs root; as a normal user everything runs as that user."""
import os, sys, time
sys.path.insert(0, os.path.dirname(__file__))
from seclib import Conn, smtp_open  # noqa: E402
from yubintest import Tap, Instance, BIN  # noqa: E402

t = Tap()
if os.geteuid() != 0:
    t.skip("privilege split", "not root: every program runs as the invoking user")
    t.done()

NETWORK = {"yubin-smtpd", "yubin-tlsd", "yubin-pop3d", "yubin-imapd", "yubin-anvil"}
MAILBOX = {"yubin-pop3", "yubin-imap"}


def tree(root):
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                st = open(f"/proc/{p}/stat").read()
                kids.setdefault(int(st.rsplit(")", 1)[1].split()[1]), []).append(int(p))
            except OSError:
                pass
    out, todo = [], [(root, None)]
    while todo:
        pid, parent = todo.pop()
        out.append((pid, parent))
        todo += [(k, pid) for k in kids.get(pid, [])]
    return out


def info(pid):
    try:
        exe = os.path.basename(os.readlink(f"/proc/{pid}/exe"))
        st = dict(ln.split(":\t", 1) for ln in open(f"/proc/{pid}/status").read().splitlines() if ":\t" in ln)
    except OSError:
        return None
    return {"exe": exe, "uid": [int(x) for x in st["Uid"].split()], "gid": [int(x) for x in st["Gid"].split()],
            "groups": [int(x) for x in st["Groups"].split()], "capeff": int(st["CapEff"], 16),
            "capprm": int(st["CapPrm"], 16)}


with Instance() as y:
    conns = [smtp_open(y.port("smtp")), smtp_open(y.port("submission"))]
    conns[1].cmd("STARTTLS")
    conns[1].starttls()
    conns[1].cmd("EHLO client.test")
    for svc in ("pop3", "imap"):
        if os.path.exists(os.path.join(BIN, f"yubin-{svc}d")):
            pre = Conn(y.port(svc))
            pre.line()
            post = Conn(y.port(svc))
            post.line()
            if svc == "pop3":
                post.send(b"USER demo@example.test\r\nPASS demo\r\n")
                post.line()
                post.line()
            else:
                post.send(b"a LOGIN demo@example.test demo\r\n")
                post.tag("a")
            conns += [pre, post]
    time.sleep(0.5)
    queue_gid = os.stat(os.path.join(y.root, "queue", "incoming")).st_gid
    procs = {pid: (info(pid), parent) for pid, parent in tree(y.proc.pid)}
    procs = {pid: v for pid, v in procs.items() if v[0]}
    seen = set()
    for pid, (p, parent) in sorted(procs.items()):
        exe = p["exe"]
        seen.add(exe)
        root_any = 0 in p["uid"] or 0 in p["gid"]
        pexe = procs[parent][0]["exe"] if parent in procs else None
        desc = f"{exe}[{pid}] uid={p['uid']} gid={p['gid']} groups={p['groups']}"
        if exe == "yubin-run":
            continue
        if root_any and exe == "yubin-local" and pexe == "yubin-qmgr":
            t.ok(True, f"{exe}[{pid}]: root by design (switches to each recipient)")
            continue
        if root_any and exe == "yubin-qmgr" and pexe == "yubin-qmgr":
            t.ok(True, f"{exe}[{pid}]: the agent-starting helper, root by design")
            continue
        if exe == "yubin-checkpassword":
            continue  # setuid, lives for one check
        allowed = {p["gid"][0]} | ({queue_gid} if exe == "yubin-remote" else set())
        ok = (not root_any and p["capeff"] == 0 and p["capprm"] == 0 and 0 not in p["groups"]
              and set(p["groups"]) <= allowed)
        kind = "network" if exe in NETWORK else "mailbox" if exe in MAILBOX else "queue/delivery"
        t.ok(ok, f"{kind} {exe}[{pid}]: no root, no capabilities, no extra groups", desc)
    for need in ("yubin-smtpd", "yubin-tlsd", "yubin-qmgr", "yubin-queue"):
        t.ok(need in seen, f"{need} was running and checked", sorted(seen))
    for need in ("yubin-pop3d", "yubin-pop3", "yubin-imapd", "yubin-imap"):
        if os.path.exists(os.path.join(BIN, need)):
            t.ok(need in seen, f"{need} was running and checked", sorted(seen))
    for c in conns:
        c.close()
t.done()
