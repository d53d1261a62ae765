/* tls.c — STLS (RFC 2595) and implicit TLS on 995 through the shared
 * starttls.h: yubin-tlsd holds the key and does the handshake; the
 * plaintext pipes take the socket's fds 0 and 1, so the mailbox program
 * this process later runs inherits them. */
#include "pop3d.h"

#include "log.h"
#include "starttls.h"

int tls_offer(void)
{
	return tls_available("pop3d") > 0;
}

void tls_begin(struct pop3d *s)
{
	int infd = 0, outfd = 1;
	char info[256];
	info[0] = 0;
	if (tls_start_server("pop3d", &infd, &outfd, info, sizeof info) < 0)
		die(EXIT_TEMP, "TLS handshake failed: rip=%s", s->rip);
	s->tls = 1;
	/* anything the client sent before the handshake is void (RFC 2595) */
	rbuf_init(&s->in, 0, s->timeout_ms);
	wbuf_init(&s->out, 1, s->timeout_ms);
	s->have_user = 0;
	update_plaintext(s);
}
