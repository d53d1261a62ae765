#!/usr/bin/env python3
"""imap-search.py HOST:PORT MAILDIR USER PASS [COUNT=20000] — SEARCH FROM
over COUNT messages (the shared harness's messages, filled into new/):
one session logs in, SELECTs (building any index) and times SEARCH FROM
twice (first: nothing cached; second: whatever the server kept). Prints
REP lines and a RESULT line of medians (REPS, default 3), in the format of
../shared/bench/lib/mailbench.py, whose helpers it uses."""
import imaplib, os, sys, time

here = os.path.dirname(os.path.abspath(__file__))
for cand in (os.path.join(here, "..", "..", "shared", "bench", "lib"), "/work/shared/bench/lib"):
    if os.path.exists(os.path.join(cand, "mailbench.py")):
        sys.path.insert(0, cand)
        break
import mailbench as mb  # noqa: E402


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    target, md, user, pw = sys.argv[1:5]
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 20000
    reps = int(os.environ.get("REPS", "3"))
    host, port = mb.parse_target(target)
    results = []
    for r in range(reps):
        mb.wait_stable(md, quiet=0.5, limit=600)
        mb.maildir_clear(md)
        mb.maildir_fill(md, count, 4096, seed=r + 1)
        mb.sync()
        m = imaplib.IMAP4(host, port, timeout=600)
        m.login(user, pw)
        typ, dat = m.select("INBOX")
        n = int(dat[0])
        t0 = time.monotonic()
        typ, dat = m.search(None, "FROM", '"bench sender"')
        t1 = time.monotonic()
        typ2, dat2 = m.search(None, "FROM", '"nobody here"')
        t2 = time.monotonic()
        m.logout()
        hits = len(dat[0].split())
        if typ != "OK" or hits != n or typ2 != "OK" or dat2 != [b""]:
            raise SystemExit(f"SEARCH gave {typ} {hits} of {n}, {typ2} {dat2[:1]}")
        d = {"search_hit_all_s": t1 - t0, "search_hit_none_s": t2 - t1, "msgs": n}
        results.append(d)
        mb.line("REP", f"imap-search rep={r + 1}", d)
    mb.line("RESULT", f"name=imap_search_from_n{count}", mb.medians(results))
    mb.maildir_clear(md)


main()
