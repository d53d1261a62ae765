/* bounce.c — delivery status notifications (RFC 3464) queued through
 * yubin-queue: a multipart/report with a human-readable part, a
 * message/delivery-status part (per-message fields, then one block per
 * recipient), and the original message (message/rfc822) or only its
 * headers (text/rfc822-headers: RET=HDRS, delay warnings, or an original
 * larger than bounce_size_limit). Failure reports and delay warnings go
 * from the null sender to the sender; a bounce that failed is reported
 * once to double_bounce_recipient from double_bounce_sender. */
#include "control.h"
#include "log.h"
#include "qclient.h"
#include "qmgr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define COPY_CHUNK 65536

const char *my_hostname(void)
{
	const char *h = control_get("myhostname");
	return *h ? h : "localhost";
}

/* bare names are completed with myorigin, as Postfix does */
static const char *qualify(const char *name, char *out, size_t max)
{
	const char *origin = control_get("myorigin");
	if (strchr(name, '@') || !*name) snprintf(out, max, "%s", name);
	else snprintf(out, max, "%s@%s", name, *origin ? origin : my_hostname());
	return out;
}

const char *double_bounce_sender(void)
{
	static char s[512];
	return qualify(control_get("double_bounce_sender"), s, sizeof s);
}

static void rfc5322_date(time_t t, char *out, size_t max)
{
	struct tm tm;
	localtime_r(&t, &tm);
	if (!strftime(out, max, "%a, %d %b %Y %H:%M:%S %z", &tm)) snprintf(out, max, "%s", "unknown");
}

static void need(int r)
{
	if (r < 0) die_nomem();
}

/* DSN fields and the human part are US-ASCII: anything else becomes '?' */
static void add_ascii(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		need(buf_addc(b, c < 0x20 || c >= 0x7f ? '?' : (char)c));
	}
}

/* "Name: value", folded at spaces so that lines stay short */
static void add_field(struct buf *b, const char *name, const char *value)
{
	size_t col = strlen(name) + 2;
	need(buf_adds(b, name));
	need(buf_adds(b, ": "));
	const char *p = value;
	int first = 1;
	while (*p) {
		size_t w = strcspn(p, " ");
		if (w > 900) w = 900;
		if (!first && col + 1 + w > 76) {
			need(buf_adds(b, "\n    "));
			col = 4;
		} else if (!first) {
			need(buf_addc(b, ' '));
			col++;
		}
		add_ascii(b, p, w);
		col += w;
		first = 0;
		p += w;
		while (*p == ' ') p++;
	}
	need(buf_addc(b, '\n'));
}

/* xtext (RFC 3461) "+HH" decoding of an ORCPT value */
static void add_xtext(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		const char *h1, *h2;
		if (*s == '+' && s[1] && s[2] && (h1 = strchr(hex, s[1])) && (h2 = strchr(hex, s[2]))) {
			char c = (char)((h1 - hex) * 16 + (h2 - hex));
			add_ascii(b, &c, 1);
			s += 2;
		} else {
			add_ascii(b, s, 1);
		}
	}
}

/* What the agent said, split into Remote-MTA and an SMTP diagnostic when
 * it has the form "host NAME[IP] said: 550 5.1.1 text (in reply to ...)"
 * or starts with a reply code; otherwise a yubin diagnostic. */
static void add_diagnostic(struct buf *b, const char *text)
{
	const char *said = strstr(text, " said: ");
	struct buf v = BUF_INIT;
	if (strncmp(text, "host ", 5) == 0 && said) {
		const char *name = text + 5;
		size_t nl = strcspn(name, "[ ");
		if (name + nl > said) nl = (size_t)(said - name);
		need(buf_adds(&v, "dns; "));
		add_ascii(&v, name, nl);
		add_field(b, "Remote-MTA", v.s);
		buf_reset(&v);
		const char *reply = said + 7;
		const char *inreply = strstr(reply, " (in reply to ");
		need(buf_adds(&v, "smtp; "));
		add_ascii(&v, reply, inreply ? (size_t)(inreply - reply) : strlen(reply));
	} else if (text[0] >= '2' && text[0] <= '5' && text[1] >= '0' && text[1] <= '9' &&
	           text[2] >= '0' && text[2] <= '9' && (text[3] == ' ' || text[3] == '-' || !text[3])) {
		need(buf_adds(&v, "smtp; "));
		add_ascii(&v, text, strlen(text));
	} else {
		need(buf_adds(&v, "X-Yubin; "));
		add_ascii(&v, text, strlen(text));
	}
	add_field(b, "Diagnostic-Code", v.s);
	buf_free(&v);
}

/* Bytes of the header block at off (the blank line included). */
static long long header_length(int fd, off_t off, long long size)
{
	char b[8192];
	long long done = 0;
	char prev = '\n';
	while (done < size) {
		size_t want = size - done < (long long)sizeof b ? (size_t)(size - done) : sizeof b;
		ssize_t k = pread(fd, b, want, off + done);
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0) break;
		for (ssize_t i = 0; i < k; i++) {
			if (b[i] == '\n' && prev == '\n') return done + i + 1;
			prev = b[i];
		}
		done += k;
	}
	return size;
}

static int has_8bit(int fd, off_t off, long long len)
{
	char b[COPY_CHUNK];
	for (long long done = 0; done < len;) {
		size_t want = len - done < (long long)sizeof b ? (size_t)(len - done) : sizeof b;
		ssize_t k = pread(fd, b, want, off + done);
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0) return 0;
		for (ssize_t i = 0; i < k; i++)
			if (b[i] & 0x80) return 1;
		done += k;
	}
	return 0;
}

static int copy_original(struct qclient *q, int fd, off_t off, long long len)
{
	char *b = malloc(COPY_CHUNK);
	if (!b) return -1;
	long long done = 0;
	while (done < len) {
		size_t want = len - done < COPY_CHUNK ? (size_t)(len - done) : COPY_CHUNK;
		ssize_t k = pread(fd, b, want, off + done);
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0 || qclient_write(q, b, (size_t)k) < 0) break;
		done += k;
	}
	free(b);
	return done == len ? 0 : -1;
}

struct report {
	const struct msg *m;
	const size_t *idx;
	size_t n;
	enum report_kind kind;
	const char *newid, *boundary, *to;
	int headers_only, eightbit;
};

static void human_part(struct buf *b, const struct report *r)
{
	const char *host = my_hostname();
	need(buf_addf(b, "This is the mail system at host %s.\n\n", host));
	if (r->kind == REPORT_DELAY) {
		long long hours = ((long long)time(NULL) - r->m->env.arrival) / 3600;
		long long days = msg_lifetime(r->m) / 86400;
		need(buf_addf(b, "This is a warning only; you do not need to send your message again.\n\n"
		                 "Your message could not be delivered for %lld hour%s. It will be\n"
		                 "retried until it is %lld day%s old.\n\n",
		              hours, hours == 1 ? "" : "s", days, days == 1 ? "" : "s"));
	} else if (r->kind == REPORT_DOUBLE) {
		need(buf_adds(b, "A delivery status notification could not be delivered.\n"
		                 "The undeliverable notification is attached below.\n\n"));
	} else {
		need(buf_adds(b, "I'm sorry to have to inform you that your message could not\n"
		                 "be delivered to one or more recipients. It's attached below.\n\n"
		                 "For further assistance, please send mail to postmaster.\n\n"));
	}
	need(buf_adds(b, "                   The mail system\n\n"));
	for (size_t k = 0; k < r->n; k++) {
		const struct result *res = &r->m->res[r->idx[k]];
		need(buf_addc(b, '<'));
		add_ascii(b, r->m->env.rcpt[r->idx[k]].addr, strlen(r->m->env.rcpt[r->idx[k]].addr));
		need(buf_adds(b, ">: "));
		add_ascii(b, res->text ? res->text : "", res->text ? strlen(res->text) : 0);
		need(buf_addf(b, " (%s)\n", res->dsn));
	}
}

static void status_part(struct buf *b, const struct report *r)
{
	const struct qenv *e = &r->m->env;
	char date[64];
	struct buf v = BUF_INIT;
	need(buf_addf(&v, "dns; %s", my_hostname()));
	add_field(b, "Reporting-MTA", v.s);
	add_field(b, "X-Yubin-Queue-ID", r->m->id);
	buf_reset(&v);
	need(buf_adds(&v, "rfc822; "));
	add_ascii(&v, e->sender, strlen(e->sender));
	add_field(b, "X-Yubin-Sender", v.s);
	if (e->envid && *e->envid) {
		buf_reset(&v);
		add_xtext(&v, e->envid);
		add_field(b, "Original-Envelope-Id", v.s);
	}
	rfc5322_date((time_t)e->arrival, date, sizeof date);
	add_field(b, "Arrival-Date", date);
	for (size_t k = 0; k < r->n; k++) {
		const struct qrcpt *rc = &e->rcpt[r->idx[k]];
		const struct result *res = &r->m->res[r->idx[k]];
		need(buf_addc(b, '\n'));
		buf_reset(&v);
		need(buf_adds(&v, "rfc822; "));
		add_ascii(&v, rc->addr, strlen(rc->addr));
		add_field(b, "Final-Recipient", v.s);
		const char *semi = strchr(rc->orcpt, ';');
		if (semi) {
			buf_reset(&v);
			add_ascii(&v, rc->orcpt, (size_t)(semi - rc->orcpt));
			need(buf_adds(&v, "; "));
			add_xtext(&v, semi + 1);
			add_field(b, "Original-Recipient", v.s);
		}
		add_field(b, "Action", r->kind == REPORT_DELAY ? "delayed" : "failed");
		add_field(b, "Status", res->dsn);
		add_diagnostic(b, res->text ? res->text : "");
		if (r->kind == REPORT_DELAY) {
			rfc5322_date((time_t)(e->arrival + msg_lifetime(r->m)), date, sizeof date);
			add_field(b, "Will-Retry-Until", date);
		}
	}
	buf_free(&v);
}

static void build_head(struct buf *b, const struct report *r)
{
	static const char *const subject[] = {
		[REPORT_FAILED] = "Undelivered Mail Returned to Sender",
		[REPORT_DOUBLE] = "Postmaster Copy: Undelivered Mail",
		[REPORT_DELAY] = "Delayed Mail (still being retried)",
	};
	const char *host = my_hostname();
	const char *cte = r->eightbit ? "8bit" : "7bit";
	char date[64];
	rfc5322_date(time(NULL), date, sizeof date);
	need(buf_addf(b, "Date: %s\n", date));
	need(buf_addf(b, "From: MAILER-DAEMON@%s (Mail Delivery System)\n", host));
	need(buf_addf(b, "Subject: %s\n", subject[r->kind]));
	need(buf_addf(b, "To: <%s>\n", r->to));
	need(buf_adds(b, "Auto-Submitted: auto-replied\n"));
	need(buf_addf(b, "Message-ID: <%s.%lld@%s>\n", r->newid, (long long)time(NULL), host));
	need(buf_adds(b, "MIME-Version: 1.0\n"));
	need(buf_addf(b, "Content-Type: multipart/report; report-type=delivery-status;\n"
	                 "\tboundary=\"%s\"\n", r->boundary));
	need(buf_addf(b, "Content-Transfer-Encoding: %s\n\n", cte));
	need(buf_adds(b, "This is a MIME-encapsulated message.\n\n"));

	need(buf_addf(b, "--%s\nContent-Description: Notification\n"
	                 "Content-Type: text/plain; charset=us-ascii\n\n", r->boundary));
	human_part(b, r);
	need(buf_addf(b, "\n--%s\nContent-Description: %s\n"
	                 "Content-Type: message/delivery-status\n\n",
	              r->boundary, r->kind == REPORT_DELAY ? "Delivery delay report" : "Delivery report"));
	status_part(b, r);
	need(buf_addf(b, "\n--%s\nContent-Description: %s\nContent-Type: %s\n",
	              r->boundary, r->headers_only ? "Undelivered Message Headers" : "Undelivered Message",
	              r->headers_only ? "text/rfc822-headers" : "message/rfc822"));
	need(buf_addf(b, "Content-Transfer-Encoding: %s\n\n", cte));
}

int report_send(struct msg *m, const size_t *idx, size_t n, enum report_kind kind,
                char *newid, size_t idmax)
{
	char to[QREC_MAX], boundary[QID_MAX + 300], reply[512] = "4.3.0 write error";
	struct report r = { .m = m, .idx = idx, .n = n, .kind = kind, .to = to };
	if (kind == REPORT_DOUBLE) qualify(control_get("double_bounce_recipient"), to, sizeof to);
	else snprintf(to, sizeof to, "%s", m->env.sender);

	/* how much of the original goes back */
	long long len = m->size, limit = control_size("bounce_size_limit");
	r.headers_only = kind == REPORT_DELAY || (m->env.ret && strcmp(m->env.ret, "HDRS") == 0) ||
	                 (limit > 0 && len > limit);
	if (r.headers_only) len = header_length(m->fd, m->env.msg_off, len);
	r.eightbit = has_8bit(m->fd, m->env.msg_off, len);

	struct buf env = BUF_INIT, head = BUF_INIT;
	int ok = -1;
	if (qenv_add(&env, 'S', kind == REPORT_DOUBLE ? double_bounce_sender() : "") < 0 ||
	    qenv_add_rcpt(&env, to, "", "") < 0 || (r.eightbit && qenv_add(&env, 'B', "8BITMIME") < 0)) {
		log_msg("%s: cannot build the report envelope for <%s>", m->id, to);
		buf_free(&env);
		return -1;
	}
	struct qclient q;
	if (qclient_open(&q) < 0) {
		log_sys("%s: cannot start yubin-queue", m->id);
		buf_free(&env);
		return -1;
	}
	if (qclient_begin(&q, &env) == 0) {
		snprintf(boundary, sizeof boundary, "%s.%lld/%s", q.id, (long long)time(NULL), my_hostname());
		r.boundary = boundary;
		r.newid = q.id;
		build_head(&head, &r);
		struct buf tail = BUF_INIT;
		need(buf_addf(&tail, "\n--%s--\n", boundary));
		if (qclient_write(&q, head.s, head.len) == 0 && copy_original(&q, m->fd, m->env.msg_off, len) == 0 &&
		    qclient_write(&q, tail.s, tail.len) == 0 && qclient_commit(&q, reply, sizeof reply) == 0) {
			snprintf(newid, idmax, "%s", q.id);
			ok = 0;
		} else {
			log_msg("%s: yubin-queue did not take the report: %s", m->id, reply);
		}
		buf_free(&tail);
	} else {
		log_msg("%s: yubin-queue refused the report envelope", m->id);
	}
	qclient_close(&q);
	buf_free(&env);
	buf_free(&head);
	return ok;
}
