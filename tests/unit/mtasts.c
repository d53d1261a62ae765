/* mtasts.c — unit tests for the MTA-STS parsers (src/lib/mtasts.c): the
 * TXT record, the policy file (good ones, garbage, overlong lines, NULs,
 * truncation, bad max_age), MX pattern matching, the HTTP response
 * (Content-Length, chunked, close-delimited, redirects, wrong type,
 * oversize) and the cache file round trip. */
#include "tap.h"
#include "mtasts.h"

#include <stdlib.h>

#define S(lit) lit, sizeof lit - 1

static struct sts_policy p;
static char why[200];
static char body[STS_BODY_MAX];

static int policy(const char *s, size_t n) { return sts_policy_parse(s, n, &p, why, sizeof why); }

static int http(const char *s, size_t n, int eof, size_t *blen)
{
	return sts_http_parse(s, n, eof, body, sizeof body, blen, why, sizeof why);
}

static void txt_tests(void)
{
	char id[STS_ID_MAX];
	ok(sts_txt_parse(S("v=STSv1; id=20160831085700Z;"), id, sizeof id) == 0 && strcmp(id, "20160831085700Z") == 0,
	   "TXT: the RFC example");
	ok(sts_txt_parse(S("v=STSv1;id=abc"), id, sizeof id) == 0 && strcmp(id, "abc") == 0, "TXT: no spaces, no final ;");
	ok(sts_txt_parse(S("v=STSv1; foo=bar; id=x1 ; id=x2"), id, sizeof id) == 0 && strcmp(id, "x1") == 0,
	   "TXT: extensions ignored, first id counts");
	ok(sts_txt_parse(S("v=spf1 -all"), id, sizeof id) == 1, "TXT: another record is not ours");
	ok(sts_txt_parse(S("v=STSv10; id=1"), id, sizeof id) == 1, "TXT: another version is not ours");
	ok(sts_txt_parse(S("v=STSv1"), id, sizeof id) == -1, "TXT: no id");
	ok(sts_txt_parse(S("v=STSv1; id="), id, sizeof id) == -1, "TXT: empty id");
	ok(sts_txt_parse(S("v=STSv1; id=abc-def"), id, sizeof id) == -1, "TXT: id with a hyphen");
	ok(sts_txt_parse(S("v=STSv1; id=123456789012345678901234567890123"), id, sizeof id) == -1, "TXT: 33-char id");
	ok(sts_txt_parse(S("v=STSv1; id=12345678901234567890123456789012"), id, sizeof id) == 0, "TXT: 32-char id");
	ok(sts_txt_parse(S("v=STSv1; id=a\0b"), id, sizeof id) == -1, "TXT: NUL inside");
	ok(sts_txt_parse(S("v=STSv1 id=abc"), id, sizeof id) == -1, "TXT: missing separator");
	ok(sts_txt_parse(S("v=STSv1; =x; id=a"), id, sizeof id) == -1, "TXT: nameless field");
}

static void policy_tests(void)
{
	ok(policy(S("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmx: backupmx.example.com\n"
	            "max_age: 604800\n")) == 0 && p.mode == STS_ENFORCE && p.nmx == 3 && p.max_age == 604800 &&
	   strcmp(p.mx[1], "*.example.net") == 0, "policy: the RFC example");
	ok(policy(S("version: STSv1\r\nmode: testing\r\nmx: MX.Example.COM\r\nmax_age: 86400")) == 0 &&
	   p.mode == STS_TESTING && strcmp(p.mx[0], "mx.example.com") == 0, "policy: CRLF, no final newline, case folded");
	ok(policy(S("version: STSv1\nmode: none\nmax_age: 0\n")) == 0 && p.mode == STS_NONE && p.nmx == 0,
	   "policy: mode none needs no mx");
	ok(policy(S("version:STSv1\nmode:\tenforce  \nmx: a.test\nmax_age: 1\nfoo_bar: anything at all\n")) == 0,
	   "policy: no space after colon, trailing blanks, extension ignored");
	ok(policy(S("version: STSv1\nmode: enforce\nmx: a.test\n")) < 0 && strstr(why, "max_age"), "policy: no max_age");
	ok(policy(S("mode: enforce\nmx: a.test\nmax_age: 5\n")) < 0 && strstr(why, "version"), "policy: no version");
	ok(policy(S("version: STSv1\nmode: enforce\nmax_age: 5\n")) < 0 && strstr(why, "mx"), "policy: enforce without mx");
	ok(policy(S("version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 5\n")) < 0, "policy: version STSv2");
	ok(policy(S("version: STSv1\nmode: strict\nmx: a.test\nmax_age: 5\n")) < 0, "policy: unknown mode");
	ok(policy(S("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 31557601\n")) < 0, "policy: max_age above a year");
	ok(policy(S("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 31557600\n")) == 0, "policy: max_age one year");
	ok(policy(S("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n")) < 0, "policy: negative max_age");
	ok(policy(S("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 12345678901\n")) < 0, "policy: 11-digit max_age");
	ok(policy(S("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 1d\n")) < 0, "policy: max_age with a unit");
	ok(policy(S("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: \n")) < 0, "policy: empty max_age");
	ok(policy(S("version: STSv1\nmode: enforce\0\nmx: a.test\nmax_age: 5\n")) < 0 && strstr(why, "NUL"),
	   "policy: NUL byte");
	ok(policy(S("version: STSv1\nmode: enforce\nmx: a.test\nmax_ag")) < 0, "policy: truncated in a field name");
	ok(policy(S("version: STSv1\nmode: enf")) < 0, "policy: truncated in a value");
	ok(policy(S("")) < 0, "policy: empty");
	ok(policy(S("<html><body>Not Found</body></html>")) < 0, "policy: HTML garbage");
	ok(policy(S("version: STSv1\nmode: enforce\nmx: a.test\rmax_age: 5\n")) < 0, "policy: bare CR");
	ok(policy(S("version: STSv1\nmode: enforce\nmx: a..test\nmax_age: 5\n")) < 0, "policy: empty label in mx");
	ok(policy(S("version: STSv1\nmode: enforce\nmx: a.test.\nmax_age: 5\n")) < 0, "policy: trailing dot in mx");
	ok(policy(S("version: STSv1\nmode: enforce\nmx: *.*.test\nmax_age: 5\n")) < 0, "policy: two wildcards");
	ok(policy(S("version: STSv1\nmode: enforce\nmx: a_b.test\nmax_age: 5\n")) < 0, "policy: underscore in mx");
	ok(policy(S("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 5\nx: a\x01z\n")) < 0, "policy: control byte");
	ok(policy(S("version STSv1\n")) < 0, "policy: no colon");

	char *big = malloc(STS_BODY_MAX + 10);
	size_t n = 0;
	n += (size_t)snprintf(big, 100, "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 5\nx: ");
	memset(big + n, 'a', STS_LINE_MAX);
	n += STS_LINE_MAX;
	big[n++] = '\n';
	ok(policy(big, n) < 0 && strstr(why, "longer"), "policy: overlong line");
	n = (size_t)snprintf(big, 100, "version: STSv1\nmode: enforce\nmax_age: 5\n");
	for (int i = 0; i <= STS_MX_MAX; i++) n += (size_t)snprintf(big + n, 100, "mx: m%d.test\n", i);
	ok(policy(big, n) < 0 && strstr(why, "more than"), "policy: too many mx patterns");
	memset(big, '\n', STS_BODY_MAX + 1);
	ok(policy(big, STS_BODY_MAX + 1) < 0 && strstr(why, "larger"), "policy: over 64 KB");
	free(big);
}

static void match_tests(void)
{
	policy(S("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 5\n"));
	ok(sts_mx_match(&p, "mail.example.com"), "match: exact");
	ok(sts_mx_match(&p, "MAIL.Example.Com."), "match: case and trailing dot");
	ok(!sts_mx_match(&p, "xmail.example.com"), "match: no partial");
	ok(sts_mx_match(&p, "mx1.example.net"), "match: wildcard, one label");
	ok(!sts_mx_match(&p, "a.mx1.example.net"), "match: wildcard is one label only");
	ok(!sts_mx_match(&p, "example.net"), "match: wildcard needs a label");
	ok(!sts_mx_match(&p, ".example.net"), "match: empty label");
	ok(!sts_mx_match(&p, "mx1.example.org"), "match: other domain");
	ok(!sts_mx_match(&p, ""), "match: empty host");
}

static void http_tests(void)
{
	size_t bl = 0;
	const char *pol = "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 5\n";
	char r[1024];
	int n = snprintf(r, sizeof r, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
	                 "\r\n%s", strlen(pol), pol);
	ok(http(r, (size_t)n, 0, &bl) == STS_HTTP_OK && bl == strlen(pol) && memcmp(body, pol, bl) == 0,
	   "http: Content-Length body");
	ok(http(r, (size_t)n - 3, 0, &bl) == STS_HTTP_MORE, "http: short body, more to read");
	ok(http(r, (size_t)n - 3, 1, &bl) == STS_HTTP_BAD && strstr(why, "shorter"), "http: short body at EOF");
	ok(http(r, 20, 0, &bl) == STS_HTTP_MORE, "http: headers incomplete, more to read");
	ok(http(r, 20, 1, &bl) == STS_HTTP_BAD, "http: headers cut by EOF");
	ok(http(S("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
	          "8\r\nversion:\r\n18;ext=1\r\n STSv1\nmode: none\nmax_ag\r\n5\r\ne: 0\n\r\n0\r\nX-T: 1\r\n\r\n"), 0, &bl) ==
	   STS_HTTP_OK && bl == 37 && memcmp(body, "version: STSv1\nmode: none\nmax_age: 0\n", 37) == 0,
	   "http: chunked body with an extension and a trailer");
	ok(http(S("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nversion:\r\n"), 1,
	        &bl) == STS_HTTP_BAD, "http: chunked cut short at EOF");
	ok(http(S("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 0, &bl) ==
	   STS_HTTP_BAD, "http: bad chunk size");
	ok(http(S("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n10001\r\n"), 0, &bl) ==
	   STS_HTTP_BAD && strstr(why, "larger"), "http: chunk over 64 KB");
	ok(http(S("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nversion: STSv1\n"), 0, &bl) == STS_HTTP_MORE,
	   "http: close-delimited waits for EOF");
	ok(http(S("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nversion: STSv1\n"), 1, &bl) == STS_HTTP_OK && bl == 15,
	   "http: close-delimited body at EOF");
	ok(http(S("HTTP/1.1 301 Moved\r\nLocation: https://x/\r\n\r\n"), 0, &bl) == STS_HTTP_BAD && strstr(why, "redirect"),
	   "http: redirect not followed");
	ok(http(S("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\n"), 1, &bl) == STS_HTTP_BAD &&
	   strstr(why, "404"), "http: 404");
	ok(http(S("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n"), 1, &bl) == STS_HTTP_BAD &&
	   strstr(why, "text/plain"), "http: wrong Content-Type");
	ok(http(S("HTTP/1.1 200 OK\r\nContent-Type: text/plainx\r\nContent-Length: 0\r\n\r\n"), 1, &bl) == STS_HTTP_BAD,
	   "http: text/plainx is not text/plain");
	ok(http(S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 1, &bl) == STS_HTTP_BAD, "http: no Content-Type");
	ok(http(S("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 70000\r\n\r\n"), 0, &bl) == STS_HTTP_BAD,
	   "http: Content-Length over 64 KB");
	ok(http(S("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"), 0,
	        &bl) == STS_HTTP_BAD, "http: conflicting Content-Length");
	ok(http(S("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"), 0,
	        &bl) == STS_HTTP_BAD, "http: both Content-Length and chunked");
	ok(http(S("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip\r\n\r\n"), 0, &bl) ==
	   STS_HTTP_BAD, "http: other Transfer-Encoding");
	ok(http(S("HTTP/1.1 200 OK\nContent-Type: text/plain\n\n"), 1, &bl) == STS_HTTP_BAD, "http: bare LF");
	ok(http(S("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n folded\r\n\r\n"), 1, &bl) == STS_HTTP_BAD,
	   "http: folded header");
	ok(http(S("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX: a\0b\r\n\r\n"), 1, &bl) == STS_HTTP_BAD,
	   "http: NUL in a header");
	ok(http(S("HTTP/2 200\r\n\r\n"), 1, &bl) == STS_HTTP_BAD, "http: not HTTP/1.x");
	ok(http(S("SSH-2.0-OpenSSH\r\n"), 1, &bl) == STS_HTTP_BAD, "http: garbage");
	char *big = malloc(STS_HEAD_MAX + 100);
	n = snprintf(big, 100, "HTTP/1.1 200 OK\r\nX: ");
	memset(big + n, 'a', STS_HEAD_MAX);
	ok(http(big, (size_t)n + STS_HEAD_MAX, 0, &bl) == STS_HTTP_BAD, "http: headers over 8 KB");
	free(big);
}

static void cache_tests(void)
{
	static char file[STS_BODY_MAX + 256];
	const char *pol = "version: STSv1\nmode: testing\nmx: *.a.test\nmax_age: 600\n";
	char id[STS_ID_MAX];
	time_t t = 0;
	size_t n = sts_cache_make(file, sizeof file, "abc123", 1700000000, pol, strlen(pol));
	ok(n > 0 && sts_cache_parse(file, n, id, sizeof id, &t, &p) == 0 && strcmp(id, "abc123") == 0 &&
	   t == 1700000000 && p.mode == STS_TESTING && p.max_age == 600 && p.nmx == 1, "cache: round trip");
	ok(sts_cache_parse(file, n - 10, id, sizeof id, &t, &p) < 0, "cache: truncated policy");
	ok(sts_cache_parse(file, 20, id, sizeof id, &t, &p) < 0, "cache: truncated header");
	ok(sts_cache_parse(S("yubin-mta-sts 1\nid a-b\nfetched 1\n\n"), id, sizeof id, &t, &p) < 0, "cache: bad id");
	ok(sts_cache_parse(S("garbage"), id, sizeof id, &t, &p) < 0, "cache: garbage");
	ok(sts_cache_make(file, 40, "abc", 1, pol, strlen(pol)) == 0, "cache: does not fit");
}

int main(void)
{
	txt_tests();
	policy_tests();
	match_tests();
	http_tests();
	cache_tests();
	return done_testing();
}
