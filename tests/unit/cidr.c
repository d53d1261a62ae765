/* cidr.c — unit tests for src/lib/cidr.c: address and CIDR parsing,
 * matching, IPv4-mapped addresses, and mynetworks from a control file. */
#include "tap.h"
#include "cidr.h"
#include "control.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int in(const char *net, const char *addr)
{
	struct cidr c;
	struct ipaddr ip;
	if (cidr_parse(net, strlen(net), &c) < 0) return -1;
	if (ip_parse(addr, strlen(addr), &ip) < 0) return -2;
	return cidr_match(&c, &ip);
}

static int parses(const char *s)
{
	struct cidr c;
	return cidr_parse(s, strlen(s), &c);
}

int main(void)
{
	struct ipaddr ip;
	char out[64];

	ok(ip_parse("192.0.2.1", 9, &ip) == 0 && ip.family == 4 && ip.a[3] == 1, "IPv4 address");
	ok(ip_parse("::1", 3, &ip) == 0 && ip.family == 6 && ip.a[15] == 1, "IPv6 loopback");
	ok(ip_parse("[::1]", 5, &ip) == 0 && ip.family == 6, "bracketed IPv6");
	ok(ip_parse("[IPv6:2001:db8::1]", 18, &ip) == 0 && ip.family == 6 && ip.a[0] == 0x20, "IPv6: literal prefix");
	ok(ip_parse("::ffff:10.1.2.3", 15, &ip) == 0 && ip.family == 4 && ip.a[0] == 10 && ip.a[3] == 3,
	   "IPv4-mapped IPv6 becomes IPv4");
	ok(ip_parse("127.1", 5, &ip) < 0, "short IPv4 form refused");
	ok(ip_parse("1.2.3.4.5", 9, &ip) < 0, "five octets refused");
	ok(ip_parse("256.1.1.1", 9, &ip) < 0, "octet over 255 refused");
	ok(ip_parse("1.2.3.4\0", 8, &ip) < 0, "NUL inside refused");
	ok(ip_parse("", 0, &ip) < 0, "empty refused");
	ok(ip_parse("[]", 2, &ip) < 0, "empty brackets refused");
	ok(ip_parse("1.2.3.4 ", 8, &ip) < 0, "trailing space refused");
	char longs[200];
	memset(longs, '1', sizeof longs);
	ok(ip_parse(longs, sizeof longs, &ip) < 0, "overlong input refused");

	ok(in("127.0.0.0/8", "127.0.0.1") == 1, "127.0.0.1 in 127/8");
	ok(in("127.0.0.0/8", "128.0.0.1") == 0, "128.0.0.1 not in 127/8");
	ok(in("10.0.0.0/8", "::ffff:10.9.9.9") == 1, "mapped client matches an IPv4 network");
	ok(in("[::1]/128", "::1") == 1, "[::1]/128 matches ::1");
	ok(in("[::1]/128", "::2") == 0, "[::1]/128 does not match ::2");
	ok(in("::1/128", "::1") == 1, "unbracketed ::1/128");
	ok(in("[2001:db8::]/32", "2001:db8:ffff::5") == 1, "IPv6 /32 match");
	ok(in("[2001:db8::]/32", "2001:db9::5") == 0, "IPv6 /32 non-match");
	ok(in("2001:db8::/33", "2001:db8:8000::1") == 0, "odd prefix length splits a byte");
	ok(in("2001:db8::/33", "2001:db8:7fff::1") == 1, "odd prefix length, lower half");
	ok(in("192.0.2.7", "192.0.2.7") == 1, "bare address is a /32");
	ok(in("192.0.2.7", "192.0.2.8") == 0, "bare address matches only itself");
	ok(in("0.0.0.0/0", "203.0.113.9") == 1, "/0 matches every IPv4");
	ok(in("0.0.0.0/0", "::2") == 0, "IPv4 /0 does not match IPv6");
	ok(in("[::]/0", "::2") == 1, "IPv6 /0 matches every IPv6");
	ok(in("[::ffff:10.0.0.0]/104", "10.2.3.4") == 1, "mapped network in IPv6 form");
	ok(in("192.168.1.0/20", "192.168.15.255") == 1, "/20 upper edge");
	ok(in("192.168.1.0/20", "192.168.16.0") == 0, "/20 past the edge");

	ok(parses("192.0.2.0/24") == 0, "clean network parses");
	ok(parses("192.0.2.1/24") == 1, "host bits set: reported, still usable");
	ok(parses("192.0.2.0/33") < 0, "IPv4 prefix over 32 refused");
	ok(parses("[::1]/129") < 0, "IPv6 prefix over 128 refused");
	ok(parses("192.0.2.0/") < 0, "empty prefix refused");
	ok(parses("192.0.2.0/2x") < 0, "non-digit prefix refused");
	ok(parses("192.0.2.0/0008") < 0, "four-digit prefix refused");
	ok(parses("/8") < 0, "missing address refused");
	ok(parses("example.com") < 0, "host name refused");
	ok(parses("[::ffff:10.0.0.0]/8") < 0, "mapped network wider than the block refused");

	ip_parse("2001:db8::1", 11, &ip);
	ok(ip_format(&ip, out, sizeof out) == 0 && !strcmp(out, "2001:db8::1"), "format IPv6");
	ip_parse("::ffff:192.0.2.1", 16, &ip);
	ok(ip_format(&ip, out, sizeof out) == 0 && !strcmp(out, "192.0.2.1"), "format mapped as IPv4");
	ok(ip_format(&ip, out, 4) < 0, "format refuses a short buffer");
	ok(ip_is_loopback(&ip) == 0, "192.0.2.1 is not loopback");
	ip_parse("127.8.8.8", 9, &ip);
	ok(ip_is_loopback(&ip) == 1, "127.8.8.8 is loopback");
	ok(ip_parse("::ffff:127.0.0.1", 16, &ip) == 0 && ip_is_loopback(&ip) == 1, "::ffff:127.0.0.1 is loopback");
	ok(ip_parse("::1", 3, &ip) == 0 && ip_is_loopback(&ip) == 1, "::1 is loopback");

	const char *list[] = { "bogus", "10.0.0.0/8", "[::1]/128" };
	size_t bad = 0;
	ip_parse("10.1.1.1", 8, &ip);
	ok(cidr_list_match(list, 3, &ip, &bad) == 1 && bad == 1, "list match skips and counts bad entries");
	ip_parse("11.1.1.1", 8, &ip);
	ok(cidr_list_match(list, 3, &ip, NULL) == 0, "list non-match");

	/* mynetworks from a control file, in Postfix form */
	char root[] = "/tmp/yubin-cidr-XXXXXX";
	if (!mkdtemp(root)) return 1;
	char path[256];
	snprintf(path, sizeof path, "%s/control", root);
	mkdir(path, 0755);
	setenv("YUBIN_ROOT", root, 1);
	snprintf(path, sizeof path, "%s/control/mynetworks", root);
	FILE *f = fopen(path, "w");
	fputs("# trusted\n192.0.2.0/24, [2001:db8::]/32\n", f);
	fclose(f);
	ip_parse("192.0.2.200", 11, &ip);
	ok(mynetworks_match(&ip) == 1, "mynetworks file: IPv4 entry");
	ip_parse("2001:db8::9", 11, &ip);
	ok(mynetworks_match(&ip) == 1, "mynetworks file: IPv6 entry");
	ip_parse("127.0.0.1", 9, &ip);
	ok(mynetworks_match(&ip) == 0, "loopback untrusted when mynetworks omits it");
	unlink(path);
	control_reload();
	ok(mynetworks_match(&ip) == 1, "no mynetworks: style host trusts loopback");
	ip_parse("198.51.100.1", 12, &ip);
	ok(mynetworks_match(&ip) == 0, "no mynetworks: a foreign address is not trusted");
	snprintf(path, sizeof path, "%s/control", root);
	rmdir(path);
	rmdir(root);
	return done_testing();
}
