#!/usr/bin/env python3
"""summary.py LOG... — one table from the RESULT lines of bench/ scripts:
figure, yubin, peer (Postfix or Dovecot), ratio. A RESULT line is
`RESULT name=yubin_X k=v ...` or `RESULT name=postfix_X|dovecot_X ...`;
lines of the same X are paired, and every numeric key they share is a row.
For rates (per_s) the ratio is yubin/peer; for times (secs, _s) and costs
(ms_per, fsyncs, kib, mib, instr) it is peer/yubin, so above 1 is always better."""
import re, sys

rows = {}
for path in sys.argv[1:]:
    for line in open(path, errors="replace"):
        if not line.startswith("RESULT "):
            continue
        kv = dict(re.findall(r"(\S+?)=(\S+)", line[7:]))
        name = kv.pop("name", "")
        m = re.match(r"(yubin|postfix|dovecot)_(.*)", name)
        if not m:
            continue
        who, what = m.groups()
        rows.setdefault(what, {})["yubin" if who == "yubin" else "peer"] = (who, kv)

def num(v):
    try:
        return float(v)
    except ValueError:
        return None

fmt = lambda v: f"{v:.0f}" if v == int(v) else format(v, "g")  # counts in full, not 1.9e+06
higher_better = lambda k: "per_s" in k or k.endswith("_rate")
lower_better = lambda k: (k.endswith("_s") or k == "secs" or "ms_per" in k or "fsync" in k
                          or "kib" in k.lower() or "mib" in k.lower() or k.endswith("_ms")
                          or k.startswith("instr") or "_instr" in k)
print(f"{'figure':58} {'yubin':>12} {'peer':>12} {'ratio':>7}")
for what in sorted(rows):
    y = rows[what].get("yubin")
    p = rows[what].get("peer")
    if not y:
        continue
    ykv = y[1]
    pkv = p[1] if p else {}
    for k in ykv:
        yv = num(ykv[k])
        if yv is None or k.endswith("_best") or k in ("reps", "msgs", "messages", "sessions", "length", "reuse"):
            continue
        if not (higher_better(k) or lower_better(k)):
            continue
        pv = num(pkv.get(k, "")) if pkv else None
        ratio = ""
        if pv and yv:
            ratio = f"{yv / pv:.2f}x" if higher_better(k) else f"{pv / yv:.2f}x"
        label = f"{what} {k}" + (f" (vs {p[0]})" if p else "")
        print(f"{label[:58]:58} {fmt(yv):>12} {'' if pv is None else fmt(pv):>12} {ratio:>7}")
