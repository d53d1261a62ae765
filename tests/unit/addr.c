/* addr.c — unit tests for src/lib/addr.c: RFC 5321 path parsing (good,
 * overlong, truncated, NUL bytes, garbage), canonical form, extensions,
 * route tricks, FQDN checks and qualification. */
#include "tap.h"
#include "addr.h"
#include "buf.h"
#include "control.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct buf out = BUF_INIT;
static size_t used;

static int parse(const char *s, size_t n, int allow_empty)
{
	used = 0;
	return addr_parse_path(s, n, allow_empty, &out, &used);
}

static int p(const char *s) { return parse(s, strlen(s), 0); }

static void parse_tests(void)
{
	ok(p("<user@example.com>") == ADDR_OK && !strcmp(out.s, "user@example.com") && used == 18, "plain path");
	ok(p("<user@example.com> SIZE=100") == ADDR_OK && used == 18, "parameters follow the path");
	ok(p(" <a@b.c>") == ADDR_OK && used == 8, "leading space tolerated");
	ok(p("user@example.com") == ADDR_OK && !strcmp(out.s, "user@example.com"), "bare address");
	ok(p("user@example.com SIZE=1") == ADDR_OK && used == 16, "bare address with parameters");
	ok(parse("<>", 2, 1) == ADDR_OK && !strcmp(out.s, "") && used == 2, "null path allowed");
	ok(p("<>") == ADDR_SYNTAX, "null path refused when not allowed");
	ok(parse("<> BODY=8BITMIME", 16, 1) == ADDR_OK && used == 2, "null path with parameters");
	ok(p("<@relay.one,@relay.two:user@example.com>") == ADDR_OK && !strcmp(out.s, "user@example.com"),
	   "source route stripped");
	ok(p("<@relay.one:>") == ADDR_SYNTAX, "source route without mailbox");
	ok(p("<User@EXAMPLE.Com.>") == ADDR_OK && !strcmp(out.s, "User@example.com"),
	   "domain lower-cased, trailing dot dropped, local part kept");
	ok(p("<\"john doe\"@example.com>") == ADDR_OK && !strcmp(out.s, "\"john doe\"@example.com"), "quoted local part kept quoted");
	ok(p("<\"john\"@example.com>") == ADDR_OK && !strcmp(out.s, "john@example.com"), "needless quotes removed");
	ok(p("<\"a\\\"b\"@x.y>") == ADDR_OK && !strcmp(out.s, "\"a\\\"b\"@x.y"), "quoted pair kept escaped");
	ok(p("<\"a@b\"@x.y>") == ADDR_OK && !strcmp(out.s, "\"a@b\"@x.y"), "quoted @");
	ok(p("<first..last.@docomo.ne.jp>") == ADDR_OK, "lenient dots in local part (Japanese carriers)");
	ok(p("<user@[127.0.0.1]>") == ADDR_OK && !strcmp(out.s, "user@[127.0.0.1]"), "address literal");
	ok(p("<user@[IPv6:::1]>") == ADDR_OK, "IPv6 literal");
	ok(p("<postmaster>") == ADDR_OK && !strcmp(out.s, "postmaster"), "postmaster without domain");
	ok(p("<\xe7\x94\xb0\xe4\xb8\xad@example.jp>") == ADDR_OK, "UTF-8 local part");
	ok(p("<a_b@my_host.example>") == ADDR_OK, "underscore in domain tolerated");

	/* bad input */
	ok(p("<user@example.com") == ADDR_SYNTAX, "truncated: no closing bracket");
	ok(p("<user@") == ADDR_SYNTAX, "truncated after @");
	ok(p("<") == ADDR_SYNTAX, "just a bracket");
	ok(p("") == ADDR_SYNTAX, "empty input");
	ok(parse("<a@b>", 3, 0) == ADDR_SYNTAX, "length respected (no read past n)");
	ok(p("<user@>") == ADDR_SYNTAX, "empty domain");
	ok(p("<@example.com>") == ADDR_SYNTAX, "empty local part");
	ok(p("<a@b..c>") == ADDR_SYNTAX, "empty label");
	ok(p("<a@.b>") == ADDR_SYNTAX, "leading dot in domain");
	ok(p("<a b@c.d>") == ADDR_SYNTAX, "space in local part");
	ok(p("<a@b.c>x") == ADDR_SYNTAX, "garbage after the path");
	ok(p("<a@b@c>") == ADDR_SYNTAX, "two @");
	ok(p("<\"unterminated@x.y>") == ADDR_SYNTAX, "unterminated quote");
	ok(p("<\"a\x01\"@x.y>") == ADDR_SYNTAX, "control character in quotes");
	ok(p("<a@b,c>") == ADDR_SYNTAX, "comma in domain");
	ok(p("<a@[1.2.3.4>") == ADDR_SYNTAX, "unterminated address literal");
	ok(p("<<<>>>") == ADDR_SYNTAX, "garbage brackets");
	ok(parse("<a\0b@c.d>", 9, 0) == ADDR_SYNTAX, "NUL in local part");
	ok(parse("<ab@c\0.d>", 9, 0) == ADDR_SYNTAX, "NUL in domain");
	ok(parse("<ab@c.d>\0", 9, 0) == ADDR_SYNTAX, "NUL after the path");

	char big[600];
	memset(big, 'a', sizeof big);
	big[0] = '<';
	memcpy(big + 66, "@x.y>", 6);
	ok(p(big) == ADDR_TOO_LONG, "65-byte local part too long");
	memcpy(big + 65, "@x.y>", 6);
	ok(p(big) == ADDR_OK, "64-byte local part fits");
	/* 64 + 1 + 189 = 254, plus the brackets = 256 */
	memset(big + 1, 'l', 64);
	big[65] = '@';
	memset(big + 66, 'd', 189);
	for (int i = 66 + 60; i < 66 + 189; i += 61) big[i] = '.';
	memcpy(big + 66 + 189, ">", 2);
	ok(p(big) == ADDR_OK && out.len == 254, "path of exactly 256 bytes fits");
	memcpy(big + 66 + 189, "d>", 3);
	ok(p(big) == ADDR_TOO_LONG, "path of 257 bytes too long");
	memset(big + 66, 'd', 300);
	memcpy(big + 366, ">", 2);
	ok(p(big) == ADDR_TOO_LONG, "domain over 255 bytes too long");
	memset(big + 1, 'a', 598);
	big[599] = 0;
	ok(p(big) == ADDR_TOO_LONG, "long garbage is too long, not a crash");
}

static void write_control(const char *root, const char *name, const char *value)
{
	char path[256];
	snprintf(path, sizeof path, "%s/control/%s", root, name);
	FILE *f = fopen(path, "w");
	fputs(value, f);
	fclose(f);
	control_reload();
}

static void helper_tests(const char *root)
{
	const char *l, *d;
	size_t ll, dl;
	addr_split("\"a@b\"@x.y", &l, &ll, &d, &dl);
	ok(ll == 5 && dl == 3 && !strncmp(d, "x.y", 3), "split at the last @");
	addr_split("postmaster", &l, &ll, &d, &dl);
	ok(ll == 10 && dl == 0, "split without domain");
	/* found by tests/fuzz/addr.c: an unqualified quoted local part holding
	 * '@' has no domain (the '@' inside quotes is not the domain's) */
	addr_split("\"a@B\"", &l, &ll, &d, &dl);
	ok(ll == 5 && dl == 0, "quoted @ without domain: no domain");
	is_str(addr_domain("\"x\\\"@evil.test\""), "", "escaped quote inside a quoted local part");
	is_str(addr_domain("a@b.c"), "b.c", "domain");
	is_str(addr_domain("nodomain"), "", "no domain");

	ok(addr_strip_extension("user+ext@example.com", &out) == 1 && !strcmp(out.s, "user@example.com"), "extension removed");
	ok(addr_strip_extension("user@example.com", &out) == 0 && !strcmp(out.s, "user@example.com"), "no extension");
	ok(addr_strip_extension("+foo@example.com", &out) == 0, "leading delimiter is not an extension");
	ok(addr_strip_extension("user+a+b", &out) == 1 && !strcmp(out.s, "user"), "first delimiter wins, no domain");
	ok(addr_strip_extension("\"a+b c\"@x.y", &out) == 0, "quoted local part left alone");
	write_control(root, "recipient_delimiter", "-+\n");
	ok(addr_strip_extension("user-ext@x.y", &out) == 1 && !strcmp(out.s, "user@x.y"), "any of several delimiters");
	ok(addr_strip_extension("owner-list@x.y", &out) == 0, "owner-list not split");
	ok(addr_strip_extension("list-request@x.y", &out) == 0, "list-request not split");
	write_control(root, "recipient_delimiter", "\n");
	ok(addr_strip_extension("user+ext@x.y", &out) == 0, "empty delimiter: no extensions");
	write_control(root, "recipient_delimiter", "+\n");

	ok(addr_has_route_tricks("user%other.host@relay.test"), "%% is a route trick");
	ok(addr_has_route_tricks("host!user@relay.test"), "! is a route trick");
	ok(addr_has_route_tricks("\"user@other\"@relay.test"), "quoted @ is a route trick");
	ok(addr_has_route_tricks("@a.b:user@c.d"), "source route is a route trick");
	ok(!addr_has_route_tricks("user+ext@relay.test"), "plain address is fine");

	ok(addr_is_fqdn("a@b.c"), "fqdn");
	ok(!addr_is_fqdn("a@localhost"), "single label is not fqdn");
	ok(!addr_is_fqdn("a"), "no domain is not fqdn");
	ok(addr_is_fqdn("a@[10.0.0.1]"), "address literal counts as fqdn");

	write_control(root, "myorigin", "Example.ORG\n");
	ok(addr_qualify("bob", &out) == 0 && !strcmp(out.s, "bob@example.org"), "bare address gets myorigin");
	ok(addr_qualify("bob@EXAMPLE.net", &out) == 0 && !strcmp(out.s, "bob@example.net"), "domain lower-cased");
	ok(addr_qualify("", &out) == 0 && !strcmp(out.s, ""), "null sender stays empty");

	ok(addr_starts_with_dash("-oQ@x.y"), "leading dash detected");
	ok(!addr_starts_with_dash("a-b@x.y"), "inner dash fine");
}

int main(void)
{
	char root[] = "/tmp/yubin-addr-XXXXXX";
	ok(mkdtemp(root) != NULL, "temp root");
	setenv("YUBIN_ROOT", root, 1);
	char d[128];
	snprintf(d, sizeof d, "%s/control", root);
	mkdir(d, 0755);
	parse_tests();
	helper_tests(root);
	buf_free(&out);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	if (system(cmd) != 0) return 1;
	return done_testing();
}
