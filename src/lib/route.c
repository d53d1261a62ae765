/* route.c — choose local delivery, an SMTP next hop, an error or discard
 * for one recipient (see route.h). Transport table first (Postfix lookup
 * order), then local domains, then relayhost, then the recipient domain's
 * MX. Deliberate difference from Postfix: the "*" wildcard never captures
 * our own domains, so `* smtp:[relay]` cannot send local mail away. */
#include "route.h"
#include "control.h"
#include "log.h"
#include "recipient.h"
#include "table.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEY_MAX 1024

static void set_text(char *dst, size_t max, const char *p, size_t n)
{
	if (n >= max) n = max - 1;
	memcpy(dst, p, n);
	dst[n] = 0;
}

static void make_dest(struct route *r)
{
	const char *k = r->kind == ROUTE_LOCAL ? "local" : r->kind == ROUTE_DISCARD ? "discard" : "error";
	size_t hl = strlen(r->nexthop);
	char port[8];
	int pl = 0;
	if (r->kind != ROUTE_SMTP) { set_text(r->dest, sizeof r->dest, k, strlen(k)); return; }
	unsigned p = r->port;
	char rev[8];
	do { rev[pl++] = (char)('0' + p % 10); p /= 10; } while (p && pl < 7);
	for (int i = 0; i < pl; i++) port[i] = rev[pl - 1 - i];
	/* "smtp:" + "[" + host + "]" + ":" + port fits ROUTE_DEST_MAX by construction */
	size_t n = 0;
	memcpy(r->dest + n, "smtp:", 5); n += 5;
	if (!r->mx) r->dest[n++] = '[';
	memcpy(r->dest + n, r->nexthop, hl); n += hl;
	if (!r->mx) r->dest[n++] = ']';
	r->dest[n++] = ':';
	memcpy(r->dest + n, port, (size_t)pl); n += (size_t)pl;
	r->dest[n] = 0;
}

static void set_error(struct route *r, const char *status, const char *text)
{
	r->kind = ROUTE_ERROR;
	set_text(r->status, sizeof r->status, status, strlen(status));
	set_text(r->text, sizeof r->text, text, strlen(text));
	make_dest(r);
}

static int host_char(int c, int literal)
{
	if (isalnum(c) || c == '-' || c == '.' || c == '_') return 1;
	if (c >= 0x80 && !literal) return 1; /* U-labels (SMTPUTF8); dns.c asks for their A-labels */
	return literal && c == ':';
}

static int parse_port(const char *p, size_t n, unsigned short *out)
{
	if (n == 0 || n > 31) return -1;
	if (isdigit((unsigned char)p[0])) {
		unsigned v = 0;
		for (size_t i = 0; i < n; i++) {
			if (!isdigit((unsigned char)p[i])) return -1;
			v = v * 10 + (unsigned)(p[i] - '0');
			if (v > 65535) return -1;
		}
		if (v == 0) return -1;
		*out = (unsigned short)v;
		return 0;
	}
	char name[32];
	memcpy(name, p, n);
	name[n] = 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-') return -1;
	struct servent se, *res = NULL;
	char tmp[1024];
	if (getservbyname_r(name, "tcp", &se, tmp, sizeof tmp, &res) != 0 || !res) return -1;
	*out = ntohs((unsigned short)res->s_port);
	return 0;
}

int route_parse_nexthop(const char *v, size_t n, struct route *out)
{
	const char *host, *port = NULL;
	size_t hl, pl = 0;
	int literal = 0;
	while (n && isspace((unsigned char)*v)) { v++; n--; }
	while (n && isspace((unsigned char)v[n - 1])) n--;
	if (n == 0) return -1;
	if (v[0] == '[') {
		const char *close = memchr(v, ']', n);
		if (!close) return -1;
		host = v + 1;
		hl = (size_t)(close - host);
		size_t rest = n - (size_t)(close + 1 - v);
		if (rest) {
			if (close[1] != ':') return -1;
			port = close + 2;
			pl = rest - 1;
		}
		literal = 1;
		if (hl > 5 && strncasecmp(host, "ipv6:", 5) == 0) { host += 5; hl -= 5; }
	} else {
		const char *colon = memchr(v, ':', n);
		host = v;
		hl = colon ? (size_t)(colon - v) : n;
		if (colon) { port = colon + 1; pl = n - hl - 1; }
	}
	if (hl == 0 || hl >= sizeof out->nexthop) return -1;
	for (size_t i = 0; i < hl; i++)
		if (!host_char((unsigned char)host[i], literal)) return -1;
	out->port = 25;
	if (port && parse_port(port, pl, &out->port) < 0) return -1;
	for (size_t i = 0; i < hl; i++) out->nexthop[i] = (char)tolower((unsigned char)host[i]);
	out->nexthop[hl] = 0;
	/* a trailing dot names the same host; keep keys canonical */
	if (hl > 1 && out->nexthop[hl - 1] == '.') out->nexthop[hl - 1] = 0;
	out->mx = !literal;
	out->kind = ROUTE_SMTP;
	make_dest(out);
	return 0;
}

int route_domain_is_local(const char *domain)
{
	if (!*domain) return 1;
	/* system, virtual mailbox and virtual alias domains (recipient.h) */
	return domain_is_local(domain);
}

/* The route the recipient gets when no table entry says otherwise. */
static int default_route(const char *domain, struct route *out)
{
	if (route_domain_is_local(domain)) {
		out->kind = ROUTE_LOCAL;
		make_dest(out);
		return 0;
	}
	const char *const *items;
	if (control_list("relayhost", &items) > 0) {
		if (route_parse_nexthop(items[0], strlen(items[0]), out) == 0) return 0;
		log_msg("warning: control/relayhost: bad next hop \"%s\"", items[0]);
		set_error(out, "4.3.5", "mail system configuration error: bad relayhost");
		return -1;
	}
	if (route_parse_nexthop(domain, strlen(domain), out) < 0) {
		set_error(out, "5.1.2", "bad destination domain");
		return 0;
	}
	return 0;
}

/* "4.x.y text" / "5.x.y text" at the start of an error transport's text */
static size_t dsn_prefix(const char *p, size_t n)
{
	size_t i = 0, dots = 0;
	if (n < 5 || (p[0] != '4' && p[0] != '5') || p[1] != '.') return 0;
	for (i = 2; i < n && i < 9; i++) {
		if (p[i] == '.') { if (++dots > 1 || !isdigit((unsigned char)p[i - 1])) return 0; continue; }
		if (!isdigit((unsigned char)p[i])) break;
	}
	if (dots != 1 || !isdigit((unsigned char)p[i - 1])) return 0;
	if (i < n && p[i] != ' ') return 0;
	return i;
}

int route_parse_transport(const char *v, size_t n, const char *domain, struct route *out)
{
	while (n && isspace((unsigned char)*v)) { v++; n--; }
	while (n && isspace((unsigned char)v[n - 1])) n--;
	const char *colon = memchr(v, ':', n);
	size_t tl = colon ? (size_t)(colon - v) : n;
	const char *hop = colon ? colon + 1 : v + n;
	size_t hl = colon ? n - tl - 1 : 0;
	while (hl && isspace((unsigned char)*hop)) { hop++; hl--; }

#define IS(word) (tl == sizeof(word) - 1 && strncasecmp(v, word, tl) == 0)
	if (tl == 0) {
		/* ":" or ":nexthop": the default transport, maybe another hop */
		int r = default_route(domain, out);
		if (r == 0 && hl && out->kind == ROUTE_SMTP && route_parse_nexthop(hop, hl, out) < 0) goto bad;
		return r;
	}
	if (IS("local") || IS("virtual")) {
		out->kind = ROUTE_LOCAL;
		make_dest(out);
		return 0;
	}
	if (IS("smtp") || IS("relay")) {
		if (hl == 0) {
			/* empty next hop: the relayhost if there is one, else the domain */
			const char *const *rh;
			if (!route_domain_is_local(domain) && control_list("relayhost", &rh) > 0)
				return default_route(domain, out);
			if (route_parse_nexthop(domain, strlen(domain), out) < 0)
				set_error(out, "5.1.2", "bad destination domain");
			return 0;
		}
		if (route_parse_nexthop(hop, hl, out) < 0) goto bad;
		return 0;
	}
	if (IS("error") || IS("retry")) {
		size_t d = dsn_prefix(hop, hl);
		char status[8];
		if (d) set_text(status, sizeof status, hop, d);
		else set_text(status, sizeof status, IS("error") ? "5.0.0" : "4.0.0", 5);
		/* the class of the transport wins over the text's code */
		status[0] = IS("error") ? '5' : '4';
		const char *t = hop + d;
		size_t l = hl - d;
		while (l && *t == ' ') { t++; l--; }
		out->kind = ROUTE_ERROR;
		memcpy(out->status, status, sizeof status);
		if (l) set_text(out->text, sizeof out->text, t, l);
		else set_text(out->text, sizeof out->text, "delivery refused by the transport table", 39);
		make_dest(out);
		return 0;
	}
	if (IS("discard")) {
		out->kind = ROUTE_DISCARD;
		set_text(out->text, sizeof out->text, hl ? hop : "discarded", hl ? hl : 9);
		make_dest(out);
		return 0;
	}
#undef IS
	set_error(out, "4.3.5", "mail transport unavailable");
	return -1;
bad:
	set_error(out, "4.3.5", "mail system configuration error: bad transport table next hop");
	return -1;
}

/* One transport lookup over every table in transport_maps.
 * 1 found (*val malloc'd), 0 none, -1 temporary error. */
static int transport_get(const char *key, char **val)
{
	const char *const *maps;
	size_t n = control_list("transport_maps", &maps);
	for (size_t i = 0; i < n; i++) {
		int r = table_lookup(maps[i], key, val);
		if (r != 0) return r;
	}
	return 0;
}

/* Recipient with the extension removed ("user+ext@d" -> "user@d"); 0 when
 * there is none. */
static int strip_extension(const char *addr, char *out, size_t max)
{
	const char *at = strrchr(addr, '@');
	const char *delims = control_get("recipient_delimiter");
	size_t ll = at ? (size_t)(at - addr) : strlen(addr);
	if (!*delims) return 0;
	size_t cut = strcspn(addr, delims);
	if (cut == 0 || cut >= ll) return 0;
	size_t rest = strlen(addr + ll);
	if (cut + rest + 1 > max) return 0;
	memcpy(out, addr, cut);
	memcpy(out + cut, addr + ll, rest + 1);
	return 1;
}

int route_resolve(const char *addr, struct route *out)
{
	char domain[KEY_MAX], key[KEY_MAX];
	memset(out, 0, sizeof *out);
	out->port = 25;
	const char *at = strrchr(addr, '@');
	size_t dl = at ? strlen(at + 1) : 0;
	if (strlen(addr) >= KEY_MAX) { set_error(out, "5.1.3", "address too long"); return 0; }
	for (size_t i = 0; i < dl; i++) domain[i] = (char)tolower((unsigned char)at[1 + i]);
	domain[dl] = 0;
	if (dl > 1 && domain[dl - 1] == '.') domain[--dl] = 0;

	/* Postfix transport(5) order: address, address minus extension,
	 * domain, .parent domains, then "*" */
	char *val = NULL;
	int r = transport_get(addr, &val);
	if (r == 0 && strip_extension(addr, key, sizeof key)) r = transport_get(key, &val);
	if (r == 0 && dl) r = transport_get(domain, &val);
	for (const char *d = domain; r == 0 && dl && (d = strchr(d, '.')) != NULL; d++)
		r = transport_get(d, &val);
	if (r == 0 && !route_domain_is_local(domain)) r = transport_get("*", &val);
	if (r < 0) {
		set_error(out, "4.3.0", "transport table lookup failed");
		return -1;
	}
	if (r > 0) {
		int pr = route_parse_transport(val, strlen(val), domain, out);
		if (pr < 0) log_msg("warning: transport table: bad entry \"%s\" for %s", val, addr);
		free(val);
		return pr;
	}
	return default_route(domain, out);
}
