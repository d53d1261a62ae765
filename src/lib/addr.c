/* addr.c — RFC 5321 paths and the canonical "local@domain" form used
 * everywhere inside yubin (see addr.h). Parsing is bounded by n and never
 * reads past it; NULs and control characters are syntax errors. Like
 * Postfix we are lenient where real mail needs it: 8-bit (UTF-8) bytes,
 * '_' in domains, and dot-strings with leading/trailing/double dots (some
 * Japanese carriers issued such addresses). Limits: local part 64, domain
 * 255, path 256 bytes including the angle brackets. */
#include "addr.h"
#include "buf.h"
#include "control.h"

#include <string.h>
#include <strings.h>

#define LOCAL_MAX 64
#define DOMAIN_MAX 255
#define PATH_MAX_BYTES 256
#define RAW_MAX 1024   /* what we are willing to scan for one path */

/* RFC 5322 atext, plus 8-bit bytes for SMTPUTF8 */
static int is_atext(unsigned char c)
{
	if (c >= 0x80) return 1;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
	return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int is_label_char(unsigned char c)
{
	return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* local part at p[*i] into loc (unquoted content); *i advanced */
static int parse_local(const char *p, size_t n, size_t *i, char *loc, size_t *llen)
{
	size_t k = *i, len = 0;
	if (k < n && p[k] == '"') {
		for (k++; k < n && p[k] != '"'; k++) {
			unsigned char c = (unsigned char)p[k];
			if (c == '\\') {
				if (++k >= n) return ADDR_SYNTAX;
				c = (unsigned char)p[k];
			}
			if (c < 0x20 || c == 0x7f) return ADDR_SYNTAX;
			if (len >= LOCAL_MAX) return ADDR_TOO_LONG;
			loc[len++] = (char)c;
		}
		if (k >= n) return ADDR_SYNTAX; /* no closing quote */
		k++;
	} else {
		for (; k < n && (is_atext((unsigned char)p[k]) || p[k] == '.'); k++) {
			if (len >= LOCAL_MAX) return ADDR_TOO_LONG;
			loc[len++] = p[k];
		}
	}
	if (len == 0) return ADDR_SYNTAX;
	*i = k;
	*llen = len;
	return ADDR_OK;
}

/* domain at p[*i] (after '@') into dom, lower-cased, trailing dot dropped */
static int parse_domain(const char *p, size_t n, size_t *i, char *dom, size_t *dlen)
{
	size_t k = *i, len = 0;
	if (k < n && p[k] == '[') {
		/* address literal: [1.2.3.4] or [IPv6:...] */
		for (; k < n && p[k] != ']'; k++) {
			char c = p[k];
			if (!(c == '[' && k == *i) && !is_label_char((unsigned char)c) && c != '.' && c != ':')
				return ADDR_SYNTAX;
			if ((unsigned char)c >= 0x80) return ADDR_SYNTAX;
			if (len >= DOMAIN_MAX) return ADDR_TOO_LONG;
			dom[len++] = lower(c);
		}
		if (k >= n || len < 2) return ADDR_SYNTAX;
		if (len >= DOMAIN_MAX) return ADDR_TOO_LONG;
		dom[len++] = ']';
		k++;
	} else {
		size_t label = 0;
		for (; k < n && (is_label_char((unsigned char)p[k]) || p[k] == '.'); k++) {
			if (p[k] == '.') {
				if (label == 0) return ADDR_SYNTAX; /* empty label */
				label = 0;
			} else {
				label++;
			}
			if (len >= DOMAIN_MAX + 1) return ADDR_TOO_LONG;
			dom[len++] = lower(p[k]);
		}
		if (len && dom[len - 1] == '.') len--;
		if (len == 0) return ADDR_SYNTAX;
		if (len > DOMAIN_MAX) return ADDR_TOO_LONG;
	}
	*i = k;
	*dlen = len;
	return ADDR_OK;
}

static int needs_quotes(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_atext((unsigned char)s[i]) && s[i] != '.') return 1;
	return 0;
}

/* canonical local@domain into out */
static int build(struct buf *out, const char *loc, size_t llen, const char *dom, size_t dlen)
{
	buf_reset(out);
	if (needs_quotes(loc, llen)) {
		if (buf_addc(out, '"') < 0) return -1;
		for (size_t i = 0; i < llen; i++) {
			if ((loc[i] == '"' || loc[i] == '\\') && buf_addc(out, '\\') < 0) return -1;
			if (buf_addc(out, loc[i]) < 0) return -1;
		}
		if (buf_addc(out, '"') < 0) return -1;
	} else if (buf_add(out, loc, llen) < 0) {
		return -1;
	}
	if (dlen && (buf_addc(out, '@') < 0 || buf_add(out, dom, dlen) < 0)) return -1;
	return buf_add(out, "", 0);
}

int addr_parse_path(const char *p, size_t n, int allow_empty, struct buf *out, size_t *used)
{
	size_t i = 0;
	char loc[LOCAL_MAX], dom[DOMAIN_MAX + 1];
	size_t llen = 0, dlen = 0;
	while (i < n && p[i] == ' ') i++;
	size_t start = i;
	int bracket = i < n && p[i] == '<';
	if (bracket) i++;
	if (bracket && i < n && p[i] == '@') {
		/* source route "@a,@b:" — obsolete; RFC 5321 says strip it */
		while (i < n && p[i] != ':') {
			unsigned char c = (unsigned char)p[i];
			if (c != '@' && c != ',' && c != '.' && c != '[' && c != ']' && !is_label_char(c)) return ADDR_SYNTAX;
			i++;
		}
		if (i >= n) return ADDR_SYNTAX;
		i++;
	}
	if (bracket && i < n && p[i] == '>') {
		if (!allow_empty) return ADDR_SYNTAX;
		i++;
		if (i < n && p[i] != ' ') return ADDR_SYNTAX;
		buf_reset(out);
		if (buf_add(out, "", 0) < 0) return ADDR_TOO_LONG;
		*used = i;
		return ADDR_OK;
	}
	int r = parse_local(p, n, &i, loc, &llen);
	if (r != ADDR_OK) return r;
	if (i < n && p[i] == '@') {
		i++;
		r = parse_domain(p, n, &i, dom, &dlen);
		if (r != ADDR_OK) return r;
	}
	if (bracket) {
		if (i >= n || p[i] != '>') return i - start > RAW_MAX ? ADDR_TOO_LONG : ADDR_SYNTAX;
		i++;
	}
	if (i < n && p[i] != ' ') return ADDR_SYNTAX;
	if (build(out, loc, llen, dom, dlen) < 0) return ADDR_TOO_LONG;
	if (out->len + 2 > PATH_MAX_BYTES) return ADDR_TOO_LONG;
	*used = i;
	return ADDR_OK;
}

/* The '@' before the domain: the last one outside a quoted local part, so
 * a domain-less "a@b" (accepted, then qualified) has no domain at all. */
static const char *domain_at(const char *addr)
{
	const char *p = addr;
	if (*p == '"')
		for (p++; *p && *p != '"'; p++)
			if (*p == '\\' && p[1]) p++;
	return strrchr(p, '@');
}

void addr_split(const char *addr, const char **local, size_t *local_len, const char **domain,
                size_t *domain_len)
{
	const char *at = domain_at(addr);
	*local = addr;
	if (at) {
		*local_len = (size_t)(at - addr);
		*domain = at + 1;
		*domain_len = strlen(at + 1);
	} else {
		*local_len = strlen(addr);
		*domain = addr + *local_len;
		*domain_len = 0;
	}
}

const char *addr_domain(const char *addr)
{
	const char *at = domain_at(addr);
	return at ? at + 1 : "";
}

int addr_strip_extension(const char *addr, struct buf *out)
{
	const char *local, *domain;
	size_t ll, dl;
	const char *delims = control_get("recipient_delimiter");
	addr_split(addr, &local, &ll, &domain, &dl);
	size_t k = ll;
	if (*delims && ll && local[0] != '"') {
		for (k = 1; k < ll; k++)
			if (strchr(delims, local[k])) break;
		/* Postfix never splits owner-list or list-request */
		if (k < ll && local[k] == '-' &&
		    ((ll >= 6 && strncasecmp(local, "owner-", 6) == 0) ||
		     (ll >= 8 && strncasecmp(local + ll - 8, "-request", 8) == 0)))
			k = ll;
	}
	buf_reset(out);
	if (buf_add(out, local, k) < 0) return -1;
	if (dl && (buf_addc(out, '@') < 0 || buf_add(out, domain, dl) < 0)) return -1;
	if (buf_add(out, "", 0) < 0) return -1;
	return k < ll;
}

int addr_has_route_tricks(const char *addr)
{
	const char *local, *domain;
	size_t ll, dl;
	if (addr[0] == '@') return 1; /* a source route that was not stripped */
	addr_split(addr, &local, &ll, &domain, &dl);
	for (size_t i = 0; i < ll; i++)
		if (local[i] == '%' || local[i] == '!' || local[i] == '@') return 1;
	for (size_t i = 0; i < dl; i++)
		if (domain[i] == ':' || domain[i] == ',') return 1;
	return 0;
}

int addr_is_fqdn(const char *addr)
{
	const char *d = addr_domain(addr);
	size_t n = strlen(d);
	if (!n) return 0;
	if (d[0] == '[') return 1;
	const char *dot = strchr(d, '.');
	return dot && dot != d && d[n - 1] != '.';
}

int addr_qualify(const char *addr, struct buf *out)
{
	const char *local, *domain;
	size_t ll, dl;
	buf_reset(out);
	if (!*addr) return buf_add(out, "", 0);
	addr_split(addr, &local, &ll, &domain, &dl);
	if (!dl) {
		domain = control_get("myorigin");
		dl = strlen(domain);
		if (!dl) return buf_add(out, addr, strlen(addr));
	}
	if (buf_add(out, local, ll) < 0 || buf_addc(out, '@') < 0 || buf_ready(out, dl) < 0) return -1;
	for (size_t i = 0; i < dl; i++) out->s[out->len++] = lower(domain[i]);
	if (out->len && out->s[out->len - 1] == '.' && out->s[out->len - 2] != '@') out->len--;
	out->s[out->len] = 0;
	return 0;
}

int addr_starts_with_dash(const char *addr)
{
	return addr[0] == '-';
}
