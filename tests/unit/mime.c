/* mime.c — unit tests for src/lib/mime.c with ugly messages: deep
 * nesting, missing and unterminated boundaries, broken header lines,
 * hostile address lists and dates. */
#include "tap.h"
#include "buf.h"
#include "mime.h"

#include <stdlib.h>

static struct buf addrs;

static int collect(const struct mime_addr *a, void *arg)
{
	(void)arg;
#define F(p, n) do { if (p) { buf_addc(&addrs, '"'); buf_add(&addrs, p, n); buf_addc(&addrs, '"'); } else buf_adds(&addrs, "NIL"); } while (0)
	buf_addc(&addrs, '(');
	F(a->name, a->name_len);
	buf_addc(&addrs, ' ');
	F(a->route, a->route_len);
	buf_addc(&addrs, ' ');
	F(a->local, a->local_len);
	buf_addc(&addrs, ' ');
	F(a->domain, a->domain_len);
	buf_addc(&addrs, ')');
#undef F
	return 0;
}

static const char *addr_list(const char *v)
{
	struct buf scratch = BUF_INIT;
	buf_reset(&addrs);
	buf_adds(&addrs, "");
	mime_addr_list(v, strlen(v), &scratch, collect, NULL);
	buf_free(&scratch);
	return addrs.s ? addrs.s : "";
}

static int count_kind(const struct mime *m, enum mime_kind k)
{
	int n = 0;
	for (size_t i = 0; i < m->nparts; i++) n += m->parts[i].kind == k;
	return n;
}

int main(void)
{
	struct mime m = { 0 };
	struct buf b = BUF_INIT;

	/* a plain message */
	const char *plain = "Subject: hi\r\nFrom: a@b\r\n\r\nline 1\r\nline 2\r\n";
	ok(mime_parse(&m, plain, strlen(plain)) == 0 && m.nparts == 1, "plain message: one part");
	ok(m.parts[0].hdr_len == 26 && m.parts[0].body_len == 16 && m.parts[0].body_lines == 2, "header and body sizes");

	/* header folding and lookup */
	const char *folded = "Subject: a\r\n  folded\r\n\tline\r\nX: y\r\n\r\n";
	const char *v;
	size_t vn;
	ok(mime_header_get(folded, strlen(folded), "subject", &v, &vn) && mime_unfold(v, vn, &b) == 0, "folded field");
	is_str(b.s, "a  folded\tline", "unfolded value");

	/* broken header lines: no colon, leading continuation, empty name */
	const char *broken = " leading continuation\nno colon here\n: empty\nSubject: ok\n\nbody\n";
	size_t pos = 0;
	struct mime_field f;
	int fields = 0, named = 0;
	size_t hlen = (size_t)(strstr(broken, "\n\n") - broken) + 2;
	while (mime_field_next(broken, hlen, &pos, &f)) { fields++; named += f.name_len > 0; }
	ok(fields == 4 && named == 1, "broken header lines are skipped as unnamed fields (%d, %d)", fields, named);
	ok(mime_header_get(broken, strlen(broken), "Subject", &v, &vn) && vn == 3, "a good field after bad ones");

	/* multipart with a preamble, two parts, an epilogue */
	const char *mp = "Content-Type: multipart/mixed; boundary=\"XX\"\n\npre\n--XX\n\nA\n--XX\nContent-Type: text/html\n\n<b>\n--XX--\nepi\n";
	ok(mime_parse(&m, mp, strlen(mp)) == 0 && m.parts[0].kind == MIME_MULTIPART, "multipart parsed");
	int c1 = m.parts[0].child, c2 = c1 >= 0 ? m.parts[c1].next : -1;
	ok(c1 >= 0 && c2 >= 0 && m.parts[c2].next < 0, "two children");
	ok(c1 >= 0 && m.parts[c1].body_len == 1 && mp[m.parts[c1].body_off] == 'A', "first part's body without the CRLF before the delimiter");
	ok(c2 >= 0 && m.parts[c2].body_len == 3, "second part's body");

	/* boundary never appears: one synthetic text part */
	const char *nob = "Content-Type: multipart/mixed; boundary=zzz\n\njust text\n";
	ok(mime_parse(&m, nob, strlen(nob)) == 0 && m.nparts == 2 && m.parts[1].hdr_len == 0 &&
	   m.parts[1].body_len == 10, "missing boundary: the body becomes one headerless part");
	/* multipart without a boundary parameter */
	const char *noparam = "Content-Type: multipart/mixed\n\ntext\n";
	ok(mime_parse(&m, noparam, strlen(noparam)) == 0 && m.nparts == 2, "multipart without boundary parameter");
	/* unterminated last part */
	const char *unterm = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nonly part, no close\n";
	ok(mime_parse(&m, unterm, strlen(unterm)) == 0 && m.nparts == 2 && m.parts[1].body_len == 20,
	   "no closing delimiter: the last part runs to the end");
	/* boundary-like lines that are not delimiters */
	const char *fake = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bx\n--b \n\n2\n--b--\n";
	ok(mime_parse(&m, fake, strlen(fake)) == 0 && m.nparts == 3, "\"--bx\" is not a delimiter, \"--b \" is");

	/* 200 nested multiparts: depth is limited, nothing overflows */
	struct buf deep = BUF_INIT;
	buf_adds(&deep, "Content-Type: multipart/mixed; boundary=b0\n\n");
	for (int i = 1; i < 200; i++) buf_addf(&deep, "--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", i - 1, i);
	buf_adds(&deep, "--b199\n\ninner\n");
	for (int i = 199; i >= 0; i--) buf_addf(&deep, "--b%d--\n", i);
	ok(mime_parse(&m, deep.s, deep.len) == 0, "200 nested multiparts parse");
	int maxdepth = 0, forced = 0;
	for (size_t i = 0; i < m.nparts; i++) {
		if (m.parts[i].depth > maxdepth) maxdepth = m.parts[i].depth;
		forced += m.parts[i].forced_octet;
	}
	ok(maxdepth <= MIME_MAX_DEPTH && forced == 1, "depth capped at %d (max %d), one part forced to a leaf", MIME_MAX_DEPTH, maxdepth);
	buf_free(&deep);

	/* many parts: the count is capped */
	struct buf wide = BUF_INIT;
	buf_adds(&wide, "Content-Type: multipart/mixed; boundary=w\n\n");
	for (int i = 0; i < MIME_MAX_PARTS + 100; i++) buf_adds(&wide, "--w\n\nx\n");
	buf_adds(&wide, "--w--\n");
	ok(mime_parse(&m, wide.s, wide.len) == 0 && m.nparts <= MIME_MAX_PARTS + 1, "part count capped (%zu)", m.nparts);
	buf_free(&wide);

	/* message/rfc822 inside, and an encoded one that is not parsed */
	const char *msg = "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: message/rfc822\n\n"
	                  "Subject: inner\n\nhello\n--o\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
	                  "U3ViamVjdDogeAoK\n--o--\n";
	ok(mime_parse(&m, msg, strlen(msg)) == 0 && count_kind(&m, MIME_MESSAGE) == 1, "message/rfc822 is parsed");
	int forced_msg = 0;
	for (size_t i = 0; i < m.nparts; i++) forced_msg += m.parts[i].forced_octet;
	ok(forced_msg == 1, "an encoded message/rfc822 stays a leaf");
	/* multipart/digest: parts default to message/rfc822 */
	const char *dig = "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: a\n\nx\n--d--\n";
	ok(mime_parse(&m, dig, strlen(dig)) == 0 && m.nparts == 3 && m.parts[1].digest_default &&
	   m.parts[1].kind == MIME_MESSAGE, "digest parts default to message/rfc822");
	/* empty input */
	ok(mime_parse(&m, "", 0) == 0 && m.nparts == 1 && m.parts[0].body_len == 0, "empty message");

	/* Content-Type and parameters */
	const char *ct = " Text/Plain (comment) ; charset=\"utf-8\"; format=flowed;; junk ; name=\"a \\\"q\\\" b\"";
	const char *t, *sub;
	size_t tn, sn, at;
	ok(mime_ctype(ct, strlen(ct), &t, &tn, &sub, &sn, &at) == 0 && tn == 4 && sn == 5 &&
	   strncmp(t, "Text", 4) == 0 && strncmp(sub, "Plain", 5) == 0, "type/subtype with a comment");
	struct buf attr = BUF_INIT, val = BUF_INIT;
	pos = at;
	int np = 0;
	char got[3][32] = { "", "", "" };
	while (mime_param_next(ct, strlen(ct), &pos, &attr, &val) == 1) {
		if (np < 3) snprintf(got[np], sizeof got[np], "%s=%s", attr.s, val.s ? val.s : "");
		np++;
	}
	ok(np == 3, "three parameters, junk skipped (%d)", np);
	is_str(got[0], "charset=utf-8", "quoted value");
	is_str(got[2], "name=a \"q\" b", "quoted-pair in a value");

	/* addresses */
	is_str(addr_list("Alice <alice@example.test>"), "(\"Alice\" NIL \"alice\" \"example.test\")", "name-addr");
	is_str(addr_list("\"Bob, Jr.\" <bob@x>, carol@y"),
	       "(\"Bob, Jr.\" NIL \"bob\" \"x\")(NIL NIL \"carol\" \"y\")", "quoted comma and a bare address");
	is_str(addr_list("undisclosed-recipients:;"), "(NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)", "empty group");
	/* found by tests/fuzz/addr.c: a group with an empty name before any
	 * scratch text was made NULL + 0 (UB); the name is "" */
	is_str(addr_list(":a@b;"), "(NIL NIL \"\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL)", "group without a name");
	is_str(addr_list("team: a@x, b@y;, c@z"),
	       "(NIL NIL \"team\" NIL)(NIL NIL \"a\" \"x\")(NIL NIL \"b\" \"y\")(NIL NIL NIL NIL)(NIL NIL \"c\" \"z\")", "group with members");
	is_str(addr_list("<@r1,@r2:u@d>"), "(NIL \"@r1,@r2\" \"u\" \"d\")", "source route");
	is_str(addr_list("u@d (Real Name)"), "(NIL NIL \"u\" \"d\")", "comment ignored");
	is_str(addr_list("nodomain"), "(NIL NIL \"nodomain\" \"MISSING_DOMAIN\")", "no domain");
	is_str(addr_list(",,, <>, "), "", "nothing but separators");
	is_str(addr_list("unterminated: a@b"), "(NIL NIL \"unterminated\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL)", "group without ';'");
	is_str(addr_list("\"open quote <a@b>"), "(NIL NIL \"\"open quote <a@b>\" \"MISSING_DOMAIN\")",
	       "an unterminated quote swallows the rest");

	/* dates */
	long long when;
	int zone;
	ok(mime_date("Mon, 2 Jan 2006 15:04:05 -0700", 30, &when, &zone) == 0 && when == 1136239445 && zone == -420, "RFC 5322 date");
	ok(mime_date("2 Jan 06 15:04 GMT", 18, &when, &zone) == 0 && when == 1136214240, "two-digit year, no seconds");
	ok(mime_date("Mon, 2 Jan 2006 15:04:05 EST", 29, &when, &zone) == 0 && zone == -300, "named zone");
	ok(mime_date("yesterday", 9, &when, &zone) < 0, "not a date");
	ok(mime_date("32 Jan 2006 10:00", 17, &when, &zone) < 0, "day out of range");

	buf_free(&attr);
	buf_free(&val);
	buf_free(&b);
	buf_free(&addrs);
	mime_free(&m);
	return done_testing();
}
