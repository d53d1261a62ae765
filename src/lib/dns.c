/* dns.c — MX/A/AAAA/TXT lookups with res_query and a defensive parser of
 * the answers (see dns.h). Why our own parser: ns_initparse and friends
 * trust record lengths more than we want to, and we need only a handful
 * of record types. Everything is bounded by the packet length we got. */
#include "dns.h"
#include "idna.h"
#include "utf8.h"
#include "control.h"
#include "log.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define HDR 12
#define MAX_CNAME_HOPS 16
#define MAX_POINTERS 64

static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

int dns_name_expand(const unsigned char *pkt, size_t len, size_t off, char *out, size_t max, size_t *next)
{
	size_t pos = off, o = 0, wire = 0, limit = off;  /* pointers must go below limit */
	int jumped = 0, bad = 0, hops = 0;
	if (max == 0) return -1;
	for (;;) {
		if (pos >= len) return -1;
		unsigned c = pkt[pos];
		if (c == 0) {
			if (!jumped) *next = pos + 1;
			break;
		}
		if ((c & 0xC0) == 0xC0) {
			if (pos + 1 >= len) return -1;
			size_t target = (size_t)(c & 0x3F) << 8 | pkt[pos + 1];
			if (!jumped) *next = pos + 2;
			/* strictly backwards from where this run of labels began: no loops */
			if (target >= limit || ++hops > MAX_POINTERS) return -1;
			limit = target;
			pos = target;
			jumped = 1;
			continue;
		}
		if (c & 0xC0) return -1;          /* 0x40/0x80: obsolete label types */
		if (pos + 1 + c > len) return -1;
		wire += c + 1;
		if (wire > 254) return -1;       /* 255 with the root byte */
		if (o) {
			if (o + 1 >= max) return -1;
			out[o++] = '.';
		}
		for (unsigned i = 0; i < c; i++) {
			unsigned char ch = pkt[pos + 1 + i];
			if (ch <= 0x20 || ch >= 0x7f || ch == '.' || ch == '\\') bad = 1;
			if (o + 1 >= max) return -1;
			out[o++] = (char)tolower(ch);
		}
		pos += 1 + c;
	}
	out[o] = 0;
	return bad ? -2 : 0;
}

/* Walk the question and answer sections; fn is called for each answer
 * record of class IN with a well-formed owner name. */
struct rrinfo {
	char owner[DNS_NAME_MAX];
	unsigned type;
	size_t rdoff, rdlen;
};

typedef int (*rr_fn)(const unsigned char *pkt, size_t len, const struct rrinfo *rr, void *arg);

static int walk(const unsigned char *pkt, size_t len, rr_fn fn, void *arg)
{
	char name[DNS_NAME_MAX];
	size_t pos = HDR, next;
	unsigned qd = get16(pkt + 4), an = get16(pkt + 6);
	for (unsigned i = 0; i < qd; i++) {
		if (dns_name_expand(pkt, len, pos, name, sizeof name, &next) == -1) return DNS_BAD;
		if (next + 4 > len) return DNS_BAD;
		pos = next + 4;
	}
	for (unsigned i = 0; i < an; i++) {
		struct rrinfo rr;
		int e = dns_name_expand(pkt, len, pos, rr.owner, sizeof rr.owner, &next);
		if (e == -1 || next + 10 > len) return DNS_BAD;
		rr.type = get16(pkt + next);
		unsigned cls = get16(pkt + next + 2);
		rr.rdlen = get16(pkt + next + 8);
		rr.rdoff = next + 10;
		if (rr.rdlen > len - rr.rdoff) return DNS_BAD;
		pos = rr.rdoff + rr.rdlen;
		if (e == 0 && cls == 1) {
			int r = fn(pkt, len, &rr, arg);
			if (r != 0) return r;
		}
	}
	return 0;
}

struct cname_state {
	char from[MAX_CNAME_HOPS][DNS_NAME_MAX];
	char to[MAX_CNAME_HOPS][DNS_NAME_MAX];
	size_t n;
};

static int collect_cname(const unsigned char *pkt, size_t len, const struct rrinfo *rr, void *arg)
{
	struct cname_state *c = arg;
	size_t next;
	char target[DNS_NAME_MAX];
	if (rr->type != DNS_T_CNAME) return 0;
	int e = dns_name_expand(pkt, len, rr->rdoff, target, sizeof target, &next);
	if (e == -1 || next != rr->rdoff + rr->rdlen) return DNS_BAD;
	if (e == -2 || c->n >= MAX_CNAME_HOPS) return 0;
	memcpy(c->from[c->n], rr->owner, sizeof rr->owner);
	memcpy(c->to[c->n], target, sizeof target);
	c->n++;
	return 0;
}

struct collect_state {
	struct dns_answer *a;
	unsigned qtype;
};

static int collect_rr(const unsigned char *pkt, size_t len, const struct rrinfo *rr, void *arg)
{
	struct collect_state *s = arg;
	struct dns_answer *a = s->a;
	if (rr->type != s->qtype || strcmp(rr->owner, a->name) != 0 || a->n >= DNS_RR_MAX) return 0;
	struct dns_rr *out = &a->rr[a->n];
	size_t next, end = rr->rdoff + rr->rdlen;
	memset(out, 0, sizeof *out);
	out->type = (unsigned short)rr->type;
	switch (rr->type) {
	case DNS_T_A:
		if (rr->rdlen != 4) return DNS_BAD;
		memcpy(out->addr, pkt + rr->rdoff, 4);
		break;
	case DNS_T_AAAA:
		if (rr->rdlen != 16) return DNS_BAD;
		memcpy(out->addr, pkt + rr->rdoff, 16);
		break;
	case DNS_T_MX: {
		if (rr->rdlen < 3) return DNS_BAD;
		out->pref = (unsigned short)get16(pkt + rr->rdoff);
		int e = dns_name_expand(pkt, len, rr->rdoff + 2, out->name, sizeof out->name, &next);
		if (e == -1 || next != end) return DNS_BAD;
		if (e == -2) return 0;   /* an exchange no host can be named: skip it */
		break;
	}
	case DNS_T_PTR: {
		int e = dns_name_expand(pkt, len, rr->rdoff, out->name, sizeof out->name, &next);
		if (e == -1 || next != end) return DNS_BAD;
		if (e == -2) return 0;   /* a name no host has: skip it */
		break;
	}
	case DNS_T_TXT: {
		size_t i = rr->rdoff;
		out->txt_off = a->txt_used;
		while (i < end) {
			size_t l = pkt[i];
			if (l > end - i - 1) return DNS_BAD;
			size_t room = sizeof a->txt - a->txt_used;
			if (l > room) { l = room; a->txt_truncated = 1; }
			memcpy(a->txt + a->txt_used, pkt + i + 1, l);
			a->txt_used += l;
			i += 1 + pkt[i];
		}
		out->txt_len = a->txt_used - out->txt_off;
		break;
	}
	default:
		return 0;
	}
	a->n++;
	return 0;
}

/* qname as the parser compares it: lower case, no trailing dot */
static int canon_name(const char *in, char *out, size_t max)
{
	size_t n = strlen(in);
	if (n && in[n - 1] == '.') n--;
	if (n >= max || n > 253) return -1;
	for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)in[i]);
	out[n] = 0;
	return 0;
}

int dns_parse(const unsigned char *pkt, size_t len, const char *qname, int qtype, struct dns_answer *a)
{
	struct cname_state *c;
	memset(a, 0, sizeof *a);
	if (len < HDR) return DNS_BAD;
	if (!(pkt[2] & 0x80) || (pkt[2] & 0x78)) return DNS_BAD;   /* not a standard response */
	unsigned rcode = pkt[3] & 0x0F;
	if (rcode != 0 && rcode != 3) return DNS_TEMP;
	if (pkt[2] & 0x02) return DNS_TEMP;                          /* truncated */
	if (canon_name(qname, a->name, sizeof a->name) < 0) return DNS_BAD;

	c = malloc(sizeof *c);
	if (!c) return DNS_TEMP;
	c->n = 0;
	int r = walk(pkt, len, collect_cname, c);
	if (r == 0 && qtype != DNS_T_CNAME) {
		int hops = 0, moved = 1;
		while (moved) {
			moved = 0;
			for (size_t i = 0; i < c->n; i++) {
				if (strcmp(c->from[i], a->name) != 0) continue;
				if (++hops > MAX_CNAME_HOPS) { r = DNS_BAD; break; }
				memcpy(a->name, c->to[i], sizeof a->name);
				moved = 1;
				break;
			}
			if (r) break;
		}
		if (r == 0 && hops) a->cname_open = 1;
	}
	free(c);
	if (r != 0) return r;
	struct collect_state s = { a, (unsigned)qtype };
	r = walk(pkt, len, collect_rr, &s);
	if (r != 0) { a->n = 0; return r; }
	if (a->n) { a->cname_open = 0; return DNS_OK; }
	if (rcode == 3) { a->cname_open = 0; return DNS_NXDOMAIN; }
	return DNS_NODATA;
}

static int name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 253) return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (ch <= 0x20 || ch >= 0x7f || ch == '\\') return 0;
	}
	return 1;
}

static int query_depth(const char *name, int qtype, struct dns_answer *a, int depth)
{
	static unsigned char pkt[65536];
	static int inited;
	char alabels[DNS_NAME_MAX];
	/* a domain of SMTPUTF8 mail may hold U-labels: the DNS knows A-labels */
	if (utf8_has_8bit(name, strlen(name))) {
		if (idna_to_ascii(name, alabels, sizeof alabels) < 0) { memset(a, 0, sizeof *a); return DNS_NXDOMAIN; }
		name = alabels;
	}
	if (!name_ok(name)) { memset(a, 0, sizeof *a); return DNS_NXDOMAIN; }
	if (!inited) {
		if (res_init() != 0) return DNS_TEMP;
		inited = 1;
	}
	int n = res_query(name, C_IN, qtype, pkt, sizeof pkt);
	if (n < 0) {
		memset(a, 0, sizeof *a);
		switch (h_errno) {
		case HOST_NOT_FOUND: return DNS_NXDOMAIN;
		case NO_DATA: return DNS_NODATA;
		default: return DNS_TEMP;
		}
	}
	size_t len = (size_t)n < sizeof pkt ? (size_t)n : sizeof pkt;
	int r = dns_parse(pkt, len, name, qtype, a);
	if (r == DNS_NODATA && a->cname_open) {
		if (depth >= 8) return DNS_BAD;
		char target[DNS_NAME_MAX];
		memcpy(target, a->name, sizeof target);
		return query_depth(target, qtype, a, depth + 1);
	}
	return r;
}

int dns_query(const char *name, int qtype, struct dns_answer *a) { return query_depth(name, qtype, a, 0); }

int dns_txt(const char *name, struct dns_answer *a) { return dns_query(name, DNS_T_TXT, a); }

int dns_ptr(const struct dns_addr *addr, struct dns_answer *a)
{
	static const char hex[] = "0123456789abcdef";
	char name[80];
	size_t n = 0;
	if (addr->family == AF_INET) {
		for (int i = 3; i >= 0; i--) n += (size_t)snprintf(name + n, sizeof name - n, "%u.", addr->a[i]);
		snprintf(name + n, sizeof name - n, "in-addr.arpa");
	} else {
		for (int i = 15; i >= 0; i--) {
			name[n++] = hex[addr->a[i] & 15];
			name[n++] = '.';
			name[n++] = hex[addr->a[i] >> 4];
			name[n++] = '.';
		}
		snprintf(name + n, sizeof name - n, "ip6.arpa");
	}
	return dns_query(name, DNS_T_PTR, a);
}

size_t dns_mx_sort(struct dns_mx *mx, size_t n)
{
	/* insertion sort: n is small (DNS_RR_MAX) */
	for (size_t i = 1; i < n; i++) {
		struct dns_mx t = mx[i];
		size_t j = i;
		while (j > 0 && mx[j - 1].pref > t.pref) { mx[j] = mx[j - 1]; j--; }
		mx[j] = t;
	}
	/* drop repeated hosts, keeping the best preference */
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int dup = 0;
		for (size_t j = 0; j < k && !dup; j++) dup = strcmp(mx[j].host, mx[i].host) == 0;
		if (!dup) mx[k++] = mx[i];
	}
	/* shuffle each run of equal preference (Fisher-Yates) */
	for (size_t s = 0; s < k;) {
		size_t e = s;
		while (e < k && mx[e].pref == mx[s].pref) e++;
		for (size_t i = e - 1; i > s; i--) {
			size_t j = s + arc4random_uniform((uint32_t)(i - s + 1));
			struct dns_mx t = mx[i];
			mx[i] = mx[j];
			mx[j] = t;
		}
		s = e;
	}
	return k;
}

int dns_mx(const char *domain, struct dns_mx *mx, size_t max, size_t *n)
{
	struct dns_answer *a = malloc(sizeof *a);
	*n = 0;
	if (!a) return DNS_TEMP;
	int r = dns_query(domain, DNS_T_MX, a);
	if (r == DNS_OK) {
		/* RFC 7505: a single MX with the root as exchange = no mail here */
		if (a->n == 1 && a->rr[0].name[0] == 0) {
			free(a);
			return DNS_NULLMX;
		}
		for (size_t i = 0; i < a->n && *n < max; i++) {
			if (!a->rr[i].name[0]) continue;
			mx[*n].pref = a->rr[i].pref;
			memcpy(mx[*n].host, a->rr[i].name, sizeof mx[*n].host);
			(*n)++;
		}
		*n = dns_mx_sort(mx, *n);
		if (*n == 0) r = DNS_NULLMX;
	}
	free(a);
	return r;
}

int dns_families(void)
{
	int f = 0;
	if (control_list_has("inet_protocols", "all")) return DNS_V4 | DNS_V6;
	if (control_list_has("inet_protocols", "ipv4")) f |= DNS_V4;
	if (control_list_has("inet_protocols", "ipv6")) f |= DNS_V6;
	return f ? f : DNS_V4 | DNS_V6;
}

static int add_addr(struct dns_addr *out, size_t max, size_t *n, int family, const void *p)
{
	size_t l = family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < *n; i++)
		if (out[i].family == family && memcmp(out[i].a, p, l) == 0) return 0;
	if (*n >= max) return 0;
	memset(&out[*n], 0, sizeof out[*n]);
	out[*n].family = family;
	memcpy(out[*n].a, p, l);
	(*n)++;
	return 1;
}

static int native_addrs(const char *host, int families, struct dns_addr *out, size_t max, size_t *n)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	hints.ai_family = families == DNS_V4 ? AF_INET : families == DNS_V6 ? AF_INET6 : AF_UNSPEC;
	int e = getaddrinfo(host, NULL, &hints, &res);
	if (e == EAI_NONAME || e == EAI_NODATA) return DNS_NXDOMAIN;
	if (e != 0) return DNS_TEMP;
	for (int pass = 0; pass < 2; pass++)
		for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
			if (pass == 0 && ai->ai_family == AF_INET)
				add_addr(out, max, n, AF_INET, &((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr);
			if (pass == 1 && ai->ai_family == AF_INET6)
				add_addr(out, max, n, AF_INET6, &((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr);
		}
	freeaddrinfo(res);
	return *n ? DNS_OK : DNS_NODATA;
}

static int dns_lookup_addrs(const char *host, int families, struct dns_addr *out, size_t max, size_t *n)
{
	struct dns_answer *a = malloc(sizeof *a);
	int st[2] = { DNS_NODATA, DNS_NODATA };
	if (!a) return DNS_TEMP;
	if (families & DNS_V4) {
		st[0] = dns_query(host, DNS_T_A, a);
		for (size_t i = 0; st[0] == DNS_OK && i < a->n; i++) add_addr(out, max, n, AF_INET, a->rr[i].addr);
	}
	if ((families & DNS_V6) && st[0] != DNS_NXDOMAIN) {
		st[1] = dns_query(host, DNS_T_AAAA, a);
		for (size_t i = 0; st[1] == DNS_OK && i < a->n; i++) add_addr(out, max, n, AF_INET6, a->rr[i].addr);
	}
	free(a);
	if (*n) return DNS_OK;
	if (st[0] < 0) return st[0];
	if (st[1] < 0) return st[1];
	if (st[0] == DNS_NXDOMAIN || st[1] == DNS_NXDOMAIN) return DNS_NXDOMAIN;
	return DNS_NODATA;
}

int dns_addrs(const char *host, int families, struct dns_addr *out, size_t max, size_t *n)
{
	unsigned char bin[16];
	*n = 0;
	if (inet_pton(AF_INET, host, bin) == 1) {
		if (families & DNS_V4) add_addr(out, max, n, AF_INET, bin);
		return *n ? DNS_OK : DNS_NODATA;
	}
	if (inet_pton(AF_INET6, host, bin) == 1) {
		if (families & DNS_V6) add_addr(out, max, n, AF_INET6, bin);
		return *n ? DNS_OK : DNS_NODATA;
	}
	int use_dns = control_list_has("smtp_host_lookup", "dns");
	int use_native = control_list_has("smtp_host_lookup", "native");
	if (!use_dns && !use_native) use_dns = 1;
	int r = DNS_NXDOMAIN;
	if (use_dns) r = dns_lookup_addrs(host, families, out, max, n);
	if (use_native && (!use_dns || r == DNS_NXDOMAIN || r == DNS_NODATA)) r = native_addrs(host, families, out, max, n);
	return r;
}

void dns_addr_str(const struct dns_addr *a, char *out, size_t max)
{
	if (!inet_ntop(a->family, a->a, out, (socklen_t)max) && max) out[0] = 0;
}
