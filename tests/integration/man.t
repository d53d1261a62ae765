#!/usr/bin/env python3
# man.t — every man page in man/ formats without a single warning
# (`man --warnings -l`), yubin-control(5) is generated fresh from the
# settings table and names every setting, and every program in bin/ has
# a page.
import os, re, subprocess, sys, tempfile, shutil
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, BIN, TOP

t = Tap()
if not shutil.which("man"):
    t.skip("man pages", "man(1) is not installed (package man-db)")
    t.done()

MAN = os.path.join(TOP, "man")
env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")


def check(path, cwd):
    r = subprocess.run(["man", "--warnings", "-l", path], cwd=cwd, capture_output=True, env=env, timeout=60)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


pages = sorted(os.path.join(d, f) for d in ("man1", "man5", "man8")
               for f in os.listdir(os.path.join(MAN, d)) if re.match(r".*\.[158]$", f))
for rel in pages:
    if rel == "man5/yubin-control.5":
        continue   # checked fresh below
    rc, out, err = check(rel, MAN)
    t.ok(rc == 0 and err == "" and len(out) > 100, f"{rel} formats without warnings", err or out[:200])

tmp = tempfile.mkdtemp(prefix="yubin-man-")
gen = os.path.join(tmp, "yubin-control.5")
r = subprocess.run([os.path.join(BIN, "yubin-ctl"), "config", "--man"], capture_output=True)
with open(gen, "wb") as f:
    f.write(r.stdout)
t.ok(r.returncode == 0 and r.stdout.startswith(b".\\\""), "yubin-ctl config --man prints mdoc")
rc, out, err = check(gen, tmp)
t.ok(rc == 0 and err == "", "yubin-control(5) formats without warnings", err)
names = subprocess.run([os.path.join(BIN, "yubin-ctl"), "config", "-d"], capture_output=True).stdout.decode()
names = [l.split(" = ")[0] for l in names.splitlines()]
flat = re.sub(r"\s+", " ", out.replace("\u2010", "-").replace("-\n", ""))
missing = [n for n in names if not re.search(r"(?m)^ {5}" + re.escape(n) + r"\s*$", out)]
t.ok(names and not missing, f"yubin-control(5) has an entry for each of the {len(names)} settings", missing)
t.ok("Default: \u201c$myhostname ESMTP\u201d" in out or 'Default: "$myhostname ESMTP"' in out,
     "entries give the default as written", out[:500])

# every installed program has a page (links share their target's page)
have = {os.path.basename(p).rsplit(".", 1)[0] for p in pages}
progs = [p for p in os.listdir(BIN) if not p.startswith(".")]
t.ok(progs and not [p for p in progs if p not in have], "every program in bin/ has a man page",
     [p for p in progs if p not in have])
for rel in pages:
    with open(os.path.join(MAN, rel)) as f:
        text = f.read()
    if text.startswith(".so "):
        continue
    refs = re.findall(r"^\.Xr (\S+) (\d)", text, re.M)
    bad = [f"{n}({s})" for n, s in refs if n.startswith(("yubin", "sendmail", "mailq", "newaliases"))
           and f"man{s}/{n}.{s}" not in pages]
    if bad:
        t.ok(False, f"{rel}: cross references resolve", bad)
t.ok(True, "cross references to yubin pages resolve")
shutil.rmtree(tmp, ignore_errors=True)
t.done()
