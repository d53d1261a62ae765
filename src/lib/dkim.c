/* dkim.c — DKIM signing (RFC 6376): the private key from PEM, the body
 * hash with streaming canonicalization, header field splitting and
 * canonicalization, and the DKIM-Signature field (rsa-sha256,
 * relaxed/relaxed, From oversigned). Verification is in dkimverify.c. */
#include "dkim.h"
#include "mime.h"
#include "log.h"
#include "sasl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define KEYFILE_MAX (64 * 1024)

/* ---- the key ---- */

struct pem_out {
	unsigned char *p;
	size_t len, max;
	int over;
};

static void pem_append(void *ctx, const void *p, size_t n)
{
	struct pem_out *o = ctx;
	if (n > o->max - o->len) { o->over = 1; return; }
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

/* the DER of the first RSA/PKCS#8 private key object in the PEM text */
static int pem_key(const unsigned char *text, size_t n, struct pem_out *der, int *found)
{
	br_pem_decoder_context pc;
	int want = 0;
	*found = 0;
	br_pem_decoder_init(&pc);
	for (int pass = 0; pass < 2 && !*found; pass++) {
		const unsigned char *p = pass ? (const unsigned char *)"\n" : text;
		size_t left = pass ? 1 : n;
		while (left > 0 && !*found) {
			size_t used = br_pem_decoder_push(&pc, p, left);
			p += used;
			left -= used;
			switch (br_pem_decoder_event(&pc)) {
			case BR_PEM_BEGIN_OBJ: {
				const char *name = br_pem_decoder_name(&pc);
				want = strcmp(name, "RSA PRIVATE KEY") == 0 || strcmp(name, "PRIVATE KEY") == 0;
				der->len = 0;
				der->over = 0;
				br_pem_decoder_setdest(&pc, want ? pem_append : NULL, der);
				break;
			}
			case BR_PEM_END_OBJ:
				if (want) *found = 1;
				break;
			case BR_PEM_ERROR:
				explicit_bzero(&pc, sizeof pc);
				return -1;
			}
		}
	}
	explicit_bzero(&pc, sizeof pc);
	return 0;
}

/* n and e from the RSAPrivateKey (PKCS#1) or PrivateKeyInfo (PKCS#8) DER:
 * BearSSL's decoder keeps only the private parts */
static int der_public(const unsigned char *p, size_t n, struct dkim_key *k)
{
	const unsigned char *seq, *v, *alg, *oct, *ni, *ei;
	size_t sl, vl, al, ol, nl, el;
	if (dkim_der_get(&p, &n, 0x30, &seq, &sl) < 0 || dkim_der_get(&seq, &sl, 0x02, &v, &vl) < 0) return -1;
	if (sl && seq[0] == 0x30) {   /* PKCS#8: algorithm, then the PKCS#1 key in an OCTET STRING */
		if (dkim_der_get(&seq, &sl, 0x30, &alg, &al) < 0 || dkim_der_get(&seq, &sl, 0x04, &oct, &ol) < 0) return -1;
		if (dkim_der_get(&oct, &ol, 0x30, &seq, &sl) < 0 || dkim_der_get(&seq, &sl, 0x02, &v, &vl) < 0) return -1;
	}
	if (dkim_der_get(&seq, &sl, 0x02, &ni, &nl) < 0 || dkim_der_get(&seq, &sl, 0x02, &ei, &el) < 0) return -1;
	while (nl && *ni == 0) { ni++; nl--; }
	while (el && *ei == 0) { ei++; el--; }
	if (!nl || nl > sizeof k->n || !el || el > sizeof k->e) return -1;
	memcpy(k->n, ni, nl);
	memcpy(k->e, ei, el);
	k->nlen = nl;
	k->elen = el;
	return 0;
}

int dkim_key_load(struct dkim_key *k, const char *path, char *err, size_t emax)
{
	unsigned char *text = malloc(KEYFILE_MAX), *der = malloc(KEYFILE_MAX);
	size_t n = 0;
	int rc = -1, found = 0;
	memset(k, 0, sizeof *k);
	if (!text || !der) { fail_msg(err, emax, "out of memory"); goto out; }
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) { fail_msg(err, emax, "%s: %s", path, strerror(errno)); goto out; }
	for (;;) {
		ssize_t r = read(fd, text + n, KEYFILE_MAX - n);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) { fail_msg(err, emax, "%s: %s", path, strerror(errno)); close(fd); goto out; }
		if (r == 0) break;
		n += (size_t)r;
		if (n == KEYFILE_MAX) { fail_msg(err, emax, "%s: too large for a key file", path); close(fd); goto out; }
	}
	close(fd);
	struct pem_out o = { der, 0, KEYFILE_MAX, 0 };
	if (pem_key(text, n, &o, &found) < 0 || o.over) { fail_msg(err, emax, "%s: malformed PEM", path); goto out; }
	if (!found) { fail_msg(err, emax, "%s: no unencrypted RSA private key in the file", path); goto out; }
	if (der_public(der, o.len, k) < 0) { fail_msg(err, emax, "%s: not a usable RSA private key", path); goto out; }
	br_skey_decoder_init(&k->dec);
	br_skey_decoder_push(&k->dec, der, o.len);
	if (br_skey_decoder_last_error(&k->dec) || br_skey_decoder_key_type(&k->dec) != BR_KEYTYPE_RSA) {
		fail_msg(err, emax, "%s: not a usable RSA private key", path);
		explicit_bzero(&k->dec, sizeof k->dec);
		goto out;
	}
	k->rsa = br_skey_decoder_get_rsa(&k->dec);
	if (k->rsa->n_bitlen < 1024 || k->rsa->n_bitlen > 4096) {
		fail_msg(err, emax, "%s: RSA key of %u bits (1024 to 4096 wanted)", path, k->rsa->n_bitlen);
		dkim_key_free(k);
		goto out;
	}
	rc = 0;
out:
	if (text) { explicit_bzero(text, KEYFILE_MAX); free(text); }
	if (der) { explicit_bzero(der, KEYFILE_MAX); free(der); }
	return rc;
}

void dkim_key_free(struct dkim_key *k)
{
	explicit_bzero(k, sizeof *k);
}

int dkim_der_get(const unsigned char **p, size_t *n, int tag, const unsigned char **v, size_t *vl)
{
	const unsigned char *s = *p;
	size_t left = *n, len;
	if (left < 2 || s[0] != tag) return -1;
	if (s[1] < 0x80) {
		len = s[1];
		s += 2;
		left -= 2;
	} else {
		size_t k = s[1] & 0x7f;
		if (k == 0 || k > 3 || left < 2 + k) return -1;
		len = 0;
		for (size_t i = 0; i < k; i++) len = len << 8 | s[2 + i];
		s += 2 + k;
		left -= 2 + k;
	}
	if (len > left) return -1;
	*v = s;
	*vl = len;
	*p = s + len;
	*n = left - len;
	return 0;
}

/* DER: tag, length, content */
static int der_put(struct buf *b, unsigned char tag, const void *p, size_t n)
{
	unsigned char h[6];
	size_t hl = 0;
	h[hl++] = tag;
	if (n < 0x80) h[hl++] = (unsigned char)n;
	else if (n < 0x100) { h[hl++] = 0x81; h[hl++] = (unsigned char)n; }
	else if (n < 0x10000) { h[hl++] = 0x82; h[hl++] = (unsigned char)(n >> 8); h[hl++] = (unsigned char)n; }
	else return -1;
	return buf_add(b, h, hl) | buf_add(b, p, n);
}

/* an unsigned big-endian integer as a DER INTEGER */
static int der_uint(struct buf *b, const unsigned char *p, size_t n)
{
	struct buf v = BUF_INIT;
	while (n > 1 && *p == 0) { p++; n--; }
	int r = (n && (p[0] & 0x80) ? buf_addc(&v, 0) : 0) | buf_add(&v, p, n);
	r |= der_put(b, 0x02, v.s, v.len);
	buf_free(&v);
	return r;
}

int dkim_key_record_make(const struct dkim_key *k, struct buf *out)
{
	static const unsigned char alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
	                                     0x0d, 0x01, 0x01, 0x01, 0x05, 0x00 };
	struct buf ints = BUF_INIT, rsapub = BUF_INIT, bits = BUF_INIT, spki = BUF_INIT;
	int r = -1;
	if (der_uint(&ints, k->n, k->nlen) | der_uint(&ints, k->e, k->elen)) goto out;
	if (der_put(&rsapub, 0x30, ints.s, ints.len) | buf_addc(&bits, 0) | buf_add(&bits, rsapub.s, rsapub.len)) goto out;
	struct buf body = BUF_INIT;
	int rr = buf_add(&body, alg, sizeof alg) | der_put(&body, 0x03, bits.s, bits.len);
	rr |= der_put(&spki, 0x30, body.s, body.len);
	buf_free(&body);
	if (rr) goto out;
	char b64[1400];
	if (sasl_b64_encode(spki.s, spki.len, b64, sizeof b64) < 0) goto out;
	r = buf_adds(out, "v=DKIM1; k=rsa; p=") | buf_adds(out, b64);
out:
	buf_free(&ints);
	buf_free(&rsapub);
	buf_free(&bits);
	buf_free(&spki);
	return r ? -1 : 0;
}

/* ---- the body ---- */

void dkim_body_init(struct dkim_body *b, int relaxed, long long limit)
{
	memset(b, 0, sizeof *b);
	br_sha256_init(&b->sha);
	b->relaxed = relaxed;
	b->limit = limit;
}

static void out_flush(struct dkim_body *b)
{
	if (b->olen) br_sha256_update(&b->sha, b->out, b->olen);
	b->olen = 0;
}

static void out_bytes(struct dkim_body *b, const void *p, size_t n)
{
	if (b->limit >= 0) {
		unsigned long long room = (unsigned long long)b->limit > b->hashed ? (unsigned long long)b->limit - b->hashed : 0;
		if (n > room) n = (size_t)room;
	}
	b->hashed += n;
	const unsigned char *s = p;
	while (n) {
		size_t k = sizeof b->out - b->olen;
		if (k > n) k = n;
		memcpy(b->out + b->olen, s, k);
		b->olen += k;
		s += k;
		n -= k;
		if (b->olen == sizeof b->out) out_flush(b);
	}
}

/* a byte of line content (not a line end) */
static void body_char(struct dkim_body *b, unsigned char c)
{
	if (b->relaxed && (c == ' ' || c == '\t')) {
		b->wsp = 1;
		return;
	}
	if (!b->started) {
		/* empty lines held back were not trailing after all */
		for (; b->empty; b->empty--) out_bytes(b, "\r\n", 2);
		b->started = 1;
		b->any = 1;
	}
	if (b->wsp) { out_bytes(b, " ", 1); b->wsp = 0; }
	out_bytes(b, &c, 1);
}

static void body_eol(struct dkim_body *b)
{
	if (b->started) out_bytes(b, "\r\n", 2);
	else b->empty++;
	b->started = 0;
	b->wsp = 0;
}

void dkim_body_update(struct dkim_body *b, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (b->cr) {
			b->cr = 0;
			if (c == '\n') { body_eol(b); continue; }
			body_char(b, '\r');
		}
		if (c == '\r') b->cr = 1;
		else if (c == '\n') body_eol(b);
		else body_char(b, c);
	}
}

void dkim_body_final(struct dkim_body *b, unsigned char hash[32])
{
	if (b->cr) { b->cr = 0; body_char(b, '\r'); }
	if (b->started) body_eol(b);
	/* simple: an empty body is one CRLF; relaxed: nothing (RFC 6376 3.4.4, errata 1384) */
	if (!b->any && !b->relaxed) out_bytes(b, "\r\n", 2);
	out_flush(b);
	br_sha256_out(&b->sha, hash);
}

/* ---- header fields ---- */

size_t dkim_fields(const char *hdr, size_t n, struct dkim_field *f, size_t max)
{
	size_t nf = 0, i = 0;
	if (n > DKIM_HDR_MAX) n = DKIM_HDR_MAX;
	while (i < n && nf < max) {
		size_t start = i;
		/* a blank line ends the header */
		if (hdr[i] == '\n' || (hdr[i] == '\r' && i + 1 < n && hdr[i + 1] == '\n')) break;
		for (;;) {
			const char *nl = memchr(hdr + i, '\n', n - i);
			i = nl ? (size_t)(nl - hdr) + 1 : n;
			if (i >= n || (hdr[i] != ' ' && hdr[i] != '\t')) break;
		}
		size_t end = i;
		if (end > start && hdr[end - 1] == '\n') end--;
		if (end > start && hdr[end - 1] == '\r') end--;
		/* a line before the first field that is a continuation is ignored */
		if (hdr[start] != ' ' && hdr[start] != '\t') {
			f[nf].off = start;
			f[nf].len = end - start;
			nf++;
		}
	}
	return nf;
}

static int is_wsp(char c) { return c == ' ' || c == '\t'; }

int dkim_canon_header(const char *f, size_t n, int relaxed, struct buf *out)
{
	const char *colon = memchr(f, ':', n);
	if (!colon) return -1;
	int r = 0;
	if (!relaxed) {
		/* as is, but every line end a CRLF */
		for (size_t i = 0; i < n; i++) {
			if (f[i] == '\n' && (i == 0 || f[i - 1] != '\r')) r |= buf_addc(out, '\r');
			r |= buf_addc(out, f[i]);
		}
		return r | buf_add(out, "\r\n", 2);
	}
	size_t nl = (size_t)(colon - f);
	while (nl && is_wsp(f[nl - 1])) nl--;
	for (size_t i = 0; i < nl; i++) {
		char c = f[i];
		r |= buf_addc(out, c >= 'A' && c <= 'Z' ? (char)(c + 32) : c);
	}
	r |= buf_addc(out, ':');
	int started = 0, wsp = 0;
	for (size_t i = nl; i < n; i++) {
		if (f + i <= colon) continue;
		char c = f[i];
		if (c == '\r' || c == '\n') continue;   /* unfolding */
		if (is_wsp(c)) { wsp = 1; continue; }
		if (wsp && started) r |= buf_addc(out, ' ');
		wsp = 0;
		started = 1;
		r |= buf_addc(out, c);
	}
	return r | buf_add(out, "\r\n", 2);
}

/* does field f carry the name (case-insensitive, spaces before ':' allowed) */
static int field_is(const char *hdr, const struct dkim_field *f, const char *name, size_t nlen)
{
	const char *p = hdr + f->off;
	if (f->len <= nlen || strncasecmp(p, name, nlen) != 0) return 0;
	size_t i = nlen;
	while (i < f->len && is_wsp(p[i])) i++;
	return i < f->len && p[i] == ':';
}

/* ---- signing ---- */

static const char *const signed_names[] = {
	"from", "sender", "reply-to", "subject", "date", "to", "cc", "message-id", "in-reply-to", "references",
	"mime-version", "content-type", "content-transfer-encoding", "content-disposition", "list-id",
	"list-post", "list-unsubscribe", "list-unsubscribe-post",
};

/* text to the field being built, folding before a piece that would pass 76 columns */
struct fold {
	struct buf *b;
	const char *eol;
	size_t col;
	int r;
};

static void fold_add(struct fold *f, const char *s, size_t n, int may_fold)
{
	if (may_fold && f->col + n > 76) {
		f->r |= buf_adds(f->b, f->eol) | buf_addc(f->b, '\t');
		f->col = 8;
	}
	f->r |= buf_add(f->b, s, n);
	f->col += n;
}
static void fold_adds(struct fold *f, const char *s, int may_fold) { fold_add(f, s, strlen(s), may_fold); }

int dkim_hash_headers(const char *hdr, const struct dkim_field *fl, size_t nf, const char *h, int relaxed,
                      const char *sigf, size_t siglen, unsigned char out[32])
{
	br_sha256_context sha;
	struct buf c = BUF_INIT;
	unsigned char *used = calloc(nf ? nf : 1, 1);
	int r = 0;
	if (!used) return -1;
	br_sha256_init(&sha);
	for (const char *p = h; *p;) {
		const char *e = strchr(p, ':');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		for (size_t k = nf; k-- > 0;) {
			if (used[k] || !field_is(hdr, &fl[k], p, len)) continue;
			used[k] = 1;
			buf_reset(&c);
			r |= dkim_canon_header(hdr + fl[k].off, fl[k].len, relaxed, &c);
			br_sha256_update(&sha, c.s, c.len);
			break;
		}
		p += len;
		if (*p == ':') p++;
	}
	buf_reset(&c);
	r |= dkim_canon_header(sigf, siglen, relaxed, &c);
	if (r == 0 && c.len >= 2) br_sha256_update(&sha, c.s, c.len - 2);   /* no final CRLF */
	br_sha256_out(&sha, out);
	buf_free(&c);
	free(used);
	return r ? -1 : 0;
}

int dkim_sign(const char *hdr, size_t hlen, const unsigned char bh[32], const char *domain, const char *selector,
              const struct dkim_key *k, long long t, const char *eol, struct buf *out)
{
	struct dkim_field *fl = malloc(DKIM_FIELDS_MAX * sizeof *fl);
	char h[1024] = "", b64[1400], num[32];
	unsigned char hash[32], sig[512];
	size_t hl = 0, start = out->len;
	int rc = -1, from = 0;
	if (!fl) return -1;
	size_t nf = dkim_fields(hdr, hlen, fl, DKIM_FIELDS_MAX);
	for (size_t i = 0; i < sizeof signed_names / sizeof *signed_names; i++) {
		const char *name = signed_names[i];
		size_t count = 0, len = strlen(name);
		for (size_t j = 0; j < nf; j++) count += (size_t)field_is(hdr, &fl[j], name, len);
		if (i == 0) { from = count > 0; count++; }   /* From once more: no From can be added */
		for (; count; count--) {
			if (hl + len + 2 >= sizeof h) break;
			if (hl) h[hl++] = ':';
			memcpy(h + hl, name, len);
			hl += len;
			h[hl] = 0;
		}
	}
	if (!from) goto out;

	struct fold f = { out, eol, 0, 0 };
	fold_adds(&f, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;", 0);
	struct buf tag = BUF_INIT;
	f.r |= buf_adds(&tag, " d=") | buf_adds(&tag, domain) | buf_adds(&tag, ";");
	if (tag.s) fold_add(&f, tag.s, tag.len, 1);
	buf_reset(&tag);
	f.r |= buf_adds(&tag, " s=") | buf_adds(&tag, selector) | buf_adds(&tag, ";");
	if (tag.s) fold_add(&f, tag.s, tag.len, 1);
	buf_free(&tag);
	snprintf(num, sizeof num, " t=%lld;", t);
	fold_adds(&f, num, 1);
	fold_adds(&f, " h=", 1);
	for (const char *p = h; *p;) {
		const char *e = strchr(p, ':');
		size_t len = e ? (size_t)(e - p) + 1 : strlen(p);
		fold_add(&f, p, len, 1);
		p += len;
	}
	fold_adds(&f, ";", 0);
	if (sasl_b64_encode(bh, 32, b64, sizeof b64) < 0) goto out;
	char bhtag[sizeof b64 + 8];
	snprintf(bhtag, sizeof bhtag, " bh=%s;", b64);
	fold_adds(&f, bhtag, 1);
	fold_adds(&f, " b=", 1);
	if (f.r) goto out;

	if (dkim_hash_headers(hdr, fl, nf, h, 1, out->s + start, out->len - start, hash) < 0) goto out;
	size_t slen = (k->rsa->n_bitlen + 7) / 8;
	if (slen > sizeof sig || !br_rsa_pkcs1_sign_get_default()(BR_HASH_OID_SHA256, hash, 32, k->rsa, sig)) goto out;
	long bl = sasl_b64_encode(sig, slen, b64, sizeof b64);
	if (bl < 0) goto out;
	/* the value fills the line it starts on, then whole lines */
	for (size_t i = 0; i < (size_t)bl;) {
		if (f.col >= 76) { f.r |= buf_adds(out, eol) | buf_addc(out, '\t'); f.col = 8; }
		size_t n = 76 - f.col;
		if (n > (size_t)bl - i) n = (size_t)bl - i;
		f.r |= buf_add(out, b64 + i, n);
		f.col += n;
		i += n;
	}
	f.r |= buf_adds(out, eol);
	if (f.r == 0) rc = 0;
out:
	if (rc < 0) out->len = start;
	free(fl);
	return rc;
}

struct from_dom {
	char *out;
	size_t max;
	int n, bad;
};

static int from_one(const struct mime_addr *a, void *arg)
{
	struct from_dom *d = arg;
	if (!a->local || !a->domain) return 0;   /* group start/end */
	if (d->n++ || a->domain_len == 0 || a->domain_len >= d->max) { d->bad = 1; return 0; }
	for (size_t i = 0; i < a->domain_len; i++) {
		char c = a->domain[i];
		d->out[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	d->out[a->domain_len] = 0;
	return 0;
}

int dkim_from_domain(const char *hdr, size_t hlen, char *out, size_t max)
{
	struct dkim_field *fl = malloc(DKIM_FIELDS_MAX * sizeof *fl);
	struct buf scratch = BUF_INIT;
	struct from_dom d = { out, max, 0, 0 };
	int nfrom = 0;
	if (!fl) return -1;
	size_t nf = dkim_fields(hdr, hlen, fl, DKIM_FIELDS_MAX);
	for (size_t i = 0; i < nf; i++) {
		if (!field_is(hdr, &fl[i], "from", 4)) continue;
		if (nfrom++) { d.bad = 1; break; }
		const char *v = memchr(hdr + fl[i].off, ':', fl[i].len) + 1;
		size_t vn = fl[i].len - (size_t)(v - (hdr + fl[i].off));
		if (mime_addr_list(v, vn, &scratch, from_one, &d) < 0) d.bad = 1;
	}
	buf_free(&scratch);
	free(fl);
	return d.bad || d.n != 1 ? -1 : 0;
}
