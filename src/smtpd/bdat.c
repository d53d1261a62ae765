/* bdat.c — BDAT (RFC 3030 CHUNKING): the message in chunks of announced
 * size, through the same accounting and checks as DATA (data.c's
 * message_* steps). A chunk is exactly its size in octets: nothing is
 * unstuffed and no byte ends it, so nothing inside it can be smuggled.
 * Line ends are stored as in DATA, LF only: CRLF, and also a bare CR or
 * a bare LF, become one LF (the queue never holds a CR, so no later hop
 * sees a bare CR from us), and a message whose last line has no end gets
 * one. Every chunk whose size can be read is read, even when the command
 * is refused (no transaction, bad keyword, a failed message), so the
 * session stays in step and pipelined chunks after a failure are
 * skipped, each with its own reply. A size that cannot be read (not
 * digits, or beyond 2^63-1) leaves no way to find the next command: 421
 * and the session ends. A chunk beyond message_size_limit is read and
 * dropped (552 5.3.4), as DATA reads an oversized message to its end. */
#include "smtpd.h"
#include "esmtp.h"
#include "control.h"
#include "log.h"

#include <stdio.h>

static int pending_cr;              /* the previous chunk ended in CR */
static int at_bol = 1;              /* the message so far ends with a line end */
static unsigned long long octets;   /* of the open message, all chunks */

/* chunk bytes into the message, line ends made LF */
static void convert(const char *p, size_t n)
{
	size_t i = 0;
	if (n && pending_cr) {
		message_put("\n", 1);
		at_bol = 1;
		pending_cr = 0;
		if (p[0] == '\n') i = 1;
	}
	while (i < n) {
		size_t j = i;
		while (j < n && p[j] != '\r') j++;
		if (j > i) {
			message_put(p + i, j - i); /* a bare LF is already an LF */
			at_bol = p[j - 1] == '\n';
		}
		if (j == n) break;
		if (j + 1 == n) { pending_cr = 1; break; }
		message_put("\n", 1);
		at_bol = 1;
		i = p[j + 1] == '\n' ? j + 2 : j + 1;
	}
}

/* Read the chunk's size octets from the client: into the message when
 * keep is set, else dropped. Ends the session when the client goes. */
static void read_chunk(struct session *s, unsigned long long size, int keep)
{
	struct rbuf *r = s->in;
	while (size) {
		if (rbuf_pending(r) == 0) {
			if (wbuf_flush(s->out) < 0) io_failed(s, IO_ERR);
			ssize_t k = rbuf_fill(r);
			if (k <= 0) io_failed(s, k ? (int)k : IO_EOF); /* session_end: nothing is queued */
		}
		size_t avail = rbuf_pending(r);
		size_t k = (unsigned long long)avail < size ? avail : (size_t)size;
		if (keep && !message_refused()) convert(r->buf + r->pos, k);
		r->pos += k;
		size -= k;
	}
}

void bdat_reset(struct session *s)
{
	if (s->bdat) message_abort(s);
	s->bdat = 0;
}

void cmd_bdat(struct session *s, char *arg, size_t len)
{
	unsigned long long size;
	int last;
	int r = esmtp_bdat_parse(arg, len, &size, &last);
	if (r == -1) {
		log_msg("BDAT without a readable chunk size from %s: %.40s", client_name(s), arg);
		reply(s, "421 4.5.4 %s Error: BDAT chunk size unreadable, closing connection", control_get("myhostname"));
		session_end(s, 0);
	}
	const char *why = NULL;
	if (r == -2)
		why = "501 5.5.4 Syntax: BDAT chunk-size [LAST]";
	else if (!s->in_mail)
		why = "503 5.5.1 Error: need MAIL command";
	else if (!s->nrcpt)
		why = "554 5.5.1 Error: no valid recipients";
	if (!why && !s->bdat) {
		if (message_begin(s, NULL) < 0) {
			why = "451 4.3.0 Error: queue file write error";
		} else {
			s->bdat = 1;
			pending_cr = 0;
			at_bol = 1;
			octets = 0;
		}
	}
	if (why) {
		/* the chunk is read and dropped; when that leaves a hole in the
		 * message, the transaction has failed (RFC 3030 2) */
		read_chunk(s, size, 0);
		reply_err(s, "%s", why);
		if (r == -2 || why[0] == '4') transaction_reset(s);
		return;
	}
	if (__builtin_add_overflow(octets, size, &octets) ||
	    (s->size_limit > 0 && octets > (unsigned long long)s->size_limit))
		message_refuse("552 5.3.4 Message size exceeds fixed limit");
	read_chunk(s, size, 1);
	if (!last && !message_refused()) {
		reply(s, "250 2.0.0 %llu octets received", size);
		return;
	}
	/* the message is complete, or refused: the verdict, and the transaction ends */
	if (pending_cr || !at_bol) message_put("\n", 1);
	pending_cr = 0;
	s->bdat = 0; /* before message_end resets the transaction: the message is not to be aborted */
	message_end(s);
}
