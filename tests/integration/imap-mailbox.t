#!/usr/bin/env python3
"""imap-mailbox: bin/yubin-imap (the mailbox half) run directly in a
Maildir and driven with python imaplib: SELECT/EXAMINE, FETCH items and
sections, STORE and flags in Maildir names, UID stability across sessions,
changes made behind the session's back, COPY/MOVE/APPEND with UIDPLUS,
EXPUNGE, folders (LIST, CREATE, RENAME, DELETE, SUBSCRIBE, STATUS)."""
import os, re, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, BIN
from imaputil import Mailbox, msg, crlf

t = Tap()
if not os.path.exists(os.path.join(BIN, "yubin-imap")):
    t.skip("yubin-imap", "not built yet")
    t.done()


def fetch1(m, seq, item, uid=False):
    typ, dat = m.uid("FETCH", seq, item) if uid else m.fetch(seq, item)
    return typ, dat


mb = Mailbox()
try:
    m1 = msg("first", body="line one\nline two\n")
    m2 = msg("second", frm='"Bob, Jr." <bob@example.test>', to="undisclosed-recipients:;",
             extra="Cc: a@x.test, b@y.test\n")
    m3 = msg("third", body="x" * 5000 + "\n")
    mb.put(m1)
    mb.put(m2)
    mb.put(m3)
    s = mb.session()
    t.ok(s.state == "AUTH", "PREAUTH greeting when run in a Maildir")
    typ, dat = s.select("INBOX")
    t.eq((typ, dat), ("OK", [b"3"]), "SELECT INBOX counts the messages in new/")
    t.ok(s.untagged_responses.get("UIDVALIDITY"), "SELECT gives UIDVALIDITY")
    t.eq(s.untagged_responses.get("RECENT"), [b"3"], "messages nobody saw are \\Recent")
    validity = s.untagged_responses["UIDVALIDITY"][0]
    typ, dat = s.fetch("1:*", "(UID RFC822.SIZE FLAGS)")
    sizes = [int(re.search(rb"RFC822.SIZE (\d+)", d).group(1)) for d in dat]
    t.eq(sizes, [len(crlf(m1)), len(crlf(m2)), len(crlf(m3))], "RFC822.SIZE counts CRLF line ends")
    uids = [int(re.search(rb"UID (\d+)", d).group(1)) for d in dat]
    t.eq(uids, [1, 2, 3], "UIDs start at 1 in delivery order")
    typ, dat = s.fetch("1", "(BODY.PEEK[])")
    t.eq(dat[0][1], crlf(m1), "BODY.PEEK[] is the message with CRLF")
    typ, dat = s.fetch("1", "(FLAGS)")
    t.ok(b"\\Seen" not in dat[0], "BODY.PEEK does not set \\Seen")
    typ, dat = s.fetch("1", "(BODY[TEXT])")
    t.eq(dat[0][1], b"line one\r\nline two\r\n", "BODY[TEXT]")
    t.ok(b"\\Seen" in dat[1] or b"\\Seen" in dat[0][0], "BODY[] sets \\Seen and reports FLAGS", dat)
    t.ok(any(":2,S" in f for f in mb.files()), "\\Seen is in the Maildir name", mb.files().keys())
    typ, dat = s.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])")
    t.eq(dat[0][1], b"From: Alice <alice@example.test>\r\nSubject: first\r\n\r\n", "HEADER.FIELDS")
    typ, dat = s.fetch("1", "(BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT FROM TO DATE)])")
    t.ok(dat[0][1].startswith(b"Message-ID:") and dat[0][1].endswith(b"\r\n\r\n"), "HEADER.FIELDS.NOT", dat)
    typ, dat = s.fetch("3", "(BODY.PEEK[TEXT]<10.20>)")
    t.eq((dat[0][0].split(b" (")[-1].split(b" "), dat[0][1]), ([b"BODY[TEXT]<10>", b"{20}"], b"x" * 20), "partial fetch <10.20>")
    typ, dat = s.fetch("3", "(BODY.PEEK[]<100000.10>)")
    t.ok(typ == "OK" and b'BODY[]<100000> ""' in dat[0], "partial past the end is empty", dat)
    typ, dat = s.fetch("2", "(ENVELOPE)")
    t.ok(b'(("Bob, Jr." NIL "bob" "example.test"))' in dat[0], "ENVELOPE quoted display name", dat)
    t.ok(b'((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))' in dat[0], "ENVELOPE empty group", dat)
    t.ok(b'((NIL NIL "a" "x.test")(NIL NIL "b" "y.test"))' in dat[0], "ENVELOPE Cc list", dat)
    typ, dat = s.fetch("1", "(BODYSTRUCTURE)")
    t.ok(b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 20 2 NIL NIL NIL NIL)' in dat[0],
         "BODYSTRUCTURE of a plain message", dat)
    typ, dat = s.fetch("1", "(INTERNALDATE RFC822.HEADER)")
    t.ok(typ == "OK" and re.search(rb'INTERNALDATE "\d\d-\w\w\w-\d{4} \d\d:\d\d:\d\d [+-]\d{4}"', dat[0][0]),
         "INTERNALDATE format", dat)
    typ, dat = s.fetch("2", "FAST")
    t.ok(b"FLAGS" in dat[0] and b"RFC822.SIZE" in dat[0] and b"INTERNALDATE" in dat[0], "FETCH FAST macro")

    # STORE and flags in names
    typ, dat = s.store("2", "+FLAGS", "(\\Flagged \\Answered $Forwarded)")
    t.ok(typ == "OK" and b"\\Flagged" in dat[0], "STORE +FLAGS answers with FLAGS", dat)
    names = [f for f in mb.files() if "second" in mb.files()[f].decode(errors="replace")]
    t.ok(names and names[0].startswith("cur/") and names[0].endswith(":2,FPR"), "flags FPR in the name", names)
    typ, dat = s.store("2", "-FLAGS.SILENT", "(\\Answered)")
    t.eq((typ, dat), ("OK", [None]), "-FLAGS.SILENT answers nothing")
    typ, dat = s.store("2", "+FLAGS", "(Work $Junk)")
    t.ok(typ == "OK" and b"Work" in dat[0] and b"$Junk" in dat[0], "keywords", dat)
    t.ok(os.path.exists(os.path.join(mb.md, "yubin-uidlist")) and
         b"Work" in open(os.path.join(mb.md, "yubin-uidlist"), "rb").read(), "keywords named in the index")
    typ, dat = s.uid("STORE", "3", "FLAGS", "(\\Draft)")
    t.ok(typ == "OK" and b"UID 3" in dat[0], "UID STORE reports the UID", dat)

    # SEARCH
    t.eq(s.search(None, "ALL")[1], [b"1 2 3"], "SEARCH ALL")
    t.eq(s.search(None, "SEEN")[1], [b"1"], "SEARCH SEEN")
    t.eq(s.search(None, "UNSEEN")[1], [b"2 3"], "SEARCH UNSEEN")
    t.eq(s.search(None, "FROM", '"bob"')[1], [b"2"], "SEARCH FROM")
    t.eq(s.search(None, "SUBJECT", "THIRD")[1], [b"3"], "SEARCH SUBJECT is case-insensitive")
    t.eq(s.search(None, "OR", "SUBJECT", "first", "SUBJECT", "third")[1], [b"1 3"], "SEARCH OR")
    t.eq(s.search(None, "NOT", "FLAGGED")[1], [b"1 3"], "SEARCH NOT")
    t.eq(s.search(None, "(FLAGGED KEYWORD Work)")[1], [b"2"], "SEARCH list and KEYWORD")
    t.eq(s.search(None, "LARGER", "1000")[1], [b"3"], "SEARCH LARGER")
    t.eq(s.search(None, "BODY", '"line two"')[1], [b"1"], "SEARCH BODY")
    t.eq(s.search(None, "TEXT", "undisclosed")[1], [b"2"], "SEARCH TEXT looks at the header too")
    t.eq(s.search(None, "SENTON", "2-Jan-2006")[1], [b"1 2 3"], "SEARCH SENTON")
    t.eq(s.search(None, "SENTBEFORE", "1-Jan-2006")[1], [b""], "SEARCH SENTBEFORE")
    t.eq(s.search(None, "SINCE", "1-Jan-2020")[1], [b"1 2 3"], "SEARCH SINCE (internal date)")
    t.eq(s.search(None, "HEADER", "Message-ID", "example.test")[1], [b"1 2 3"], "SEARCH HEADER")
    t.eq(s.search(None, "2:3", "UNDRAFT")[1], [b"2"], "SEARCH sequence set")
    t.eq(s.uid("SEARCH", "UID", "2:*")[1], [b"2 3"], "UID SEARCH UID")
    t.eq(s.search("UTF-8", "SUBJECT", "first")[1], [b"1"], "SEARCH CHARSET UTF-8")
    typ, dat = s.search("KOI8-R", "SUBJECT", "x")
    t.ok(typ == "NO", "unknown charset is NO [BADCHARSET]")
    s.logout()

    # a second session: UIDs, flags and keywords persist
    s = mb.session()
    s.select("INBOX")
    t.eq(s.untagged_responses["UIDVALIDITY"][0], validity, "UIDVALIDITY stays across sessions")
    t.eq(s.untagged_responses.get("RECENT"), [b"0"], "\\Recent goes to the first session only")
    typ, dat = s.fetch("1:*", "(UID FLAGS)")
    t.eq([re.search(rb"UID (\d+)", d).group(1) for d in dat], [b"1", b"2", b"3"], "UIDs stable across sessions")
    t.ok(b"Work" in dat[1] and b"\\Flagged" in dat[1] and b"$Forwarded" in dat[1], "flags and keywords persist", dat)

    # changes behind the session's back
    mb.put(msg("fourth"))
    typ, dat = s.noop()
    t.eq(s.untagged_responses.get("EXISTS", [])[-1:], [b"4"], "new mail shows as EXISTS at NOOP")
    other = mb.session()
    other.select("INBOX")
    other.store("1", "+FLAGS", "(\\Deleted)")
    other.expunge()
    other.logout()
    s.noop()
    t.eq(s.untagged_responses.get("EXPUNGE"), [b"1"], "another session's EXPUNGE shows at NOOP")
    typ, dat = s.fetch("1:*", "(UID)")
    t.eq([re.search(rb"UID (\d+)", d).group(1) for d in dat], [b"2", b"3", b"4"], "UIDs after expunge")
    # mutt-style rename behind our back: flags change
    cur = os.path.join(mb.md, "cur")
    for f in os.listdir(cur):
        if f.endswith(":2,D"):
            os.rename(os.path.join(cur, f), os.path.join(cur, f[:-1] + "DS"))
    s.noop()
    t.ok(any(b"FLAGS" in (x if isinstance(x, bytes) else b"") and b"\\Seen" in x
             for x in s.untagged_responses.get("FETCH", [])), "a flag change by another program shows as FETCH",
         s.untagged_responses)

    # folders
    typ, dat = s.list()
    names = [re.search(rb'"\." (.*)$', d).group(1) for d in dat]
    t.ok(all(n in names for n in (b"INBOX", b"Sent", b"Drafts", b"Trash", b"Junk")),
         "special folders are made at the first login", names)
    t.ok(any(b"\\Sent" in d for d in dat), "SPECIAL-USE attributes in LIST", dat)
    t.eq(s.create("Work.2024")[0], "OK", "CREATE a nested folder")
    t.ok(os.path.isdir(os.path.join(mb.md, ".Work.2024", "cur")), "as Maildir++ .Work.2024")
    typ, dat = s.list('""', "Work*")
    t.ok(any(b"\\Noselect" in d and d.endswith(b"Work") for d in dat) and any(d.endswith(b"Work.2024") for d in dat),
         "the parent shows as \\Noselect", dat)
    typ, dat = s.list('""', "%")
    t.ok(not any(b"Work.2024" in d for d in dat), "% stops at the delimiter", dat)
    t.eq(s.create("Work.2024")[0], "NO", "CREATE an existing folder is NO")
    t.eq(s.subscribe("Work.2024")[0], "OK", "SUBSCRIBE")
    typ, dat = s.lsub('""', "*")
    t.ok(any(b"Work.2024" in d for d in dat) and any(d.endswith(b"Sent") for d in dat), "LSUB", dat)
    typ, dat = s.copy("1:2", "Work.2024")
    t.ok(typ == "OK" and re.search(rb"COPYUID \d+ 2:3 1:2", dat[0]), "COPY answers COPYUID", dat)
    typ, dat = s.status("Work.2024", "(MESSAGES UIDNEXT UNSEEN RECENT UIDVALIDITY)")
    t.ok(typ == "OK" and b"MESSAGES 2" in dat[0] and b"UIDNEXT 3" in dat[0], "STATUS after COPY", dat)
    typ, dat = s.append("Work.2024", "(\\Seen)", '"05-Mar-2020 10:00:00 +0100"', crlf(msg("appended")))
    t.ok(typ == "OK" and re.search(rb"APPENDUID \d+ 3", dat[0]), "APPEND answers APPENDUID", dat)
    t.eq(s.append("Nope", None, None, b"Subject: x\r\n\r\n")[1][0][:10], b"[TRYCREATE", "APPEND to a missing folder")
    s2 = mb.session()
    s2.select("Work.2024")
    typ, dat = s2.fetch("3", "(FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    t.ok(b"\\Seen" in dat[0][0] and b"05-Mar-2020 09:00:00 +0000" in dat[0][0] or b"05-Mar-2020" in dat[0][0],
         "APPEND keeps flags and date", dat)
    s2.logout()
    typ, dat = s._simple_command("MOVE", "1", "Trash")
    t.ok(typ == "OK" and s.untagged_responses.get("EXPUNGE"), "MOVE expunges in the source", s.untagged_responses)
    t.ok(re.search(rb"\d+ 2 1", (s.untagged_responses.get("COPYUID") or [b""])[-1]), "MOVE gives COPYUID",
         s.untagged_responses)
    typ, dat = s.rename("Work", "Job")
    t.eq(typ, "NO", "RENAME of a \\Noselect parent is NO")
    t.eq(s.rename("Work.2024", "Job.2024")[0], "OK", "RENAME a folder")
    t.ok(os.path.isdir(os.path.join(mb.md, ".Job.2024")) and not os.path.exists(os.path.join(mb.md, ".Work.2024")),
         "RENAME moves the directory")
    t.ok(b"Job.2024" in open(os.path.join(mb.md, "subscriptions"), "rb").read(), "the subscription follows")
    typ, dat = s.status("Job.2024", "(MESSAGES UIDVALIDITY)")
    t.ok(b"MESSAGES 3" in dat[0], "messages kept by RENAME", dat)
    t.eq(s.delete("Job.2024")[0], "OK", "DELETE")
    t.ok(not os.path.exists(os.path.join(mb.md, ".Job.2024")), "DELETE removes the directory")
    t.eq(s.delete("INBOX")[0], "NO", "DELETE INBOX is NO")
    t.eq(s.select("Nope")[0], "NO", "SELECT a missing folder is NO")
    typ, dat = s.select("INBOX", readonly=True)
    t.ok(typ == "OK" and "READ-ONLY" in s.untagged_responses, "EXAMINE is read-only")
    t.eq(s.store("1", "+FLAGS", "(\\Seen)")[0], "NO", "STORE in EXAMINE is NO")
    s.select("INBOX")
    s.store("1:*", "+FLAGS", "(\\Deleted)")
    typ, dat = s.uid("EXPUNGE", "3")
    t.ok(typ == "OK" and s.untagged_responses.get("EXPUNGE"), "UID EXPUNGE", dat)
    typ, dat = s.search(None, "ALL")
    t.eq(len(dat[0].split()), 1, "UID EXPUNGE removed only that UID")
    t.eq(s.close()[0], "OK", "CLOSE expunges")
    typ, dat = s.status("INBOX", "(MESSAGES)")
    t.ok(b"MESSAGES 0" in dat[0], "INBOX empty after CLOSE", dat)
    t.eq(s.namespace()[1], [b'(("" ".")) NIL NIL'], "NAMESPACE")
    s.logout()

    # the header cache: same answers from it, and when it is damaged
    for i in range(5):
        mb.put(msg(f"cached {i}", body=f"body {i}\n"))
    item = "(UID RFC822.SIZE INTERNALDATE ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])"

    def fetch_all():
        c = mb.session()
        c.select("INBOX")
        typ, dat = c.fetch("1:*", item)
        srch = c.search(None, "SUBJECT", '"cached 3"')[1]
        c.logout()
        return dat, srch

    first = fetch_all()
    cache = os.path.join(mb.md, "yubin-cache")
    t.ok(os.path.exists(cache), "the header cache is written")
    t.eq(fetch_all(), first, "answers from the cache are the same")
    data = open(cache, "rb").read()
    with open(cache, "wb") as f:
        f.write(data[:len(data) * 2 // 3])
    t.eq(fetch_all(), first, "a torn cache is read up to the tear")
    with open(cache, "wb") as f:
        f.write(b"yubin-cache 1 V1\nR 1 5 0 3\nbad\n")
    t.eq(fetch_all(), first, "a cache of another UIDVALIDITY is ignored")
    t.ok(open(cache, "rb").read().startswith(b"yubin-cache 1 V" + validity), "and rewritten")

    for p in mb.procs:
        p.wait(timeout=30)
    t.eq(mb.sanitizer_errors(), [], "no sanitizer reports")
finally:
    mb.close()

t.done()
