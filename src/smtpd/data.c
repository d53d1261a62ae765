/* data.c — DATA: the message from the client into yubin-queue.
 *
 * The reader is a small state machine over the input bytes, and it is the
 * spec: the message ends only at <CRLF>.<CRLF>; a line that starts with a
 * dot loses that dot (RFC 5321 4.5.2); a bare LF or a bare CR never ends a
 * line that could end the message (SMTP smuggling, CVE-2023-51764), and is
 * refused with 550 5.5.2 unless control/smtpd_forbid_bare_newline = no,
 * which turns it into a line end. Lines are stored with LF endings.
 * While the headers last it counts Received: lines (hopcount_limit) and
 * header bytes (header_size_limit); it counts every byte for
 * message_size_limit. A refused message is still read to its end, so the
 * session stays in step, and the yubin-queue run is closed without the
 * final chunk, which leaves nothing in the queue.
 * With smtpd_authentication_checks (authcheck.c) the stored form goes to
 * a memfd spool instead, since the Authentication-Results field on top
 * needs the DKIM result of the whole message; at the end the field and
 * the spool go to the yubin-queue run opened at DATA (which gave the
 * queue id), so 250 still means fsynced in the queue. Without the setting
 * the bytes go straight to yubin-queue as before. */
#include "smtpd.h"
#include "authcheck.h"
#include "control.h"
#include "log.h"
#include "qfile.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum dstate {
	D_BOL,      /* after CRLF (or at the start): a dot here may end the message */
	D_BOL_LF,   /* after a normalised bare LF/CR: a dot is unstuffed, never an end */
	D_MID,      /* inside a line */
	D_CR,       /* after CR */
	D_DOT,      /* after CRLF "." */
	D_DOT_CR,   /* after CRLF "." CR */
};

enum hstate { H_START, H_NAME, H_VALUE };

#define FIXUP_HEADER_MAX (1 << 20) /* header bytes held back for the RFC 6409 fix-ups */

struct data {
	struct session *s;
	enum dstate st;
	int normalise;         /* smtpd_forbid_bare_newline = no */
	int in_header;
	enum hstate hs;
	char name[11];
	size_t nlen;
	/* submission (RFC 6409 8.2, 8.3): the header is held back until its end
	 * so that missing Date, Message-ID and From can be added */
	int fixups;
	struct buf hdr;
	size_t line_start;     /* where the current header line starts in hdr */
	int saw_date, saw_msgid, saw_from;
	long long hops, hop_limit;
	long long header_bytes, header_limit;
	long long bytes;
	const char *error;     /* the reply once the message is refused */
	int qfail;
	size_t olen;
	char out[IO_BUFSIZE];
	/* header/body checks and header rewriting (cleanup.c); after out, so
	 * data_init's memset leaves its buffers to inspect_begin */
	struct inspect insp;
	/* SPF/DKIM/DMARC (authcheck.c): when on, the stored form goes to its
	 * spool and reaches yubin-queue at the end, under the results */
	struct authcheck ac;
};

static void refuse(struct data *d, const char *why)
{
	if (!d->error) d->error = why;
}

static void to_queue(struct data *d)
{
	const char *why;
	if (d->olen && !d->error && !d->qfail && d->ac.on && (why = authcheck_spool(&d->ac, d->out, d->olen)))
		refuse(d, why);
	else if (d->olen && !d->error && !d->qfail && !d->ac.on && qclient_write(&d->s->q, d->out, d->olen) < 0)
		d->qfail = 1;
	d->olen = 0;
}

static void store(struct data *d, const char *p, size_t n)
{
	while (n) {
		size_t k = sizeof d->out - d->olen < n ? sizeof d->out - d->olen : n;
		memcpy(d->out + d->olen, p, k);
		d->olen += k;
		p += k;
		n -= k;
		if (d->olen == sizeof d->out) to_queue(d);
	}
}

/* Header bookkeeping, byte by byte while the header lasts. A line that is
 * neither a field nor a continuation starts the body (as in Postfix), so a
 * message without a blank line after its header is not all "header". */
static int named(const struct data *d, const char *name)
{
	size_t n = strlen(name);
	return d->nlen == n && memcmp(d->name, name, n) == 0;
}

static size_t header_scan(struct data *d, const char *p, size_t n)
{
	size_t i;
	for (i = 0; i < n && d->in_header; i++) {
		unsigned char c = (unsigned char)p[i];
		if (d->hs == H_START) {
			d->line_start = d->hdr.len + i;
			if (c == '\n') { d->in_header = 0; break; }
			if (c == ' ' || c == '\t') {
				d->hs = H_VALUE;
			} else {
				d->hs = H_NAME;
				d->nlen = 0;
			}
		}
		if (d->hs == H_NAME) {
			if (c == ':') {
				if (named(d, "received") && ++d->hops > d->hop_limit) refuse(d, "554 5.4.6 Too many hops");
				d->saw_date |= named(d, "date");
				d->saw_msgid |= named(d, "message-id");
				d->saw_from |= named(d, "from");
				d->hs = H_VALUE;
			} else if (c <= 32 || c >= 127) {
				d->in_header = 0;
				break;
			} else if (d->nlen < sizeof d->name) {
				d->name[d->nlen++] = (char)tolower(c);
			}
		}
		if (c == '\n') d->hs = H_START;
		if (d->header_limit > 0 && ++d->header_bytes > d->header_limit)
			refuse(d, "552 5.6.0 Message header size exceeds limit");
	}
	return i;
}

static void rfc5322_date(char *out, size_t max)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	if (!strftime(out, max, "%a, %d %b %Y %H:%M:%S %z", &tm)) out[0] = 0;
}

/* The header is complete: add what submission must add, before the blank
 * line (or the first body line), and let the held-back header go. */
static void header_done(struct data *d)
{
	struct session *s = d->s;
	char line[600], date[64];
	size_t at = d->line_start <= d->hdr.len ? d->line_start : d->hdr.len;
	store(d, d->hdr.s, at);
	if (!d->saw_date) {
		rfc5322_date(date, sizeof date);
		int k = snprintf(line, sizeof line, "Date: %s\n", date);
		if (k > 0 && (size_t)k < sizeof line) store(d, line, (size_t)k);
	}
	if (!d->saw_msgid) {
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		if (!strftime(date, sizeof date, "%Y%m%d%H%M%S", &tm)) date[0] = 0;
		int k = snprintf(line, sizeof line, "Message-ID: <%s.%s@%s>\n", date, s->q.id, control_get("myhostname"));
		if (k > 0 && (size_t)k < sizeof line) store(d, line, (size_t)k);
	}
	if (!d->saw_from && s->sender.len) {
		int k = snprintf(line, sizeof line, "From: <%s>\n", s->sender.s);
		if (k > 0 && (size_t)k < sizeof line) store(d, line, (size_t)k);
	}
	if (d->hdr.len > at) store(d, d->hdr.s + at, d->hdr.len - at); /* hdr.s is NULL for an empty message */
	buf_free(&d->hdr);
	d->fixups = 0;
}

static void put_raw(struct data *d, const char *p, size_t n)
{
	if (d->error) return;
	if (!d->in_header) {
		store(d, p, n);
		return;
	}
	size_t i = header_scan(d, p, n);
	if (d->error) return;
	if (!d->fixups) {
		store(d, p, n);
		return;
	}
	if (buf_add(&d->hdr, p, i) < 0) {
		/* an enormous header: give up the fix-ups, not the message */
		store(d, d->hdr.s, d->hdr.len);
		store(d, p, i);
		buf_free(&d->hdr);
		d->fixups = 0;
	} else if (!d->in_header) {
		header_done(d);
	}
	store(d, p + i, n - i);
}

static void inspected(void *arg, const char *p, size_t n) { put_raw(arg, p, n); }

/* message bytes from the reader, through the inspection when there is one */
static void put(struct data *d, const char *p, size_t n)
{
	if (d->error) return;
	if (d->ac.on) authcheck_input(&d->ac, p, n); /* DKIM sees what the client sent */
	if (!d->insp.active) {
		put_raw(d, p, n);
		return;
	}
	content_feed(&d->insp.ct, p, n);
	if (d->insp.reject[0]) refuse(d, d->insp.reject);
}

static void bare(struct data *d, const char *what)
{
	if (!d->normalise)
		refuse(d, what[0] == 'L' ? "550 5.5.2 Error: bare <LF> received" : "550 5.5.2 Error: bare <CR> received");
	put(d, "\n", 1);
}

/* Feed p[0..n). Returns 1 when the terminating <CRLF>.<CRLF> was consumed
 * (*used = bytes up to and including it), else 0 with all n used. */
static int feed(struct data *d, const char *p, size_t n, size_t *used)
{
	size_t i = 0;
	while (i < n) {
		char c = p[i];
		switch (d->st) {
		case D_MID: {
			size_t j = i;
			while (j < n && p[j] != '\r' && p[j] != '\n') j++;
			if (j > i) {
				put(d, p + i, j - i);
				i = j;
				continue;
			}
			if (c == '\r') {
				d->st = D_CR;
			} else {
				bare(d, "LF");
				d->st = D_BOL_LF;
			}
			i++;
			continue;
		}
		case D_BOL:
			if (c == '.') { d->st = D_DOT; i++; continue; }
			d->st = D_MID;
			continue;
		case D_BOL_LF:
			if (c == '.') i++;
			d->st = D_MID;
			continue;
		case D_CR:
			if (c == '\n') {
				put(d, "\n", 1);
				d->st = D_BOL;
				i++;
				continue;
			}
			bare(d, "CR");
			d->st = D_BOL_LF;
			continue;
		case D_DOT:
			if (c == '\r') { d->st = D_DOT_CR; i++; continue; }
			d->st = D_MID; /* the stuffed dot is gone; the rest is data */
			continue;
		case D_DOT_CR:
			if (c == '\n') {
				*used = i + 1;
				return 1;
			}
			bare(d, "CR"); /* "." CR x: the line was "\rx" */
			d->st = D_BOL_LF;
			continue;
		}
	}
	*used = n;
	return 0;
}

static void add(struct buf *b, char type, const char *value, int *bad)
{
	if (*value && qenv_add(b, type, value) < 0) *bad = 1;
}

static int envelope(struct session *s, struct buf *env)
{
	int bad = 0;
	if (qenv_add(env, 'S', s->sender_canon.len ? s->sender_canon.s : s->sender.len ? s->sender.s : "") < 0) bad = 1;
	for (size_t i = 0; i < s->nrcpt; i++)
		if (qenv_add_rcpt(env, s->rcpt[i], s->rcpt_notify[i], s->rcpt_orcpt[i]) < 0) bad = 1;
	add(env, 'E', s->envid.len ? s->envid.s : "", &bad);
	add(env, 'N', s->ret, &bad);
	add(env, 'B', s->body, &bad);
	add(env, 'C', s->addr.family ? s->ip : "", &bad);
	add(env, 'H', s->helo, &bad);
	add(env, 'A', s->login ? s->login : "", &bad);
	add(env, 'U', s->smtputf8 ? "SMTPUTF8" : "", &bad);
	add(env, 'Q', s->hold ? "hold" : "", &bad); /* an access table's HOLD: queue/hold */
	return bad ? -1 : 0;
}

/* Start a message in yubin-queue: one run of it serves the whole
 * connection; a run that died since the last message is replaced once.
 * go_ahead (DATA's 354, or NULL) is sent as soon as the envelope is on
 * its way: the client's turnaround overlaps yubin-queue making the file.
 * *went_ahead says whether it was sent. */
static int queue_begin(struct session *s, const char *go_ahead, int *went_ahead)
{
	struct buf env = BUF_INIT;
	env.max = QENV_MAX;
	*went_ahead = 0;
	if (envelope(s, &env) < 0) {
		log_msg("warning: envelope of a message from %s not storable", client_name(s));
		buf_free(&env);
		return -1;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!s->q_open) {
			if (qclient_open(&s->q) < 0) {
				log_sys("warning: cannot run yubin-queue");
				break;
			}
			s->q_open = 1;
		}
		if (qclient_send_envelope(&s->q, &env) == 0) {
			if (go_ahead && !*went_ahead) {
				reply(s, "%s", go_ahead);
				wbuf_flush(s->out);
				*went_ahead = 1;
			}
			if (qclient_take_id(&s->q) == 0) {
				buf_free(&env);
				return 0;
			}
		}
		log_sys("warning: yubin-queue did not take the envelope%s", attempt ? "" : "; starting it again");
		qclient_close(&s->q);
		s->q_open = 0;
	}
	buf_free(&env);
	return -1;
}

/* RFC 5321 4.4 trace header, in Postfix's layout */
static void received(struct data *d)
{
	struct session *s = d->s;
	char date[64], line[1400];
	rfc5322_date(date, sizeof date);
	int n, hide = s->role == ROLE_SUBMISSION && cfg_bool("submission_hide_client");
	const char *lead = "Received: ";
	if (hide)
		n = 0; /* the "by" clause starts the header */
	else if (s->addr.family)
		n = snprintf(line, sizeof line, "Received: from %s (%s [%s%s])\n", s->helo, s->host,
		             s->addr.family == 6 ? "IPv6:" : "", s->ip);
	else
		n = snprintf(line, sizeof line, "Received: from %s (%s)\n", s->helo, s->host);
	if (n > 0 && (size_t)n < sizeof line) {
		store(d, line, (size_t)n);
		lead = "\t";
	}
	if (s->tls && s->tls_info[0] && !hide) {
		n = snprintf(line, sizeof line, "\t(using %s)\n", s->tls_info);
		if (n > 0 && (size_t)n < sizeof line) store(d, line, (size_t)n);
	}
	if (s->login && cfg_bool("smtpd_sasl_authenticated_header")) {
		n = snprintf(line, sizeof line, "%s(Authenticated sender: %s)\n", lead, s->login);
		if (n > 0 && (size_t)n < sizeof line) store(d, line, (size_t)n);
		lead = "\t";
	}
	if (s->nrcpt == 1)
		n = snprintf(line, sizeof line, "%sby %s with %s id %s\n\tfor <%s>; %s\n", lead, control_get("myhostname"),
		             received_protocol(s), s->q.id, s->rcpt[0], date);
	else
		n = snprintf(line, sizeof line, "%sby %s with %s id %s; %s\n", lead, control_get("myhostname"),
		             received_protocol(s), s->q.id, date);
	if (n > 0 && (size_t)n < sizeof line) store(d, line, (size_t)n);
}

static void data_init(struct data *d, struct session *s)
{
	buf_free(&d->hdr);
	memset(d, 0, offsetof(struct data, out));
	d->s = s;
	d->st = D_BOL;
	d->in_header = 1;
	d->hs = H_START;
	const char *fb = cfg_get("smtpd_forbid_bare_newline");
	d->normalise = !strcasecmp(fb, "no") || !strcasecmp(fb, "normalize") || !strcasecmp(fb, "normalise");
	d->hop_limit = cfg_int("hopcount_limit");
	d->header_limit = cfg_size("header_size_limit");
	d->fixups = s->role == ROLE_SUBMISSION;
	buf_free(&d->hdr);
	d->hdr.max = FIXUP_HEADER_MAX;
	inspect_begin(s, &d->insp, inspected, d);
}

/* Read the message up to its end; 0, or an io_status when the client
 * went away or timed out. */
static int read_message(struct data *d)
{
	struct session *s = d->s;
	struct rbuf *r = s->in;
	for (;;) {
		if (rbuf_pending(r) == 0) {
			if (wbuf_flush(s->out) < 0) return IO_ERR;
			ssize_t k = rbuf_fill(r);
			if (k <= 0) return (int)k;
		}
		size_t used;
		int end = feed(d, r->buf + r->pos, r->len - r->pos, &used);
		r->pos += used;
		d->bytes += (long long)used;
		if (s->size_limit > 0 && d->bytes > s->size_limit) refuse(d, "552 5.3.4 Message size exceeds fixed limit");
		if (end) return 0;
	}
}

static void verdict(struct session *s, const char *qid, int ok, const char *why)
{
	if (ok) {
		reply(s, "250 2.0.0 Ok: queued as %s", qid);
		s->errors = 0; /* Postfix's limits count errors "without delivering mail" */
		return;
	}
	log_reject(s, qid, "END-OF-MESSAGE", NULL, NULL, why);
	reply_err(s, "%s", why);
}

/* The message in steps, shared by DATA and BDAT (bdat.c): one message at
 * a time per session, so its reader state is this file's. */
static struct data msg;
static int msg_held;

int message_begin(struct session *s, const char *go_ahead)
{
	int went_ahead;
	if (queue_begin(s, go_ahead, &went_ahead) < 0) {
		if (!went_ahead) return -1;
		/* the client was told to send: take the message, then refuse it */
		data_init(&msg, s);
		refuse(&msg, "451 4.3.0 Error: queue file write error");
		return 0;
	}
	if (s->login)
		log_msg("%s: client=%s, sasl_method=%s, sasl_username=%s", s->q.id, client_name(s), s->sasl_method,
		        s->login);
	else
		log_msg("%s: client=%s", s->q.id, client_name(s));
	data_init(&msg, s);
	if (authcheck_begin(s, &msg.ac) < 0) {
		qclient_close(&s->q);
		s->q_open = 0;
		if (!went_ahead) return -1;
		refuse(&msg, "451 4.3.0 Error: queue file write error");
		return 0;
	}
	received(&msg);
	msg_held = s->hold; /* already in the envelope */
	return 0;
}

void message_put(const char *p, size_t n) { put(&msg, p, n); }

void message_refuse(const char *why) { refuse(&msg, why); }

int message_refused(void) { return msg.error != NULL; }

void message_abort(struct session *s)
{
	buf_free(&msg.hdr);
	qclient_close(&s->q);
	s->q_open = 0;
}

void message_end(struct session *s)
{
	struct data *d = &msg;
	char qid[QID_MAX];
	memcpy(qid, s->q.id, sizeof qid);
	if (d->insp.active && !d->error) {
		content_finish(&d->insp.ct);
		if (d->insp.reject[0]) refuse(d, d->insp.reject);
	}
	if (d->fixups && !d->error) {
		d->line_start = d->hdr.len; /* a message that is all header */
		header_done(d);
	}
	buf_free(&d->hdr);
	to_queue(d);
	if (!d->error && !d->qfail && s->discard) {
		/* DISCARD: the client hears "queued", and nothing is */
		qclient_close(&s->q);
		s->q_open = 0;
		log_msg("%s: discarded: %s", qid, s->discard_why);
		verdict(s, qid, 1, NULL);
		transaction_reset(s);
		return;
	}
	if (d->ac.on && !d->error && !d->qfail) {
		int r = authcheck_end(s, &d->ac, qid); /* the results on top, then the spool */
		if (r > 0) refuse(d, d->ac.reply);
		if (r < 0) d->qfail = 1;
	}
	authcheck_free(&d->ac); /* a refused message's spool */
	if (!d->error && !d->qfail && s->hold && !msg_held && qclient_hold(&s->q) < 0) d->qfail = 1;
	if (d->error) { /* a failed queue write (d->qfail) still asks the writer why, below */
		qclient_close(&s->q);
		s->q_open = 0;
		verdict(s, qid, 0, d->error);
	} else {
		char why[512], text[600];
		if (qclient_commit(&s->q, why, sizeof why) == 0) {
			verdict(s, qid, 1, NULL);
		} else {
			if (why[0] == '5')
				snprintf(text, sizeof text, "554 %s", why);
			else if (strncmp(why, "4.3.1", 5) == 0)
				snprintf(text, sizeof text, "452 4.3.1 Insufficient system storage");
			else
				snprintf(text, sizeof text, "451 4.3.0 Error: queue file write error");
			log_msg("%s: queue writer said: %s", qid, why);
			qclient_close(&s->q);
			s->q_open = 0;
			verdict(s, qid, 0, text);
		}
	}
	transaction_reset(s);
}

void cmd_data(struct session *s, char *arg, size_t len)
{
	(void)arg;
	if (len) { reply_err(s, "501 5.5.4 Syntax: DATA"); return; }
	if (!s->in_mail) { reply_err(s, "503 5.5.1 Error: need RCPT command"); return; }
	if (s->bdat) { reply_err(s, "503 5.5.1 Error: DATA after BDAT"); return; } /* RFC 3030 3 */
	if (!s->nrcpt) { reply_err(s, "554 5.5.1 Error: no valid recipients"); return; }
	if (message_begin(s, "354 End data with <CR><LF>.<CR><LF>") < 0) {
		reply(s, "451 4.3.0 Error: queue file write error");
		return;
	}
	int st = read_message(&msg);
	if (st != 0) io_failed(s, st); /* session_end closes yubin-queue: nothing is queued */
	message_end(s);
}
