/* tls.c — STARTTLS (RFC 3207) and implicit TLS (port 465, RFC 8314)
 * through starttls.h: yubin-tlsd holds the key and does the handshake;
 * this process only ever sees plaintext on the same fds.
 * Against STARTTLS injection (CVE-2011-0411) whatever the client sent
 * after STARTTLS in plaintext is thrown away unanswered, and every bit of
 * SMTP state is forgotten: the client must say EHLO again. */
#include "smtpd.h"
#include "control.h"
#include "log.h"
#include "starttls.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *service_name(const struct session *s)
{
	return s->role == ROLE_SUBMISSION ? "submission" : "smtpd";
}

int tls_offered(struct session *s)
{
	return !s->tls && tls_available(service_name(s)) > 0;
}

/* smtpd_tls_security_level = encrypt: nothing but EHLO, STARTTLS, NOOP,
 * RSET and QUIT before TLS */
int tls_required(const struct session *s)
{
	return !s->tls && strcasecmp(cfg_get("smtpd_tls_security_level"), "encrypt") == 0;
}

static void start(struct session *s)
{
	char info[sizeof s->tls_info];
	int in = s->infd, out = s->outfd;
	info[0] = 0;
	int how = tls_start_server(service_name(s), &in, &out, info, sizeof info);
	if (how < 0) {
		log_msg("TLS handshake failed with %s: %s", client_name(s), info[0] ? info : "unknown reason");
		session_end(s, 0);
	}
	s->tls_child = how > 0;
	s->infd = in;
	s->outfd = out;
	rbuf_init(s->in, in, s->in->timeout_ms);
	wbuf_init(s->out, out, s->out->timeout_ms);
	s->tls = 1;
	memcpy(s->tls_info, info, sizeof info);
	log_msg("TLS connection established from %s: %s", client_name(s), info);
}

void tls_implicit(struct session *s)
{
	const char *v = getenv("YUBIN_TLS_IMPLICIT");
	if (v && strcmp(v, "1") == 0) start(s);
}

void cmd_starttls(struct session *s, char *arg, size_t len)
{
	(void)arg;
	if (len) { reply_err(s, "501 5.5.4 Syntax: STARTTLS"); return; }
	if (s->tls) { reply_err(s, "554 5.5.1 Error: TLS already active"); return; }
	if (!tls_offered(s)) {
		reply_err(s, tls_required(s) ? "454 4.7.0 TLS not available due to local problem"
		                             : "502 5.5.1 Error: command not implemented");
		return;
	}
	if (rbuf_pending(s->in)) {
		log_msg("warning: %s sent commands after STARTTLS; discarded unanswered", client_name(s));
		s->in->pos = s->in->len;
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	if (wbuf_flush(s->out) < 0) io_failed(s, IO_ERR);
	start(s);
	transaction_reset(s);
	s->helo[0] = 0;
	s->esmtp = 0;
}
