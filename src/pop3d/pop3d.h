/* pop3d.h — yubin-pop3d, the POP3 front end (AUTHORIZATION state only).
 * It greets, answers CAPA, STLS, USER/PASS, AUTH and QUIT, and never opens
 * a mailbox: credentials go to yubin-checkpassword, which runs yubin-pop3
 * (the TRANSACTION/UPDATE states) as the mailbox owner (see login.c). */
#ifndef YUBIN_POP3D_H
#define YUBIN_POP3D_H

#include <stddef.h>

#include "io.h"

#define POP3D_LINE_MAX 2048     /* command lines; RFC 2449 asks for 255 */
#define POP3D_USER_MAX 256
#define POP3D_MAX_FAILURES 3    /* failed logins before the server hangs up */
#define POP3D_MAX_ERRORS 10     /* bad commands before the server hangs up */

struct pop3d {
	struct rbuf in;
	struct wbuf out;
	int tls;                    /* 1 once STLS or implicit TLS succeeded */
	int tls_offered;            /* tls_available() said yes */
	int plaintext_ok;           /* USER/PASS/AUTH PLAIN allowed now */
	int timeout_ms;
	const char *rip;            /* client address, for the logs */
	char user[POP3D_USER_MAX];  /* from USER, waiting for PASS */
	int have_user;
	int failures, errors;
};

/* reply.c */
void reply(struct pop3d *s, const char *line);      /* adds CRLF */
void reply_flush(struct pop3d *s);
void reply_die(struct pop3d *s, const char *line) __attribute__((noreturn));

/* policy.c */
const char *client_ip(void);
void update_plaintext(struct pop3d *s);

/* tls.c */
int tls_offer(void);
void tls_begin(struct pop3d *s);                    /* STLS or implicit; dies on failure */

/* login.c: run checkpassword + yubin-pop3 for login/password. Returns
 * only when the session stayed in AUTHORIZATION (reply already sent). */
void login_run(struct pop3d *s, const char *login, const char *password, const char *mech);

/* commands.c */
void commands_loop(struct pop3d *s) __attribute__((noreturn));

#endif
