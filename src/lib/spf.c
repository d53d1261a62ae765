/* spf.c — SPF check_host() (RFC 7208): fetch the domain's "v=spf1"
 * record, walk its terms left to right, count DNS-querying terms (at
 * most 10, includes and redirects across the whole evaluation) and void
 * lookups (at most 2), and stop at the first matching mechanism. */
#include "spf.h"
#include "authdns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SPF_LOOKUPS_MAX 10
#define SPF_VOID_MAX 2
#define SPF_MX_MAX 10
#define SPF_DOMAIN_MAX 254

static const char *const names[] = { "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" };
const char *spf_result_name(int r) { return r >= 0 && r <= SPF_PERMERROR ? names[r] : "permerror"; }

struct spf {
	const struct ipaddr *ip;
	const char *sender, *helo;
	int lookups, voids, depth;
	char *why;
	size_t wmax;
};

static int say(struct spf *s, int r, const char *fmt, const char *arg)
{
	if (s->wmax && !s->why[0]) snprintf(s->why, s->wmax, fmt, arg);
	return r;
}

/* ---- macros ---- */

static int put(char *out, size_t max, size_t *o, const char *p, size_t n)
{
	if (n >= max - *o) return -1;
	memcpy(out + *o, p, n);
	*o += n;
	out[*o] = 0;
	return 0;
}

/* a value split on delims, reversed and/or cut to its last keep parts, joined by '.' */
static int put_parts(char *out, size_t max, size_t *o, const char *v, const char *delims, int rev, long keep)
{
	const char *part[128];
	size_t plen[128], np = 0, vl = strlen(v), start = 0;
	for (size_t i = 0; i <= vl; i++) {
		if (i < vl && !strchr(delims, v[i])) continue;
		if (np == 128) return -1;
		part[np] = v + start;
		plen[np++] = i - start;
		start = i + 1;
	}
	if (rev)
		for (size_t i = 0; i < np / 2; i++) {
			const char *t = part[i]; part[i] = part[np - 1 - i]; part[np - 1 - i] = t;
			size_t tl = plen[i]; plen[i] = plen[np - 1 - i]; plen[np - 1 - i] = tl;
		}
	size_t from = keep > 0 && (size_t)keep < np ? np - (size_t)keep : 0;
	for (size_t i = from; i < np; i++)
		if ((i > from && put(out, max, o, ".", 1) < 0) || put(out, max, o, part[i], plen[i]) < 0) return -1;
	return 0;
}

int spf_expand(const char *spec, size_t n, const struct ipaddr *ip, const char *domain, const char *sender,
               const char *helo, char *out, size_t max)
{
	size_t o = 0;
	char ipbuf[80], local[256];
	if (max == 0) return -1;
	out[0] = 0;
	const char *at = strrchr(sender, '@');
	size_t ll = at ? (size_t)(at - sender) : 0;
	if (ll >= sizeof local) return -1;
	memcpy(local, sender, ll);
	local[ll] = 0;
	if (!ll) memcpy(local, "postmaster", 11);
	for (size_t i = 0; i < n; i++) {
		char c = spec[i];
		if (c != '%') { if (put(out, max, &o, &c, 1) < 0) return -1; continue; }
		if (++i >= n) return -1;
		c = spec[i];
		if (c == '%') { if (put(out, max, &o, "%", 1) < 0) return -1; continue; }
		if (c == '_') { if (put(out, max, &o, " ", 1) < 0) return -1; continue; }
		if (c == '-') { if (put(out, max, &o, "%20", 3) < 0) return -1; continue; }
		if (c != '{' || i + 2 >= n) return -1;
		char letter = (char)(spec[++i] | 0x20);
		long keep = 0;
		int rev = 0;
		char delims[8] = "";
		size_t nd = 0;
		for (i++; i < n && spec[i] >= '0' && spec[i] <= '9'; i++) {
			keep = keep * 10 + (spec[i] - '0');
			if (keep > 128) return -1;
		}
		if (i < n && (spec[i] == 'r' || spec[i] == 'R')) { rev = 1; i++; }
		for (; i < n && strchr(".-+,/_=", spec[i]); i++)
			if (nd < sizeof delims - 1) delims[nd++] = spec[i];
		if (i >= n || spec[i] != '}') return -1;
		if (!nd) delims[0] = '.';
		const char *v;
		switch (letter) {
		case 's': v = sender; break;
		case 'l': v = local; break;
		case 'o': v = at ? at + 1 : helo; break;
		case 'd': v = domain; break;
		case 'h': v = helo; break;
		case 'v': v = ip->family == 6 ? "ip6" : "in-addr"; break;
		case 'i':
			if (ip->family == 4) {
				snprintf(ipbuf, sizeof ipbuf, "%u.%u.%u.%u", ip->a[0], ip->a[1], ip->a[2], ip->a[3]);
			} else {
				/* dot-separated nibbles (section 7.3) */
				for (int k = 0; k < 32; k++) {
					ipbuf[2 * k] = "0123456789abcdef"[(ip->a[k / 2] >> (k % 2 ? 0 : 4)) & 15];
					ipbuf[2 * k + 1] = '.';
				}
				ipbuf[63] = 0;
			}
			v = ipbuf;
			break;
		default: return -1;   /* c p r t are for exp= only, which we ignore */
		}
		if (put_parts(out, max, &o, v, delims, rev, keep) < 0) return -1;
	}
	return 0;
}

/* ---- evaluation ---- */

static int check_host(struct spf *s, const char *domain);

static int prefix_match(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	if (memcmp(a, b, full) != 0) return 0;
	if (!rest) return 1;
	unsigned char m = (unsigned char)(0xff << (8 - rest));
	return (a[full] & m) == (b[full] & m);
}

/* count one DNS-querying term */
static int count(struct spf *s)
{
	return ++s->lookups > SPF_LOOKUPS_MAX ? -1 : 0;
}

/* A or AAAA of name (the client's family) against the client with the
 * prefix: 1 match, 0 none, else an spf result to return */
static int addr_match(struct spf *s, const char *name, unsigned b4, unsigned b6)
{
	struct dns_answer *a = malloc(sizeof *a);
	if (!a) return say(s, SPF_TEMPERROR, "out of memory%s", "");
	int v6 = s->ip->family == 6;
	int r = auth_dns(name, v6 ? DNS_T_AAAA : DNS_T_A, a);
	int out = 0;
	if (r == DNS_TEMP || r == DNS_BAD) out = say(s, SPF_TEMPERROR, "DNS failure for %s", name);
	else if (r != DNS_OK || a->n == 0) {
		if (++s->voids > SPF_VOID_MAX) out = say(s, SPF_PERMERROR, "too many void lookups (at %s)", name);
	} else {
		for (size_t i = 0; i < a->n && !out; i++) {
			if (a->rr[i].type != (v6 ? DNS_T_AAAA : DNS_T_A)) continue;
			if (prefix_match(a->rr[i].addr, s->ip->a, v6 ? b6 : b4)) out = 1;
		}
	}
	free(a);
	return out;
}

static int mx_match(struct spf *s, const char *name, unsigned b4, unsigned b6)
{
	struct dns_answer *a = malloc(sizeof *a);
	if (!a) return say(s, SPF_TEMPERROR, "out of memory%s", "");
	int r = auth_dns(name, DNS_T_MX, a), out = 0;
	if (r == DNS_TEMP || r == DNS_BAD) out = say(s, SPF_TEMPERROR, "DNS failure for %s", name);
	else if (r != DNS_OK || a->n == 0) {
		if (++s->voids > SPF_VOID_MAX) out = say(s, SPF_PERMERROR, "too many void lookups (at %s)", name);
	} else if (a->n > SPF_MX_MAX) {
		out = say(s, SPF_PERMERROR, "more than 10 MX records for %s", name);
	} else {
		for (size_t i = 0; i < a->n && !out; i++)
			if (a->rr[i].type == DNS_T_MX && a->rr[i].name[0]) out = addr_match(s, a->rr[i].name, b4, b6);
	}
	free(a);
	return out;
}

/* "domain/cidr4//cidr6" or "/cidr4" after a mechanism name */
static int split_cidr(const char *arg, char *dom, size_t dmax, unsigned *b4, unsigned *b6)
{
	const char *slash = strchr(arg, '/');
	size_t dl = slash ? (size_t)(slash - arg) : strlen(arg);
	*b4 = 32;
	*b6 = 128;
	if (dl >= dmax) return -1;
	memcpy(dom, arg, dl);
	dom[dl] = 0;
	while (slash) {
		int six = slash[1] == '/';
		const char *d = slash + 1 + six;
		char *end;
		if (*d < '0' || *d > '9') return -1;
		unsigned long v = strtoul(d, &end, 10);
		if (v > (six ? 128u : 32u) || (*end && *end != '/')) return -1;
		if (six) *b6 = (unsigned)v; else *b4 = (unsigned)v;
		slash = *end ? end : NULL;
		if (slash && six) return -1;
	}
	return 0;
}

static int target(struct spf *s, const char *spec, const char *domain, char *out, size_t max)
{
	if (!*spec) {
		if (strlen(domain) >= max) return -1;
		memcpy(out, domain, strlen(domain) + 1);
		return 0;
	}
	if (spf_expand(spec, strlen(spec), s->ip, domain, s->sender, s->helo, out, max) < 0) return -1;
	/* an expanded name longer than 253 keeps its right-hand labels (4.8) */
	size_t n = strlen(out);
	while (n > 253) {
		char *dot = strchr(out, '.');
		if (!dot) return -1;
		memmove(out, dot + 1, strlen(dot + 1) + 1);
		n = strlen(out);
	}
	return *out ? 0 : -1;
}

/* one mechanism: 1 match, 0 no match, else -(spf result) */
static int mechanism(struct spf *s, const char *domain, const char *name, size_t nl, const char *arg)
{
	char dom[SPF_DOMAIN_MAX + 256], spec[SPF_DOMAIN_MAX + 256];
	unsigned b4, b6;
#define IS(x) (nl == strlen(x) && strncasecmp(name, x, nl) == 0)
	if (IS("all")) return *arg ? -say(s, SPF_PERMERROR, "bad all%s", "") : 1;
	if (IS("ip4") || IS("ip6")) {
		struct cidr c;
		if (*arg != ':' || cidr_parse(arg + 1, strlen(arg + 1), &c) < 0 || c.net.family != (IS("ip4") ? 4 : 6))
			return -say(s, SPF_PERMERROR, "bad address in %s", IS("ip4") ? "ip4" : "ip6");
		return cidr_match(&c, s->ip);
	}
	if (IS("a") || IS("mx")) {
		if (count(s) < 0) return -say(s, SPF_PERMERROR, "more than 10 DNS lookups%s", "");
		const char *a = *arg == ':' ? arg + 1 : arg;
		if ((*arg && *arg != ':' && *arg != '/') || split_cidr(a, spec, sizeof spec, &b4, &b6) < 0 ||
		    target(s, spec, domain, dom, sizeof dom) < 0)
			return -say(s, SPF_PERMERROR, "bad %s mechanism", IS("a") ? "a" : "mx");
		int r = IS("a") ? addr_match(s, dom, b4, b6) : mx_match(s, dom, b4, b6);
		return r > 1 ? -r : r;
	}
	if (IS("ptr")) {
		if (count(s) < 0) return -say(s, SPF_PERMERROR, "more than 10 DNS lookups%s", "");
		return 0;
	}
	if (IS("include") || IS("exists")) {
		if (count(s) < 0) return -say(s, SPF_PERMERROR, "more than 10 DNS lookups%s", "");
		if (*arg != ':' || target(s, arg + 1, domain, dom, sizeof dom) < 0)
			return -say(s, SPF_PERMERROR, "bad %s mechanism", IS("include") ? "include" : "exists");
		if (IS("exists")) {
			struct ipaddr v4 = { 4, { 0 } };
			const struct ipaddr *saved = s->ip;
			s->ip = &v4;   /* any A record matches, whatever the client's family */
			int r = addr_match(s, dom, 0, 0);
			s->ip = saved;
			return r > 1 ? -r : r;
		}
		int r = check_host(s, dom);
		if (r == SPF_PASS) return 1;
		if (r == SPF_TEMPERROR) return -SPF_TEMPERROR;
		if (r == SPF_PERMERROR || r == SPF_NONE) return -say(s, SPF_PERMERROR, "include:%s has no usable record", dom);
		return 0;
	}
#undef IS
	return -say(s, SPF_PERMERROR, "unknown mechanism%s", "");
}

static int qualifier_result(char q)
{
	switch (q) {
	case '-': return SPF_FAIL;
	case '~': return SPF_SOFTFAIL;
	case '?': return SPF_NEUTRAL;
	default: return SPF_PASS;
	}
}

static int evaluate(struct spf *s, const char *domain, char *rec)
{
	char *redirect = NULL, *save = NULL;
	strtok_r(rec, " ", &save);   /* "v=spf1" */
	for (char *t = strtok_r(NULL, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		size_t nl = strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");
		if (nl && t[nl] == '=') {   /* a modifier */
			if (strncasecmp(t, "redirect", nl) == 0 && nl == 8) {
				if (redirect) return say(s, SPF_PERMERROR, "two redirect= modifiers%s", "");
				redirect = t + nl + 1;
			}
			continue;
		}
		char q = '+';
		if (strchr("+-~?", *t)) q = *t++;
		nl = strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
		if (!nl) return say(s, SPF_PERMERROR, "bad term \"%s\"", t);
		int m = mechanism(s, domain, t, nl, t + nl);
		if (m < 0) return -m;
		if (m == 1) {
			if (!s->why[0] && s->wmax) snprintf(s->why, s->wmax, "%s matched %s", domain, t);
			return qualifier_result(q);
		}
	}
	if (redirect) {
		char dom[SPF_DOMAIN_MAX + 256];
		if (count(s) < 0) return say(s, SPF_PERMERROR, "more than 10 DNS lookups%s", "");
		if (target(s, redirect, domain, dom, sizeof dom) < 0) return say(s, SPF_PERMERROR, "bad redirect%s", "");
		int r = check_host(s, dom);
		return r == SPF_NONE ? say(s, SPF_PERMERROR, "redirect=%s has no record", dom) : r;
	}
	return say(s, SPF_NEUTRAL, "no mechanism of %s matched", domain);
}

static int check_host(struct spf *s, const char *domain)
{
	char *rec[4];
	size_t n = 0;
	size_t dl = strlen(domain);
	if (dl == 0 || dl > 253 || !strchr(domain, '.')) return say(s, SPF_NONE, "no usable domain \"%s\"", domain);
	if (++s->depth > 20) return say(s, SPF_PERMERROR, "include loop%s", "");
	int r = auth_txt(domain, "v=spf1", rec, 4, &n);
	if (r == DNS_TEMP || r == DNS_BAD) return say(s, SPF_TEMPERROR, "DNS failure for %s", domain);
	if (r != DNS_OK || n == 0) { auth_txt_free(rec, n); return say(s, SPF_NONE, "no SPF record for %s", domain); }
	if (n > 1) { auth_txt_free(rec, n); return say(s, SPF_PERMERROR, "more than one SPF record for %s", domain); }
	/* tabs are not separators in SPF, but a record may hold several spaces */
	int out = evaluate(s, domain, rec[0]);
	auth_txt_free(rec, n);
	s->depth--;
	return out;
}

int spf_check(const struct ipaddr *ip, const char *domain, const char *sender, const char *helo, char *why,
              size_t wmax)
{
	struct spf s = { ip, sender, helo ? helo : "", 0, 0, 0, why, wmax };
	if (wmax) why[0] = 0;
	if (!ip || (ip->family != 4 && ip->family != 6)) return say(&s, SPF_NONE, "no client address%s", "");
	return check_host(&s, domain);
}
