/* dns.c — unit tests for src/lib/dns.c: the answer parser on good,
 * truncated, garbage and hostile packets (compression loops, overlong
 * names, lying lengths), CNAME chains, null MX and MX ordering.
 * Packets are built by hand; no DNS server is asked. */
#include "tap.h"
#include "dns.h"

#include <stdlib.h>

struct pkt {
	unsigned char b[8192];
	size_t n;
};

static void put8(struct pkt *p, unsigned v) { p->b[p->n++] = (unsigned char)v; }
static void put16(struct pkt *p, unsigned v) { put8(p, v >> 8); put8(p, v & 0xff); }
static void put32(struct pkt *p, unsigned v) { put16(p, v >> 16); put16(p, v & 0xffff); }
static void putname(struct pkt *p, const char *dotted)
{
	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t l = dot ? (size_t)(dot - dotted) : strlen(dotted);
		put8(p, (unsigned)l);
		memcpy(p->b + p->n, dotted, l);
		p->n += l;
		dotted += l + (dot ? 1 : 0);
	}
	put8(p, 0);
}
static void header(struct pkt *p, unsigned flags2, unsigned rcode, unsigned an)
{
	p->n = 0;
	put16(p, 0x1234);
	put8(p, 0x80 | flags2);  /* QR */
	put8(p, rcode);
	put16(p, 1);
	put16(p, an);
	put16(p, 0);
	put16(p, 0);
}
static void question(struct pkt *p, const char *name, unsigned type)
{
	putname(p, name);
	put16(p, type);
	put16(p, 1);
}
/* owner written as a pointer to the question name at offset 12 */
static void rr_head(struct pkt *p, unsigned type, unsigned rdlen)
{
	put16(p, 0xC00C);
	put16(p, type);
	put16(p, 1);
	put32(p, 300);
	put16(p, rdlen);
}

/* parse a copy of exactly len bytes, so ASan sees any read past the end */
static int parse(const struct pkt *p, size_t len, const char *q, int type, struct dns_answer *a)
{
	unsigned char *copy = malloc(len ? len : 1);
	memcpy(copy, p->b, len);
	int r = dns_parse(copy, len, q, type, a);
	free(copy);
	return r;
}

static void mx_packet(struct pkt *p)
{
	header(p, 0, 0, 2);
	question(p, "example.com", DNS_T_MX);
	rr_head(p, DNS_T_MX, 2 + 6);
	put16(p, 20);
	put8(p, 3); memcpy(p->b + p->n, "mx2", 3); p->n += 3;
	put16(p, 0xC00C);            /* mx2.example.com */
	rr_head(p, DNS_T_MX, 2 + 6);
	put16(p, 10);
	put8(p, 3); memcpy(p->b + p->n, "MX1", 3); p->n += 3;
	put16(p, 0xC00C);
}

int main(void)
{
	static struct dns_answer a;
	struct pkt p;
	char out[DNS_NAME_MAX];
	size_t next;

	/* names */
	header(&p, 0, 0, 0);
	putname(&p, "a.b.c");
	ok(dns_name_expand(p.b, p.n, 12, out, sizeof out, &next) == 0 && !strcmp(out, "a.b.c") && next == p.n,
	   "plain name expands");
	p.b[p.n] = 0xC0; p.b[p.n + 1] = (unsigned char)p.n;  /* pointer to itself */
	ok(dns_name_expand(p.b, p.n + 2, p.n, out, sizeof out, &next) == -1, "pointer to itself refused");
	header(&p, 0, 0, 0);
	put8(&p, 1); put8(&p, 'a'); put16(&p, 0xC00C);      /* a, then pointer back to 12: loop */
	ok(dns_name_expand(p.b, p.n, 12, out, sizeof out, &next) == -1, "compression loop through a label refused");
	header(&p, 0, 0, 0);
	put16(&p, 0xC00E); put16(&p, 0xC00C);               /* 12 -> 14 (forward) */
	ok(dns_name_expand(p.b, p.n, 12, out, sizeof out, &next) == -1, "forward pointer refused");
	ok(dns_name_expand(p.b, p.n, 14, out, sizeof out, &next) == -1, "two pointers pointing at each other refused");
	header(&p, 0, 0, 0);
	for (int i = 0; i < 5; i++) { put8(&p, 63); memset(p.b + p.n, 'x', 63); p.n += 63; }
	put8(&p, 0);
	ok(dns_name_expand(p.b, p.n, 12, out, sizeof out, &next) == -1, "name over 255 bytes refused");
	header(&p, 0, 0, 0);
	put8(&p, 64); memset(p.b + p.n, 'x', 64); p.n += 64; put8(&p, 0);
	ok(dns_name_expand(p.b, p.n, 12, out, sizeof out, &next) == -1, "label type 0x40 refused");
	header(&p, 0, 0, 0);
	put8(&p, 3); memcpy(p.b + p.n, "a b", 3); p.n += 3; put8(&p, 0);
	ok(dns_name_expand(p.b, p.n, 12, out, sizeof out, &next) == -2 && next == p.n,
	   "name with a space is well-formed but unusable");
	header(&p, 0, 0, 0);
	put8(&p, 0);
	ok(dns_name_expand(p.b, p.n, 12, out, sizeof out, &next) == 0 && out[0] == 0, "root name is empty");
	ok(dns_name_expand(p.b, 12, 12, out, sizeof out, &next) == -1, "name past the end refused");

	/* MX answer */
	mx_packet(&p);
	int r = parse(&p, p.n, "Example.COM.", DNS_T_MX, &a);
	ok(r == DNS_OK && a.n == 2, "MX answer parsed (%d, %zu records)", r, a.n);
	ok(a.rr[0].pref == 20 && !strcmp(a.rr[0].name, "mx2.example.com"), "compressed exchange expanded");
	ok(!strcmp(a.rr[1].name, "mx1.example.com"), "exchange lower-cased");
	int survived = 1;
	for (size_t len = 0; len < p.n; len++) {
		r = parse(&p, len, "example.com", DNS_T_MX, &a);
		if (r == DNS_OK && a.n > 2) survived = 0;
	}
	ok(survived, "every truncation of an MX answer is handled");
	ok(parse(&p, p.n - 1, "example.com", DNS_T_MX, &a) == DNS_BAD, "record cut short is malformed");

	/* lying lengths */
	mx_packet(&p);
	p.b[p.n - 8 - 1] = 0xff;      /* second rdlength low byte */
	ok(parse(&p, p.n, "example.com", DNS_T_MX, &a) == DNS_BAD, "rdlength past the end refused");
	mx_packet(&p);
	p.b[7] = 200;                 /* ancount says more than there is */
	ok(parse(&p, p.n, "example.com", DNS_T_MX, &a) == DNS_BAD, "answer count past the end refused");
	header(&p, 0, 0, 1);
	question(&p, "h.test", DNS_T_A);
	rr_head(&p, DNS_T_A, 5);
	put32(&p, 0x01020304); put8(&p, 0);
	ok(parse(&p, p.n, "h.test", DNS_T_A, &a) == DNS_BAD, "A record of 5 bytes refused");
	header(&p, 0, 0, 1);
	question(&p, "h.test", DNS_T_MX);
	rr_head(&p, DNS_T_MX, 2 + 3 + 2);
	put16(&p, 5); put8(&p, 1); put8(&p, 'm'); put16(&p, 0xC00C); put8(&p, 0); /* name ends before rdata */
	ok(parse(&p, p.n, "h.test", DNS_T_MX, &a) == DNS_BAD, "MX exchange not filling its rdata refused");

	/* flags and rcodes */
	mx_packet(&p);
	p.b[3] = 3;
	ok(parse(&p, p.n, "other.test", DNS_T_MX, &a) == DNS_NXDOMAIN, "NXDOMAIN");
	p.b[3] = 2;
	ok(parse(&p, p.n, "example.com", DNS_T_MX, &a) == DNS_TEMP, "SERVFAIL is temporary");
	mx_packet(&p);
	p.b[2] |= 0x02;
	ok(parse(&p, p.n, "example.com", DNS_T_MX, &a) == DNS_TEMP, "truncated (TC) answer is temporary");
	mx_packet(&p);
	p.b[2] = 0;
	ok(parse(&p, p.n, "example.com", DNS_T_MX, &a) == DNS_BAD, "a query (QR=0) is not an answer");
	mx_packet(&p);
	ok(parse(&p, p.n, "example.com", DNS_T_A, &a) == DNS_NODATA, "no record of the asked type: NODATA");
	ok(parse(&p, p.n, "other.com", DNS_T_MX, &a) == DNS_NODATA, "records for another name are ignored");

	/* CNAME chains */
	header(&p, 0, 0, 3);
	question(&p, "www.test", DNS_T_A);
	size_t c1 = p.n;
	rr_head(&p, DNS_T_CNAME, 8);
	put8(&p, 1); put8(&p, 'b'); put8(&p, 4); memcpy(p.b + p.n, "test", 4); p.n += 4; put8(&p, 0);
	/* b.test CNAME c.test (owner as pointer into the previous rdata) */
	put16(&p, 0xC000 | (unsigned)(c1 + 12)); put16(&p, DNS_T_CNAME); put16(&p, 1); put32(&p, 1); put16(&p, 4);
	put8(&p, 1); put8(&p, 'c'); put16(&p, 0xC000 | (unsigned)(c1 + 12 + 2));
	put8(&p, 1); put8(&p, 'c'); put16(&p, 0xC000 | (unsigned)(c1 + 12 + 2));
	put16(&p, DNS_T_A); put16(&p, 1); put32(&p, 1); put16(&p, 4); put32(&p, 0x7f000001);
	r = parse(&p, p.n, "www.test", DNS_T_A, &a);
	ok(r == DNS_OK && a.n == 1 && a.rr[0].addr[0] == 127 && !strcmp(a.name, "c.test"),
	   "CNAME chain followed inside the answer (%d, %s)", r, a.name);
	header(&p, 0, 0, 1);
	question(&p, "www.test", DNS_T_A);
	rr_head(&p, DNS_T_CNAME, 9);
	put8(&p, 2); memcpy(p.b + p.n, "xy", 2); p.n += 2; put8(&p, 4); memcpy(p.b + p.n, "test", 4); p.n += 4; put8(&p, 0);
	r = parse(&p, p.n, "www.test", DNS_T_A, &a);
	ok(r == DNS_NODATA && a.cname_open && !strcmp(a.name, "xy.test"), "CNAME without target records asks for a new query");
	header(&p, 0, 0, 2);
	question(&p, "a.test", DNS_T_A);
	size_t own = p.n;
	rr_head(&p, DNS_T_CNAME, 8);
	put8(&p, 1); put8(&p, 'b'); put8(&p, 4); memcpy(p.b + p.n, "test", 4); p.n += 4; put8(&p, 0);
	put16(&p, 0xC000 | (unsigned)(own + 12)); put16(&p, DNS_T_CNAME); put16(&p, 1); put32(&p, 1); put16(&p, 2);
	put16(&p, 0xC00C);
	ok(parse(&p, p.n, "a.test", DNS_T_A, &a) == DNS_BAD, "CNAME loop a -> b -> a refused");

	/* null MX */
	header(&p, 0, 0, 1);
	question(&p, "nomail.test", DNS_T_MX);
	rr_head(&p, DNS_T_MX, 3);
	put16(&p, 0); put8(&p, 0);
	r = parse(&p, p.n, "nomail.test", DNS_T_MX, &a);
	ok(r == DNS_OK && a.n == 1 && a.rr[0].pref == 0 && a.rr[0].name[0] == 0, "null MX parsed as the root exchange");

	/* TXT */
	header(&p, 0, 0, 1);
	question(&p, "t.test", DNS_T_TXT);
	rr_head(&p, DNS_T_TXT, 1 + 6 + 1 + 3);
	put8(&p, 6); memcpy(p.b + p.n, "v=spf1", 6); p.n += 6; put8(&p, 3); memcpy(p.b + p.n, " -a", 3); p.n += 3;
	r = parse(&p, p.n, "t.test", DNS_T_TXT, &a);
	ok(r == DNS_OK && a.n == 1 && a.rr[0].txt_len == 9 && !memcmp(a.txt + a.rr[0].txt_off, "v=spf1 -a", 9),
	   "TXT strings joined");
	p.b[p.n - 4] = 9;   /* second string claims more than its rdata */
	ok(parse(&p, p.n, "t.test", DNS_T_TXT, &a) == DNS_BAD, "TXT string past its rdata refused");

	/* many records: bounded */
	header(&p, 0, 0, 100);
	question(&p, "many.test", DNS_T_A);
	for (unsigned i = 0; i < 100; i++) { rr_head(&p, DNS_T_A, 4); put32(&p, 0x0a000000 + i); }
	r = parse(&p, p.n, "many.test", DNS_T_A, &a);
	ok(r == DNS_OK && a.n == DNS_RR_MAX, "at most DNS_RR_MAX records kept");

	/* owner with unusable bytes is skipped, others kept */
	header(&p, 0, 0, 2);
	question(&p, "h.test", DNS_T_A);
	put8(&p, 2); put8(&p, 'h'); put8(&p, 0); put16(&p, 0xC00E);   /* "h\0.test" */
	put16(&p, DNS_T_A); put16(&p, 1); put32(&p, 1); put16(&p, 4); put32(&p, 1);
	rr_head(&p, DNS_T_A, 4); put32(&p, 0x02020202);
	r = parse(&p, p.n, "h.test", DNS_T_A, &a);
	ok(r == DNS_OK && a.n == 1 && a.rr[0].addr[0] == 2, "record with a NUL in its owner skipped");

	/* random garbage and mutations never crash */
	srand(12345);
	int sane = 1;
	for (int i = 0; i < 20000; i++) {
		struct pkt g;
		g.n = (size_t)(rand() % 600);
		for (size_t k = 0; k < g.n; k++) g.b[k] = (unsigned char)rand();
		if (g.n > 3 && i % 2) g.b[2] = 0x80;
		if (g.n > 3 && i % 2) g.b[3] = 0;
		r = parse(&g, g.n, "example.com", DNS_T_MX, &a);
		if (a.n > DNS_RR_MAX) sane = 0;
	}
	for (int i = 0; i < 20000; i++) {
		mx_packet(&p);
		int flips = 1 + rand() % 4;
		for (int k = 0; k < flips; k++) p.b[12 + (size_t)rand() % (p.n - 12)] = (unsigned char)rand();
		r = parse(&p, p.n, "example.com", DNS_T_MX, &a);
		if (r == DNS_OK)
			for (size_t k = 0; k < a.n; k++)
				if (strlen(a.rr[k].name) >= DNS_NAME_MAX) sane = 0;
	}
	ok(sane, "40000 random and mutated packets parsed without harm");

	/* MX ordering */
	struct dns_mx mx[6] = { { 30, "c" }, { 10, "a1" }, { 20, "b" }, { 10, "a2" }, { 10, "a1" }, { 10, "a3" } };
	size_t n = dns_mx_sort(mx, 6);
	ok(n == 5 && mx[0].pref == 10 && mx[2].pref == 10 && mx[3].pref == 20 && mx[4].pref == 30,
	   "MX sorted by preference, duplicates dropped");
	int seen_first[3] = { 0, 0, 0 };
	for (int i = 0; i < 200; i++) {
		struct dns_mx m2[4] = { { 10, "a1" }, { 10, "a2" }, { 10, "a3" }, { 5, "z" } };
		dns_mx_sort(m2, 4);
		if (strcmp(m2[0].host, "z") == 0 && m2[1].host[0] == 'a') seen_first[m2[1].host[1] - '1'] = 1;
	}
	ok(seen_first[0] && seen_first[1] && seen_first[2], "equal preferences shuffled");

	struct dns_addr ad[4];
	size_t na;
	ok(dns_addrs("192.0.2.7", DNS_V4 | DNS_V6, ad, 4, &na) == DNS_OK && na == 1 && ad[0].a[3] == 7,
	   "IPv4 literal needs no lookup");
	ok(dns_addrs("2001:db8::1", DNS_V4, ad, 4, &na) == DNS_NODATA, "IPv6 literal with ipv4 only gives nothing");
	char s[64];
	dns_addrs("::1", DNS_V6, ad, 4, &na);
	dns_addr_str(&ad[0], s, sizeof s);
	ok(strcmp(s, "::1") == 0, "address printed (%s)", s);
	return done_testing();
}
