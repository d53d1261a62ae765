/* dkimverify.c — checking DKIM signatures of received mail (RFC 6376
 * section 6): the tag list of DKIM-Signature, the key record in DNS
 * (selector._domainkey.domain TXT, through authdns.h), the body hash
 * while the body streams by, and the RSA check of the header hash.
 * rsa-sha1 is refused (RFC 8301), ed25519-sha256 is unsupported. */
#include "dkim.h"
#include "authdns.h"
#include "sasl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const result_names[] = { "none", "pass", "fail", "neutral", "temperror", "permerror" };

const char *dkim_result_name(int r)
{
	return r >= 0 && r <= DKIM_PERMERROR ? result_names[r] : "permerror";
}

static int is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static int bad(struct dkim_sig *s, const char *why)
{
	s->result = DKIM_PERMERROR;
	snprintf(s->why, sizeof s->why, "%s", why);
	return -1;
}

/* Walk a tag list: fn(name, nlen, value, vlen) with both trimmed of FWS.
 * Returns -1 on a malformed list (a tag without '='), else 0. */
static int tags_each(const char *v, size_t n, int (*fn)(void *arg, const char *t, size_t tl, const char *val, size_t vl),
                     void *arg)
{
	size_t i = 0;
	while (i < n) {
		size_t end = i;
		while (end < n && v[end] != ';') end++;
		size_t a = i, b = end;
		while (a < b && is_fws(v[a])) a++;
		while (b > a && is_fws(v[b - 1])) b--;
		if (a < b) {
			const char *eq = memchr(v + a, '=', b - a);
			if (!eq) return -1;
			size_t tl = (size_t)(eq - (v + a)), va = (size_t)(eq - v) + 1;
			while (tl && is_fws(v[a + tl - 1])) tl--;
			while (va < b && is_fws(v[va])) va++;
			if (tl == 0 || fn(arg, v + a, tl, v + va, b - va) < 0) return -1;
		}
		i = end + 1;
	}
	return 0;
}

static int tag_is(const char *t, size_t tl, const char *name)
{
	return strlen(name) == tl && memcmp(t, name, tl) == 0;
}

/* copy without FWS, NUL-terminated; -1 when it does not fit */
static int copy_nofws(const char *v, size_t n, char *out, size_t max)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (is_fws(v[i])) continue;
		if (o + 1 >= max) return -1;
		out[o++] = v[i];
	}
	out[o] = 0;
	return 0;
}

static long b64_nofws(const char *v, size_t n, unsigned char *out, size_t max)
{
	char *t = malloc(n + 1);
	if (!t) return -1;
	long r = copy_nofws(v, n, t, n + 1) < 0 ? -1 : sasl_b64_decode(t, strlen(t), out, max);
	free(t);
	return r;
}

static int num(const char *v, size_t n, long long *out)
{
	long long x = 0;
	if (n == 0 || n > 18) return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9') return -1;
		x = x * 10 + (v[i] - '0');
	}
	*out = x;
	return 0;
}

struct sigparse {
	struct dkim_sig *s;
	int have_v, have_a, have_b, have_bh, have_d, have_h, have_s;
};

static int sig_tag(void *arg, const char *t, size_t tl, const char *v, size_t vl)
{
	struct sigparse *p = arg;
	struct dkim_sig *s = p->s;
	char tmp[64];
	if (tag_is(t, tl, "v")) {
		if (vl != 1 || v[0] != '1') return bad(s, "unknown version");
		p->have_v = 1;
	} else if (tag_is(t, tl, "a")) {
		if (copy_nofws(v, vl, tmp, sizeof tmp) < 0) return bad(s, "bad a= tag");
		if (strcasecmp(tmp, "rsa-sha1") == 0) return bad(s, "rsa-sha1 not accepted");
		if (strcasecmp(tmp, "ed25519-sha256") == 0) return bad(s, "unsupported algorithm ed25519-sha256");
		if (strcasecmp(tmp, "rsa-sha256") != 0) return bad(s, "unknown algorithm");
		p->have_a = 1;
	} else if (tag_is(t, tl, "c")) {
		if (copy_nofws(v, vl, tmp, sizeof tmp) < 0) return bad(s, "bad c= tag");
		char *slash = strchr(tmp, '/');
		if (slash) *slash++ = 0;
		if (strcasecmp(tmp, "relaxed") == 0) s->hrelaxed = 1;
		else if (strcasecmp(tmp, "simple") != 0) return bad(s, "unknown canonicalization");
		if (slash && strcasecmp(slash, "relaxed") == 0) s->brelaxed = 1;
		else if (slash && strcasecmp(slash, "simple") != 0) return bad(s, "unknown canonicalization");
	} else if (tag_is(t, tl, "d")) {
		if (copy_nofws(v, vl, s->d, sizeof s->d) < 0 || !s->d[0]) return bad(s, "bad d= tag");
		for (char *c = s->d; *c; c++) if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
		p->have_d = 1;
	} else if (tag_is(t, tl, "s")) {
		if (copy_nofws(v, vl, s->s, sizeof s->s) < 0 || !s->s[0]) return bad(s, "bad s= tag");
		p->have_s = 1;
	} else if (tag_is(t, tl, "i")) {
		if (copy_nofws(v, vl, s->i, sizeof s->i) < 0) return bad(s, "bad i= tag");
	} else if (tag_is(t, tl, "h")) {
		if (copy_nofws(v, vl, s->h, sizeof s->h) < 0 || !s->h[0]) return bad(s, "bad h= tag");
		for (char *c = s->h; *c; c++) if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
		p->have_h = 1;
	} else if (tag_is(t, tl, "bh")) {
		if (b64_nofws(v, vl, s->bh, sizeof s->bh) != 32) return bad(s, "bad bh= tag");
		p->have_bh = 1;
	} else if (tag_is(t, tl, "b")) {
		long r = b64_nofws(v, vl, s->b, sizeof s->b);
		if (r <= 0) return bad(s, "bad b= tag");
		s->blen = (size_t)r;
		p->have_b = 1;
	} else if (tag_is(t, tl, "l")) {
		if (num(v, vl, &s->l) < 0) return bad(s, "bad l= tag");
	} else if (tag_is(t, tl, "x")) {
		if (num(v, vl, &s->x) < 0) return bad(s, "bad x= tag");
	}
	/* t=, q=, z= and unknown tags are ignored */
	return 0;
}

void dkim_sig_parse(const char *v, size_t n, struct dkim_sig *s)
{
	struct sigparse p = { s, 0, 0, 0, 0, 0, 0, 0 };
	memset(s, 0, sizeof *s);
	s->l = s->x = -1;
	if (tags_each(v, n, sig_tag, &p) < 0) {
		if (!s->result) bad(s, "malformed tag list");
		return;
	}
	if (!(p.have_v && p.have_a && p.have_b && p.have_bh && p.have_d && p.have_h && p.have_s)) {
		bad(s, "a required tag is missing");
		return;
	}
	/* From must be signed (RFC 6376 5.4) */
	int from = 0;
	for (const char *c = s->h; *c;) {
		size_t len = strcspn(c, ":");
		if (len == 4 && memcmp(c, "from", 4) == 0) from = 1;
		c += len;
		if (*c) c++;
	}
	if (!from) { bad(s, "From is not signed"); return; }
	/* i= must be within d= */
	if (s->i[0]) {
		const char *at = strrchr(s->i, '@');
		const char *dom = at ? at + 1 : "";
		size_t dl = strlen(dom), sl = strlen(s->d);
		if (dl < sl || strcasecmp(dom + dl - sl, s->d) != 0 || (dl > sl && dom[dl - sl - 1] != '.')) {
			bad(s, "i= is not within d=");
			return;
		}
	}
}

/* ---- key records ---- */

static int der_rsapub(const unsigned char *p, size_t n, br_rsa_public_key *pk)
{
	const unsigned char *seq, *ni, *ei;
	size_t sl, nl, el;
	if (dkim_der_get(&p, &n, 0x30, &seq, &sl) < 0) return -1;
	if (dkim_der_get(&seq, &sl, 0x02, &ni, &nl) < 0 || dkim_der_get(&seq, &sl, 0x02, &ei, &el) < 0) return -1;
	while (nl && *ni == 0) { ni++; nl--; }
	while (el && *ei == 0) { ei++; el--; }
	if (!nl || !el) return -1;
	pk->n = (unsigned char *)ni;
	pk->nlen = nl;
	pk->e = (unsigned char *)ei;
	pk->elen = el;
	return 0;
}

static const unsigned char rsa_oid[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };

/* SubjectPublicKeyInfo with an RSA key, or a bare RSAPublicKey */
static int der_pubkey(const unsigned char *p, size_t n, br_rsa_public_key *pk)
{
	const unsigned char *q = p, *seq, *alg, *oid, *bits;
	size_t qn = n, sl, al, ol, bl;
	if (dkim_der_get(&q, &qn, 0x30, &seq, &sl) < 0) return -1;
	if (sl && seq[0] == 0x02) return der_rsapub(p, n, pk);
	if (dkim_der_get(&seq, &sl, 0x30, &alg, &al) < 0 || dkim_der_get(&alg, &al, 0x06, &oid, &ol) < 0) return -1;
	if (ol != sizeof rsa_oid || memcmp(oid, rsa_oid, ol) != 0) return -3;
	if (dkim_der_get(&seq, &sl, 0x03, &bits, &bl) < 0 || bl < 1 || bits[0] != 0) return -1;
	return der_rsapub(bits + 1, bl - 1, pk);
}

struct keyparse {
	int ok_v, not_rsa, no_sha256, have_p;
	const char *p;
	size_t pl;
};

static int key_tag(void *arg, const char *t, size_t tl, const char *v, size_t vl)
{
	struct keyparse *k = arg;
	if (tag_is(t, tl, "v")) {
		if (vl != 5 || memcmp(v, "DKIM1", 5) != 0) k->ok_v = 0;
	} else if (tag_is(t, tl, "k")) {
		if (vl != 3 || strncasecmp(v, "rsa", 3) != 0) k->not_rsa = 1;
	} else if (tag_is(t, tl, "h")) {
		k->no_sha256 = 1;
		for (size_t i = 0; i + 6 <= vl; i++)
			if (strncasecmp(v + i, "sha256", 6) == 0) k->no_sha256 = 0;
	} else if (tag_is(t, tl, "p")) {
		k->have_p = 1;
		k->p = v;
		k->pl = vl;
	}
	return 0;
}

int dkim_key_record(const char *rec, size_t n, br_rsa_public_key *pk, unsigned char *buf, size_t max)
{
	struct keyparse k = { 1, 0, 0, 0, NULL, 0 };
	if (tags_each(rec, n, key_tag, &k) < 0 || !k.ok_v || !k.have_p || k.no_sha256) return -1;
	if (k.not_rsa) return -3;
	if (k.pl == 0) return -2;
	long dl = b64_nofws(k.p, k.pl, buf, max);
	if (dl <= 0) return -1;
	return der_pubkey(buf, (size_t)dl, pk);
}

/* ---- verification ---- */

int dkim_verify_begin(struct dkim_verify *v, const char *hdr, size_t hlen, long long now)
{
	memset(v, 0, sizeof *v);
	v->f = malloc(DKIM_FIELDS_MAX * sizeof *v->f);
	if (!v->f) return -1;
	v->hdr = hdr;
	v->hlen = hlen;
	v->now = now;
	v->nf = dkim_fields(hdr, hlen, v->f, DKIM_FIELDS_MAX);
	for (size_t i = 0; i < v->nf && v->nsig < DKIM_VERIFY_MAX; i++) {
		const char *f = hdr + v->f[i].off;
		size_t n = v->f[i].len;
		if (n < 15 || strncasecmp(f, "DKIM-Signature", 14) != 0) continue;
		size_t c = 14;
		while (c < n && (f[c] == ' ' || f[c] == '\t')) c++;
		if (c >= n || f[c] != ':') continue;
		struct dkim_sig *s = &v->sig[v->nsig++];
		dkim_sig_parse(f + c + 1, n - c - 1, s);
		s->field = i;
		dkim_body_init(&s->body, s->brelaxed, s->l);
	}
	return 0;
}

void dkim_verify_body(struct dkim_verify *v, const void *p, size_t n)
{
	for (size_t i = 0; i < v->nsig; i++)
		if (v->sig[i].result == DKIM_NONE) dkim_body_update(&v->sig[i].body, p, n);
}

static int b64char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
	       c == '=';
}

/* the signature field with the value of its b= tag removed */
static int strip_b(const char *f, size_t n, struct buf *out)
{
	size_t colon = 0;
	while (colon < n && f[colon] != ':') colon++;
	for (size_t i = colon; i < n; i++) {
		if (f[i] != ':' && f[i] != ';' && !is_fws(f[i])) continue;
		size_t t = i + 1;
		while (t < n && is_fws(f[t])) t++;
		if (t >= n || f[t] != 'b') continue;
		size_t e = t + 1;
		while (e < n && is_fws(f[e])) e++;
		if (e >= n || f[e] != '=') continue;
		size_t j = e + 1;
		for (;;) {
			size_t k = j;
			while (k < n && is_fws(f[k])) k++;
			if (k < n && b64char(f[k])) j = k + 1;
			else break;
		}
		return buf_set(out, f, e + 1) | buf_add(out, f + j, n - j);
	}
	return -1;
}

static void check_one(struct dkim_verify *v, struct dkim_sig *s)
{
	unsigned char bh[32], hash[32], got[32], keybuf[2048];
	char name[400];
	br_rsa_public_key pk;
	struct buf sf = BUF_INIT;
	char *rec[4];
	size_t nrec = 0;

	dkim_body_final(&s->body, bh);
	if (s->l >= 0 && s->body.hashed < (unsigned long long)s->l) { bad(s, "body shorter than l="); return; }
	if (s->x >= 0 && s->x < v->now) { bad(s, "signature expired"); return; }
	if (memcmp(bh, s->bh, 32) != 0) {
		s->result = DKIM_FAIL;
		snprintf(s->why, sizeof s->why, "body hash did not verify");
		return;
	}
	if ((size_t)snprintf(name, sizeof name, "%s._domainkey.%s", s->s, s->d) >= sizeof name) { bad(s, "name too long"); return; }
	int r = auth_txt(name, "", rec, 4, &nrec);
	if (r == DNS_TEMP || r == DNS_BAD) {
		s->result = DKIM_TEMPERROR;
		snprintf(s->why, sizeof s->why, "key lookup failed");
		return;
	}
	int kr = -1;
	for (size_t i = 0; i < nrec && kr == -1; i++) kr = dkim_key_record(rec[i], strlen(rec[i]), &pk, keybuf, sizeof keybuf);
	auth_txt_free(rec, nrec);
	if (r != DNS_OK || nrec == 0) { bad(s, "no key for signature"); return; }
	if (kr == -2) { bad(s, "key revoked"); return; }
	if (kr == -3) { bad(s, "key is not RSA"); return; }
	if (kr < 0) { bad(s, "malformed key record"); return; }
	if (pk.nlen < 128 || pk.nlen > 512) { bad(s, "key size not accepted"); return; }
	const struct dkim_field *f = &v->f[s->field];
	if (strip_b(v->hdr + f->off, f->len, &sf) < 0 ||
	    dkim_hash_headers(v->hdr, v->f, v->nf, s->h, s->hrelaxed, sf.s, sf.len, hash) < 0) {
		buf_free(&sf);
		s->result = DKIM_TEMPERROR;
		snprintf(s->why, sizeof s->why, "out of memory");
		return;
	}
	buf_free(&sf);
	if (!br_rsa_pkcs1_vrfy_get_default()(s->b, s->blen, BR_HASH_OID_SHA256, 32, &pk, got) ||
	    memcmp(got, hash, 32) != 0) {
		s->result = DKIM_FAIL;
		snprintf(s->why, sizeof s->why, "signature did not verify");
		return;
	}
	s->result = DKIM_PASS;
	snprintf(s->why, sizeof s->why, "%u-bit key", (unsigned)(pk.nlen * 8));
}

void dkim_verify_end(struct dkim_verify *v)
{
	for (size_t i = 0; i < v->nsig; i++)
		if (v->sig[i].result == DKIM_NONE) check_one(v, &v->sig[i]);
}

void dkim_verify_free(struct dkim_verify *v)
{
	free(v->f);
	v->f = NULL;
}
