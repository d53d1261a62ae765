/* transaction.c — one SMTP mail transaction for a batch: MAIL FROM with
 * SIZE/BODY/RET/ENVID/SMTPUTF8 as the server allows, one RCPT per job
 * (NOTIFY, ORCPT when DSN is offered), DATA, the message with LF -> CRLF
 * and dot-stuffing, and a result for every job. A server that offers
 * CHUNKING gets the message in BDAT chunks instead (RFC 3030: no
 * stuffing; the wire form is made first in a memory file, since each
 * chunk announces its size). With PIPELINING the whole MAIL..DATA group
 * (MAIL..RCPT for BDAT) goes out in one write (RFC 2920); without it each
 * command waits for its reply. A message that needs SMTPUTF8 (a UTF-8
 * address, or UTF-8 in the header of a message received with SMTPUTF8)
 * is not sent to a server without it: it bounces with 5.6.7 (RFC 6531
 * 3.4; no downgrade). Each stage has its own timeout
 * (smtp_mail_timeout, smtp_rcpt_timeout, smtp_data_*_timeout). */
#include "remote.h"
#include "dkimsign.h"
#include "buf.h"
#include "control.h"
#include "esmtp.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK 65536
#define BDAT_CHUNK (1 << 20) /* octets per BDAT; smaller messages go in one "BDAT n LAST" */

enum stage { ST_MAIL, ST_RCPT, ST_DATA, ST_DOT, ST_RSET, ST_BDAT };
static const char *const stage_cmd[] = { "MAIL FROM", "RCPT TO", "DATA", "end of DATA", "RSET", "BDAT" };
static const char *const stage_doing[] = { "sending MAIL FROM", "sending RCPT TO", "sending DATA command",
                                           "sending message body", "sending RSET", "sending message body" };

static int has_8bit(int fd, off_t off)
{
	static char in[CHUNK];
	for (;;) {
		ssize_t n = pread(fd, in, sizeof in, off);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) return 0;
		for (ssize_t i = 0; i < n; i++)
			if (in[i] & 0x80) return 1;
		off += n;
	}
}

static int addr_8bit(const char *s)
{
	for (; *s; s++)
		if (*s & 0x80) return 1;
	return 0;
}

/* 1 when the message header (up to the first empty line) holds 8-bit
 * bytes: RFC 6532 UTF-8 header fields */
static int header_8bit(int fd, off_t off)
{
	static char in[CHUNK];
	int bol = 1;
	for (;;) {
		ssize_t n = pread(fd, in, sizeof in, off);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) return 0;
		for (ssize_t i = 0; i < n; i++) {
			if (in[i] & 0x80) return 1;
			if (in[i] == '\n') {
				if (bol) return 0;
				bol = 1;
			} else {
				bol = 0;
			}
		}
		off += n;
	}
}

/* results for every job that has none yet */
static void rest(struct batch *b, char code, const char *status, const char *text, int only_accepted)
{
	for (size_t i = 0; i < b->n; i++) {
		struct job *j = &b->job[i];
		if (j->code || (only_accepted && !j->accepted)) continue;
		job_result(j, code, status, "%s", text);
	}
}

static void said(struct conn *c, struct batch *b, struct job *j, const struct reply *rp, enum stage s)
{
	char st[8], text[DELIVER_TEXT_MAX + 1];
	reply_status(rp, st);
	textf(text, sizeof text, "host %s[%s] said: %s (in reply to %s command)", c->host, c->ip, rp->text,
	         stage_cmd[s]);
	char code = rp->code / 100 == 5 ? 'D' : 'Z';
	if (st[0] != (code == 'D' ? '5' : '4')) { st[0] = code == 'D' ? '5' : '4'; }
	if (j) job_result(j, code, st, "%s", text);
	else rest(b, code, st, text, s == ST_DOT || s == ST_DATA || s == ST_BDAT);
	if (rp->code == 421) c->broken = 1;
}

static void lost(struct conn *c, struct batch *b, const struct reply *rp, enum stage s)
{
	char text[DELIVER_TEXT_MAX + 1];
	if (rp && rp->io == IO_TIMEOUT)
		textf(text, sizeof text, "conversation with %s[%s] timed out while %s", c->host, c->ip, stage_doing[s]);
	else if (rp && rp->io != IO_EOF && rp->io != IO_OK)
		textf(text, sizeof text, "malformed reply from %s[%s] while %s", c->host, c->ip, stage_doing[s]);
	else
		textf(text, sizeof text, "lost connection with %s[%s] while %s", c->host, c->ip, stage_doing[s]);
	rest(b, 'Z', "4.4.2", text, 0);
	c->broken = 1;
}

static int add_mail(struct buf *cmd, const struct conn *c, const struct qenv *e, long long size, int eight)
{
	int r = buf_adds(cmd, "MAIL FROM:<") | buf_adds(cmd, generic_addr(e->sender ? e->sender : "")) | buf_adds(cmd, ">");
	if (c->caps.size) r |= buf_addf(cmd, " SIZE=%lld", size);
	if (eight && c->caps.eightbit) r |= buf_adds(cmd, " BODY=8BITMIME");
	if (c->caps.dsn && e->ret && *e->ret) r |= buf_adds(cmd, " RET=") | buf_adds(cmd, e->ret);
	if (c->caps.dsn && e->envid && *e->envid)
		r |= buf_adds(cmd, " ENVID=") | xtext_encode(e->envid, strlen(e->envid), cmd);
	return r | buf_adds(cmd, "\r\n");
}

static int add_rcpt(struct buf *cmd, const struct conn *c, const struct qrcpt *q)
{
	int r = buf_adds(cmd, "RCPT TO:<") | buf_adds(cmd, generic_addr(q->addr)) | buf_adds(cmd, ">");
	if (c->caps.dsn && q->notify && *q->notify) r |= buf_adds(cmd, " NOTIFY=") | buf_adds(cmd, q->notify);
	if (c->caps.dsn && q->orcpt && *q->orcpt) {
		const char *semi = strchr(q->orcpt, ';');
		if (semi && semi > q->orcpt) {
			r |= buf_adds(cmd, " ORCPT=") | buf_add(cmd, q->orcpt, (size_t)(semi + 1 - q->orcpt));
			r |= xtext_encode(semi + 1, strlen(semi + 1), cmd);
		}
	}
	return r | buf_adds(cmd, "\r\n");
}

/* The message from the queue file in its wire form into w: LF -> CRLF;
 * for DATA (stuff) a leading dot doubled and the final "." line. 0, -1
 * write error, -2 read error. */
static int wire_body(struct wbuf *w, int fd, off_t off, int stuff)
{
	static char in[CHUNK];
	int bol = 1;
	int g = generic_headers(w, fd, &off); /* smtp_generic_maps */
	if (g < 0) return g;
	for (;;) {
		ssize_t n = pread(fd, in, sizeof in, off);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) return -2;
		if (n == 0) break;
		off += n;
		size_t i = 0, len = (size_t)n;
		while (i < len) {
			if (stuff && bol && in[i] == '.' && wbuf_put(w, ".", 1) < 0) return -1;
			char *nl = memchr(in + i, '\n', len - i);
			size_t span = nl ? (size_t)(nl - (in + i)) : len - i;
			if (span && wbuf_put(w, in + i, span) < 0) return -1;
			i += span;
			if (nl) {
				if (wbuf_put(w, "\r\n", 2) < 0) return -1;
				i++;
				bol = 1;
			} else {
				bol = 0;
			}
		}
	}
	if (!bol && wbuf_put(w, "\r\n", 2) < 0) return -1;
	if (stuff && wbuf_put(w, ".\r\n", 3) < 0) return -1;
	return wbuf_flush(w) < 0 ? -1 : 0;
}

/* The DATA form of the message to the server (DKIM signature first) */
static int send_body(struct conn *c, const struct qenv *e, int fd, const char *qid)
{
	c->w.timeout_ms = (int)timeout_of("smtp_data_xfer_timeout") * 1000;
	int s = dkim_outgoing(&c->w, e, fd, qid); /* dkimsign.c */
	return s ? s : wire_body(&c->w, fd, e->msg_off, 1);
}

/* The wire form without stuffing into a memory file, for BDAT: its fd
 * (the size at *size), or -1 with the reason logged */
static int bdat_copy(const struct qenv *e, int fd, const char *qid, off_t *size)
{
	static struct wbuf tw;
	struct stat st;
	int m = memfd_create("yubin-bdat", MFD_CLOEXEC);
	if (m < 0) {
		log_sys("%s: warning: cannot make a memory file for BDAT", qid);
		return -1;
	}
	wbuf_init(&tw, m, 0);
	int s = dkim_outgoing(&tw, e, fd, qid);
	if (s == 0) s = wire_body(&tw, fd, e->msg_off, 0);
	if (s < 0 || fstat(m, &st) < 0) {
		log_sys("%s: warning: cannot %s for BDAT", qid, s == -2 ? "read the queue file" : "write the memory file");
		close(m);
		return -1;
	}
	*size = st.st_size;
	return m;
}

static void rset(struct conn *c);

/* BDAT: the message in chunks of at most BDAT_CHUNK octets, the last one
 * marked LAST; each chunk waits for its reply, so a refused one stops the
 * rest. Results for the accepted jobs. */
static void send_bdat(struct conn *c, struct batch *b, const struct qenv *e, int fd, int t_done)
{
	static char in[CHUNK];
	struct reply rp;
	off_t total, off = 0;
	int m = bdat_copy(e, fd, b->qid, &total);
	if (m < 0) {
		rest(b, 'Z', "4.3.0", "cannot prepare the message for BDAT", 0);
		rset(c); /* nothing of the message was sent */
		return;
	}
	c->w.timeout_ms = (int)timeout_of("smtp_data_xfer_timeout") * 1000;
	do {
		off_t k = total - off < BDAT_CHUNK ? total - off : BDAT_CHUNK;
		int last = off + k == total;
		char line[64];
		int n = snprintf(line, sizeof line, "BDAT %lld%s\r\n", (long long)k, last ? " LAST" : "");
		if (cmd_send(c, line, (size_t)n) < 0) goto lost;
		for (off_t end = off + k; off < end;) {
			size_t want = end - off < (off_t)sizeof in ? (size_t)(end - off) : sizeof in;
			ssize_t r = pread(m, in, want, off);
			if (r < 0 && errno == EINTR) continue;
			if (r <= 0) {
				/* our own copy failed: the server must not keep a partial message */
				c->broken = 1;
				rest(b, 'Z', "4.3.0", "cannot read the memory file for BDAT", 0);
				close(m);
				return;
			}
			if (wbuf_put(&c->w, in, (size_t)r) < 0) goto lost;
			off += r;
		}
		if (wbuf_flush(&c->w) < 0) goto lost;
		if (reply_read(c, t_done, &rp) < 0) { lost(c, b, &rp, ST_BDAT); close(m); return; }
		if (rp.code / 100 != 2) {
			said(c, b, NULL, &rp, ST_BDAT);
			if (!last) rset(c); /* the transaction failed; RFC 3030 2 */
			close(m);
			return;
		}
	} while (off < total);
	char stc[8];
	reply_status(&rp, stc);
	rest(b, 'K', stc, rp.text, 1);
	close(m);
	return;
lost:
	c->broken = 1;
	lost(c, b, NULL, ST_BDAT);
	close(m);
}

static void rset(struct conn *c)
{
	struct reply rp;
	if (c->broken) return;
	c->w.timeout_ms = 20000;
	if (cmd_send(c, "RSET\r\n", 6) < 0 || wbuf_flush(&c->w) < 0 || reply_read(c, 20, &rp) < 0 || rp.code != 250)
		c->broken = 1;
}

static int flush_cmds(struct conn *c, struct buf *cmd, int timeout_s)
{
	c->w.timeout_ms = timeout_s * 1000;
	int r = cmd_send(c, cmd->s, cmd->len) < 0 || wbuf_flush(&c->w) < 0 ? -1 : 0;
	buf_reset(cmd);
	if (r < 0) c->broken = 1;
	return r;
}

int transaction(struct conn *c, struct batch *b, const struct qenv *e, int fd, int reused)
{
	struct stat st;
	struct buf cmd = BUF_INIT;
	struct reply rp;
	int pipe = c->caps.pipelining, got_reply = 0, ret = 0;
	int t_mail = (int)timeout_of("smtp_mail_timeout"), t_rcpt = (int)timeout_of("smtp_rcpt_timeout");
	int t_data = (int)timeout_of("smtp_data_init_timeout"), t_done = (int)timeout_of("smtp_data_done_timeout");

	textf(b->relay, sizeof b->relay, "%s[%s]:%u", c->host, c->ip, c->port);
	if (fstat(fd, &st) < 0) { batch_fail(b, 'Z', "4.3.0", "cannot stat the queue file"); return 0; }
	long long size = (long long)st.st_size - (long long)e->msg_off;
	if (size < 0) size = 0;
	int eight = e->body && *e->body ? strcasecmp(e->body, "8BITMIME") == 0 : has_8bit(fd, e->msg_off);
	if (c->caps.size && size > c->caps.size) {
		batch_fail(b, 'D', "5.3.4", "message size %lld exceeds size limit %lld of server %s[%s]", size,
		           c->caps.size, c->host, c->ip);
		return 0;
	}
	if (eight && !c->caps.eightbit)
		log_msg("%s: 8-bit message sent as is to %s[%s], which does not offer 8BITMIME", b->qid, c->host, c->ip);
	int utf8 = addr_8bit(e->sender ? e->sender : "");
	for (size_t i = 0; i < b->n; i++) utf8 |= addr_8bit(e->rcpt[b->job[i].index].addr);
	if (!c->caps.smtputf8 && (utf8 || (e->smtputf8 && header_8bit(fd, e->msg_off)))) {
		batch_fail(b, 'D', "5.6.7", "553 5.6.7 SMTPUTF8 not supported by remote server %s[%s]", c->host, c->ip);
		return 0;
	}
	utf8 |= e->smtputf8; /* received with SMTPUTF8: asked for again (RFC 6531 3.4) */
	int bdat = c->caps.chunking;

	c->uses++;
	b->conn_use = c->uses;
	for (size_t i = 0; i < b->n; i++) b->job[i].accepted = 0;

	/* MAIL FROM */
	if (add_mail(&cmd, c, e, size, eight) < 0) goto nomem;
	if (utf8 && c->caps.smtputf8) { cmd.len -= 2; if (buf_adds(&cmd, " SMTPUTF8\r\n") < 0) goto nomem; }
	if (!pipe && flush_cmds(c, &cmd, t_mail) < 0) goto stale;
	size_t rcpt_from = 0;
	if (pipe) {
		for (size_t i = 0; i < b->n; i++)
			if (add_rcpt(&cmd, c, &e->rcpt[b->job[i].index]) < 0) goto nomem;
		if (!bdat && buf_adds(&cmd, "DATA\r\n") < 0) goto nomem;
		if (flush_cmds(c, &cmd, t_mail) < 0) goto stale;
	}
	if (reply_read(c, t_mail, &rp) < 0) goto stale;
	if (reused && rp.code == 421) { c->broken = 1; goto stale_quiet; }
	got_reply = 1;
	int mail_ok = rp.code / 100 == 2;
	if (!mail_ok) said(c, b, NULL, &rp, ST_MAIL);

	/* RCPT TO */
	size_t accepted = 0;
	for (size_t i = rcpt_from; i < b->n && !c->broken; i++) {
		struct job *j = &b->job[i];
		if (!pipe) {
			if (!mail_ok) break;
			if (add_rcpt(&cmd, c, &e->rcpt[j->index]) < 0) goto nomem;
			if (flush_cmds(c, &cmd, t_rcpt) < 0) { lost(c, b, NULL, ST_RCPT); goto out; }
		}
		if (reply_read(c, t_rcpt, &rp) < 0) { lost(c, b, &rp, ST_RCPT); goto out; }
		if (!mail_ok) continue;
		if (rp.code / 100 == 2) { j->accepted = 1; accepted++; }
		else said(c, b, j, &rp, ST_RCPT);
	}
	if (c->broken) { lost(c, b, NULL, ST_RCPT); goto out; }

	if (bdat && accepted) {
		send_bdat(c, b, e, fd, t_done);
		goto out;
	}
	if (bdat) goto none;

	/* DATA */
	if (!pipe && accepted) {
		if (buf_adds(&cmd, "DATA\r\n") < 0) goto nomem;
		if (flush_cmds(c, &cmd, t_data) < 0) { lost(c, b, NULL, ST_DATA); goto out; }
	}
	if (pipe || accepted) {
		if (reply_read(c, t_data, &rp) < 0) { lost(c, b, &rp, ST_DATA); goto out; }
		if (rp.code == 354 && !accepted) {
			/* a server that says 354 with no recipient: end it empty */
			c->w.timeout_ms = t_data * 1000;
			if (cmd_send(c, ".\r\n", 3) < 0 || wbuf_flush(&c->w) < 0 || reply_read(c, t_done, &rp) < 0)
				c->broken = 1;
		} else if (rp.code != 354 && accepted) {
			said(c, b, NULL, &rp, ST_DATA);
		} else if (rp.code == 354) {
			int s = send_body(c, e, fd, b->qid);
			if (s == -2) {
				/* our own read failed: the server must not keep a partial message */
				c->broken = 1;
				rest(b, 'Z', "4.3.0", "cannot read the queue file", 0);
				goto out;
			}
			if (s < 0) { c->broken = 1; lost(c, b, NULL, ST_DOT); goto out; }
			if (reply_read(c, t_done, &rp) < 0) { lost(c, b, &rp, ST_DOT); goto out; }
			if (rp.code / 100 == 2) {
				char stc[8];
				reply_status(&rp, stc);
				rest(b, 'K', stc, rp.text, 1);
			} else {
				said(c, b, NULL, &rp, ST_DOT);
			}
			goto out;
		}
	}
none:
	/* nothing was sent: leave the connection clean for the next one */
	rset(c);
	goto out;

nomem:
	rest(b, 'Z', "4.3.0", "out of memory", 0);
	c->broken = 1;
	goto out;
stale:
	if (!reused || got_reply) { lost(c, b, &rp, ST_MAIL); goto out; }
stale_quiet:
	/* a cached connection the server already closed: try a fresh one */
	c->broken = 1;
	ret = 1;
out:
	buf_free(&cmd);
	return ret;
}
