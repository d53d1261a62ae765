/* session.c — the start of an SMTP session on a fresh connection: the
 * greeting, EHLO (HELO when EHLO is refused), the capabilities we use,
 * STARTTLS and AUTH. Anything but success makes this server unusable for
 * now, with a Postfix-worded reason, and the caller tries the next one. */
#include "remote.h"
#include "control.h"
#include "log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int word_is(const char *p, size_t n, const char *w)
{
	size_t l = strlen(w);
	return n >= l && strncasecmp(p, w, l) == 0 && (n == l || p[l] == ' ' || p[l] == '=');
}

/* EHLO keywords, one per line of the reply (the first is the greeting) */
static void parse_caps(struct caps *cp, const char *lines)
{
	memset(cp, 0, sizeof *cp);
	cp->esmtp = 1;
	int first = 1;
	for (const char *p = lines; *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (!first) {
			if (word_is(p, n, "PIPELINING")) cp->pipelining = 1;
			else if (word_is(p, n, "8BITMIME")) cp->eightbit = 1;
			else if (word_is(p, n, "DSN")) cp->dsn = 1;
			else if (word_is(p, n, "STARTTLS")) cp->starttls = 1;
			else if (word_is(p, n, "SMTPUTF8")) cp->smtputf8 = 1;
			else if (word_is(p, n, "CHUNKING")) cp->chunking = 1;
			else if (word_is(p, n, "SIZE")) {
				long long v = 0;
				for (size_t i = 5; i < n && isdigit((unsigned char)p[i]) && v < (1LL << 50); i++)
					v = v * 10 + (p[i] - '0');
				cp->size = v;
			} else if (word_is(p, n, "AUTH")) {
				/* "AUTH PLAIN LOGIN" or the old "AUTH=LOGIN" */
				for (size_t i = 5; i < n;) {
					while (i < n && p[i] == ' ') i++;
					size_t b = i;
					while (i < n && p[i] != ' ') i++;
					if (i - b == 5 && strncasecmp(p + b, "PLAIN", 5) == 0) cp->auth_plain = 1;
					if (i - b == 5 && strncasecmp(p + b, "LOGIN", 5) == 0) cp->auth_login = 1;
				}
			}
		}
		first = 0;
		p += n;
		if (*p == '\n') p++;
	}
}

static void said(struct fail *f, struct conn *c, const struct reply *rp, const char *cmd)
{
	char st[8];
	reply_status(rp, st);
	fail_set(f, 0, st[0] == '5' ? "4.0.0" : st, "host %s[%s] said: %s (in reply to %s command)", c->host, c->ip,
	         rp->text, cmd);
	/* a server refusing us at this stage means "try another", never a bounce */
	if (f->status[0] == '5') f->status[0] = '4';
}

static void lost(struct fail *f, struct conn *c, const struct reply *rp, const char *stage)
{
	if (rp->io == IO_TIMEOUT)
		fail_set(f, 0, "4.4.2", "conversation with %s[%s] timed out while %s", c->host, c->ip, stage);
	else if (rp->io == IO_EOF)
		fail_set(f, 0, "4.4.2", "lost connection with %s[%s] while %s", c->host, c->ip, stage);
	else
		fail_set(f, 0, "4.4.2", "malformed reply from %s[%s] while %s", c->host, c->ip, stage);
}

static const char *helo_name(void)
{
	const char *h = control_get("smtp_helo_name");
	return *h ? h : "localhost";
}

/* EHLO, or HELO after a refused EHLO; 0 ok */
int session_hello(struct conn *c, struct fail *f)
{
	struct reply rp;
	char cmd[600];
	int t = (int)timeout_of("smtp_helo_timeout");
	int n = snprintf(cmd, sizeof cmd, "EHLO %s\r\n", helo_name());
	c->w.timeout_ms = t * 1000;
	if (n < 0 || (size_t)n >= sizeof cmd || cmd_send(c, cmd, (size_t)n) < 0 || wbuf_flush(&c->w) < 0) {
		fail_set(f, 0, "4.4.2", "lost connection with %s[%s] while sending EHLO", c->host, c->ip);
		c->broken = 1;
		return -1;
	}
	if (reply_read(c, t, &rp) < 0) { lost(f, c, &rp, "receiving the EHLO reply"); return -1; }
	if (rp.code == 250) {
		parse_caps(&c->caps, rp.lines);
		return 0;
	}
	if (rp.code / 100 != 5) { said(f, c, &rp, "EHLO"); return -1; }
	n = snprintf(cmd, sizeof cmd, "HELO %s\r\n", helo_name());
	if (cmd_send(c, cmd, (size_t)n) < 0 || wbuf_flush(&c->w) < 0) {
		fail_set(f, 0, "4.4.2", "lost connection with %s[%s] while sending HELO", c->host, c->ip);
		c->broken = 1;
		return -1;
	}
	if (reply_read(c, t, &rp) < 0) { lost(f, c, &rp, "receiving the HELO reply"); return -1; }
	if (rp.code != 250) { said(f, c, &rp, "HELO"); return -1; }
	memset(&c->caps, 0, sizeof c->caps);
	return 0;
}

int session_start(struct conn *c, const struct route *r, struct fail *f)
{
	struct reply rp;
	int t = (int)timeout_of("smtp_helo_timeout");
	if (reply_read(c, t, &rp) < 0) { lost(f, c, &rp, "receiving the initial server greeting"); return -1; }
	if (rp.code != 220) {
		fail_set(f, 0, "4.0.0", "host %s[%s] refused to talk to me: %s", c->host, c->ip, rp.text);
		return -1;
	}
	if (session_hello(c, f) < 0) return -1;
	if (tls_client_start(c, f) < 0) return -1;
	return auth_client(c, r, f);
}
