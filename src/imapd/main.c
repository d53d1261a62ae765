/* main.c — yubin-imapd: started per connection (tcpserver, systemd
 * Accept=yes) with the client on fds 0 and 1, or as a worker serve.h
 * forks on a listening socket (yubin-run, Accept=no); unprivileged.
 * YUBIN_TLS_IMPLICIT=1 (port 993) starts TLS before the greeting. */
#include "imapd.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "control.h"
#include "log.h"
#include "serve.h"

static struct imapd session;

/* one client; the session ends the process (serve.h: never reused) */
static void serve_client(void)
{
	struct imapd *s = &session;
	signal(SIGPIPE, SIG_IGN);
	long long t = control_time("imapd_timeout");
	/* before login a client gets far less patience than after */
	s->timeout_ms = t > 0 && t < 180 ? (int)(t * 1000) : 180000;
	s->rip = auth_client_ip();
	rbuf_init(&s->in, 0, s->timeout_ms);
	wbuf_init(&s->out, 1, s->timeout_ms);
	s->rd = (struct imap_reader){ &s->in, &s->out, IMAPD_LINE_MAX, IMAPD_LITERAL_MAX,
	                              IMAPD_LINE_MAX * 2, 1, 0 };
	s->cmd.max = IMAPD_LINE_MAX * 3;
	s->tls_offered = tls_offer();
	const char *implicit = getenv("YUBIN_TLS_IMPLICIT");
	if (implicit && strcmp(implicit, "1") == 0) tls_begin(s);
	update_plaintext(s);
	say(s, "* OK [CAPABILITY %s] IMAP ready.", capabilities(s));
	command_loop(s);
}

int main(int argc, char **argv)
{
	(void)argc;
	log_init(argv[0] ? argv[0] : "yubin-imapd");
	serve(argv, serve_client);
}
