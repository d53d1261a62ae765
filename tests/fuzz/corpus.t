#!/usr/bin/env python3
# corpus.t — replays every fuzz target over its checked-in corpus
# (tests/fuzz/corpus/NAME/) once, no fuzzing, so a parser change that
# crashes on a known input fails `make check`. The replay binaries
# ($OBJDIR/fuzz/NAME-replay) are built by `make check` (target fuzz-replay)
# with the normal compiler; under SANITIZE=1 they carry ASan+UBSan.
import glob, os, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
top = os.path.abspath(os.path.join(here, '..', '..'))
objdir = os.environ.get('OBJDIR', 'build/opt')
targets = sorted(os.path.basename(p)[:-2] for p in glob.glob(os.path.join(here, '*.c'))
                 if os.path.basename(p) != 'replay.c')
print('1..%d' % len(targets))
failed = 0
for i, t in enumerate(targets, 1):
    exe = os.path.join(top, objdir, 'fuzz', t + '-replay')
    corpus = os.path.join(here, 'corpus', t)
    # make rebuilds a stale replay binary (under make check it is built already)
    r = subprocess.run(['make', '-s', 'OBJDIR=' + objdir, os.path.join(objdir, 'fuzz', t + '-replay')],
                       cwd=top, capture_output=True, text=True)
    if r.returncode != 0:
        print('not ok %d - %s: replay binary did not build' % (i, t))
        sys.stdout.write(''.join('# ' + l + '\n' for l in (r.stdout + r.stderr).splitlines()[-20:]))
        failed += 1
        continue
    n = len(os.listdir(corpus)) if os.path.isdir(corpus) else 0
    if n == 0:
        print('not ok %d - %s: no seed corpus in %s' % (i, t, corpus))
        failed += 1
        continue
    # the targets log to stderr as the programs do; shown only on failure
    r = subprocess.run([exe, corpus], cwd=top, capture_output=True, text=True, timeout=600)
    if r.returncode == 0:
        print('ok %d - %s: %s' % (i, t, r.stdout.strip()))
    else:
        print('not ok %d - %s: exit %d' % (i, t, r.returncode))
        sys.stdout.write(''.join('# ' + l + '\n' for l in (r.stdout + r.stderr).splitlines()[-40:]))
        failed += 1
sys.exit(1 if failed else 0)
