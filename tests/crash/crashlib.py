"""crashlib — what the crash tests share: the processes of one instance
(descendants of its yubin-run, by program name, read from /proc), and a
small SMTP client that reports exactly which messages got their 250."""
import os, socket

from yubintest import processes


def descendants(root):
    """{pid: program name} of every process below root (not root itself)"""
    kids = {}
    for pid, ppid, _ in processes():
        kids.setdefault(ppid, []).append(pid)
    out, todo = {}, list(kids.get(root, []))
    while todo:
        pid = todo.pop()
        try:
            name = os.path.basename(os.readlink(f"/proc/{pid}/exe"))
        except OSError:
            continue
        if name.endswith(" (deleted)"):
            name = name[:-10]
        out[pid] = name
        todo += kids.get(pid, [])
    return out


class Smtp:
    """one SMTP connection; send() returns True only on the final 250"""

    def __init__(self, port, timeout=60):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")
        self.reply()
        self.cmd(b"EHLO torture.test")

    def reply(self):
        while True:
            ln = self.f.readline()
            if not ln:
                raise ConnectionError("closed")
            if ln[3:4] != b"-":
                return int(ln[:3])

    def cmd(self, line):
        self.s.sendall(line + b"\r\n")
        return self.reply()

    def send(self, sender, rcpt, body):
        if self.cmd(b"MAIL FROM:<" + sender + b">") != 250:
            self.cmd(b"RSET")
            return False
        if self.cmd(b"RCPT TO:<" + rcpt + b">") != 250 or self.cmd(b"DATA") != 354:
            self.cmd(b"RSET")
            return False
        self.s.sendall(body + b"\r\n.\r\n")
        return self.reply() == 250

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass
