/* dnscheck.c — yubin-ctl dns-check DOMAIN: the DNS a mail domain needs to
 * be accepted by the big providers, looked up and checked: MX and the MX
 * hosts' addresses, PTR (each address of the MX hosts and of myhostname
 * has a name that resolves back to it: FCrDNS), SPF (one record; does it
 * pass for the MX hosts, the usual senders), DKIM (each selector of
 * control/dkim_keys published, and equal to our key), DMARC (a record
 * with p=), and the optional MTA-STS and TLSRPT records. One line per
 * fact: "ok", "warn" or "FAIL" ("note" for optional things not there);
 * exit 0 when nothing FAILed, 1 otherwise. */
#include "ctl.h"
#include "authdns.h"
#include "buf.h"
#include "cidr.h"
#include "control.h"
#include "dkim.h"
#include "dmarc.h"
#include "dns.h"
#include "log.h"
#include "mtasts.h"
#include "spf.h"
#include "table.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failed;

static void line(const char *level, const char *what, const char *text)
{
	if (level[0] == 'F') failed = 1;
	printf("%-4s %-6s %s\n", level, what, text);
}

static void check_mx(const char *domain, struct dns_addr *addrs, size_t max, size_t *na)
{
	struct dns_mx mx[16];
	size_t n = 0;
	char t[600];
	*na = 0;
	int r = dns_mx(domain, mx, 16, &n);
	if (r == DNS_NULLMX) { line("warn", "MX", "null MX: the domain receives no mail"); return; }
	if (r != DNS_OK || n == 0) {
		line(r == DNS_TEMP || r == DNS_BAD ? "FAIL" : "warn", "MX",
		     r == DNS_TEMP || r == DNS_BAD ? "lookup failed" : "no MX record: mail goes to the domain's own address");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct dns_addr a[8];
		size_t k = 0;
		int ar = dns_addrs(mx[i].host, DNS_V4 | DNS_V6, a, 8, &k);
		snprintf(t, sizeof t, "%u %s:", mx[i].pref, mx[i].host);
		for (size_t j = 0; j < k; j++) {
			char s[64];
			dns_addr_str(&a[j], s, sizeof s);
			size_t l = strlen(t);
			snprintf(t + l, sizeof t - l, " %s", s);
			if (*na < max) addrs[(*na)++] = a[j];
		}
		if (ar == DNS_OK && k) line("ok", "MX", t);
		else { snprintf(t, sizeof t, "%u %s: has no address", mx[i].pref, mx[i].host); line("FAIL", "MX", t); }
	}
}

static void check_spf(const char *domain, const struct dns_addr *addrs, size_t na)
{
	char *rec[4], t[600], why[200];
	size_t n = 0;
	int r = auth_txt(domain, "v=spf1", rec, 4, &n);
	if (r == DNS_TEMP || r == DNS_BAD) { line("FAIL", "SPF", "lookup failed"); return; }
	if (n == 0) { line("FAIL", "SPF", "no v=spf1 record: publish e.g. \"v=spf1 mx -all\""); return; }
	if (n > 1) line("FAIL", "SPF", "more than one v=spf1 record (permerror for everyone)");
	snprintf(t, sizeof t, "%s", rec[0]);
	line("ok", "SPF", t);
	auth_txt_free(rec, n);
	for (size_t i = 0; i < na; i++) {
		struct ipaddr ip = { addrs[i].family == AF_INET6 ? 6 : 4, { 0 } };
		memcpy(ip.a, addrs[i].a, 16);
		char s[64], sender[300];
		dns_addr_str(&addrs[i], s, sizeof s);
		snprintf(sender, sizeof sender, "postmaster@%s", domain);
		int res = spf_check(&ip, domain, sender, domain, why, sizeof why);
		snprintf(t, sizeof t, "%s for MX address %s (%s)", spf_result_name(res), s, why);
		line(res == SPF_PASS ? "ok" : "warn", "SPF", t);
	}
}

static void check_dkim(const char *domain)
{
	char *entry = NULL, name[400], path[4096], err[300], *rec[4], t[700];
	size_t n = 0;
	int r = table_get("dkim_keys", domain, strlen(domain), &entry);
	if (r <= 0) { line("warn", "DKIM", "no key in control/dkim_keys: run yubin-ctl dkim-keygen DOMAIN SELECTOR"); return; }
	char *colon = strchr(entry, ':');
	if (!colon) { line("FAIL", "DKIM", "control/dkim_keys entry is not selector:keyfile"); free(entry); return; }
	*colon = 0;
	const char *file = colon + 1;
	if (file[0] == '/') snprintf(path, sizeof path, "%s", file);
	else root_path(path, sizeof path, file);
	snprintf(name, sizeof name, "%s._domainkey.%s", entry, domain);
	struct dkim_key k;
	struct buf ours = BUF_INIT;
	int have = dkim_key_load(&k, path, err, sizeof err) == 0;
	if (!have) line("FAIL", "DKIM", err);
	else { dkim_key_record_make(&k, &ours); dkim_key_free(&k); }
	r = auth_txt(name, "", rec, 4, &n);
	if (r == DNS_TEMP || r == DNS_BAD) line("FAIL", "DKIM", "lookup failed");
	else if (n == 0) {
		snprintf(t, sizeof t, "%s: no record; publish the one dkim-keygen prints", name);
		line("FAIL", "DKIM", t);
	} else {
		br_rsa_public_key pub, mine;
		unsigned char b1[2048], b2[2048];
		int pr = dkim_key_record(rec[0], strlen(rec[0]), &pub, b1, sizeof b1);
		int same = have && pr == 0 && dkim_key_record(ours.s, ours.len, &mine, b2, sizeof b2) == 0 &&
		           pub.nlen == mine.nlen && memcmp(pub.n, mine.n, pub.nlen) == 0;
		snprintf(t, sizeof t, "%s: %s", name, pr < 0 ? "malformed record" : same ? "published, matches our key" :
		                                       "published, but NOT our key");
		line(same ? "ok" : "FAIL", "DKIM", t);
	}
	auth_txt_free(rec, n);
	buf_free(&ours);
	free(entry);
}

static void check_dmarc(const char *domain)
{
	struct dmarc d;
	char t[400];
	int r = dmarc_check(domain, domain, NULL, 0, &d);
	if (r == DMARC_TEMPERROR) { line("FAIL", "DMARC", "lookup failed"); return; }
	if (r == DMARC_NONE) { line("FAIL", "DMARC", "no _dmarc record: publish e.g. \"v=DMARC1; p=none; rua=mailto:...\""); return; }
	snprintf(t, sizeof t, "policy p=%s pct=%d%s", d.policy, d.pct,
	         strcmp(d.policy, "none") ? "" : " (monitoring only; consider quarantine once reports look clean)");
	line("ok", "DMARC", t);
}

/* forward-confirmed reverse DNS of one address: a PTR name whose
 * addresses include this one (what receivers check of a sender) */
static void check_ptr(const char *whose, const struct dns_addr *addr)
{
	static struct dns_answer a;
	char ip[64], t[900];
	dns_addr_str(addr, ip, sizeof ip);
	int r = dns_ptr(addr, &a);
	if (r == DNS_TEMP || r == DNS_BAD) {
		snprintf(t, sizeof t, "%s (%s): lookup failed", ip, whose);
		line("FAIL", "PTR", t);
		return;
	}
	size_t names = 0;
	for (size_t i = 0; r == DNS_OK && i < a.n; i++) {
		if (a.rr[i].type != DNS_T_PTR || !a.rr[i].name[0]) continue;
		names++;
		struct dns_addr fw[16];
		size_t k = 0, same = 0;
		dns_addrs(a.rr[i].name, DNS_V4 | DNS_V6, fw, 16, &k);
		for (size_t j = 0; j < k; j++)
			same += fw[j].family == addr->family && memcmp(fw[j].a, addr->a, addr->family == AF_INET ? 4 : 16) == 0;
		if (same) snprintf(t, sizeof t, "%s (%s) -> %s -> %s: forward-confirmed", ip, whose, a.rr[i].name, ip);
		else snprintf(t, sizeof t, "%s (%s) -> %s, which does not resolve back to %s: receivers will distrust "
		              "mail from this address", ip, whose, a.rr[i].name, ip);
		line(same ? "ok" : "FAIL", "PTR", t);
	}
	if (!names) {
		snprintf(t, sizeof t, "%s (%s): no PTR record; ask the address's owner (your provider) for one naming "
		         "this host", ip, whose);
		line("FAIL", "PTR", t);
	}
}

static void check_ptrs(const struct dns_addr *mxaddrs, size_t nmx)
{
	struct dns_addr own[16];
	size_t n = 0;
	char whose[400];
	const char *me = control_get("myhostname");
	for (size_t i = 0; i < nmx; i++) check_ptr("MX", &mxaddrs[i]);
	int r = dns_addrs(me, DNS_V4 | DNS_V6, own, 16, &n);
	snprintf(whose, sizeof whose, "myhostname %s", me);
	if (r != DNS_OK || n == 0) {
		snprintf(whose, sizeof whose, "myhostname %s has no address in DNS: mail sent from it fails FCrDNS", me);
		line("warn", "PTR", whose);
	}
	for (size_t i = 0; i < n; i++) {
		int seen = 0;
		for (size_t j = 0; j < nmx && !seen; j++)
			seen = own[i].family == mxaddrs[j].family && memcmp(own[i].a, mxaddrs[j].a, 16) == 0;
		if (!seen) check_ptr(whose, &own[i]);
	}
}

/* an optional TXT record: the records at name that start with prefix */
static void check_optional(const char *what, const char *name, const char *prefix, const char *advice)
{
	char *rec[4], t[700];
	size_t n = 0;
	int r = auth_txt(name, prefix, rec, 4, &n);
	if (r == DNS_TEMP || r == DNS_BAD) { line("FAIL", what, "lookup failed"); return; }
	if (n == 0) {
		snprintf(t, sizeof t, "%s: none published (optional; %s)", name, advice);
		line("note", what, t);
		return;
	}
	if (n > 1) {
		snprintf(t, sizeof t, "%s: more than one %s record (receivers ignore them all)", name, prefix);
		line("FAIL", what, t);
	} else if (strcmp(what, "MTA-STS") == 0) {
		char id[STS_ID_MAX];
		int ok = sts_txt_parse(rec[0], strlen(rec[0]), id, sizeof id) == 0;
		snprintf(t, sizeof t, "%s: %s%s", name, rec[0], ok ? "" : " (malformed: needs id=1-32 letters/digits)");
		line(ok ? "ok" : "FAIL", what, t);
		if (ok) {
			snprintf(t, sizeof t, "policy expected at https://mta-sts.%s/.well-known/mta-sts.txt", name + 9);
			line("note", what, t);
		}
	} else {
		snprintf(t, sizeof t, "%s: %s", name, rec[0]);
		line(strstr(rec[0], "rua=") ? "ok" : "FAIL", what, t);
	}
	auth_txt_free(rec, n);
}

int cmd_dns_check(int argc, char **argv)
{
	struct dns_addr addrs[32];
	size_t na = 0;
	if (argc != 2) die(EXIT_PERM, "usage: yubin-ctl dns-check DOMAIN");
	char *domain = argv[1];
	for (char *c = domain; *c; c++) if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
	char name[DNS_NAME_MAX + 16];
	check_mx(domain, addrs, 32, &na);
	check_ptrs(addrs, na);
	check_spf(domain, addrs, na);
	check_dkim(domain);
	check_dmarc(domain);
	snprintf(name, sizeof name, "_mta-sts.%s", domain);
	check_optional("MTA-STS", name, "v=STSv1", "senders that support it then require TLS to your MX");
	snprintf(name, sizeof name, "_smtp._tls.%s", domain);
	check_optional("TLSRPT", name, "v=TLSRPTv1", "reports of TLS failures to you");
	return failed ? 1 : 0;
}
