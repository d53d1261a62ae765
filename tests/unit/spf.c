/* spf.c — unit tests for src/lib/spf.c: check_host() over a fake DNS
 * (auth_dns replaced) with records for each mechanism, the lookup and
 * void-lookup limits, include/redirect results, and macro expansion
 * (the RFC 7208 section 7.4 examples). */
#include "tap.h"
#include "authdns.h"
#include "spf.h"

#include <arpa/inet.h>
#include <stdio.h>

struct rr { const char *name; int type; const char *value; };
static const struct rr zone[] = {
	{ "example.com", DNS_T_TXT, "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx include:inc.example.com -all" },
	{ "example.com", DNS_T_A, "198.51.100.1" },
	{ "example.com", DNS_T_MX, "mail.example.com" },
	{ "mail.example.com", DNS_T_A, "198.51.100.25" },
	{ "inc.example.com", DNS_T_TXT, "v=spf1 ip4:203.0.113.7 ~all" },
	{ "soft.example", DNS_T_TXT, "v=spf1 ~all" },
	{ "neutral.example", DNS_T_TXT, "v=spf1 ?all" },
	{ "nomatch.example", DNS_T_TXT, "v=spf1 ip4:10.0.0.1" },
	{ "redir.example", DNS_T_TXT, "v=spf1 redirect=example.com" },
	{ "redirnone.example", DNS_T_TXT, "v=spf1 redirect=nothing.example" },
	{ "two.example", DNS_T_TXT, "v=spf1 -all" },
	{ "two.example", DNS_T_TXT, "v=spf1 +all" },
	{ "other.example", DNS_T_TXT, "not spf" },
	{ "temp.example", DNS_T_TXT, "v=spf1 a:down.example -all" },
	{ "inctemp.example", DNS_T_TXT, "v=spf1 include:down.example -all" },
	{ "bad.example", DNS_T_TXT, "v=spf1 foo:bar -all" },
	{ "badip.example", DNS_T_TXT, "v=spf1 ip4:300.1.1.1 -all" },
	{ "voids.example", DNS_T_TXT, "v=spf1 a:n1.example a:n2.example a:n3.example +all" },
	{ "twovoids.example", DNS_T_TXT, "v=spf1 a:n1.example a:n2.example +all" },
	{ "many.example", DNS_T_TXT, "v=spf1 a:h.example a:h.example a:h.example a:h.example a:h.example a:h.example "
	                             "a:h.example a:h.example a:h.example a:h.example a:h.example +all" },
	{ "ten.example", DNS_T_TXT, "v=spf1 a:h.example a:h.example a:h.example a:h.example a:h.example a:h.example "
	                            "a:h.example a:h.example a:h.example a:h.example +all" },
	{ "h.example", DNS_T_A, "10.9.9.9" },
	{ "loop.example", DNS_T_TXT, "v=spf1 include:loop.example -all" },
	{ "cidr.example", DNS_T_TXT, "v=spf1 a:h.example/16 -all" },
	{ "exists.example", DNS_T_TXT, "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all" },
	{ "1.2.0.192.strong._spf.exists.example", DNS_T_A, "127.0.0.2" },
	{ "ptr.example", DNS_T_TXT, "v=spf1 ptr -all" },
	{ "incnone.example", DNS_T_TXT, "v=spf1 include:nothing.example +all" },
	{ "mod.example", DNS_T_TXT, "v=spf1 exp=explain.example unknown-mod=x ip4:192.0.2.1 -all" },
};

static int fake(const char *name, int qtype, struct dns_answer *a)
{
	int name_found = 0;
	memset(a, 0, sizeof *a);
	if (!strcmp(name, "down.example")) return DNS_TEMP;
	for (size_t i = 0; i < sizeof zone / sizeof *zone; i++) {
		if (strcasecmp(zone[i].name, name) != 0) continue;
		name_found = 1;
		if (zone[i].type != qtype) continue;
		struct dns_rr *r = &a->rr[a->n++];
		r->type = (unsigned short)qtype;
		if (qtype == DNS_T_TXT) {
			size_t n = strlen(zone[i].value);
			r->txt_off = a->txt_used;
			r->txt_len = n;
			memcpy(a->txt + a->txt_used, zone[i].value, n);
			a->txt_used += n;
		} else if (qtype == DNS_T_MX) {
			snprintf(r->name, sizeof r->name, "%s", zone[i].value);
		} else {
			inet_pton(qtype == DNS_T_A ? AF_INET : AF_INET6, zone[i].value, r->addr);
		}
	}
	return a->n ? DNS_OK : name_found ? DNS_NODATA : DNS_NXDOMAIN;
}

static int check(const char *ipstr, const char *domain, char *why, size_t wmax)
{
	struct ipaddr ip;
	ip_parse(ipstr, strlen(ipstr), &ip);
	char sender[300];
	snprintf(sender, sizeof sender, "strong-bad@%s", domain);
	return spf_check(&ip, domain, sender, "helo.example", why, wmax);
}

#define SPF(ip, dom, want, name) do { char w[200]; int r = check(ip, dom, w, sizeof w); \
	ok(r == (want), "%s: %s (%s)", name, spf_result_name(r), w); } while (0)

int main(void)
{
	auth_dns = fake;
	SPF("192.0.2.77", "example.com", SPF_PASS, "ip4 network");
	SPF("2001:db8::5", "example.com", SPF_PASS, "ip6 network");
	SPF("198.51.100.1", "example.com", SPF_PASS, "a");
	SPF("198.51.100.25", "example.com", SPF_PASS, "mx");
	SPF("203.0.113.7", "example.com", SPF_PASS, "include pass");
	SPF("203.0.113.8", "example.com", SPF_FAIL, "include softfail does not match; -all");
	SPF("::ffff:192.0.2.3", "example.com", SPF_PASS, "IPv4-mapped address is IPv4");
	SPF("203.0.113.8", "soft.example", SPF_SOFTFAIL, "~all");
	SPF("203.0.113.8", "neutral.example", SPF_NEUTRAL, "?all");
	SPF("203.0.113.8", "nomatch.example", SPF_NEUTRAL, "nothing matches: neutral");
	SPF("198.51.100.1", "redir.example", SPF_PASS, "redirect= to a passing record");
	SPF("203.0.113.8", "redir.example", SPF_FAIL, "redirect= to a failing record");
	SPF("203.0.113.8", "redirnone.example", SPF_PERMERROR, "redirect= to no record");
	SPF("203.0.113.8", "two.example", SPF_PERMERROR, "two SPF records");
	SPF("203.0.113.8", "other.example", SPF_NONE, "no SPF record among TXT");
	SPF("203.0.113.8", "nxdomain.example", SPF_NONE, "no such domain");
	SPF("203.0.113.8", "temp.example", SPF_TEMPERROR, "DNS failure in a: temperror");
	SPF("203.0.113.8", "inctemp.example", SPF_TEMPERROR, "DNS failure in include: temperror");
	SPF("203.0.113.8", "down.example", SPF_TEMPERROR, "DNS failure for the record");
	SPF("203.0.113.8", "bad.example", SPF_PERMERROR, "unknown mechanism");
	SPF("203.0.113.8", "badip.example", SPF_PERMERROR, "bad ip4");
	SPF("203.0.113.8", "voids.example", SPF_PERMERROR, "third void lookup");
	SPF("203.0.113.8", "twovoids.example", SPF_PASS, "two void lookups are allowed");
	SPF("203.0.113.8", "many.example", SPF_PERMERROR, "eleventh DNS lookup");
	SPF("203.0.113.8", "ten.example", SPF_PASS, "ten DNS lookups are allowed");
	SPF("203.0.113.8", "loop.example", SPF_PERMERROR, "include loop ends at the lookup limit");
	SPF("10.9.1.1", "cidr.example", SPF_PASS, "a with /16");
	SPF("10.8.1.1", "cidr.example", SPF_FAIL, "a with /16, outside");
	SPF("192.0.2.1", "exists.example", SPF_PASS, "exists with macros");
	SPF("192.0.2.2", "exists.example", SPF_FAIL, "exists with macros, no record");
	SPF("192.0.2.2", "ptr.example", SPF_FAIL, "ptr never matches");
	SPF("192.0.2.2", "incnone.example", SPF_PERMERROR, "include of a domain without record");
	SPF("192.0.2.1", "mod.example", SPF_PASS, "exp= and unknown modifiers ignored");

	/* RFC 7208 7.4 examples: sender strong-bad@email.example.com, ip 192.0.2.3 */
	struct ipaddr ip, ip6;
	char out[300];
	ip_parse("192.0.2.3", 9, &ip);
	ip_parse("2001:db8::cb01", 14, &ip6);
	const char *s = "strong-bad@email.example.com";
	static const struct { const char *spec, *want; } ex[] = {
		{ "%{s}", "strong-bad@email.example.com" }, { "%{o}", "email.example.com" },
		{ "%{d}", "email.example.com" }, { "%{d4}", "email.example.com" }, { "%{d3}", "email.example.com" },
		{ "%{d2}", "example.com" }, { "%{d1}", "com" }, { "%{dr}", "com.example.email" },
		{ "%{d2r}", "example.email" }, { "%{l}", "strong-bad" }, { "%{l-}", "strong.bad" },
		{ "%{lr}", "strong-bad" }, { "%{lr-}", "bad.strong" }, { "%{l1r-}", "strong" },
		{ "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com" },
		{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
		{ "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net" },
		{ "a%%b%_c%-d", "a%b c%20d" },
	};
	for (size_t i = 0; i < sizeof ex / sizeof *ex; i++) {
		int r = spf_expand(ex[i].spec, strlen(ex[i].spec), &ip, "email.example.com", s, "h.example", out, sizeof out);
		ok(r == 0 && !strcmp(out, ex[i].want), "macro %s -> %s (got %s)", ex[i].spec, ex[i].want, out);
	}
	ok(spf_expand("%{ir}.%{v}._spf.%{d2}", 21, &ip6, "email.example.com", s, "h", out, sizeof out) == 0 &&
	   !strcmp(out, "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"),
	   "IPv6 %%{ir} nibbles: %s", out);
	ok(spf_expand("%{x}", 4, &ip, "d", s, "h", out, sizeof out) < 0, "unknown macro letter refused");
	ok(spf_expand("%{d", 3, &ip, "d", s, "h", out, sizeof out) < 0, "unterminated macro refused");
	ok(spf_expand("%{d}", 4, &ip, "example.com", s, "h", out, 5) < 0, "overlong expansion refused");
	return done_testing();
}
