/* tls.c — STLS (RFC 2595) and implicit TLS on 995 through the shared
 * starttls.h: yubin-tlsd holds the key and does the handshake; this
 * process gets plaintext pipes, which it moves to fds 0 and 1 so that the
 * mailbox program it later runs inherits them. */
#include "pop3d.h"

#include <unistd.h>

#include "log.h"

#if __has_include("starttls.h")
#include "starttls.h"
#define HAVE_STARTTLS 1
#else
#define HAVE_STARTTLS 0
#endif

int tls_offer(void)
{
#if HAVE_STARTTLS
	return tls_available("pop3d") > 0;
#else
	return 0;
#endif
}

#if HAVE_STARTTLS
/* put infd on 0 and outfd on 1, whatever numbers they came on */
static void fds_to_01(int infd, int outfd)
{
	int a = dup(infd), b = dup(outfd);
	if (a < 0 || b < 0) die_sys(EXIT_TEMP, "dup");
	if (infd > 1) close(infd);
	if (outfd > 1 && outfd != infd) close(outfd);
	if (dup2(a, 0) < 0 || dup2(b, 1) < 0) die_sys(EXIT_TEMP, "dup2");
	close(a);
	close(b);
}
#endif

void tls_begin(struct pop3d *s)
{
#if HAVE_STARTTLS
	int infd = 0, outfd = 1;
	char info[256];
	info[0] = 0;
	if (tls_start_server("pop3d", &infd, &outfd, info, sizeof info) < 0)
		die(EXIT_TEMP, "TLS handshake failed: rip=%s", s->rip);
	fds_to_01(infd, outfd);
	s->tls = 1;
	/* anything the client sent before the handshake is void (RFC 2595) */
	rbuf_init(&s->in, 0, s->timeout_ms);
	wbuf_init(&s->out, 1, s->timeout_ms);
	s->have_user = 0;
	update_plaintext(s);
#else
	die(EXIT_TEMP, "TLS requested but this build has no starttls.h: rip=%s", s->rip);
#endif
}
