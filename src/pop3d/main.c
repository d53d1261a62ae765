/* main.c — yubin-pop3d: started per connection (tcpserver, systemd
 * Accept=yes) with the client on fds 0 and 1, or as a worker serve.h
 * forks on a listening socket (yubin-run, Accept=no). Runs unprivileged
 * and only ever speaks the AUTHORIZATION state; see login.c for how a
 * good login becomes a mailbox session. YUBIN_TLS_IMPLICIT=1 (port 995)
 * starts TLS before the greeting. */
#include "pop3d.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "log.h"
#include "serve.h"

static struct pop3d session;

/* one client; the session ends the process (serve.h: never reused) */
static void serve_client(void)
{
	struct pop3d *s = &session;
	signal(SIGPIPE, SIG_IGN);
	long long t = control_time("pop3d_timeout");
	s->timeout_ms = t > 0 && t < 86400 ? (int)(t * 1000) : 600000;
	s->rip = client_ip();
	rbuf_init(&s->in, 0, s->timeout_ms);
	wbuf_init(&s->out, 1, s->timeout_ms);
	s->tls_offered = tls_offer();
	const char *implicit = getenv("YUBIN_TLS_IMPLICIT");
	if (implicit && strcmp(implicit, "1") == 0) tls_begin(s);
	update_plaintext(s);
	reply(s, "+OK POP3 ready.");
	commands_loop(s);
}

int main(int argc, char **argv)
{
	(void)argc;
	log_init(argv[0] ? argv[0] : "yubin-pop3d");
	serve(argv, serve_client);
}
