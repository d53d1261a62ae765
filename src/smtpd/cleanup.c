/* cleanup.c — what Postfix's cleanup(8) does to received mail, done here
 * while the message streams in: canonical rewriting of envelope addresses
 * (sender_canonical_maps or recipient_canonical_maps, then canonical_maps,
 * as canonical_classes allows) and of header addresses (for the clients
 * local_header_rewrite_clients names), header_checks and body_checks
 * (always control/header_checks and control/body_checks, regexp tables).
 * The actions are logged in Postfix's words; REJECT and table failures
 * become the reply to the message, HOLD and DISCARD session flags that
 * data.c carries out. The canonical rules themselves are shared with
 * sendmail in lib/rewrite.c; this file decides when they apply here. */
#include "smtpd.h"
#include "control.h"
#include "log.h"
#include "rewrite.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CHECKS_TIME_MAX 10.0 /* seconds of regular expressions per message */

/* canonical_classes as this role sees it (submission may override it) */
static unsigned classes(void)
{
	const char *const *items;
	size_t n = cfg_list("canonical_classes", &items);
	return rewrite_canonical_classes(items, n);
}

int canonical_envelope(struct session *s, int sender, const char *addr, struct buf *out)
{
	(void)s;
	if (!(classes() & (sender ? CANON_ENV_SENDER : CANON_ENV_RECIPIENT))) return 0;
	return rewrite_canonical(sender, addr, out);
}

/* local_header_rewrite_clients: whose headers are ours to rewrite */
static int header_rewrite_client(struct session *s)
{
	const char *const *items;
	size_t n = cfg_list("local_header_rewrite_clients", &items);
	const char *local = getenv("TCPLOCALIP");
	for (size_t i = 0; i < n; i++) {
		const char *w = items[i];
		if (!strcasecmp(w, "static:all")) return 1;
		if (!strcasecmp(w, "permit_mynetworks") && s->trusted) return 1;
		if (!strcasecmp(w, "permit_sasl_authenticated") && s->login) return 1;
		/* this host's own addresses: loopback, or the address it was reached on */
		if (!strcasecmp(w, "permit_inet_interfaces") && s->addr.family &&
		    (ip_is_loopback(&s->addr) || (local && strcmp(local, s->ip) == 0)))
			return 1;
	}
	return 0;
}

static int header_map(void *arg, const char *addr, struct buf *out)
{
	struct inspect *in = arg;
	return rewrite_canonical(in->ct.cur_class == HDR_SENDER, addr, out);
}

static void emit(void *arg, const char *p, size_t n)
{
	struct inspect *in = arg;
	in->emit(in->emit_arg, p, n);
}

/* a matched line for the log: one line, bounded */
static void printable(char *dst, size_t max, const char *p, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < max; i++) {
		unsigned char c = (unsigned char)p[i];
		dst[k++] = c == '\n' || c == '\t' ? ' ' : (c < 32 || c == 127) ? '?' : (char)c;
	}
	dst[k] = 0;
}

static void action(void *arg, const char *what, const char *text, int header, const char *line, size_t len)
{
	struct inspect *in = arg;
	struct session *s = in->s;
	char shown[220], lower[16];
	printable(shown, sizeof shown, line, len);
	size_t wl = strlen(what) < sizeof lower - 1 ? strlen(what) : sizeof lower - 1;
	for (size_t i = 0; i < wl; i++) lower[i] = (char)(what[i] | 0x20);
	lower[wl] = 0;
	if (!strcmp(what, "DEFER")) {
		snprintf(in->reject, sizeof in->reject, "451 4.3.0 Error: header or body checks unavailable");
		text = "4.3.0 Temporary lookup failure";
	} else if (!strcmp(what, "REJECT")) {
		snprintf(in->reject, sizeof in->reject, "550 5.7.1 %.280s", *text ? text : "Message content rejected");
	} else if (!strcmp(what, "HOLD")) {
		s->hold = 1;
		snprintf(s->hold_why, sizeof s->hold_why, "%.100s: %.140s", header ? "header" : "body", *text ? text : shown);
	} else if (!strcmp(what, "DISCARD")) {
		s->discard = 1;
		snprintf(s->discard_why, sizeof s->discard_why, "%.100s: %.140s", header ? "header" : "body",
		         *text ? text : shown);
	}
	/* Postfix: "ID: reject: header Subject: x from host[ip]; from=<> to=<> proto=SMTP helo=<h>: 5.7.1 text" */
	const char *shown_text = !strcmp(what, "REJECT") ? in->reject + 4 : text;
	log_msg("%s: %s: %s %s from %s; from=<%s> to=<%s> proto=%s helo=<%s>%s%s", s->q.id, !strcmp(what, "WARN") ? "warning" : lower,
	        header ? "header" : "body", shown, client_name(s), s->sender.len ? s->sender.s : "",
	        s->nrcpt ? s->rcpt[0] : "", s->proto, s->helo, *shown_text ? ": " : "", shown_text);
}

static int file_exists(const char *rel, char *path, size_t max)
{
	return root_path(path, max, rel) == 0 && access(path, F_OK) == 0;
}

int inspect_begin(struct session *s, struct inspect *in, void (*out)(void *arg, const char *p, size_t n), void *arg)
{
	content_free(&in->ct);
	memset(in, 0, sizeof *in);
	in->s = s;
	in->emit = out;
	in->emit_arg = arg;
	struct content *c = &in->ct;
	if (file_exists("control/header_checks", in->hpath, sizeof in->hpath)) c->header_checks = in->hpath;
	if (file_exists("control/body_checks", in->bpath, sizeof in->bpath)) c->body_checks = in->bpath;
	unsigned cl = classes();
	if ((cl & (CANON_HEAD_SENDER | CANON_HEAD_RECIPIENT)) && header_rewrite_client(s))
		c->rewrite_classes = rewrite_canonical_headers(cl);
	in->active = c->header_checks || c->body_checks || c->rewrite_classes;
	if (!in->active) return 0;
	long long hmax = cfg_size("header_size_limit");
	c->header_max = hmax > 0 && hmax < (1 << 24) ? (size_t)hmax : 102400;
	c->line_max = (size_t)s->line_limit;
	c->body_limit = cfg_size("body_checks_size_limit");
	c->time_limit = CHECKS_TIME_MAX;
	c->rewrite = header_map;
	c->out = emit;
	c->action = action;
	c->arg = in;
	content_start(c);
	return 1;
}
