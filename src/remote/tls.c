/* tls.c — STARTTLS for outgoing mail per smtp_tls_security_level:
 * none (never), may (when offered; plain text only when the server does
 * not offer it), encrypt (required), verify/secure (required, with the
 * chain checked against smtp_tls_CAfile or the system bundle and the
 * server's name). The TLS work runs in yubin-tlsd -c (tlsclient.h): after
 * the handshake the connection's reads and writes go through its pipes,
 * and EHLO is sent again, as RFC 3207 requires. */
#include "remote.h"
#include "control.h"
#include "log.h"
#include "tlsclient.h"

#include <fcntl.h>
#include <string.h>
#include <strings.h>

int tls_client_start(struct conn *c, struct fail *f)
{
	/* MTA-STS asks for a valid certificate naming the MX host: required in
	 * mode enforce; in mode testing checked, and a failure only logged */
	const char *conf = control_get("smtp_tls_security_level");
	int required = c->sts == STS_ENFORCE || strcasecmp(conf, "encrypt") == 0 || tls_level_verifies(conf);
	const char *level = c->sts == STS_ENFORCE || (c->sts == STS_TESTING && *conf && strcasecmp(conf, "none") != 0)
	                    ? "verify" : conf;
	if (!*level || strcasecmp(level, "none") == 0 || c->tls) return 0;
	if (!c->caps.starttls) {
		if (c->sts == STS_TESTING)
			log_msg("MTA-STS policy (mode testing): host %s[%s] offers no STARTTLS; delivering anyway", c->host, c->ip);
		if (!required) return 0;
		fail_set(f, 0, "4.7.4", "TLS is required, but was not offered by host %s[%s]", c->host, c->ip);
		return -1;
	}
	struct reply rp;
	int t = (int)timeout_of("smtp_helo_timeout");
	c->w.timeout_ms = t * 1000;
	if (cmd_send(c, "STARTTLS\r\n", 10) < 0 || wbuf_flush(&c->w) < 0 || reply_read(c, t, &rp) < 0) {
		fail_set(f, 0, "4.4.2", "lost connection with %s[%s] while sending STARTTLS", c->host, c->ip);
		c->broken = 1;
		return -1;
	}
	if (rp.code != 220) {
		fail_set(f, 0, "4.7.5", "host %s[%s] refused STARTTLS: %s", c->host, c->ip, rp.text);
		return -1;
	}
	if (rbuf_pending(&c->r)) {
		/* bytes after the 220 would be injected into the TLS session's
		 * plain text (the CVE-2011-0411 class): refuse the server */
		fail_set(f, 0, "4.7.5", "host %s[%s] sent data after its STARTTLS reply", c->host, c->ip);
		c->broken = 1;
		return -1;
	}
	char info[128];
	int rfd, wfd;
	pid_t pid;
	if (tls_start_client(c->fd, c->host, level, &rfd, &wfd, &pid, info, sizeof info) < 0) {
		fail_set(f, 0, "4.7.5", "TLS handshake with %s[%s] failed: %s", c->host, c->ip, info);
		c->broken = 1;
		if (c->sts == STS_TESTING && !tls_level_verifies(conf)) {
			log_msg("MTA-STS policy (mode testing): TLS with %s[%s] does not meet the policy: %s; "
			        "connecting again without it", c->host, c->ip, info);
			c->sts_retry = 1;
		}
		return -1;
	}
	/* non-blocking, so the io.c timeouts bound every read and write */
	fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
	fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
	c->rfd = rfd;
	c->wfd = wfd;
	c->helper = pid;
	c->tls = 1;
	rbuf_init(&c->r, rfd, 1000);
	wbuf_init(&c->w, wfd, 1000);
	log_msg("TLS connection established to %s[%s]:%u: %s", c->host, c->ip, c->port, info);
	return session_hello(c, f);
}
