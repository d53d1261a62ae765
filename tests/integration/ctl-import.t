#!/usr/bin/env python3
# ctl-import.t — yubin-ctl import-postfix with main.cf/master.cf files shaped
# like each seed guide's (shared/seeds 000-004): settings written to
# control/, tables copied and compiled, unmapped parameters reported one
# line each (typos get a "did you mean"), -n writes nothing; then a live
# instance runs on an imported configuration (banner, SIZE, virtual
# aliases hash: and regexp: delivered).
import os, re, shutil, smtplib, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, BIN, wait_messages

t = Tap()
tmp = tempfile.mkdtemp(prefix="yubin-import-")

SEEDS = {
    # 000: CentOS 6 Postfix + saslauthd, transport table, anvil, retries
    "000": {
        "main.cf": """\
myhostname = mail.unix-power.net
mydomain = unix-power.net
myorigin = $myhostname
#inet_interfaces = localhost
inet_interfaces = all
inet_protocols = ipv4
mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain
mynetworks = 192.168.0.0/16, 127.0.0.1
home_mailbox = Maildir/

# smtpd_recipient_restrictions = permit_mynetworks
#                                reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks
                               permit_sasl_authenticated
                               reject_unauth_destination
relayhost = mail-gw.unix-power.net
transport_maps = hash:/etc/postfix/transport
relay_domains = $mydestination, ok.unix-power.net
smtpd_soft_error_limit = 10
smtpd_error_sleep_time = 1s
smtpd_hard_error_limit = 20
anvil_rate_time_unit = 60s
smtpd_client_connection_count_limit = 50
smtpd_client_connection_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_event_limit_exceptions = $mynetworks
anvil_status_update_time = 600s
smtpd_recipient_limit = 1000
message_size_limit = 20480000
# キューに保存される期間
maximal_queue_lifetime = 7d
bounce_queue_lifetime = 7d
queue_run_delay = 300s
minimal_backoff_time = 1000s
maximal_backoff_time = 4000s
# SASL認証を有効化する
smtpd_sasl_auth_enable = yes
smtpd_sasl_security_options = noanonymous
broken_sasl_auth_clients = yes
""",
        "master.cf": """\
smtp      inet  n       -       n       -       -       smtpd
submission inet n       -       n       -       -       smtpd
#  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
""",
        "transport": """\
# unix-power.netドメイン宛てのメールはローカルで処理
unix-power.net                 local:
sub.unix-power.net             smtp:mail-gw.unix-power.net:25
remote.unix-power.net          smtp:[192.168.12.1]:25
""",
    },
    # 001: submission through Dovecot SASL, TLS files, sender login maps
    "001": {
        "main.cf": """\
myhostname = mail.example.jp
mydomain = example.jp
smtpd_banner = $myhostname ESMTP
#smtpd_banner = $myhostname ESMTP $mail_name ($mail_version)
smtpd_tls_cert_file = /etc/letsencrypt/live/mail.example.jp/fullchain.pem
smtpd_tls_key_file = /etc/letsencrypt/live/mail.example.jp/privkey.pem
""",
        "master.cf": """\
smtp      inet  n       -       n       -       -       smtpd
submission inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_type=dovecot
  -o smtpd_sasl_path=private/auth
  -o smtpd_sasl_local_domain=$myhostname
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_sender_login_maps=hash:/etc/postfix/aliases
  -o smtpd_sender_restrictions=reject_sender_login_mismatch
  -o smtpd_recipient_restrictions=reject_non_fqdn_recipient,reject_unknown_recipient_domain,permit_sasl_authenticated,reject
""",
        "aliases": "postmaster: root\nwebmaster: alice\n",
    },
    # 002: virtual aliases (hash + regexp), smart host with SASL and TLS
    "002": {
        "main.cf": """\
myhostname = smtp.localdomain
# 外部ホストからの配送を許可
inet_interfaces = all
mydestination = $myhostname, localhost.$mydomain, localhost, example.net
virtual_alias_maps = hash:/etc/postfix/virtual, regexp:/etc/postfix/virtual_regexp
allow_min_user = yes
#mynetworks_style = subnet
mynetworks = 127.0.0.0/8, 192.168.56.0/24
relayhost = [smtp.example.net]:587
smtp_sasl_auth_enable = yes
# 拡張子 .db は不要
smtp_sasl_password_maps = hash:/etc/postfix/sasl_password
smtp_sasl_security_options = noanonymous
smtp_tls_CAfile = /etc/pki/tls/cert.pem
smtp_tls_security_level = may
smtp_tls_loglevel = 1
""",
        "virtual": "example.net anything\nsupport@example.net username\ninfo@example.net username\n",
        "virtual_regexp": "/^[0-9a-z]{16}@example\\.net$/ username@example.net\n",
        "sasl_password": "[smtp.example.net]:587   username:password\n",
    },
    # 003: the stock CentOS 6 main.cf a fresh install has
    "003": {
        "main.cf": """\
queue_directory = /var/spool/postfix
command_directory = /usr/sbin
daemon_directory = /usr/libexec/postfix
data_directory = /var/lib/postfix
mail_owner = postfix
myhostname = hostname.localdomain
mydomain = localdomain
myorigin = $myhostname
inet_interfaces = all
inet_protocols = all
mydestination = $myhostname, localhost.$mydomain, localhost
unknown_local_recipient_reject_code = 550
mynetworks = 127.0.0.0/8
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
debug_peer_level = 2
debugger_command =
	 PATH=/bin:/usr/bin:/usr/local/bin:/usr/X11R6/bin
	 ddd $daemon_directory/$process_name $process_id & sleep 5
sendmail_path = /usr/sbin/sendmail.postfix
newaliases_path = /usr/bin/newaliases.postfix
mailq_path = /usr/bin/mailq.postfix
setgid_group = postdrop
html_directory = no
manpage_directory = /usr/share/man
sample_directory = /usr/share/doc/postfix-2.6.6/samples
readme_directory = /usr/share/doc/postfix-2.6.6/README_FILES
""",
    },
    # 004: a 2007 blog's main.cf, typos and all
    "004": {
        "main.cf": """\
# INTERNET AND DOMAIN NAMES
myhostname = host-name.yamasnet.com
mydomain = yamasnet.com
# SENDING MAIL
myorigin = $mydomain
# RECEIVING MAIL
inet_interfaces = all
unknown_local_recipeint_reject_code = 550
# TRUST AND RELAY CONTROL
mydestination = $myhostname, localhost.$mydomain, $mydomain
mynetworks = 192.168.1.0/24, 127.0.0.0/8
relay_domain = $mydestination
#ALIAS DATABASE
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
home_mailbox = Maildir/
smtpd_sasl_auth_enable = yes
smtpd_recipeint_restrictions = permit_mynetworks
                                       permit_sasl_authenticated
                                       reject_unauth_destination
broken_sasl_auth_clients = yes
""",
        "aliases": "postmaster: root\n",
    },
}


def run_import(root, pfdir, *opts):
    env = dict(os.environ, YUBIN_ROOT=root)
    return subprocess.run([os.path.join(BIN, "yubin-ctl"), "import-postfix", *opts, pfdir],
                          capture_output=True, env=env, timeout=60)


def setup(name):
    pf = os.path.join(tmp, "postfix-" + name)
    root = os.path.join(tmp, "root-" + name)
    os.makedirs(pf)
    os.makedirs(os.path.join(root, "control"))
    for f, text in SEEDS[name].items():
        with open(os.path.join(pf, f), "w") as fh:
            fh.write(text)
    return pf, root


def ctl(root, name):
    try:
        with open(os.path.join(root, "control", name)) as f:
            return f.read()
    except OSError:
        return None


def config(root, *names):
    env = dict(os.environ, YUBIN_ROOT=root)
    r = subprocess.run([os.path.join(BIN, "yubin-ctl"), "config", "-x", *names], capture_output=True, env=env)
    return r.stdout.decode()


def unmapped(out):
    return {m.group(1) for m in re.finditer(r"^\S+:\d+: (\S+): not mapped: ", out, re.M)}


# --- 000 ---------------------------------------------------------------
pf, root = setup("000")
r = run_import(root, pf, "-n")
t.ok(r.returncode == 0 and os.listdir(os.path.join(root, "control")) == [], "000: -n prints the plan and writes nothing", r.stdout)
t.ok(b"control/myhostname = mail.unix-power.net" in r.stdout, "000: -n names what it would write")
r = run_import(root, pf)
out = r.stdout.decode()
t.eq(r.returncode, 0, "000: import exits 0")
t.eq(ctl(root, "myhostname"), "mail.unix-power.net\n", "000: myhostname")
t.eq(ctl(root, "myorigin"), "$myhostname\n", "000: $name kept as written")
t.eq(config(root, "mydestination"), "mydestination = mail.unix-power.net, localhost.unix-power.net, localhost, unix-power.net\n",
     "000: mydestination expands as in Postfix")
t.eq(ctl(root, "smtpd_recipient_restrictions"), "permit_mynetworks permit_sasl_authenticated reject_unauth_destination\n",
     "000: continuation lines joined, comment lines inside skipped")
t.eq(ctl(root, "transport_maps"), "transport\n", "000: hash:/etc/postfix/transport becomes 'transport'")
t.ok(os.path.exists(os.path.join(root, "control", "transport.cdb")), "000: transport copied and compiled")
q = subprocess.run([os.path.join(BIN, "yubin-map"), "-q", "remote.unix-power.net", os.path.join(root, "control", "transport")],
                   capture_output=True)
t.eq(q.stdout.decode().strip(), "smtp:[192.168.12.1]:25", "000: transport lookup answers from the compiled table")
t.eq(ctl(root, "message_size_limit"), "20480000\n", "000: message_size_limit")
t.eq(ctl(root, "maximal_queue_lifetime"), "7d\n", "000: maximal_queue_lifetime")
t.eq(ctl(root, "minimal_backoff_time"), "1000s\n", "000: minimal_backoff_time")
t.eq(ctl(root, "broken_sasl_auth_clients"), "yes\n", "000: broken_sasl_auth_clients")
t.eq(ctl(root, "submission_smtpd_client_restrictions"), "permit_sasl_authenticated,reject\n",
     "000: master.cf submission -o becomes control/submission_NAME")
t.ok(ctl(root, "submission_smtpd_tls_security_level") is None, "000: a commented-out -o is not imported")
um = unmapped(out)
t.ok("inet_interfaces" in um and "smtpd_sasl_security_options" in um, "000: inet_interfaces and sasl options reported", out)
anvil = ["anvil_rate_time_unit", "smtpd_client_connection_count_limit", "smtpd_client_connection_rate_limit",
         "smtpd_client_recipient_rate_limit", "smtpd_client_message_rate_limit",
         "smtpd_client_event_limit_exceptions", "anvil_status_update_time"]
t.ok(all((n in um) != (ctl(root, n) is not None) for n in anvil),
     "000: each anvil setting is either written or reported", out)
t.ok(re.search(r"^import-postfix: \d+ settings and 1 table written; \d+ parameters not mapped", out, re.M),
     "000: summary line", out)
lines = [l for l in out.splitlines() if ": not mapped: " in l]
t.eq(len(lines), len(um), "000: one line per unmapped parameter")

# --- 001 ---------------------------------------------------------------
pf, root = setup("001")
r = run_import(root, pf)
out = r.stdout.decode()
t.eq(r.returncode, 0, "001: import exits 0")
t.eq(ctl(root, "smtpd_banner"), "$myhostname ESMTP\n", "001: banner without the software name")
t.eq(ctl(root, "smtpd_tls_cert_file"), "/etc/letsencrypt/live/mail.example.jp/fullchain.pem\n", "001: certificate file")
t.eq(ctl(root, "submission_smtpd_tls_security_level"), "encrypt\n", "001: submission TLS required")
t.eq(ctl(root, "submission_smtpd_sender_login_maps"), "aliases\n", "001: sender login map names the copied table")
t.ok(os.path.exists(os.path.join(root, "control", "aliases.cdb")), "001: its table compiled (aliases syntax)")
t.eq(ctl(root, "submission_smtpd_recipient_restrictions"),
     "reject_non_fqdn_recipient,reject_unknown_recipient_domain,permit_sasl_authenticated,reject\n",
     "001: submission recipient restrictions")
um = unmapped(out)
t.ok({"syslog_name", "smtpd_sasl_type", "smtpd_sasl_path", "smtpd_sasl_local_domain"} <= um,
     "001: Dovecot SASL and syslog overrides reported as not needed", out)
t.ok(re.search(r"master\.cf:\d+: smtpd_sasl_type: not mapped: one built-in authentication", out),
     "001: the reason names yubin's own auth service", out)

# --- 002 ---------------------------------------------------------------
pf, root = setup("002")
r = run_import(root, pf)
out = r.stdout.decode()
t.eq(r.returncode, 0, "002: import exits 0")
t.eq(ctl(root, "virtual"), SEEDS["002"]["virtual"], "002: virtual_alias_maps hash: -> control/virtual")
t.ok(os.path.exists(os.path.join(root, "control", "virtual.cdb")), "002: control/virtual compiled")
t.eq(ctl(root, "virtual.regexp"), SEEDS["002"]["virtual_regexp"], "002: regexp: -> control/virtual.regexp")
t.eq(ctl(root, "relayhost"), "[smtp.example.net]:587\n", "002: relayhost with [] and port")
t.eq(ctl(root, "smtp_sasl_password_maps"), "sasl_password\n", "002: smtp_sasl_password_maps")
q = subprocess.run([os.path.join(BIN, "yubin-map"), "-q", "[smtp.example.net]:587",
                    os.path.join(root, "control", "sasl_password")], capture_output=True)
t.eq(q.stdout.decode().strip(), "username:password", "002: password table compiled")
t.eq(ctl(root, "allow_min_user"), "yes\n", "002: allow_min_user")
t.eq(ctl(root, "smtp_tls_security_level"), "may\n", "002: smtp_tls_security_level")
t.ok("smtp_tls_loglevel" in unmapped(out), "002: smtp_tls_loglevel reported", out)

# --- 003 ---------------------------------------------------------------
pf, root = setup("003")
if not os.path.exists("/etc/aliases"):
    with open(os.path.join(pf, "aliases"), "w") as fh:
        fh.write("postmaster: root\n")
r = run_import(root, pf)
out = r.stdout.decode()
t.eq(r.returncode, 0, "003: import exits 0")
um = unmapped(out)
t.ok({"queue_directory", "command_directory", "daemon_directory", "mail_owner", "sendmail_path",
      "debugger_command", "setgid_group", "manpage_directory"} <= um, "003: Postfix paths and accounts reported", out)
t.ok(os.path.exists(os.path.join(root, "control", "aliases.cdb")), "003: alias_maps hash:/etc/aliases copied and compiled")
t.eq(out.count("control/aliases <- "), 1, "003: alias_maps and alias_database name one table, copied once")
t.eq(ctl(root, "unknown_local_recipient_reject_code"), "550\n", "003: unknown_local_recipient_reject_code")
t.eq(ctl(root, "inet_protocols"), "all\n", "003: inet_protocols")

# --- 004 ---------------------------------------------------------------
pf, root = setup("004")
r = run_import(root, pf)
out = r.stdout.decode()
t.eq(r.returncode, 0, "004: import exits 0")
t.ok(re.search(r"main\.cf:8: unknown_local_recipeint_reject_code: not mapped: unknown parameter; "
               r"did you mean unknown_local_recipient_reject_code\?", out), "004: typo gets a suggestion", out)
t.ok(re.search(r"relay_domain: not mapped: .*did you mean relay_domains\?", out), "004: relay_domain -> relay_domains?", out)
t.ok(re.search(r"main\.cf:18: smtpd_recipeint_restrictions: not mapped: .*smtpd_recipient_restrictions\?", out),
     "004: multi-line typo'd parameter reported at its first line", out)
t.ok(ctl(root, "smtpd_recipient_restrictions") is None, "004: nothing written for the typo")
t.eq(ctl(root, "myorigin"), "$mydomain\n", "004: myorigin = $mydomain")
t.eq(ctl(root, "home_mailbox"), "Maildir/\n", "004: home_mailbox")

# --- errors ------------------------------------------------------------
r = run_import(os.path.join(tmp, "root-004"), os.path.join(tmp, "nowhere"))
t.ok(r.returncode == 100 and b"main.cf" in r.stderr, "a missing main.cf is a usage error (100)")
bad = os.path.join(tmp, "postfix-bad")
os.makedirs(bad)
with open(os.path.join(bad, "main.cf"), "w") as fh:
    fh.write("transport_maps = ldap:/etc/postfix/ldap-transport.cf\nthis line is nonsense\n"
             "relayhost = mailhost:25\nmyhostname = a\nmyhostname = b\nsmtpd_recipient_limit = lots\n")
r = run_import(os.path.join(tmp, "root-004"), bad)
out = r.stdout.decode()
t.ok(re.search(r"transport_maps: not mapped: names a table type yubin does not read", out), "ldap: table reported", out)
t.ok(re.search(r"main\.cf:2: not mapped: not a \"name = value\" line", out), "a malformed line reported", out)
t.eq(ctl(os.path.join(tmp, "root-004"), "relayhost"), "mailhost:25\n", "host:port is not taken for a table")
t.eq(ctl(os.path.join(tmp, "root-004"), "myhostname"), "b\n", "the last definition wins, as in Postfix")
t.ok(re.search(r'main\.cf:6: smtpd_recipient_limit: warning: "lots" is not a value yubin reads', out),
     "a value of the wrong kind is warned about", out)
with open(os.path.join(bad, "main.cf"), "w") as fh:
    fh.write("transport_maps = hash:/etc/postfix/missing-table\n")
r = run_import(os.path.join(tmp, "root-004"), bad)
t.ok(r.returncode == 1 and b"missing-table: cannot read" in r.stdout, "a missing table fails the import (exit 1)", r.stdout)

# --- a live instance on an imported configuration ------------------------
with Instance() as y:
    pf = os.path.join(tmp, "postfix-live")
    os.makedirs(pf)
    with open(os.path.join(pf, "main.cf"), "w") as fh:
        fh.write("mydestination = $myhostname, localhost.$mydomain, localhost, example.net\n"
                 "virtual_alias_maps = hash:/etc/postfix/virtual, regexp:/etc/postfix/virtual_regexp\n"
                 "smtpd_banner = $myhostname ESMTP imported\n"
                 "message_size_limit = 20480000\n")
    with open(os.path.join(pf, "virtual"), "w") as fh:
        fh.write("example.net anything\nsupport@example.net demo@example.test\n")
    with open(os.path.join(pf, "virtual_regexp"), "w") as fh:
        fh.write("/^[0-9a-z]{16}@example\\.net$/ demo@example.test\n")
    r = y.run("yubin-ctl", "import-postfix", pf, check=False)
    t.eq(r.returncode, 0, "live: import into a running instance")
    r = y.run("yubin-ctl", "check", check=False)
    t.ok(r.returncode == 0, "live: yubin-ctl check passes afterwards", r.stdout)
    s = smtplib.SMTP(timeout=30)
    code, banner = s.connect("127.0.0.1", y.port("smtp"))
    t.ok(banner.endswith(b"ESMTP imported"), "live: the imported banner is shown", banner)
    s.ehlo("client.test")
    t.eq(s.esmtp_features.get("size"), "20480000", "live: SIZE from the imported message_size_limit")
    for rcpt in ("support@example.net", "0123456789abcdef@example.net"):
        s.sendmail("x@client.test", [rcpt], b"Subject: imported aliases\r\n\r\nhello\r\n")
    s.quit()
    got = wait_messages(y.maildir("demo@example.test"), 2, 30)
    t.eq(sum(b"Subject: imported aliases" in m for m in got.values()), 2,
         "live: hash: and regexp: virtual aliases both deliver")

shutil.rmtree(tmp, ignore_errors=True)
t.done()
