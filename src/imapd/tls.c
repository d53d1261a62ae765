/* tls.c — STARTTLS and implicit TLS (port 993) through starttls.h, and
 * the plain-text policy: LOGIN/AUTHENTICATE need TLS, a loopback client,
 * or control/disable_plaintext_auth = no (Dovecot's setting). The TLS
 * pipes are moved onto fds 0 and 1 so yubin-imap inherits them. */
#include "imapd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "starttls.h"

int tls_offer(void)
{
	return tls_available("imapd") > 0;
}

int is_loopback(const char *ip)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (!ip) return 0;
	if (inet_pton(AF_INET, ip, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, ip, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}

void update_plaintext(struct imapd *s)
{
	s->plaintext_ok = s->tls || is_loopback(s->rip) || !control_bool("disable_plaintext_auth");
}

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

void tls_begin(struct imapd *s)
{
	int infd = 0, outfd = 1;
	char info[256];
	info[0] = 0;
	if (tls_start_server("imapd", &infd, &outfd, info, sizeof info) < 0)
		die(EXIT_TEMP, "TLS handshake failed: rip=%s %s", s->rip, info);
	fds_to_01(infd, outfd);
	s->tls = 1;
	/* bytes sent before the handshake are void (RFC 3501 6.2.1) */
	rbuf_init(&s->in, 0, s->timeout_ms);
	wbuf_init(&s->out, 1, s->timeout_ms);
	update_plaintext(s);
}
