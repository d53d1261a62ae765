/* authcheck.c — SPF, DKIM and DMARC on mail from clients that are neither
 * logged in nor exceptions (control/smtpd_authentication_checks,
 * smtpd_authentication_checks_exceptions, default $mynetworks). authres.h
 * does the checks; this file feeds it and puts the result on the message.
 * The Authentication-Results field goes on top of the message, but DKIM
 * is only known at the end of DATA, so the message is spooled into a
 * memfd while it streams (smtpd owns no writable directory), bounded by
 * message_size_limit, and copied into yubin-queue at the end, without
 * fields that claim our authserv-id (RFC 8601 section 5). DMARC is advice
 * unless control/smtpd_dmarc_enforce = yes. */
#include "authcheck.h"
#include "smtpd.h"
#include "control.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

enum { H_HEADER, H_SKIP, H_BODY };

#define SPOOL_SLACK (1 << 20)          /* our Received field and buffering beyond message_size_limit */
#define SPOOL_MAX (1LL << 30)          /* with message_size_limit = 0 */
#define COPY_CHUNK (256 * 1024)        /* below yubin-queue's chunk limit */

void authcheck_free(struct authcheck *a)
{
	if (!a->on) return;
	close(a->fd);
	authres_free(&a->ar);
	buf_free(&a->hdr);
	a->on = 0;
}

/* smtpd_authentication_checks_exceptions: the default $mynetworks means
 * the client's mynetworks match even when mynetworks itself is empty
 * (mynetworks_style), as for smtpd_client_event_limit_exceptions */
static int exempt(const struct session *s)
{
	const char *name = "smtpd_authentication_checks_exceptions";
	const char *raw = control_raw(name);
	if (raw && strstr(raw, "mynetworks") && s->trusted) return 1;
	const char *const *items;
	size_t n = cfg_list(name, &items);
	return cidr_list_match(items, n, &s->addr, NULL);
}

int authcheck_begin(struct session *s, struct authcheck *a)
{
	authcheck_free(a);
	const char *checks = cfg_get("smtpd_authentication_checks");
	if (!*checks || s->login || !s->addr.family || exempt(s)) return 0;
	int fd = memfd_create("yubin-smtpd-spool", MFD_CLOEXEC);
	if (fd < 0) {
		log_sys("warning: cannot make the spool for smtpd_authentication_checks");
		return -1;
	}
	a->on = 1;
	a->fd = fd;
	a->spooled = 0;
	a->spool_max = s->size_limit > 0 && s->size_limit < SPOOL_MAX ? s->size_limit + SPOOL_SLACK : SPOOL_MAX;
	a->hdr = (struct buf)BUF_INIT;
	a->hdr.max = DKIM_HDR_MAX;
	a->hstate = H_HEADER;
	a->nl = 1;
	a->reply[0] = 0;
	authres_begin(&a->ar, checks, &s->addr, s->helo, s->sender.len ? s->sender.s : "");
	if (!a->ar.do_spf && !a->ar.do_dkim) {
		static int warned;
		if (!warned++)
			log_msg("warning: control/smtpd_authentication_checks: no check named in \"%s\"; "
			        "use spf, dkim or dmarc", checks);
		authcheck_free(a);
		return 0;
	}
	return 1;
}

static void header_end(struct authcheck *a)
{
	authres_header(&a->ar, a->hdr.len ? a->hdr.s : "", a->hdr.len);
	a->hstate = H_BODY;
}

/* A header beyond DKIM_HDR_MAX: DKIM sees its complete lines only. */
static void header_overflow(struct authcheck *a)
{
	while (a->hdr.len && a->hdr.s[a->hdr.len - 1] != '\n') a->hdr.len--;
	a->hstate = H_SKIP;
}

void authcheck_input(struct authcheck *a, const char *p, size_t n)
{
	size_t i = 0;
	int end = 0;
	while (i < n && a->hstate != H_BODY && !end) {
		char c = p[i++];
		end = c == '\n' && a->nl; /* the blank line: the header is complete (without it) */
		a->nl = c == '\n';
	}
	if (a->hstate == H_HEADER && buf_add(&a->hdr, p, end ? i - 1 : i) < 0) header_overflow(a);
	if (end) header_end(a);
	if (a->hstate == H_BODY && i < n) authres_body(&a->ar, p + i, n - i);
}

const char *authcheck_spool(struct authcheck *a, const char *p, size_t n)
{
	if (a->spooled + (long long)n > a->spool_max) return "552 5.3.4 Message size exceeds fixed limit";
	while (n) {
		ssize_t k = write(a->fd, p, n);
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0) {
			log_sys("warning: cannot write the smtpd_authentication_checks spool");
			return "451 4.3.0 Error: queue file write error";
		}
		p += k;
		n -= (size_t)k;
		a->spooled += k;
	}
	return NULL;
}

/* ---- the copy into the queue ---- */

/* the length of the field name that starts line (up to the colon), 0 when
 * the line is no field */
static size_t field_name(const char *l, size_t n)
{
	size_t i = 0;
	while (i < n && l[i] > ' ' && l[i] < 127 && l[i] != ':') i++;
	size_t name = i;
	while (i < n && (l[i] == ' ' || l[i] == '\t')) i++;
	return name && i < n && l[i] == ':' ? name : 0;
}

/* RFC 8601 2.2: the authserv-id after optional CFWS, a token or a
 * quoted-string; 1 when it is ours */
static int claims_us(const char *v, size_t n, const char *me)
{
	size_t i = 0, depth = 0;
	while (i < n) {
		char c = v[i];
		if (depth) {
			if (c == '\\') i++;
			else if (c == '(') depth++;
			else if (c == ')') depth--;
		} else if (c == '(') {
			depth = 1;
		} else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			break;
		}
		i++;
	}
	char id[256];
	size_t k = 0;
	if (i < n && v[i] == '"') {
		for (i++; i < n && v[i] != '"'; i++) {
			if (v[i] == '\\' && i + 1 < n) i++;
			if (k + 1 >= sizeof id) return 0;
			id[k++] = v[i];
		}
	} else {
		for (; i < n && !strchr(" \t\r\n;(", v[i]); i++) {
			if (k + 1 >= sizeof id) return 0;
			id[k++] = v[i];
		}
	}
	id[k] = 0;
	return k && strcasecmp(id, me) == 0;
}

static int put(struct session *s, const char *p, size_t n)
{
	while (n) {
		size_t k = n < COPY_CHUNK ? n : COPY_CHUNK;
		if (qclient_write(&s->q, p, k) < 0) return -1;
		p += k;
		n -= k;
	}
	return 0;
}

/* The spool into the queue, header fields that claim our authserv-id left
 * out. The header ends at the blank line or at a line that is no field. */
static int copy_spool(struct session *s, struct authcheck *a, const char *me, const char *qid)
{
	if (!a->spooled) return 0;
	size_t len = (size_t)a->spooled;
	const char *m = mmap(NULL, len, PROT_READ, MAP_SHARED, a->fd, 0);
	if (m == MAP_FAILED) {
		log_sys("%s: warning: cannot map the spool", qid);
		return -1;
	}
	size_t i = 0, from = 0, dropped = 0;
	int r = 0;
	while (i < len && m[i] != '\n') {
		size_t nl = field_name(m + i, len - i);
		if (!nl) break;
		size_t e = i;
		do {
			const char *lf = memchr(m + e, '\n', len - e);
			e = lf ? (size_t)(lf - m) + 1 : len;
		} while (e < len && (m[e] == ' ' || m[e] == '\t'));
		if (nl == 22 && strncasecmp(m + i, "Authentication-Results", 22) == 0) {
			const char *colon = memchr(m + i, ':', e - i);
			if (claims_us(colon + 1, (size_t)(m + e - colon - 1), me)) {
				r |= put(s, m + from, i - from);
				from = e;
				dropped++;
			}
		}
		i = e;
	}
	r |= put(s, m + from, len - from);
	munmap((void *)m, len);
	if (dropped) log_msg("%s: removed %zu Authentication-Results field%s claiming %s", qid, dropped,
	                     dropped == 1 ? "" : "s", me);
	return r;
}

/* ---- the verdict ---- */

static int same_org(const char *a, const char *b)
{
	char oa[256], ob[256];
	if (!*a || !*b) return 0;
	return dmarc_org_domain(a, oa, sizeof oa) == 0 && dmarc_org_domain(b, ob, sizeof ob) == 0 && !strcmp(oa, ob);
}

/* A DMARC fail is final only when no temporary error could have hidden an
 * aligned pass (relaxed alignment: the wider test). Unaligned temporary
 * errors do not count: a forger can make his own DNS fail. */
static int fail_is_final(const struct authres *ar)
{
	if (ar->spf == SPF_TEMPERROR && !ar->spf_helo && same_org(ar->spf_domain, ar->from)) return 0;
	for (size_t i = 0; ar->have_header && i < ar->dkim.nsig; i++)
		if (ar->dkim.sig[i].result == DKIM_TEMPERROR && same_org(ar->dkim.sig[i].d, ar->from)) return 0;
	return 1;
}

enum action { A_ACCEPT, A_HOLD, A_REJECT, A_DEFER };
static const char *const action_names[] = { "accept", "hold", "reject", "defer" };

/* DMARC's p= (or sp=) with pct= (RFC 7489 6.6.4: a message outside the
 * sample gets the next milder policy). Advice only unless enforced. */
static enum action decide(struct authcheck *a)
{
	const struct dmarc *d = &a->ar.dmarc;
	if (!a->ar.do_dmarc || !cfg_bool("smtpd_dmarc_enforce")) return A_ACCEPT;
	if (d->result == DMARC_TEMPERROR) {
		snprintf(a->reply, sizeof a->reply,
		         "451 4.7.1 DMARC policy of %.200s unavailable (DNS temporary failure); try again later", d->from);
		return A_DEFER;
	}
	if (d->result != DMARC_FAIL) return A_ACCEPT;
	int strict = strcmp(d->policy, "reject") == 0 ? 2 : strcmp(d->policy, "quarantine") == 0 ? 1 : 0;
	if (strict && d->pct < 100 && (int)arc4random_uniform(100) >= d->pct) strict--;
	if (strict == 2 && !fail_is_final(&a->ar)) {
		snprintf(a->reply, sizeof a->reply,
		         "451 4.7.1 DMARC check of %.200s incomplete (DNS temporary failure); try again later", d->from);
		return A_DEFER;
	}
	if (strict == 2) {
		snprintf(a->reply, sizeof a->reply, "550 5.7.1 Message rejected: it fails the DMARC policy of %.200s",
		         d->from);
		return A_REJECT;
	}
	return strict == 1 ? A_HOLD : A_ACCEPT;
}

/* the results on one log line: the field unfolded, without its name */
static void log_results(const char *qid, const struct buf *field, enum action act)
{
	char line[1500];
	size_t k = 0;
	const char *semi = memchr(field->s, ';', field->len);
	size_t i = semi ? (size_t)(semi - field->s) + 1 : field->len;
	for (; i < field->len && k + 1 < sizeof line; i++) {
		char c = field->s[i];
		if (c == '\n' || c == '\t') {
			if (k && line[k - 1] != ' ') line[k++] = ' ';
			continue;
		}
		line[k++] = c;
	}
	while (k && line[k - 1] == ' ') k--;
	line[k] = 0;
	log_msg("%s: authentication: %s; action=%s", qid, line, action_names[act]);
}

int authcheck_end(struct session *s, struct authcheck *a, const char *qid)
{
	if (a->hstate != H_BODY) header_end(a);
	const char *me = control_get("myhostname");
	struct buf field = BUF_INIT;
	if (authres_end(&a->ar, me, &field) < 0) die_nomem();
	enum action act = decide(a);
	log_results(qid, &field, act);
	int r = 0;
	if (act == A_REJECT || act == A_DEFER) {
		r = 1;
	} else {
		if (act == A_HOLD) {
			s->hold = 1;
			snprintf(s->hold_why, sizeof s->hold_why, "DMARC policy quarantine of %.200s", a->ar.dmarc.from);
			log_action(s, qid, "hold", "END-OF-MESSAGE", NULL, NULL, s->hold_why);
		}
		r = put(s, field.s, field.len) < 0 || copy_spool(s, a, me, qid) < 0 ? -1 : 0;
	}
	buf_free(&field);
	authcheck_free(a);
	return r;
}
