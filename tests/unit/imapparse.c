/* imapparse.c — unit tests for src/lib/imapparse.c: reading commands with
 * synchronizing and non-synchronizing literals under limits, the token
 * parser on good and hostile input, and quoting on output. */
#include "tap.h"
#include "buf.h"
#include "imapparse.h"
#include "io.h"

#include <stdlib.h>
#include <unistd.h>

/* feed text through a pipe into an imap_reader; continuations go to a
 * second pipe we read back */
struct rig {
	int in[2], out[2];
	struct rbuf r;
	struct wbuf w;
	struct imap_reader rd;
	struct buf cmd;
};

static void rig_open(struct rig *g, const char *text, size_t n, size_t max_line, size_t max_lit)
{
	if (pipe(g->in) < 0 || pipe(g->out) < 0) exit(1);
	if (write(g->in[1], text, n) != (ssize_t)n) exit(1);
	close(g->in[1]);
	rbuf_init(&g->r, g->in[0], 0);
	wbuf_init(&g->w, g->out[1], 0);
	g->rd = (struct imap_reader){ &g->r, &g->w, max_line, max_lit, max_line * 2 + max_lit, 1, 0 };
	g->cmd = (struct buf)BUF_INIT;
}

static const char *continuations(struct rig *g)
{
	static char b[256];
	close(g->out[1]);
	ssize_t k = read(g->out[0], b, sizeof b - 1);
	b[k > 0 ? k : 0] = 0;
	return b;
}

static void rig_close(struct rig *g)
{
	close(g->in[0]);
	close(g->out[0]);
	buf_free(&g->cmd);
}

int main(void)
{
	struct rig g;
	const char *t1 = "a1 LOGIN {4}\r\nuser {6+}\r\npa\r\nss\r\na2 NOOP\r\n";
	rig_open(&g, t1, strlen(t1), 1000, 1000);
	ok(imap_read_command(&g.rd, &g.cmd) == IR_OK, "a command with two literals");
	ok(g.cmd.len == 30 && memcmp(g.cmd.s, "a1 LOGIN {4}\r\nuser {6}\r\npa\r\nss", 30) == 0,
	   "literals inline, the '+' dropped (%zu)", g.cmd.len);
	ok(imap_read_command(&g.rd, &g.cmd) == IR_OK && g.cmd.len == 7, "the next command");
	ok(imap_read_command(&g.rd, &g.cmd) == IR_EOF, "then EOF");
	const char *c = continuations(&g);
	is_str(c, "+ OK\r\n", "one continuation, for the synchronizing literal only");
	rig_close(&g);

	const char *t2 = "x APPEND INBOX {99999}\r\ny NOOP\r\n";
	rig_open(&g, t2, strlen(t2), 1000, 1000);
	ok(imap_read_command(&g.rd, &g.cmd) == IR_TOOBIG && !g.rd.broken, "a big synchronizing literal is refused");
	ok(imap_read_command(&g.rd, &g.cmd) == IR_OK && g.cmd.len == 6, "and the session reads on");
	c = continuations(&g);
	is_str(c, "", "no continuation was sent");
	rig_close(&g);

	struct buf big = BUF_INIT;
	buf_adds(&big, "x APPEND INBOX {1500+}\r\n");
	for (int i = 0; i < 1500; i++) buf_addc(&big, 'z');
	buf_adds(&big, " more\r\ny NOOP\r\n");
	rig_open(&g, big.s, big.len, 1000, 1000);
	ok(imap_read_command(&g.rd, &g.cmd) == IR_TOOBIG && !g.rd.broken, "a big LITERAL+ is refused and skipped");
	ok(imap_read_command(&g.rd, &g.cmd) == IR_OK && g.cmd.len == 6 && memcmp(g.cmd.s, "y NOOP", 6) == 0,
	   "the next command is intact");
	rig_close(&g);
	buf_free(&big);

	const char *t3 = "x APPEND INBOX {4294967295+}\r\n";
	rig_open(&g, t3, strlen(t3), 1000, 1000);
	ok(imap_read_command(&g.rd, &g.cmd) == IR_TOOBIG && g.rd.broken, "an absurd LITERAL+ breaks the session");
	rig_close(&g);

	struct buf longl = BUF_INIT;
	for (int i = 0; i < 3000; i++) buf_addc(&longl, 'a');
	buf_adds(&longl, "\r\nb NOOP\r\n");
	rig_open(&g, longl.s, longl.len, 1000, 1000);
	ok(imap_read_command(&g.rd, &g.cmd) == IR_LONG, "an overlong line");
	ok(imap_read_command(&g.rd, &g.cmd) == IR_OK && g.cmd.len == 6, "the line after it");
	rig_close(&g);
	buf_free(&longl);

	const char *t4 = "a {5}\r\nab";
	rig_open(&g, t4, strlen(t4), 1000, 1000);
	ok(imap_read_command(&g.rd, &g.cmd) == IR_EOF, "EOF inside a literal");
	rig_close(&g);

	/* the parser */
	char s1[] = "tag UID FETCH 1:*,4 (BODY.PEEK[HEADER] \"q\\\"x\\\\\" {3}\r\nabc NIL nil 42 4294967296)";
	struct imap_parser ps;
	char *a;
	size_t n;
	uint32_t v;
	ip_init(&ps, s1, strlen(s1));
	ok(ip_tag(&ps, &a, &n) == 0 && n == 3 && ip_sp(&ps) == 0, "tag");
	ok(ip_atom(&ps, NULL, &a, &n) == 0 && imap_word_is(a, n, "uid") && ip_sp(&ps) == 0, "atom, case-insensitive word");
	ok(ip_atom(&ps, NULL, &a, &n) == 0 && ip_sp(&ps) == 0, "FETCH");
	ok(ip_atom(&ps, "*", &a, &n) == 0 && n == 5, "sequence set as an atom with '*'");
	ok(ip_sp(&ps) == 0 && ip_char(&ps, '(') == 0, "open paren");
	ok(ip_atom(&ps, NULL, &a, &n) == 0 && n == 16, "BODY.PEEK[HEADER stops at ']' (%zu)", n);
	ok(ip_char(&ps, ']') == 0 && ip_sp(&ps) == 0, "close bracket");
	ok(ip_astring(&ps, &a, &n) == 0 && n == 4 && memcmp(a, "q\"x\\", 4) == 0, "quoted with escapes unescaped in place");
	ok(ip_sp(&ps) == 0 && ip_astring(&ps, &a, &n) == 0 && n == 3 && memcmp(a, "abc", 3) == 0, "literal");
	ok(ip_sp(&ps) == 0 && ip_nstring(&ps, &a, &n) == 0 && a == NULL, "NIL");
	ok(ip_sp(&ps) == 0 && ip_nstring(&ps, &a, &n) == 0 && a == NULL, "nil in lower case");
	ok(ip_sp(&ps) == 0 && ip_number(&ps, &v) == 0 && v == 42, "number");
	ok(ip_sp(&ps) == 0 && ip_number(&ps, &v) < 0, "a number past 32 bits is refused");

	char s2[] = "\"unterminated";
	ip_init(&ps, s2, strlen(s2));
	ok(ip_quoted(&ps, &a, &n) < 0, "unterminated quoted string");
	char s3[] = "{10}\r\nshort";
	ip_init(&ps, s3, strlen(s3));
	ok(ip_literal(&ps, &a, &n) < 0, "literal longer than the command");
	char s4[] = "\"bad \\q escape\"";
	ip_init(&ps, s4, strlen(s4));
	ok(ip_quoted(&ps, &a, &n) < 0, "bad escape");
	char s5[] = "+tag";
	ip_init(&ps, s5, strlen(s5));
	ok(ip_tag(&ps, &a, &n) < 0, "a tag cannot hold '+'");

	/* output */
	struct buf o = BUF_INIT;
	imap_put_string(&o, "a\"b\\c", 5);
	is_str(o.s, "\"a\\\"b\\\\c\"", "quoting escapes");
	buf_reset(&o);
	imap_put_string(&o, "caf\xc3\xa9", 5);
	is_str(o.s, "{5}\r\ncaf\xc3\xa9", "8-bit text goes out as a literal");
	buf_reset(&o);
	imap_put_string(&o, "a\r\nb", 4);
	is_str(o.s, "{4}\r\na\r\nb", "CRLF goes out as a literal");
	buf_reset(&o);
	imap_put_nstring(&o, NULL, 0);
	is_str(o.s, "NIL", "NIL");
	buf_reset(&o);
	imap_put_astring(&o, "Sent", 4);
	is_str(o.s, "Sent", "astring as an atom");
	buf_reset(&o);
	imap_put_astring(&o, "My Folder", 9);
	is_str(o.s, "\"My Folder\"", "astring with a space is quoted");
	buf_reset(&o);
	imap_put_astring(&o, "NIL", 3);
	is_str(o.s, "\"NIL\"", "a folder named NIL is quoted");
	buf_free(&o);
	return done_testing();
}
