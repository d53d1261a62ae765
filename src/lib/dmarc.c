/* dmarc.c — DMARC policy discovery, alignment and result (RFC 7489
 * sections 3.1, 6.3, 6.6), and organizational domains from the Public
 * Suffix List, which is read once per process and scanned per lookup
 * (a few thousand rules; one or two lookups per message). */
#include "dmarc.h"
#include "authdns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const names[] = { "none", "pass", "fail", "temperror", "permerror" };
const char *dmarc_result_name(int r) { return r >= 0 && r <= DMARC_PERMERROR ? names[r] : "permerror"; }

static const char *psl_path = "/usr/share/publicsuffix/public_suffix_list.dat";
static char *psl;          /* the file, NUL-terminated; NULL until read */
static int psl_tried;

void dmarc_psl_file(const char *path)
{
	free(psl);
	psl = NULL;
	psl_tried = 0;
	psl_path = path ? path : "/usr/share/publicsuffix/public_suffix_list.dat";
}

static void psl_load(void)
{
	if (psl_tried) return;
	psl_tried = 1;
	FILE *f = fopen(psl_path, "re");
	if (!f) return;
	size_t cap = 1 << 19, len = 0;
	char *b = malloc(cap + 1);
	while (b) {
		size_t n = fread(b + len, 1, cap - len, f);
		len += n;
		if (n == 0) break;
		if (len == cap) {
			if (cap >= (8u << 20)) break;   /* bounded: a list is ~250 KB */
			char *nb = realloc(b, cap * 2 + 1);
			if (!nb) { free(b); b = NULL; break; }
			b = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (b) b[len] = 0;
	psl = b;
}

/* labels of a dotted name, right to left */
static size_t labels(const char *d, const char **lab, size_t *ll, size_t max)
{
	size_t n = 0, end = strlen(d);
	while (end > 0 && n < max) {
		size_t start = end;
		while (start > 0 && d[start - 1] != '.') start--;
		lab[n] = d + start;
		ll[n++] = end - start;
		end = start ? start - 1 : 0;
		if (!start) break;
	}
	return n;
}

/* how many labels of the domain (right-aligned) the rule matches: the
 * rule's label count, or 0 */
static size_t rule_match(const char *rule, size_t rl, const char **lab, const size_t *ll, size_t nl)
{
	const char *rlab[64];
	size_t rll[64], n = 0, end = rl;
	while (end > 0 && n < 64) {
		size_t start = end;
		while (start > 0 && rule[start - 1] != '.') start--;
		rlab[n] = rule + start;
		rll[n++] = end - start;
		if (!start) break;
		end = start - 1;
	}
	if (n == 0 || n > nl) return 0;
	for (size_t i = 0; i < n; i++) {
		if (rll[i] == 1 && rlab[i][0] == '*') continue;
		if (rll[i] != ll[i] || strncasecmp(rlab[i], lab[i], ll[i]) != 0) return 0;
	}
	return n;
}

int dmarc_org_domain(const char *domain, char *out, size_t max)
{
	const char *lab[128];
	size_t ll[128];
	size_t nl = labels(domain, lab, ll, 128);
	if (nl == 0 || strlen(domain) >= max) return -1;
	size_t suffix = 1;   /* the default rule "*" */
	psl_load();
	if (psl) {
		size_t best = 0, exception = 0;
		for (const char *p = psl; *p;) {
			const char *e = strchr(p, '\n');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			size_t w = 0;
			while (w < n && p[w] != ' ' && p[w] != '\t' && p[w] != '\r') w++;
			if (w && !(w >= 2 && p[0] == '/' && p[1] == '/')) {
				if (p[0] == '!') {
					size_t m = rule_match(p + 1, w - 1, lab, ll, nl);
					if (m) exception = m;
				} else {
					size_t m = rule_match(p, w, lab, ll, nl);
					if (m > best) best = m;
				}
			}
			p += n + (e ? 1 : 0);
		}
		if (exception) suffix = exception - 1;
		else if (best) suffix = best;
	} else if (nl >= 3 && ll[1] <= 3 && ll[0] == 2) {
		suffix = 2;   /* no list: guess co.uk-style second levels */
	}
	/* the organizational domain is the public suffix plus one label */
	size_t keep = suffix + 1 > nl ? nl : suffix + 1;
	const char *start = lab[keep - 1];
	size_t n = strlen(start);
	for (size_t i = 0; i <= n; i++) {
		char c = start[i];
		out[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	return 0;
}

static int aligned(const char *a, const char *b, int strict)
{
	if (strcasecmp(a, b) == 0) return 1;
	if (strict) return 0;
	char oa[256], ob[256];
	return dmarc_org_domain(a, oa, sizeof oa) == 0 && dmarc_org_domain(b, ob, sizeof ob) == 0 &&
	       strcmp(oa, ob) == 0;
}

struct rec {
	char p[12], sp[12];
	int adkim_s, aspf_s, pct, ok;
};

static void tag_value(const char *v, size_t n, char *out, size_t max)
{
	while (n && (*v == ' ' || *v == '\t')) { v++; n--; }
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
	if (n >= max) n = max - 1;
	for (size_t i = 0; i < n; i++) out[i] = v[i] >= 'A' && v[i] <= 'Z' ? (char)(v[i] + 32) : v[i];
	out[n] = 0;
}

static int policy_ok(const char *p)
{
	return !strcmp(p, "none") || !strcmp(p, "quarantine") || !strcmp(p, "reject");
}

static void parse_record(const char *r, struct rec *out)
{
	memset(out, 0, sizeof *out);
	out->pct = 100;
	int rua = 0;
	for (const char *p = r; *p;) {
		const char *e = strchr(p, ';');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		if (eq) {
			char name[16], val[64];
			tag_value(p, (size_t)(eq - p), name, sizeof name);
			tag_value(eq + 1, n - (size_t)(eq + 1 - p), val, sizeof val);
			if (!strcmp(name, "p")) tag_value(eq + 1, n - (size_t)(eq + 1 - p), out->p, sizeof out->p);
			else if (!strcmp(name, "sp")) tag_value(eq + 1, n - (size_t)(eq + 1 - p), out->sp, sizeof out->sp);
			else if (!strcmp(name, "adkim")) out->adkim_s = val[0] == 's';
			else if (!strcmp(name, "aspf")) out->aspf_s = val[0] == 's';
			else if (!strcmp(name, "pct")) { int v = atoi(val); out->pct = v < 0 ? 0 : v > 100 ? 100 : v; }
			else if (!strcmp(name, "rua")) rua = 1;
		}
		p += n + (e ? 1 : 0);
	}
	/* section 6.6.3: a bad or missing p= with rua= means p=none */
	if (!policy_ok(out->p)) {
		if (!rua) return;
		memcpy(out->p, "none", 5);
	}
	if (out->sp[0] && !policy_ok(out->sp)) out->sp[0] = 0;
	out->ok = 1;
}

/* 1 found (rec filled), 0 none, -1 temporary failure */
static int fetch(const char *domain, struct rec *r)
{
	char name[300], *recs[4];
	size_t n = 0;
	if ((size_t)snprintf(name, sizeof name, "_dmarc.%s", domain) >= sizeof name) return 0;
	int s = auth_txt(name, "v=DMARC1", recs, 4, &n);
	if (s == DNS_TEMP || s == DNS_BAD) return -1;
	int found = 0;
	if (s == DNS_OK && n == 1) {   /* several records: as if none (6.6.3) */
		parse_record(recs[0], r);
		found = r->ok;
	}
	auth_txt_free(recs, n);
	return found;
}

int dmarc_check(const char *from_domain, const char *spf_pass_domain, const char *const *dkim_pass, size_t ndkim,
                struct dmarc *out)
{
	struct rec r;
	char org[256];
	memset(out, 0, sizeof *out);
	snprintf(out->from, sizeof out->from, "%s", from_domain ? from_domain : "");
	if (!from_domain || !*from_domain || dmarc_org_domain(from_domain, org, sizeof org) < 0)
		return out->result = DMARC_NONE;
	int f = fetch(from_domain, &r), sub = 0;
	if (f == 0 && strcasecmp(org, from_domain) != 0) {
		f = fetch(org, &r);
		sub = 1;
	}
	if (f < 0) return out->result = DMARC_TEMPERROR;
	if (f == 0) return out->result = DMARC_NONE;
	snprintf(out->policy, sizeof out->policy, "%s", sub && r.sp[0] ? r.sp : r.p);
	out->pct = r.pct;
	if (spf_pass_domain && aligned(spf_pass_domain, from_domain, r.aspf_s)) out->spf_aligned = 1;
	for (size_t i = 0; i < ndkim; i++)
		if (aligned(dkim_pass[i], from_domain, r.adkim_s)) out->dkim_aligned = 1;
	return out->result = out->spf_aligned || out->dkim_aligned ? DMARC_PASS : DMARC_FAIL;
}
