/* esmtp.c — unit tests for src/lib/esmtp.c: ESMTP parameters, SIZE,
 * NOTIFY, ORCPT and xtext. */
#include "tap.h"
#include "buf.h"
#include "esmtp.h"

static int dec(const char *s, char *out)
{
	struct buf b = BUF_INIT;
	int r = xtext_decode(s, strlen(s), &b);
	if (r == 0) { memcpy(out, b.s ? b.s : "", b.len); out[b.len] = 0; }
	buf_free(&b);
	return r;
}

int main(void)
{
	struct esmtp_param pa;
	const char *line = " SIZE=1000  BODY=8BITMIME SMTPUTF8";
	size_t pos = 0, n = strlen(line);
	ok(esmtp_param_next(line, n, &pos, &pa) == 1 && esmtp_key_is(&pa, "size") && pa.vlen == 4 &&
	   !memcmp(pa.val, "1000", 4), "first parameter with value");
	ok(esmtp_param_next(line, n, &pos, &pa) == 1 && esmtp_key_is(&pa, "BODY") && pa.vlen == 8,
	   "second parameter after two spaces");
	ok(esmtp_param_next(line, n, &pos, &pa) == 1 && esmtp_key_is(&pa, "SMTPUTF8") && !pa.val,
	   "parameter without value");
	ok(esmtp_param_next(line, n, &pos, &pa) == 0, "end of parameters");
	pos = 0;
	ok(esmtp_param_next("SIZE=", 5, &pos, &pa) < 0, "empty value refused");
	pos = 0;
	ok(esmtp_param_next("=x", 2, &pos, &pa) < 0, "empty keyword refused");
	pos = 0;
	ok(esmtp_param_next("A=b=c", 5, &pos, &pa) < 0, "'=' inside a value refused");
	pos = 0;
	ok(esmtp_param_next("A=b\tc", 5, &pos, &pa) < 0, "control byte inside a value refused");
	pos = 0;
	ok(esmtp_param_next("-X=1", 4, &pos, &pa) < 0, "keyword starting with '-' refused");
	pos = 0;
	ok(esmtp_param_next("X-Y=1", 5, &pos, &pa) == 1 && pa.klen == 3, "keyword with '-'");

	long long v;
	ok(esmtp_size_parse("12345", 5, &v) == 0 && v == 12345, "SIZE value");
	ok(esmtp_size_parse("12a", 3, &v) < 0, "SIZE with letters refused");
	ok(esmtp_size_parse("9999999999999999999", 19, &v) < 0, "SIZE too long refused");
	ok(esmtp_size_parse("", 0, &v) < 0, "SIZE empty refused");

	char nb[64];
	ok(esmtp_notify_parse("never", 5, nb, sizeof nb) == 0 && !strcmp(nb, "NEVER"), "NOTIFY=NEVER");
	ok(esmtp_notify_parse("delay,Success", 13, nb, sizeof nb) == 0 && !strcmp(nb, "SUCCESS,DELAY"),
	   "NOTIFY list canonicalised");
	ok(esmtp_notify_parse("SUCCESS,NEVER", 13, nb, sizeof nb) < 0, "NEVER mixed with others refused");
	ok(esmtp_notify_parse("SUCCESS,SUCCESS", 15, nb, sizeof nb) < 0, "repeated word refused");
	ok(esmtp_notify_parse("SUCCESS,", 8, nb, sizeof nb) < 0, "trailing comma refused");
	ok(esmtp_notify_parse("", 0, nb, sizeof nb) < 0, "empty NOTIFY refused");
	ok(esmtp_notify_parse("SUCCESS,FAILURE,DELAY", 21, nb, 10) < 0, "short output buffer refused");

	char d[256];
	ok(dec("abc+2Bdef", d) == 0 && !strcmp(d, "abc+def"), "xtext +2B decodes to '+'");
	ok(dec("a+3Db", d) == 0 && !strcmp(d, "a=b"), "xtext +3D decodes to '='");
	ok(dec("a+3db", d) < 0, "lower-case hex refused");
	ok(dec("a+3", d) < 0, "truncated escape refused");
	ok(dec("a+", d) < 0, "bare '+' at the end refused");
	ok(dec("a=b", d) < 0, "raw '=' refused");
	ok(dec("a b", d) < 0, "space refused");
	ok(dec("a+0Ab", d) < 0, "escaped LF refused (never reaches a queue record)");
	ok(dec("a+09b", d) < 0, "escaped TAB refused");
	ok(dec("", d) == 0 && !strcmp(d, ""), "empty xtext");

	struct buf b = BUF_INIT;
	ok(xtext_encode("a+b=c d", 7, &b) == 0 && b.len == 13 && !memcmp(b.s, "a+2Bb+3Dc+20d", 13), "xtext encode");
	buf_reset(&b);
	ok(esmtp_orcpt_parse("rfc822;user+2Bx@example.com", 27, &b) == 0 && b.len == 25 &&
	   !memcmp(b.s, "rfc822;user+x@example.com", 25), "ORCPT decoded");
	buf_reset(&b);
	ok(esmtp_orcpt_parse(";x@y", 4, &b) < 0, "ORCPT without type refused");
	buf_reset(&b);
	ok(esmtp_orcpt_parse("rfc822;", 7, &b) < 0, "ORCPT without address refused");
	buf_reset(&b);
	ok(esmtp_orcpt_parse("rfc822", 6, &b) < 0, "ORCPT without ';' refused");
	buf_reset(&b);
	ok(esmtp_orcpt_parse("rf c;x", 6, &b) < 0, "ORCPT with a bad type refused");
	buf_free(&b);
	return done_testing();
}
