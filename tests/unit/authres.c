/* authres.c — unit tests for src/lib/authres.c: SPF, DKIM (a message
 * signed by dkimpy, see dkim-vectors.py) and DMARC together over a fake
 * DNS, and the Authentication-Results field they give; DNS failures are
 * temperror; hostile text never breaks out of a comment. */
#include "tap.h"
#include "authres.h"
#include "authdns.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include "dkim_vectors.h"

static int dns_down;

static int add_txt(struct dns_answer *a, const char *t)
{
	size_t n = strlen(t);
	struct dns_rr *r = &a->rr[a->n++];
	r->type = DNS_T_TXT;
	r->txt_off = a->txt_used;
	r->txt_len = n;
	memcpy(a->txt + a->txt_used, t, n);
	a->txt_used += n;
	return DNS_OK;
}

static int fake(const char *name, int qtype, struct dns_answer *a)
{
	memset(a, 0, sizeof *a);
	if (dns_down) return DNS_TEMP;
	if (qtype != DNS_T_TXT) return DNS_NODATA;
	if (!strcmp(name, "example.com")) return add_txt(a, "v=spf1 ip4:192.0.2.0/24 -all");
	if (!strcmp(name, "evil.test")) return add_txt(a, "v=spf1 ip4:203.0.113.0/24 -all");
	if (!strcmp(name, "sel._domainkey.example.com")) return add_txt(a, key_record);
	if (!strcmp(name, "_dmarc.example.com")) return add_txt(a, "v=DMARC1; p=reject");
	return DNS_NXDOMAIN;
}

static char *run(const char *ipstr, const char *sender, const char *msg, const char *checks)
{
	struct ipaddr ip;
	struct authres a;
	struct buf out = BUF_INIT;
	ip_parse(ipstr, strlen(ipstr), &ip);
	authres_begin(&a, checks, &ip, "mx.sender.test", sender);
	const char *sep = strstr(msg, "\r\n\r\n");
	size_t hl = (size_t)(sep - msg) + 2;
	authres_header(&a, msg, hl);
	authres_body(&a, sep + 4, strlen(sep + 4));
	authres_end(&a, "mx.yubin.test", &out);
	authres_free(&a);
	buf_addc(&out, 0);
	return out.s;
}

int main(void)
{
	auth_dns = fake;
	const char *m = signed_msg[0];
	char *r = run("192.0.2.9", "alice@example.com", m, "spf dkim dmarc");
	ok(r && !strncmp(r, "Authentication-Results: mx.yubin.test;\n\tspf=pass (", 49), "field starts with authserv-id, spf=pass: %s", r ? r : "");
	ok(strstr(r, "smtp.mailfrom=alice@example.com;") != NULL, "smtp.mailfrom shown");
	ok(strstr(r, "\n\tdkim=pass (1024-bit key) header.d=example.com header.s=sel header.b=") != NULL, "dkim=pass with d, s, b");
	ok(strstr(r, "\n\tdmarc=pass (p=reject) header.from=example.com\n") != NULL, "dmarc=pass, last result without ';'");
	free(r);

	/* spoofed: SPF fails for the envelope domain, the body was changed */
	char *t = strdup(m);
	char *p = strstr(t, "bye.");
	p[0] = 'B';
	r = run("203.0.113.5", "alice@example.com", t, "dmarc");
	ok(strstr(r, "spf=fail") && strstr(r, "dkim=fail (body hash did not verify)") &&
	   strstr(r, "dmarc=fail (p=reject) header.from=example.com"), "forgery: spf fail, dkim fail, dmarc fail p=reject: %s", r);
	free(r);
	/* SPF passes for another domain: not aligned */
	r = run("203.0.113.5", "bounce@evil.test", t, "spf dkim dmarc");
	ok(strstr(r, "spf=pass") && strstr(r, "dmarc=fail"), "SPF pass of an unaligned domain does not pass DMARC");
	free(r);
	free(t);

	r = run("192.0.2.9", "", "From: x@example.com\r\nSubject: s\r\n\r\nbody\r\n", "spf dkim");
	ok(strstr(r, "spf=none") && strstr(r, "smtp.helo=mx.sender.test") && strstr(r, "dkim=none (no signature)") &&
	   !strstr(r, "dmarc"), "null sender: SPF of HELO; unsigned: dkim=none; dmarc not asked: %s", r);
	free(r);

	dns_down = 1;
	r = run("192.0.2.9", "alice@example.com", m, "spf dkim dmarc");
	ok(strstr(r, "spf=temperror") && strstr(r, "dkim=temperror") && strstr(r, "dmarc=temperror"),
	   "DNS down: temperror everywhere, never fail: %s", r);
	free(r);
	dns_down = 0;

	r = run("192.0.2.9", "a@example.com", m, "");
	ok(r && r[0] == 0, "no checks configured: no field");
	free(r);
	r = run("192.0.2.9", "x(y)\\z;@exa\tmple.com", m, "spf");
	ok(r && !strstr(r, "x(y") && !strchr(strstr(r, "smtp.mailfrom=") + 14, '(') && strstr(r, "x_y__z_@exa_mple.com"),
	   "hostile sender text is neutralized: %s", r);
	free(r);
	return done_testing();
}
