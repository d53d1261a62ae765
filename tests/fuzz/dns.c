/* dns.c — fuzz target: DNS answers as yubin-remote's resolver parses them
 * (dns_parse, dns_name_expand, dns_mx_sort). A hostile or broken server
 * controls every byte of a reply: lengths, counts, compression pointers,
 * CNAME chains. Beyond memory safety: the record count stays within
 * DNS_RR_MAX, TXT spans lie inside the kept text, every name is a
 * NUL-terminated lower-case string with no byte a host name never has,
 * and MX sorting keeps preferences in order. Input: one selector byte
 * (query type), then the packet; the question is for "example.test". */
#include "fuzz.h"
#include "dns.h"

#include <ctype.h>

static void name_ok(const char *s)
{
	size_t n = strnlen(s, DNS_NAME_MAX);
	FUZZ_ASSERT(n < DNS_NAME_MAX);
	for (size_t i = 0; i < n; i++) FUZZ_ASSERT(!isupper((unsigned char)s[i]) && (unsigned char)s[i] > 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = { DNS_T_MX, DNS_T_A, DNS_T_AAAA, DNS_T_TXT, DNS_T_CNAME, DNS_T_PTR };
	struct fin f = { data, size };
	unsigned sel = fin_byte(&f);
	unsigned char *pkt = (unsigned char *)fuzz_dup(f.p, f.n, 0);
	static struct dns_answer a;
	int r = dns_parse(pkt, f.n, "example.test", types[sel % 6], &a);
	FUZZ_ASSERT(r >= DNS_BAD && r <= DNS_NXDOMAIN && r != DNS_NULLMX);
	if (r == DNS_OK) {
		FUZZ_ASSERT(a.n <= DNS_RR_MAX);
		FUZZ_ASSERT(a.txt_used <= DNS_TXT_MAX);
		name_ok(a.name);
		struct dns_mx mx[DNS_RR_MAX];
		size_t nmx = 0;
		for (size_t i = 0; i < a.n; i++) {
			const struct dns_rr *rr = &a.rr[i];
			name_ok(rr->name);
			if (rr->type == DNS_T_TXT) FUZZ_ASSERT(rr->txt_off + rr->txt_len <= a.txt_used);
			if (rr->type == DNS_T_MX) {
				mx[nmx].pref = rr->pref;
				memcpy(mx[nmx].host, rr->name, sizeof mx[nmx].host);
				nmx++;
			}
		}
		size_t k = dns_mx_sort(mx, nmx);
		FUZZ_ASSERT(k <= nmx);
		for (size_t i = 1; i < k; i++) FUZZ_ASSERT(mx[i - 1].pref <= mx[i].pref);
	}
	/* every offset as a name start, as record parsing may reach it */
	char out[DNS_NAME_MAX];
	for (size_t off = 0; off < f.n && off < 64; off++) {
		size_t next = 0;
		int e = dns_name_expand(pkt, f.n, off, out, sizeof out, &next);
		if (e == 0) {
			name_ok(out);
			FUZZ_ASSERT(next > off && next <= f.n);
		}
	}
	free(pkt);
	return 0;
}
