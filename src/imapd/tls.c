/* tls.c — STARTTLS and implicit TLS (port 993) through starttls.h, and
 * the plain-text policy: LOGIN/AUTHENTICATE need TLS, a loopback client,
 * or control/disable_plaintext_auth = no (Dovecot's setting). The TLS
 * pipes take the socket's fds 0 and 1, so yubin-imap inherits them. */
#include "imapd.h"

#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "starttls.h"

int tls_offer(void)
{
	return tls_available("imapd") > 0;
}

void update_plaintext(struct imapd *s)
{
	s->plaintext_ok = plaintext_login_allowed(s->rip, s->tls);
}

void tls_begin(struct imapd *s)
{
	int infd = 0, outfd = 1;
	char info[256];
	info[0] = 0;
	if (tls_start_server("imapd", &infd, &outfd, info, sizeof info) < 0)
		die(EXIT_TEMP, "TLS handshake failed: rip=%s %s", s->rip, info);
	s->tls = 1;
	/* bytes sent before the handshake are void (RFC 3501 6.2.1) */
	rbuf_init(&s->in, 0, s->timeout_ms);
	wbuf_init(&s->out, 1, s->timeout_ms);
	update_plaintext(s);
}
