#!/usr/bin/env python3
"""imap-extensions: the extensions yubin-imap advertises, each driven in
raw protocol against bin/yubin-imap in a Maildir: SORT, THREAD
(ORDEREDSUBJECT, REFERENCES), ESEARCH, SEARCHRES, LIST-EXTENDED (selection
and return options, several patterns, RECURSIVEMATCH), LIST-STATUS,
SPECIAL-USE, ID, ENABLE, UNSELECT, NAMESPACE, and searching encoded words."""
import os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, BIN
from imaputil import Mailbox

t = Tap()
if not os.path.exists(os.path.join(BIN, "yubin-imap")):
    t.skip("yubin-imap", "not built yet")
    t.done()


def line_of(out, prefix):
    for ln in out.split(b"\r\n"):
        if ln.startswith(prefix):
            return ln
    return b""


mb = Mailbox()
try:
    msgs = [
        ("<a@x>", "", "hello", "Mon, 2 Jan 2006 10:00:00 +0000", "Zed <z@x>"),
        ("<b@x>", "References: <a@x>\n", "Re: hello", "Mon, 2 Jan 2006 11:00:00 +0000", "amy <a@x>"),
        ("<c@x>", "", "other", "Mon, 2 Jan 2006 09:00:00 +0000", "bob <b@x>"),
        ("<d@x>", "In-Reply-To: <b@x>\n", "Re: Re: hello", "Mon, 2 Jan 2006 12:00:00 +0000", "amy <a@x>"),
        ("<e@x>", "References: <a@x>\n", "[list] Re: hello", "Mon, 2 Jan 2006 13:00:00 +0000", "carl <c@x>"),
        ("<f@x>", "References: <zz@x>\n", "Fwd: other", "Mon, 2 Jan 2006 14:00:00 +0000", "dan <d@x>"),
        ("<g@x>", "", "=?UTF-8?B?5pel5pys6Kqe?= =?ISO-8859-1?Q?caf=E9?=", "Mon, 2 Jan 2006 08:00:00 +0000", "eve <e@x>"),
    ]
    for i, (mid, refs, subj, date, frm) in enumerate(msgs):
        mb.put(f"From: {frm}\nMessage-ID: {mid}\n{refs}Subject: {subj}\nDate: {date}\n\nbody {i}\n".encode())
    r = mb.raw()
    out = r.cmd("a", "CAPABILITY")
    caps = line_of(out, b"* CAPABILITY").split()
    for c in (b"SORT", b"THREAD=REFERENCES", b"THREAD=ORDEREDSUBJECT", b"ESEARCH", b"SEARCHRES", b"LIST-EXTENDED",
              b"LIST-STATUS", b"SPECIAL-USE", b"UIDPLUS", b"MOVE", b"IDLE", b"NAMESPACE", b"UNSELECT", b"ENABLE",
              b"ID", b"LITERAL+", b"CHILDREN", b"MULTIAPPEND"):
        t.ok(c in caps, f"advertises {c.decode()}")
    r.cmd("b", "SELECT INBOX")

    out = r.cmd("s1", "SORT (SUBJECT) UTF-8 ALL")
    t.eq(line_of(out, b"* SORT"), b"* SORT 1 2 4 5 3 6 7", "SORT SUBJECT uses the base subject")
    out = r.cmd("s2", "SORT (REVERSE DATE) UTF-8 ALL")
    t.eq(line_of(out, b"* SORT"), b"* SORT 6 5 4 2 1 3 7", "SORT REVERSE DATE")
    out = r.cmd("s3", "SORT (FROM SUBJECT) US-ASCII ALL")
    t.eq(line_of(out, b"* SORT"), b"* SORT 2 4 3 5 6 7 1", "SORT FROM then SUBJECT")
    out = r.cmd("s4", "UID SORT (SIZE) UTF-8 SUBJECT hello")
    t.ok(re.match(rb"\* SORT( \d+){4}$", line_of(out, b"* SORT")), "UID SORT with search keys", out)
    out = r.cmd("s5", "SORT (BOGUS) UTF-8 ALL")
    t.ok(b"s5 BAD" in out, "SORT with an unknown criterion is BAD")
    out = r.cmd("s6", "SORT (DATE) KOI8-R ALL")
    t.ok(b"s6 NO [BADCHARSET" in out, "SORT with an unknown charset is NO [BADCHARSET]")

    out = r.cmd("t1", "THREAD ORDEREDSUBJECT UTF-8 ALL")
    t.eq(line_of(out, b"* THREAD"), b"* THREAD (7)(3 6)(1 (2)(4)(5))", "THREAD ORDEREDSUBJECT")
    out = r.cmd("t2", "THREAD REFERENCES UTF-8 ALL")
    t.eq(line_of(out, b"* THREAD"), b"* THREAD (7)(3 6)(1 (2 4)(5))", "THREAD REFERENCES")
    out = r.cmd("t3", "UID THREAD REFERENCES UTF-8 NOT SUBJECT other")
    t.ok(re.match(rb"\* THREAD \(\d+\)\(\d+ \(\d+ \d+\)\(\d+\)\)", line_of(out, b"* THREAD")), "UID THREAD", out)

    out = r.cmd("e1", "SEARCH RETURN (MIN MAX COUNT) SUBJECT hello")
    t.eq(line_of(out, b"* ESEARCH"), b'* ESEARCH (TAG "e1") MIN 1 MAX 5 COUNT 4', "ESEARCH MIN MAX COUNT")
    out = r.cmd("e2", "UID SEARCH RETURN (ALL) 1:*")
    t.eq(line_of(out, b"* ESEARCH"), b'* ESEARCH (TAG "e2") UID ALL 1:7', "ESEARCH ALL as a set")
    out = r.cmd("e3", "SEARCH RETURN (SAVE) FROM amy")
    t.ok(b"e3 OK" in out and b"ESEARCH" not in out, "SEARCHRES: RETURN (SAVE) alone answers nothing", out)
    out = r.cmd("e4", "FETCH $ (UID)")
    t.eq(re.findall(rb"\* (\d+) FETCH", out), [b"2", b"4"], "SEARCHRES: FETCH $")
    out = r.cmd("e5", "UID SEARCH UID $ SUBJECT hello")
    t.eq(line_of(out, b"* SEARCH"), b"* SEARCH 2 4", "SEARCHRES: UID $ inside SEARCH")

    out = r.cmd("u1", "SEARCH CHARSET UTF-8 SUBJECT \"café\"")
    t.eq(line_of(out, b"* SEARCH"), b"* SEARCH 7", "SEARCH matches a decoded ISO-8859-1 encoded word")
    out = r.cmd("u2", "SEARCH CHARSET UTF-8 SUBJECT {9+}\r\n日本語")
    t.eq(line_of(out, b"* SEARCH"), b"* SEARCH 7", "SEARCH matches a decoded UTF-8 encoded word (literal)")

    r.cmd("l0", 'CREATE "Work.Sub"')
    r.cmd("l0b", 'SUBSCRIBE "Work.Sub"')
    out = r.cmd("l1", 'LIST (SUBSCRIBED) "" "*"')
    t.ok(b'* LIST (\\HasNoChildren \\Subscribed) "." Work.Sub' in out and b"Trash" in out and
         b'"." INBOX' not in out, "LIST (SUBSCRIBED)", out)
    out = r.cmd("l2", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
    t.ok(b'"." Work ("CHILDINFO" ("SUBSCRIBED"))' in out, "RECURSIVEMATCH gives CHILDINFO", out)
    out = r.cmd("l3", 'LIST (RECURSIVEMATCH) "" "%"')
    t.ok(b"l3 BAD" in out, "RECURSIVEMATCH alone is BAD")
    out = r.cmd("l4", 'LIST "" ("INBOX" "Sent") RETURN (SUBSCRIBED CHILDREN)')
    t.ok(b'"." INBOX' in out and b"\\Sent" in out and b"\\Subscribed" in out, "several patterns and RETURN options", out)
    out = r.cmd("l5", 'LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)')
    t.eq(sorted(re.findall(rb"\\(Sent|Drafts|Trash|Junk)", out)), [b"Drafts", b"Junk", b"Sent", b"Trash"],
         "LIST (SPECIAL-USE)")
    t.ok(b'"." Work' not in out, "only special-use folders", out)
    out = r.cmd("l6", 'LIST "" "INBOX" RETURN (STATUS (MESSAGES UNSEEN UIDNEXT))')
    t.ok(b"* STATUS INBOX (MESSAGES 7 UIDNEXT 8 UNSEEN 7)" in out, "LIST-STATUS", out)
    out = r.cmd("l7", 'LIST "" ""')
    t.ok(b'* LIST (\\Noselect) "." ""' in out, 'LIST "" "" gives the delimiter', out)
    out = r.cmd("l8", 'LIST "Work." "%"')
    t.ok(b'"." Work.Sub' in out, "LIST with a reference", out)
    out = r.cmd("l9", 'LIST "" "inbox"')
    t.ok(b'"." INBOX' in out, "INBOX is case-insensitive", out)

    out = r.cmd("i1", 'ID ("name" "test" "version" "1")')
    t.ok(b'* ID ("name" "yubin")' in out and b"i1 OK" in out, "ID", out)
    out = r.cmd("i2", "ENABLE CONDSTORE")
    t.ok(b"* ENABLED" in out and b"i2 OK" in out, "ENABLE of something unsupported enables nothing", out)
    out = r.cmd("i3", "UNSELECT")
    t.ok(b"i3 OK" in out, "UNSELECT", out)
    out = r.cmd("i4", "FETCH 1 FLAGS")
    t.ok(b"i4 BAD" in out, "no mailbox after UNSELECT", out)
    out = r.cmd("i5", "NAMESPACE")
    t.ok(b'* NAMESPACE (("" ".")) NIL NIL' in out, "NAMESPACE", out)
    r.cmd("z", "LOGOUT")
    for p in mb.procs:
        p.wait(timeout=30)
    t.eq(mb.sanitizer_errors(), [], "no sanitizer reports")
finally:
    mb.close()
t.done()
