/* anvil.c — unit tests for src/lib/anvil.c: the request parser anvil
 * trusts, client idents (IPv6 cut to its /64 or the configured prefix),
 * exceptions, and failing soft when no anvil listens. */
#include "tap.h"
#include "anvil.h"
#include "control.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static void setting(const char *name, const char *value)
{
	char p[512];
	snprintf(p, sizeof p, "%s/control/%s", root, name);
	FILE *f = fopen(p, "w");
	fputs(value, f);
	fclose(f);
	control_reload();
}

static const char *ident(const char *svc, const char *ip)
{
	static char out[ANVIL_IDENT_MAX];
	struct ipaddr a;
	if (ip_parse(ip, strlen(ip), &a) < 0 || anvil_ident(out, sizeof out, svc, &a) < 0) return "(error)";
	return out;
}

static int parse(const char *req, char *op, char *id)
{
	return anvil_parse_request(req, strlen(req), op, id, ANVIL_IDENT_MAX);
}

static int exempt(const char *ip)
{
	struct ipaddr a;
	ip_parse(ip, strlen(ip), &a);
	return anvil_exempt(&a);
}

int main(void)
{
	snprintf(root, sizeof root, "/tmp/yubin-anvil-XXXXXX");
	ok(mkdtemp(root) != NULL, "temp root");
	setenv("YUBIN_ROOT", root, 1);
	char d[128];
	snprintf(d, sizeof d, "%s/control", root);
	mkdir(d, 0755);

	char op, id[ANVIL_IDENT_MAX];
	ok(parse("C smtp:192.0.2.1", &op, id) == 0 && op == 'C' && strcmp(id, "smtp:192.0.2.1") == 0, "connect request");
	ok(parse("L login:2001:db8::", &op, id) == 0 && op == 'L', "peek request");
	ok(parse("X smtp:1", &op, id) < 0, "unknown op refused");
	ok(parse("C", &op, id) < 0 && parse("C ", &op, id) < 0, "no ident refused");
	ok(parse("Csmtp:1", &op, id) < 0, "missing blank refused");
	ok(anvil_parse_request("C a\0b", 5, &op, id, sizeof id) < 0, "NUL refused");
	ok(parse("C smtp:a b", &op, id) < 0, "blank inside refused");
	char longreq[300];
	memset(longreq, 'a', sizeof longreq);
	longreq[0] = 'C';
	longreq[1] = ' ';
	ok(anvil_parse_request(longreq, sizeof longreq, &op, id, sizeof id) < 0, "overlong ident refused");

	is_str(ident("smtp", "192.0.2.7"), "smtp:192.0.2.7", "IPv4 ident");
	is_str(ident("smtp", "2001:db8:1:2:3:4:5:6"), "smtp:2001:db8:1:2::", "IPv6 counted by its /64");
	is_str(ident("smtp", "::ffff:192.0.2.9"), "smtp:192.0.2.9", "mapped IPv4 is IPv4");
	setting("smtpd_client_ipv6_prefix_length", "48\n");
	is_str(ident("smtp", "2001:db8:1:2:3:4:5:6"), "smtp:2001:db8:1::", "prefix length setting");
	setting("smtpd_client_ipv6_prefix_length", "128\n");
	is_str(ident("smtp", "2001:db8::1"), "smtp:2001:db8::1", "/128: every address its own");

	ok(exempt("127.0.0.1"), "loopback is in the default exceptions ($mynetworks, style host)");
	ok(!exempt("192.0.2.1"), "other addresses are not");
	setting("smtpd_client_event_limit_exceptions", "192.0.2.0/24\n");
	ok(exempt("192.0.2.1") && !exempt("127.0.0.1"), "an explicit list replaces $mynetworks");
	setting("smtpd_client_event_limit_exceptions", "$mynetworks, 10.0.0.0/8\n");
	ok(exempt("127.0.0.1") && exempt("10.1.2.3") && !exempt("192.0.2.1"), "$mynetworks and more");

	long count = -1, rate = -1;
	ok(anvil_request(ANVIL_CONNECT, "smtp:192.0.2.1", &count, &rate) == 0 && count == 0 && rate == 0,
	   "no anvil: unavailable, zero counts");
	ok(anvil_request(ANVIL_MAIL, "smtp:192.0.2.1", NULL, &rate) == 0, "and again, quietly");
	setting("auth_failure_rate_limit", "1\n");
	setting("smtpd_client_event_limit_exceptions", "\n");
	ok(anvil_login_allowed("pop3", "192.0.2.1") == 1, "no anvil: logins allowed");
	anvil_login_failed("pop3", "192.0.2.1");
	ok(anvil_login_allowed("pop3", "not-an-ip") == 1, "unparsable address: allowed");
	anvil_close();
	return done_testing();
}
