/* imapparse.c — reading IMAP commands with literals, parsing their tokens
 * and writing strings back in IMAP syntax (see imapparse.h). */
#include "imapparse.h"
#include "buf.h"
#include "io.h"

#include <string.h>
#include <strings.h>

static int reader_status(ssize_t got)
{
	if (got == IO_EOF) return IR_EOF;
	if (got == IO_TIMEOUT) return IR_TIMEOUT;
	return IR_ERR;
}

/* Append one line (without CRLF) to cmd; IR_LONG when it exceeds the
 * per-line limit (the line is consumed, cmd keeps its first part). */
static int read_line(struct imap_reader *rd, struct buf *cmd)
{
	size_t start = cmd->len;
	int overlong = 0;
	for (;;) {
		ssize_t got = rbuf_fill(rd->in);
		if (got <= 0) return reader_status(got);
		char *s = rd->in->buf + rd->in->pos;
		char *nl = memchr(s, '\n', (size_t)got);
		size_t take = nl ? (size_t)(nl - s) : (size_t)got;
		if (!overlong) {
			size_t have = cmd->len - start;
			/* +1: a CR before the LF is not counted */
			if (take > rd->max_line + 1 - have || buf_add(cmd, s, take) < 0) overlong = 1;
		}
		rd->in->pos += take;
		if (nl) {
			rd->in->pos++;
			if (overlong) return IR_LONG;
			if (cmd->len > start && cmd->s[cmd->len - 1] == '\r') cmd->s[--cmd->len] = 0;
			if (cmd->len - start > rd->max_line) return IR_LONG;
			return IR_OK;
		}
	}
}

/* Does the text end in "{n}" or "{n+}"? Returns 1 and fills n, plus. */
static int literal_suffix(const char *s, size_t len, size_t *n, int *plus)
{
	if (len < 3 || s[len - 1] != '}') return 0;
	size_t i = len - 1;
	*plus = 0;
	if (s[i - 1] == '+') { *plus = 1; i--; }
	size_t end = i;
	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9') i--;
	if (i == end || i == 0 || s[i - 1] != '{' || end - i > 10) return 0;
	uint64_t v = 0;
	for (size_t k = i; k < end; k++) v = v * 10 + (uint64_t)(s[k] - '0');
	if (v > UINT32_MAX) v = UINT32_MAX;
	*n = (size_t)v;
	return 1;
}

int imap_read_command(struct imap_reader *rd, struct buf *cmd)
{
	buf_reset(cmd);
	for (;;) {
		int st = read_line(rd, cmd);
		if (st != IR_OK) return st;
		size_t n;
		int plus;
		if (!literal_suffix(cmd->s, cmd->len, &n, &plus)) return IR_OK;
		if (plus && !rd->literal_plus) return IR_OK; /* the parser will reject it */
		size_t total;
		if (n > rd->max_literal || __builtin_add_overflow(cmd->len, n, &total) ||
		    total > rd->max_total) {
			if (plus) {
				/* the client sends the bytes anyway: swallow a
				 * moderate excess, give up on an absurd one */
				if (n > rd->max_literal * 2 + 65536) {
					rd->broken = 1;
					return IR_TOOBIG;
				}
				char junk[4096];
				while (n) {
					ssize_t k = rbuf_read(rd->in, junk, n < sizeof junk ? n : sizeof junk);
					if (k <= 0) return reader_status(k);
					n -= (size_t)k;
				}
				/* and the rest of its line */
				struct buf rest = BUF_INIT;
				rest.max = rd->max_line + 2;
				st = read_line(rd, &rest);
				buf_free(&rest);
				if (st != IR_OK && st != IR_LONG) return st;
			}
			return IR_TOOBIG;
		}
		if (plus) {
			/* keep the command as if it were "{n}" */
			cmd->s[cmd->len - 2] = '}';
			cmd->s[--cmd->len] = 0;
		} else {
			wbuf_puts(rd->out, "+ OK\r\n");
			if (wbuf_flush(rd->out) < 0) return IR_ERR;
		}
		if (buf_add(cmd, "\r\n", 2) < 0 || buf_ready(cmd, n) < 0) return IR_TOOBIG;
		while (n) {
			ssize_t k = rbuf_read(rd->in, cmd->s + cmd->len, n);
			if (k <= 0) return reader_status(k);
			cmd->len += (size_t)k;
			n -= (size_t)k;
		}
		cmd->s[cmd->len] = 0;
	}
}

/* ---- parsing ---- */

void ip_init(struct imap_parser *ps, char *p, size_t len)
{
	ps->p = p;
	ps->len = len;
	ps->pos = 0;
}

int ip_eol(const struct imap_parser *ps) { return ps->pos >= ps->len; }

int ip_peek(const struct imap_parser *ps)
{
	return ps->pos < ps->len ? (unsigned char)ps->p[ps->pos] : -1;
}

int ip_char(struct imap_parser *ps, char c)
{
	if (ps->pos >= ps->len || ps->p[ps->pos] != c) return -1;
	ps->pos++;
	return 0;
}

int ip_sp(struct imap_parser *ps) { return ip_char(ps, ' '); }

int ip_is_atom_char(int c)
{
	if (c <= 0x1f || c >= 0x7f) return 0;
	return !strchr("(){ %*\"\\]", c);
}

int ip_atom(struct imap_parser *ps, const char *extra, char **s, size_t *n)
{
	size_t start = ps->pos;
	while (ps->pos < ps->len) {
		int c = (unsigned char)ps->p[ps->pos];
		if (!ip_is_atom_char(c) && !(extra && c && strchr(extra, c))) break;
		ps->pos++;
	}
	if (ps->pos == start) return -1;
	*s = ps->p + start;
	*n = ps->pos - start;
	return 0;
}

int ip_tag(struct imap_parser *ps, char **s, size_t *n)
{
	size_t start = ps->pos;
	while (ps->pos < ps->len) {
		int c = (unsigned char)ps->p[ps->pos];
		if (c == '+' || !(ip_is_atom_char(c) || c == ']')) break;
		ps->pos++;
	}
	if (ps->pos == start) return -1;
	*s = ps->p + start;
	*n = ps->pos - start;
	return 0;
}

int ip_quoted(struct imap_parser *ps, char **s, size_t *n)
{
	if (ip_char(ps, '"') < 0) return -1;
	size_t w = ps->pos, start = ps->pos;
	while (ps->pos < ps->len) {
		char c = ps->p[ps->pos++];
		if (c == '"') {
			*s = ps->p + start;
			*n = w - start;
			return 0;
		}
		if (c == '\r' || c == '\n' || c == 0) return -1;
		if (c == '\\') {
			if (ps->pos >= ps->len) return -1;
			c = ps->p[ps->pos++];
			if (c != '"' && c != '\\') return -1;
		}
		ps->p[w++] = c; /* unescape in place: w never passes pos */
	}
	return -1;
}

int ip_literal(struct imap_parser *ps, char **s, size_t *n)
{
	if (ip_char(ps, '{') < 0) return -1;
	uint64_t v;
	if (ip_number64(ps, &v) < 0 || ip_char(ps, '}') < 0 ||
	    ip_char(ps, '\r') < 0 || ip_char(ps, '\n') < 0)
		return -1;
	if (v > ps->len - ps->pos) return -1;
	*s = ps->p + ps->pos;
	*n = (size_t)v;
	ps->pos += (size_t)v;
	return 0;
}

int ip_string(struct imap_parser *ps, char **s, size_t *n)
{
	int c = ip_peek(ps);
	if (c == '"') return ip_quoted(ps, s, n);
	if (c == '{') return ip_literal(ps, s, n);
	return -1;
}

int ip_astring(struct imap_parser *ps, char **s, size_t *n)
{
	int c = ip_peek(ps);
	if (c == '"' || c == '{') return ip_string(ps, s, n);
	return ip_atom(ps, "]", s, n);
}

int ip_listmailbox(struct imap_parser *ps, char **s, size_t *n)
{
	int c = ip_peek(ps);
	if (c == '"' || c == '{') return ip_string(ps, s, n);
	return ip_atom(ps, "%*]", s, n);
}

int ip_nstring(struct imap_parser *ps, char **s, size_t *n)
{
	if (ps->len - ps->pos >= 3 && strncasecmp(ps->p + ps->pos, "NIL", 3) == 0 &&
	    (ps->len - ps->pos == 3 || !ip_is_atom_char((unsigned char)ps->p[ps->pos + 3]))) {
		ps->pos += 3;
		*s = NULL;
		*n = 0;
		return 0;
	}
	return ip_string(ps, s, n);
}

int ip_number64(struct imap_parser *ps, uint64_t *v)
{
	size_t start = ps->pos;
	uint64_t x = 0;
	while (ps->pos < ps->len && ps->p[ps->pos] >= '0' && ps->p[ps->pos] <= '9') {
		if (__builtin_mul_overflow(x, 10, &x) ||
		    __builtin_add_overflow(x, (uint64_t)(ps->p[ps->pos] - '0'), &x))
			return -1;
		ps->pos++;
	}
	if (ps->pos == start) return -1;
	*v = x;
	return 0;
}

int ip_number(struct imap_parser *ps, uint32_t *v)
{
	uint64_t x;
	if (ip_number64(ps, &x) < 0 || x > UINT32_MAX) return -1;
	*v = (uint32_t)x;
	return 0;
}

int imap_word_is(const char *s, size_t n, const char *word)
{
	size_t k = strlen(word);
	return n == k && strncasecmp(s, word, k) == 0;
}

/* ---- writing ---- */

int imap_put_string(struct buf *out, const char *s, size_t n)
{
	int quotable = n <= 4096;
	for (size_t i = 0; quotable && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0 || c == '\r' || c == '\n' || c >= 0x80) quotable = 0;
	}
	if (!quotable) {
		if (buf_addc(out, '{') < 0 || buf_addnum(out, n) < 0 || buf_add(out, "}\r\n", 3) < 0)
			return -1;
		return buf_add(out, s, n);
	}
	if (buf_ready(out, n + 2) < 0 || buf_addc(out, '"') < 0) return -1;
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != '"' && s[j] != '\\') j++;
		if (buf_add(out, s + i, j - i) < 0) return -1;
		if (j < n && (buf_addc(out, '\\') < 0 || buf_addc(out, s[j]) < 0)) return -1;
		i = j < n ? j + 1 : j;
	}
	return buf_addc(out, '"');
}

int imap_put_nstring(struct buf *out, const char *s, size_t n)
{
	if (!s) return buf_add(out, "NIL", 3);
	return imap_put_string(out, s, n);
}

int imap_put_astring(struct buf *out, const char *s, size_t n)
{
	int atom = n > 0 && !imap_word_is(s, n, "NIL");
	for (size_t i = 0; atom && i < n; i++)
		if (!ip_is_atom_char((unsigned char)s[i]) && s[i] != ']') atom = 0;
	if (atom) return buf_add(out, s, n);
	return imap_put_string(out, s, n);
}
