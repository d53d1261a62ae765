/* commands.c — the TRANSACTION state (RFC 1939, RFC 2449 CAPA) and the
 * UPDATE state that QUIT enters. Messages are numbered from 1 in the order
 * mbox_scan sorted them; DELE only marks, RSET unmarks, and nothing is
 * removed unless the client says QUIT. */
#include "pop3.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* a message number: digits only, 1..n, not deleted; else -ERR sent */
static int msgno(struct session *s, const char *arg, size_t n, size_t *idx)
{
	unsigned long long v = 0;
	if (n == 0 || n > 19) { reply(s, "-ERR Invalid message number."); return -1; }
	for (size_t i = 0; i < n; i++) {
		if (arg[i] < '0' || arg[i] > '9') { reply(s, "-ERR Invalid message number."); return -1; }
		v = v * 10 + (unsigned)(arg[i] - '0');
	}
	if (v == 0 || v > s->box.n) { reply(s, "-ERR There's no message with that number."); return -1; }
	if (s->box.m[v - 1].deleted) { reply(s, "-ERR Message is deleted."); return -1; }
	*idx = (size_t)(v - 1);
	return 0;
}

static void c_stat(struct session *s, const char *arg, size_t n)
{
	(void)arg; (void)n;
	replyf(s, "+OK %zu %llu", s->box.n - s->box.ndel, s->box.total - s->box.delsize);
}

static void c_list(struct session *s, const char *arg, size_t n)
{
	size_t i;
	if (n) {
		if (msgno(s, arg, n, &i) == 0) replyf(s, "+OK %zu %llu", i + 1, s->box.m[i].size);
		return;
	}
	replyf(s, "+OK %zu messages:", s->box.n - s->box.ndel);
	for (i = 0; i < s->box.n; i++)
		if (!s->box.m[i].deleted) replyf(s, "%zu %llu", i + 1, s->box.m[i].size);
	reply(s, ".");
}

static void c_uidl(struct session *s, const char *arg, size_t n)
{
	char uidl[POP3_UIDL_MAX + 1];
	size_t i;
	if (n) {
		if (msgno(s, arg, n, &i) < 0) return;
		msg_uidl(&s->box, i, uidl, sizeof uidl);
		replyf(s, "+OK %zu %s", i + 1, uidl);
		return;
	}
	reply(s, "+OK");
	for (i = 0; i < s->box.n; i++) {
		if (s->box.m[i].deleted) continue;
		msg_uidl(&s->box, i, uidl, sizeof uidl);
		replyf(s, "%zu %s", i + 1, uidl);
	}
	reply(s, ".");
}

/* RETR n, or TOP n lines */
static void retrieve(struct session *s, size_t i, long long lines)
{
	send_message(s, i, lines);
	if (lines < 0) { s->retr_n++; s->retr_bytes += s->box.m[i].size; }
	else { s->top_n++; s->top_bytes += s->box.m[i].size; }
}

static void c_retr(struct session *s, const char *arg, size_t n)
{
	size_t i;
	if (msgno(s, arg, n, &i) == 0) retrieve(s, i, -1);
}

static void c_top(struct session *s, const char *arg, size_t n)
{
	const char *sp = memchr(arg, ' ', n);
	size_t i;
	if (!sp) { reply(s, "-ERR TOP needs a message number and a line count."); return; }
	if (msgno(s, arg, (size_t)(sp - arg), &i) < 0) return;
	const char *l = sp + 1;
	size_t ln = n - (size_t)(l - arg);
	long long lines = 0;
	if (ln == 0 || ln > 18) { reply(s, "-ERR Invalid line count."); return; }
	for (size_t k = 0; k < ln; k++) {
		if (l[k] < '0' || l[k] > '9') { reply(s, "-ERR Invalid line count."); return; }
		lines = lines * 10 + (l[k] - '0');
	}
	retrieve(s, i, lines);
}

static void c_dele(struct session *s, const char *arg, size_t n)
{
	size_t i;
	if (msgno(s, arg, n, &i) < 0) return;
	s->box.m[i].deleted = 1;
	s->box.ndel++;
	s->box.delsize += s->box.m[i].size;
	reply(s, "+OK Marked to be deleted.");
}

static void c_rset(struct session *s, const char *arg, size_t n)
{
	(void)arg; (void)n;
	for (size_t i = 0; i < s->box.n; i++) s->box.m[i].deleted = 0;
	s->box.ndel = 0;
	s->box.delsize = 0;
	replyf(s, "+OK %zu messages.", s->box.n);
}

static void c_noop(struct session *s, const char *arg, size_t n)
{
	(void)arg; (void)n;
	reply(s, "+OK");
}

static void c_capa(struct session *s, const char *arg, size_t n)
{
	(void)arg; (void)n;
	reply(s, "+OK Capability list follows");
	reply(s, "TOP");
	reply(s, "UIDL");
	reply(s, "RESP-CODES");
	reply(s, "PIPELINING");
	reply(s, "AUTH-RESP-CODE");
	reply(s, ".");
}

/* UPDATE (RFC 1939 section 6) */
static void c_quit(struct session *s, const char *arg, size_t n)
{
	(void)arg; (void)n;
	size_t failed = mbox_expunge(&s->box);
	if (failed) reply(s, "-ERR [SYS/TEMP] Some deleted messages were not removed.");
	else reply(s, "+OK Logging out.");
	session_end(s, NULL);
}

static const struct command {
	const char *verb;
	void (*fn)(struct session *, const char *, size_t);
} commands[] = {
	{ "RETR", c_retr }, { "LIST", c_list }, { "STAT", c_stat }, { "UIDL", c_uidl },
	{ "TOP", c_top }, { "DELE", c_dele }, { "RSET", c_rset }, { "NOOP", c_noop },
	{ "QUIT", c_quit }, { "CAPA", c_capa },
};

static void error(struct session *s, const char *msg)
{
	if (++s->errors >= POP3_MAX_ERRORS) {
		reply(s, "-ERR Too many bad commands.");
		session_end(s, "too many bad commands");
	}
	reply(s, msg);
}

void commands_loop(struct session *s)
{
	static char line[POP3_LINE_MAX];
	for (;;) {
		size_t len;
		reply_flush(s);
		if (s->out.len >= POP3_OUT_FLUSH) reply_write(s);
		int r = rbuf_getline(&s->in, line, sizeof line, &len, NULL);
		if (r == IO_TIMEOUT || (r == IO_ERR && s->sock_timeouts && (errno == EAGAIN || errno == EWOULDBLOCK))) {
			reply(s, "-ERR Disconnected for inactivity.");
			session_end(s, "timeout");
		}
		if (r == IO_LONG) { error(s, "-ERR Line too long."); continue; }
		if (r != IO_OK) session_end(s, "disconnected");
		const char *sp = memchr(line, ' ', len);
		size_t vlen = sp ? (size_t)(sp - line) : len;
		const char *arg = sp ? sp + 1 : line + len;
		size_t alen = sp ? len - vlen - 1 : 0;
		size_t i;
		for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
			if (strlen(commands[i].verb) == vlen && strncasecmp(commands[i].verb, line, vlen) == 0)
				break;
		if (i < sizeof commands / sizeof commands[0])
			commands[i].fn(s, arg, alen);
		else
			error(s, "-ERR Unknown command.");
	}
}
