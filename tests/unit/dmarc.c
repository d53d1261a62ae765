/* dmarc.c — unit tests for src/lib/dmarc.c: organizational domains from a
 * small Public Suffix List file (normal, wildcard and exception rules),
 * policy discovery at the From domain and its organizational domain,
 * strict and relaxed alignment, sp=, and DNS failures (fake auth_dns). */
#include "tap.h"
#include "authdns.h"
#include "dmarc.h"

#include <stdio.h>
#include <unistd.h>

static const struct { const char *name, *txt; } zone[] = {
	{ "_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; pct=50" },
	{ "_dmarc.strict.example", "v=DMARC1; p=quarantine; adkim=s; aspf=s" },
	{ "_dmarc.example.co.uk", "v=DMARC1; p=none" },
	{ "_dmarc.two.example", "v=DMARC1; p=reject" },
	{ "_dmarc.two.example", "v=DMARC1; p=none" },
	{ "_dmarc.badp.example", "v=DMARC1; p=bogus" },
	{ "_dmarc.badprua.example", "v=DMARC1; p=bogus; rua=mailto:x@badprua.example" },
};

static int fake(const char *name, int qtype, struct dns_answer *a)
{
	memset(a, 0, sizeof *a);
	if (!strcmp(name, "_dmarc.down.example")) return DNS_TEMP;
	for (size_t i = 0; i < sizeof zone / sizeof *zone; i++) {
		if (strcmp(zone[i].name, name) != 0 || qtype != DNS_T_TXT) continue;
		size_t n = strlen(zone[i].txt);
		struct dns_rr *r = &a->rr[a->n++];
		r->type = DNS_T_TXT;
		r->txt_off = a->txt_used;
		r->txt_len = n;
		memcpy(a->txt + a->txt_used, zone[i].txt, n);
		a->txt_used += n;
	}
	return a->n ? DNS_OK : DNS_NXDOMAIN;
}

int main(void)
{
	char path[64], org[256];
	snprintf(path, sizeof path, "/tmp/dmarc-psl.%d", (int)getpid());
	FILE *f = fopen(path, "w");
	fputs("// test list\ncom\nuk\nco.uk\n*.kawasaki.jp\n!city.kawasaki.jp\nexample\n", f);
	fclose(f);
	dmarc_psl_file(path);
	auth_dns = fake;

	static const struct { const char *d, *org; } od[] = {
		{ "mail.example.com", "example.com" }, { "example.com", "example.com" }, { "a.b.example.co.uk", "example.co.uk" },
		{ "x.y.foo.kawasaki.jp", "y.foo.kawasaki.jp" }, { "www.city.kawasaki.jp", "city.kawasaki.jp" },
		{ "Sub.Strict.Example", "strict.example" }, { "com", "com" }, { "host.unlisted", "host.unlisted" },
	};
	for (size_t i = 0; i < sizeof od / sizeof *od; i++)
		ok(dmarc_org_domain(od[i].d, org, sizeof org) == 0 && !strcmp(org, od[i].org), "org domain of %s is %s (%s)",
		   od[i].d, od[i].org, org);

	struct dmarc d;
	const char *dk[] = { "example.com" }, *dksub[] = { "mail.example.com" }, *other[] = { "evil.example" };
	ok(dmarc_check("example.com", NULL, dk, 1, &d) == DMARC_PASS && d.dkim_aligned && !strcmp(d.policy, "reject") &&
	   d.pct == 50, "DKIM d= equal to From: pass, p=reject pct=50");
	ok(dmarc_check("example.com", "bounce.example.com", NULL, 0, &d) == DMARC_PASS && d.spf_aligned,
	   "relaxed SPF alignment with a subdomain: pass");
	ok(dmarc_check("example.com", NULL, other, 1, &d) == DMARC_FAIL && !strcmp(d.policy, "reject"),
	   "unaligned DKIM only: fail, policy reject");
	ok(dmarc_check("news.example.com", NULL, NULL, 0, &d) == DMARC_FAIL && !strcmp(d.policy, "quarantine"),
	   "subdomain without its own record: the organizational record's sp=");
	ok(dmarc_check("strict.example", NULL, (const char *const[]){ "sub.strict.example" }, 1, &d) == DMARC_FAIL,
	   "adkim=s: a subdomain signature does not align");
	ok(dmarc_check("strict.example", "strict.example", NULL, 0, &d) == DMARC_PASS, "aspf=s: the same domain aligns");
	ok(dmarc_check("mail.example.com", NULL, dksub, 1, &d) == DMARC_PASS, "relaxed DKIM alignment, subdomain From");
	ok(dmarc_check("www.example.co.uk", NULL, NULL, 0, &d) == DMARC_FAIL && !strcmp(d.policy, "none"),
	   "co.uk: record found at the organizational domain, p=none");
	ok(dmarc_check("nodmarc.example", NULL, NULL, 0, &d) == DMARC_NONE, "no record: none");
	ok(dmarc_check("two.example", NULL, NULL, 0, &d) == DMARC_NONE, "two records: as if none");
	ok(dmarc_check("badp.example", NULL, NULL, 0, &d) == DMARC_NONE, "bad p= without rua: no policy");
	ok(dmarc_check("badprua.example", NULL, NULL, 0, &d) == DMARC_FAIL && !strcmp(d.policy, "none"),
	   "bad p= with rua: p=none");
	ok(dmarc_check("down.example", NULL, NULL, 0, &d) == DMARC_TEMPERROR, "DNS failure: temperror");
	ok(dmarc_check("", NULL, NULL, 0, &d) == DMARC_NONE, "no From domain: none");
	unlink(path);
	dmarc_psl_file(NULL);
	ok(dmarc_org_domain("www.bbc.co.uk", org, sizeof org) == 0 && !strcmp(org, "bbc.co.uk"),
	   "the system list (or the fallback guess): bbc.co.uk (%s)", org);
	return done_testing();
}
