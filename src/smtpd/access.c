/* access.c — the keys check_*_access tries, in access(5) order; the
 * first key found wins. Compiled tables (control/NAME.cdb):
 *   client     host name, its parent domains, then the address, its
 *              prefixes ("192.0.2", "192.0", "192"; IPv6 by ':' fields),
 *              then "net/bits" keys from the longest prefix down
 *   helo       the name, then its parent domains
 *   sender, recipient   user+ext@domain, user@domain, domain, parent
 *              domains, user+ext@, user@
 * A parent domain "example.com" matches "mx.example.com" (Postfix's
 * parent_domain_matches_subdomains); ".example.com" matches only
 * subdomains. Regexp tables see the whole string once; cidr: tables
 * (cidrtable.h) see the client address. */
#include "smtpd.h"
#include "addr.h"
#include "cidrtable.h"
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* one exact key; 1 found, 0 not, -1 temporary failure */
static int key(const char *spec, const char *k, size_t n, char **value)
{
	char tmp[1100];
	if (n == 0 || n >= sizeof tmp) return 0;
	memcpy(tmp, k, n);
	tmp[n] = 0;
	return table_lookup(spec, tmp, value);
}

/* domain, then each parent as "parent" and ".parent" */
static int domain_keys(const char *spec, const char *d, size_t n, char **value)
{
	char dot[300];
	int r = key(spec, d, n, value);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (d[i] != '.' || i + 1 >= n) continue;
		size_t rest = n - i; /* ".parent" */
		if (rest >= sizeof dot) continue;
		memcpy(dot, d + i, rest);
		r = key(spec, dot, rest, value);
		if (r == 0) r = key(spec, dot + 1, rest - 1, value);
	}
	return r;
}

static int address_keys(const char *spec, const struct ipaddr *ip, const char *text, char **value)
{
	size_t n = strlen(text);
	int r = key(spec, text, n, value);
	/* "192.0.2" "192.0" "192"; "2001:db8:1" "2001:db8" "2001" */
	char sep = ip->family == 6 ? ':' : '.';
	while (r == 0 && n > 0) {
		while (n > 0 && text[n - 1] != sep) n--;
		while (n > 0 && text[n - 1] == sep) n--;
		if (n) r = key(spec, text, n, value);
	}
	/* CIDR keys: the network of each prefix length, longest first */
	unsigned max = ip->family == 6 ? 128 : 32;
	for (unsigned bits = max; r == 0 && bits > 0; bits--) {
		struct ipaddr net = *ip;
		for (unsigned b = bits; b < max; b++) net.a[b / 8] &= (unsigned char)~(0x80u >> (b % 8));
		char t[64], k[80];
		if (ip_format(&net, t, sizeof t) < 0) return 0;
		int len = snprintf(k, sizeof k, "%s/%u", t, bits);
		if (len > 0 && (size_t)len < sizeof k) r = key(spec, k, (size_t)len, value);
	}
	return r;
}

static int client_keys(struct session *s, const char *spec, char **value)
{
	const char *name;
	size_t nlen;
	if (cidr_spec(spec, &name, &nlen)) return s->addr.family ? cidr_table_lookup(name, nlen, &s->addr, value) : 0;
	if (strncasecmp(spec, "regexp:", 7) == 0 || strncasecmp(spec, "pcre:", 5) == 0) {
		int r = table_lookup(spec, s->host, value);
		return r == 0 ? table_lookup(spec, s->ip, value) : r;
	}
	int r = 0;
	if (strcmp(s->host, "unknown") != 0) r = domain_keys(spec, s->host, strlen(s->host), value);
	if (r == 0 && s->addr.family) r = address_keys(spec, &s->addr, s->ip, value);
	return r;
}

static int mail_keys(const char *spec, const char *addr, char **value)
{
	if (strncasecmp(spec, "regexp:", 7) == 0 || strncasecmp(spec, "pcre:", 5) == 0)
		return table_lookup(spec, addr, value);
	struct buf plain = BUF_INIT;
	int stripped = addr_strip_extension(addr, &plain);
	if (stripped < 0) return -1;
	const char *local, *domain;
	size_t ll, dl;
	int r = key(spec, addr, strlen(addr), value);
	if (r == 0 && stripped) r = key(spec, plain.s, plain.len, value);
	addr_split(addr, &local, &ll, &domain, &dl);
	if (r == 0 && dl) r = domain_keys(spec, domain, dl, value);
	if (r == 0 && dl) r = key(spec, addr, ll + 1, value); /* "user+ext@" */
	if (r == 0 && dl && stripped) {
		const char *at = strrchr(plain.s, '@');
		if (at) r = key(spec, plain.s, (size_t)(at - plain.s) + 1, value); /* "user@" */
	}
	buf_free(&plain);
	return r;
}

int access_lookup(struct session *s, enum access_kind kind, const char *spec, const char *addr, char **value)
{
	*value = NULL;
	switch (kind) {
	case ACCESS_CLIENT: return client_keys(s, spec, value);
	case ACCESS_HELO:
		if (strncasecmp(spec, "regexp:", 7) == 0 || strncasecmp(spec, "pcre:", 5) == 0)
			return table_lookup(spec, s->helo, value);
		return domain_keys(spec, s->helo, strlen(s->helo), value);
	default: return mail_keys(spec, addr, value);
	}
}
