/* auth.h — one login check for every yubin program (SMTP AUTH, submission,
 * POP3, IMAP, yubin-checkpassword, yubin-ctl auth-test).
 *
 * Backends, tried in this order:
 *   login with '@'    virtual user in control/users (users.h), lower-cased
 *   login without '@' system account: getpwnam + getspnam + crypt(3), as
 *                     saslauthd MECH=shadow. A process that cannot read
 *                     /etc/shadow asks bin/yubin-checkpassword --check when
 *                     that is installed setuid root (yubin-setup does so;
 *                     qmail's checkpassword split); else it fails and says
 *                     so in the log. uid 0 is never accepted
 *   neither found     control/checkpassword, when set: a DJB checkpassword
 *                     program run as "PROG... /bin/true" with
 *                     "login\0password\0timestamp\0" on fd 3; exit 0 ok,
 *                     1 bad, anything else temporary
 * Unknown users are checked against a dummy hash, so timing does not tell
 * whether a user exists.
 *
 * Log lines (stderr, one per attempt; fail2ban: match on "auth failed:" and
 * take the host from rip=, which always comes before the user field):
 *   auth failed: service=smtp rip=192.0.2.1 user=<bob@example.test> mech=PLAIN reason=bad password
 *   auth ok: service=imap rip=192.0.2.1 user=<bob@example.test> mech=LOGIN backend=virtual
 * (" cache=hit" at the end when authcache.h answered, without crypt(3))
 * reasons: bad password, unknown user, locked account, expired account,
 * root login refused, shadow unreadable, checkpassword refused, temporary
 * failure. The user field has bytes outside 0x21-0x7e and '<' '>' replaced
 * by '?' and is cut at 100 bytes. */
#ifndef YUBIN_AUTH_H
#define YUBIN_AUTH_H

#include "sasl.h"

enum auth_backend { AUTH_NONE = 0, AUTH_VIRTUAL, AUTH_SYSTEM, AUTH_EXTERNAL };

struct auth_result {
	enum auth_backend backend;   /* who decided */
	const char *reason;          /* static text for the log when not ok */
	int helper;                  /* decided by yubin-checkpassword --check */
	int cached;                  /* ok from authcache.h, no crypt(3) this time */
};

/* 1 ok, 0 bad credentials, -1 temporary failure; logs nothing. */
int auth_verify(const char *login, const char *password, struct auth_result *r);
/* auth_verify plus the log line. mech: "PLAIN", "LOGIN", "USER" (POP3
 * USER/PASS), "IMAP-LOGIN"...; NULL logs "mech=-". */
int auth_check_mech(const char *login, const char *password, const char *service,
                    const char *client_ip, const char *mech);
int auth_check(const char *login, const char *password, const char *service,
               const char *client_ip);
/* The client address for the log: TCPREMOTEIP, else REMOTE_ADDR, else "unknown". */
const char *auth_client_ip(void);
const char *auth_backend_name(enum auth_backend b);
/* yubin-checkpassword --check's exit code for an auth_verify result:
 * 0 ok, 1 bad password, 2 unknown user, 3 locked, 4 expired, 5 root,
 * 6 checkpassword refused, 7 shadow unreadable, 111 temporary */
int auth_exit_code(int res, const struct auth_result *r);

/* A pipe holding DJB checkpassword's record "login\0password\0time\0",
 * already written (it is far below the pipe size, so a program that never
 * reads cannot block the writer); returns the read end, meant to become
 * the program's fd 3, or -1. Not close-on-exec. */
int checkpassword_record(const char *login, const char *password);

/* May a client log in with a plain-text password? Only over TLS, from
 * loopback (rip, the client's address as text), or when
 * control/disable_plaintext_auth = no (Dovecot's setting). */
int plaintext_login_allowed(const char *rip, int tls);

/* In a child: make credfd (from checkpassword_record) fd 3 and exec
 * `checkpw mailbox`, the qmail-popup -> checkpassword -> mailbox chain;
 * exits 111 if that fails. */
void checkpassword_exec(int credfd, const char *checkpw, const char *mailbox) __attribute__((noreturn));

#endif
