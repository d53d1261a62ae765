/* imapd.h — yubin-imapd, the IMAP front end (not-authenticated state
 * only). It greets, answers CAPABILITY, NOOP, ID, STARTTLS, LOGIN,
 * AUTHENTICATE PLAIN/LOGIN (with SASL-IR) and LOGOUT, and never opens a
 * mailbox: credentials go to yubin-checkpassword, which runs yubin-imap as
 * the mailbox owner (see login.c). */
#ifndef YUBIN_IMAPD_H
#define YUBIN_IMAPD_H

#include <stddef.h>

#include "buf.h"
#include "imapparse.h"
#include "io.h"

#define IMAPD_LINE_MAX 8192       /* pre-auth command lines */
#define IMAPD_LITERAL_MAX 8192    /* a login or password literal */
#define IMAPD_MAX_FAILURES 5      /* failed logins before BYE */
#define IMAPD_MAX_ERRORS 20       /* bad commands before BYE */

struct imapd {
	struct rbuf in;
	struct wbuf out;
	struct imap_reader rd;
	struct buf cmd;
	char *tag;
	size_t taglen;
	int tls;                      /* STARTTLS or implicit TLS done */
	int tls_offered;
	int plaintext_ok;             /* LOGIN / AUTHENTICATE allowed now */
	int timeout_ms;
	const char *rip;
	int failures, errors;
};

/* reply.c */
void say(struct imapd *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));   /* adds CRLF */
void reply(struct imapd *s, const char *status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void flush(struct imapd *s);
void bye(struct imapd *s, const char *text) __attribute__((noreturn));
const char *capabilities(struct imapd *s);

/* tls.c */
int tls_offer(void);
void tls_begin(struct imapd *s);        /* STARTTLS or implicit; exits on failure */
int is_loopback(const char *ip);
void update_plaintext(struct imapd *s);

/* login.c: returns only when the session stays unauthenticated (the
 * tagged NO has been sent) */
void login_run(struct imapd *s, const char *login, const char *password, const char *mech);

/* commands.c */
void command_loop(struct imapd *s) __attribute__((noreturn));

#endif
