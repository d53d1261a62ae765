"""smtpsink — a scriptable third-party SMTP server for yubin-remote's
tests: listens on 127.0.0.1 (port 0 = any), answers ESMTP with the
capabilities and replies a test asks for, and records every connection
and transaction (MAIL FROM line, RCPT lines, the message as received, with
dot-unstuffing undone by us, not by the client).

    from smtpsink import Sink
    with Sink(caps=["PIPELINING", "SIZE 1000"], rcpt={"bad@x.test": "550 5.1.1 no"}) as s:
        ... s.port ...
        s.wait(1); s.messages[0]["data"]
"""
import socket, ssl, threading, time, base64


class Sink:
    def __init__(self, port=0, caps=("PIPELINING", "8BITMIME", "DSN", "SIZE 10240000"),
                 greeting="220 sink.test ESMTP", ehlo_ok=True, mail=None, rcpt=None,
                 data="354 go ahead", done="250 2.0.0 Ok: queued", auth=None, host="127.0.0.1",
                 family=socket.AF_INET, close_after=None, tls=None):
        self.caps = list(caps)
        self.greeting = greeting
        self.ehlo_ok = ehlo_ok
        self.mail_reply = mail
        self.rcpt = rcpt or {}
        self.data_reply = data
        self.done_reply = done
        self.auth = auth              # (user, password) required before MAIL
        self.close_after = close_after  # close each connection after N transactions
        self.tls = None               # (certfile, keyfile): offer STARTTLS
        if tls:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(*tls)
            self.caps = self.caps + ["STARTTLS"]
        self.messages = []
        self.connections = 0
        self.commands = []            # every command line seen, in order
        self.lock = threading.Lock()
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.running = False
        try:
            self.sock.close()
        except OSError:
            pass

    def _accept(self):
        while self.running:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        conn = {"c": c}
        f = c.makefile("rb")
        def say(line):
            conn["c"].sendall(line.encode() + b"\r\n")
        try:
            say(self.greeting)
            if not self.greeting.startswith("220"):
                # a refusing server still answers QUIT
                pass
            authed = self.auth is None
            tx = None
            ntx = 0
            while True:
                raw = f.readline()
                if not raw:
                    return
                line = raw.rstrip(b"\r\n").decode("latin-1")
                with self.lock:
                    self.commands.append(line)
                verb = line.split(" ")[0].upper()
                if verb == "EHLO":
                    if not self.ehlo_ok:
                        say("502 5.5.2 no EHLO here")
                        continue
                    lines = ["sink.test"] + self.caps
                    for i, l in enumerate(lines):
                        say(("250 " if i == len(lines) - 1 else "250-") + l)
                elif verb == "HELO":
                    say("250 sink.test")
                elif verb == "AUTH":
                    parts = line.split(" ")
                    mech = parts[1].upper() if len(parts) > 1 else ""
                    if mech == "PLAIN":
                        resp = parts[2] if len(parts) > 2 else None
                        if resp is None:
                            say("334 ")
                            resp = f.readline().strip().decode()
                        dec = base64.b64decode(resp).split(b"\0")
                        good = self.auth and dec[1:] == [self.auth[0].encode(), self.auth[1].encode()]
                    elif mech == "LOGIN":
                        say("334 VXNlcm5hbWU6")
                        u = base64.b64decode(f.readline().strip())
                        say("334 UGFzc3dvcmQ6")
                        p = base64.b64decode(f.readline().strip())
                        good = self.auth and (u.decode(), p.decode()) == tuple(self.auth)
                    else:
                        say("504 5.5.4 unknown mechanism")
                        continue
                    if good:
                        authed = True
                        with self.lock:
                            self.commands.append("AUTH-OK")
                        say("235 2.7.0 Authentication successful")
                    else:
                        say("535 5.7.8 bad credentials")
                elif verb == "MAIL":
                    if not authed:
                        say("530 5.7.0 Authentication required")
                    elif self.mail_reply:
                        say(self.mail_reply)
                    else:
                        tx = {"mail": line, "rcpts": [], "rcpt_lines": []}
                        say("250 2.1.0 Ok")
                elif verb == "RCPT":
                    if tx is None:
                        say("503 5.5.1 need MAIL")
                        continue
                    addr = line[line.find("<") + 1:line.find(">")]
                    r = self.rcpt.get(addr)
                    if r:
                        say(r)
                    else:
                        tx["rcpts"].append(addr)
                        tx["rcpt_lines"].append(line)
                        say("250 2.1.5 Ok")
                elif verb == "DATA":
                    if tx is None or not tx["rcpts"]:
                        say("554 5.5.1 no valid recipients")
                        tx = None
                        continue
                    if not self.data_reply.startswith("354"):
                        say(self.data_reply)
                        tx = None
                        continue
                    say(self.data_reply)
                    data = b""
                    while True:
                        l = f.readline()
                        if not l:
                            return
                        if l == b".\r\n":
                            break
                        if l.startswith(b"."):
                            l = l[1:]
                        data += l
                    tx["data"] = data
                    with self.lock:
                        self.messages.append(tx)
                    tx = None
                    ntx += 1
                    say(self.done_reply)
                    if self.close_after and ntx >= self.close_after:
                        return
                elif verb == "STARTTLS" and self.tls:
                    say("220 2.0.0 Ready to start TLS")
                    try:
                        conn["c"] = self.tls.wrap_socket(conn["c"], server_side=True)
                    except (ssl.SSLError, OSError):
                        with self.lock:
                            self.commands.append("TLS-FAILED")
                        return
                    f = conn["c"].makefile("rb")
                    tx = None
                    with self.lock:
                        self.commands.append("TLS-OK")
                elif verb == "RSET":
                    tx = None
                    say("250 2.0.0 Ok")
                elif verb == "QUIT":
                    say("221 2.0.0 Bye")
                    return
                elif verb == "NOOP":
                    say("250 2.0.0 Ok")
                else:
                    say("502 5.5.2 Error: command not recognized")
        except (OSError, ValueError, IndexError):
            return
        finally:
            try:
                conn["c"].close()
            except OSError:
                pass

    def wait(self, count, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return True
            time.sleep(0.02)
        return False

    def rcpts(self):
        with self.lock:
            return [r for m in self.messages for r in m["rcpts"]]
