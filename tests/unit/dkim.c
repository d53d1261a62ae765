/* dkim.c — unit tests for src/lib/dkim.c and dkimverify.c against known
 * answers made by an independent implementation (dkimpy + openssl, see
 * dkim-vectors.py): body hashes, verification of dkimpy's signatures, and
 * our signatures checked by our verifier through a fake DNS. */
#include "tap.h"
#include "authdns.h"
#include "buf.h"
#include "dkim.h"
#include "sasl.h"

#include <stdlib.h>
#include <unistd.h>

#include "dkim_vectors.h"

static const char *fake_txt;   /* what sel._domainkey.example.com holds */
static int fake_status = DNS_OK;
static char asked[256];

static int fake_dns(const char *name, int qtype, struct dns_answer *a)
{
	snprintf(asked, sizeof asked, "%s", name);
	memset(a, 0, sizeof *a);
	if (fake_status != DNS_OK) return fake_status;
	if (qtype != DNS_T_TXT || strcmp(name, "sel._domainkey.example.com") != 0 || !fake_txt) return DNS_NXDOMAIN;
	size_t n = strlen(fake_txt);
	memcpy(a->txt, fake_txt, n);
	a->txt_used = n;
	a->n = 1;
	a->rr[0].type = DNS_T_TXT;
	a->rr[0].txt_len = n;
	return DNS_OK;
}

static char keyfile[64];
static void write_key(const char *pem)
{
	snprintf(keyfile, sizeof keyfile, "/tmp/dkimtest.%d.key", (int)getpid());
	FILE *f = fopen(keyfile, "w");
	fputs(pem, f);
	fclose(f);
}

/* an array as a pointer, for is_str */
static const char *str(const char *s) { return s; }

static void b64(const unsigned char h[32], char *out) { sasl_b64_encode(h, 32, out, 64); }

/* CRLF -> LF copy (what a queue file holds) */
static char *to_lf(const char *s, size_t n, size_t *outn)
{
	char *o = malloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')) o[k++] = s[i];
	o[k] = 0;
	*outn = k;
	return o;
}

/* split a message at its blank line and verify it; returns the first result */
static int verify_msg(const char *m, size_t n, char *why, size_t wmax)
{
	const char *sep = strstr(m, "\r\n\r\n");
	size_t hl = sep ? (size_t)(sep - m) + 2 : n, bo = sep ? hl + 2 : n;
	struct dkim_verify v;
	if (dkim_verify_begin(&v, m, hl, 1700000000) < 0) return -1;
	for (size_t i = bo; i < n; i += 7) dkim_verify_body(&v, m + i, n - i < 7 ? n - i : 7);
	dkim_verify_end(&v);
	int r = v.nsig ? v.sig[0].result : DKIM_NONE;
	if (why) snprintf(why, wmax, "%s", v.nsig ? v.sig[0].why : "");
	dkim_verify_free(&v);
	return r;
}

static void test_bodies(void)
{
	for (size_t i = 0; i < sizeof body_vec / sizeof *body_vec; i++) {
		unsigned char h[32];
		char got[64];
		struct dkim_body b;
		for (int relaxed = 0; relaxed < 2; relaxed++) {
			const char *want = relaxed ? body_vec[i].relaxed : body_vec[i].simple;
			dkim_body_init(&b, relaxed, -1);
			dkim_body_update(&b, body_vec[i].body, body_vec[i].len);
			dkim_body_final(&b, h);
			b64(h, got);
			is_str(str(got), want, "body %zu %s: whole", i, relaxed ? "relaxed" : "simple");
			/* byte by byte, and with LF line ends: the same hash */
			dkim_body_init(&b, relaxed, -1);
			for (size_t k = 0; k < body_vec[i].len; k++) dkim_body_update(&b, body_vec[i].body + k, 1);
			dkim_body_final(&b, h);
			b64(h, got);
			is_str(str(got), want, "body %zu %s: byte by byte", i, relaxed ? "relaxed" : "simple");
			size_t ln;
			char *lf = to_lf(body_vec[i].body, body_vec[i].len, &ln);
			dkim_body_init(&b, relaxed, -1);
			dkim_body_update(&b, lf, ln);
			dkim_body_final(&b, h);
			b64(h, got);
			is_str(str(got), want, "body %zu %s: LF line ends", i, relaxed ? "relaxed" : "simple");
			free(lf);
		}
	}
}

static void test_canon(void)
{
	struct buf b = BUF_INIT;
	const char *f = "Subject  :  Hello \r\n\tworld  ";
	ok(dkim_canon_header(f, strlen(f), 1, &b) == 0, "relaxed header");
	is_str(b.s, "subject:Hello world\r\n", "relaxed: name lower-cased, unfolded, spaces collapsed and trimmed");
	buf_reset(&b);
	f = "Subject: a\n b";
	ok(dkim_canon_header(f, strlen(f), 0, &b) == 0 && strcmp(b.s, "Subject: a\r\n b\r\n") == 0, "simple: as is, CRLF");
	buf_reset(&b);
	ok(dkim_canon_header("no colon", 8, 1, &b) < 0, "a field without a colon is refused");
	buf_free(&b);
	struct dkim_field fl[8];
	const char *h = "A: 1\n  cont\nB: 2\r\n\r\nC: not a header\n";
	size_t n = dkim_fields(h, strlen(h), fl, 8);
	ok(n == 2 && fl[0].len == 11 && fl[1].off == 12 && fl[1].len == 4, "fields: continuation joined, blank line ends");
}

static void test_key(void)
{
	struct dkim_key k;
	char err[200];
	write_key(key_pkcs1);
	ok(dkim_key_load(&k, keyfile, err, sizeof err) == 0 && k.rsa->n_bitlen == 1024, "PKCS#1 key loads");
	dkim_key_free(&k);
	write_key(key_pkcs8);
	ok(dkim_key_load(&k, keyfile, err, sizeof err) == 0 && k.rsa->n_bitlen == 1024, "PKCS#8 key loads");
	struct buf rec = BUF_INIT;
	ok(dkim_key_record_make(&k, &rec) == 0, "key record made");
	is_str(rec.s, key_record, "our key record is openssl's public key");
	buf_free(&rec);
	dkim_key_free(&k);
	write_key("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
	ok(dkim_key_load(&k, keyfile, err, sizeof err) < 0 && strstr(err, "no unencrypted RSA"), "no key: %s", err);
	ok(dkim_key_load(&k, "/nonexistent/key", err, sizeof err) < 0, "missing file refused");
	br_rsa_public_key pk;
	unsigned char kb[1024];
	ok(dkim_key_record(key_record, strlen(key_record), &pk, kb, sizeof kb) == 0 && pk.nlen == 128, "key record parsed");
	ok(dkim_key_record("v=DKIM1; p=", 11, &pk, kb, sizeof kb) == -2, "empty p= is a revoked key");
	ok(dkim_key_record("v=DKIM1; k=ed25519; p=AAAA", 26, &pk, kb, sizeof kb) == -3, "ed25519 key is not RSA");
	ok(dkim_key_record("v=DKIM1; p=!!!", 14, &pk, kb, sizeof kb) == -1, "bad base64 refused");
}

static void test_verify_theirs(void)
{
	char why[100];
	fake_txt = key_record;
	for (size_t i = 0; i < sizeof signed_msg / sizeof *signed_msg; i++) {
		const char *m = signed_msg[i];
		size_t n = strlen(m);
		ok(verify_msg(m, n, why, sizeof why) == DKIM_PASS, "dkimpy signature %zu verifies (%s)", i, why);
		is_str(str(asked), "sel._domainkey.example.com", "key looked up at selector._domainkey.domain");
		char *t = strdup(m);
		char *p = strstr(t, "bye.");
		p[0] = 'B';
		ok(verify_msg(t, n, why, sizeof why) == DKIM_FAIL && strstr(why, "body hash"), "changed body fails: %s", why);
		p[0] = 'b';
		p = strstr(t, "To: bob");
		p[4] = 'B';
		ok(verify_msg(t, n, why, sizeof why) == DKIM_FAIL && strstr(why, "signature"), "changed To fails: %s", why);
		p[4] = 'b';
		if (i == 0) {
			/* relaxed header canonicalization: refolding and spacing do not matter */
			char *r = malloc(n + 8);
			const char *s = strstr(m, "Subject:");
			size_t pre = (size_t)(s - m);
			memcpy(r, m, pre);
			memcpy(r + pre, "SUBJECT :", 9);
			memcpy(r + pre + 9, s + 8, n - pre - 8 + 1);
			ok(verify_msg(r, strlen(r), why, sizeof why) == DKIM_PASS, "relaxed: refolded field still verifies");
			free(r);
			char *lf = to_lf(m, n, &n);
			const char *sep = strstr(lf, "\n\n");
			struct dkim_verify v;
			dkim_verify_begin(&v, lf, (size_t)(sep - lf) + 1, 1700000000);
			dkim_verify_body(&v, sep + 2, strlen(sep + 2));
			dkim_verify_end(&v);
			ok(v.nsig == 1 && v.sig[0].result == DKIM_PASS, "LF line ends verify the same");
			dkim_verify_free(&v);
			free(lf);
		}
		free(t);
	}
	const char *m = signed_msg[0];
	fake_status = DNS_TEMP;
	ok(verify_msg(m, strlen(m), why, sizeof why) == DKIM_TEMPERROR, "DNS failure is temperror");
	fake_status = DNS_OK;
	fake_txt = NULL;
	ok(verify_msg(m, strlen(m), why, sizeof why) == DKIM_PERMERROR, "no key record is permerror: %s", why);
	fake_txt = "v=DKIM1; p=";
	ok(verify_msg(m, strlen(m), why, sizeof why) == DKIM_PERMERROR && strstr(why, "revoked"), "revoked key: %s", why);
	fake_txt = key_record;
	ok(verify_msg("From: a@b\r\n\r\nx\r\n", 16, why, sizeof why) == DKIM_NONE, "unsigned message: none");
}

static void test_sig_parse(void)
{
	struct dkim_sig s;
	const char *v = " v=1; a=rsa-sha1; d=x; s=y; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA";
	dkim_sig_parse(v, strlen(v), &s);
	ok(s.result == DKIM_PERMERROR && strstr(s.why, "sha1"), "rsa-sha1 refused");
	v = "v=1; a=rsa-sha256; d=x; s=y; h=to; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA";
	dkim_sig_parse(v, strlen(v), &s);
	ok(s.result == DKIM_PERMERROR && strstr(s.why, "From"), "unsigned From refused");
	v = "v=1; a=ed25519-sha256; d=x; s=y; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA";
	dkim_sig_parse(v, strlen(v), &s);
	ok(s.result == DKIM_PERMERROR && strstr(s.why, "ed25519"), "ed25519 unsupported");
	v = "v=1; a=rsa-sha256; d=Example.COM; s=y; i=joe@mail.example.com; c=relaxed; h=From : To; bh=47DEQpj8HB\r\n\tSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AA AA; l=5";
	dkim_sig_parse(v, strlen(v), &s);
	ok(s.result == DKIM_NONE && strcmp(s.d, "example.com") == 0 && s.hrelaxed && !s.brelaxed && s.l == 5 &&
	   strcmp(s.h, "from:to") == 0, "tags parsed (FWS, case, c= with one part, l=)");
	v = "v=1; a=rsa-sha256; d=example.com; s=y; i=joe@evil.com; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA";
	dkim_sig_parse(v, strlen(v), &s);
	ok(s.result == DKIM_PERMERROR, "i= outside d= refused");
	v = "v=1; a=rsa-sha256; d=x; garbage";
	dkim_sig_parse(v, strlen(v), &s);
	ok(s.result == DKIM_PERMERROR, "malformed tag list refused");
}

static void test_sign(void)
{
	struct dkim_key k;
	char err[200];
	write_key(key_pkcs1);
	if (dkim_key_load(&k, keyfile, err, sizeof err) < 0) { ok(0, "key: %s", err); return; }
	const char *hdr = "From: Alice <alice@example.com>\nTo: bob@example.net\nSubject: test\nX-Other: x\n";
	const char *body = "Hello  there\n\n\n";
	struct dkim_body b;
	unsigned char bh[32];
	dkim_body_init(&b, 1, -1);
	dkim_body_update(&b, body, strlen(body));
	dkim_body_final(&b, bh);
	struct buf sig = BUF_INIT;
	ok(dkim_sign(hdr, strlen(hdr), bh, "example.com", "sel", &k, 1700000000, "\r\n", &sig) == 0, "signed");
	ok(strstr(sig.s, "h=from:from:subject:to;") != NULL, "From oversigned, others once, unknown not: %s", sig.s);
	ok(strstr(sig.s, "d=example.com;") && strstr(sig.s, "s=sel;") && strstr(sig.s, "t=1700000000;"), "d, s, t tags");
	int longline = 0;
	for (const char *p = sig.s; *p;) {
		const char *e = strstr(p, "\r\n");
		if (!e) break;
		if (e - p > 78) longline = 1;
		p = e + 2;
	}
	ok(!longline, "folded to 78 columns: %s", sig.s);
	/* the whole message as it goes out: our field on top, CRLF */
	struct buf m = BUF_INIT;
	buf_add(&m, sig.s, sig.len);
	for (const char *p = hdr; *p; p++) { if (*p == '\n') buf_addc(&m, '\r'); buf_addc(&m, *p); }
	buf_adds(&m, "\r\nHello  there\r\n\r\n\r\n");
	char why[100];
	ok(verify_msg(m.s, m.len, why, sizeof why) == DKIM_PASS, "our signature verifies (%s)", why);
	buf_free(&m);
	buf_reset(&sig);
	ok(dkim_sign("To: x@y\n", 8, bh, "example.com", "sel", &k, 1, "\n", &sig) < 0 && sig.len == 0, "no From: not signed");
	buf_free(&sig);
	dkim_key_free(&k);
}

int main(void)
{
	auth_dns = fake_dns;
	test_bodies();
	test_canon();
	test_key();
	test_sig_parse();
	test_verify_theirs();
	test_sign();
	unlink(keyfile);
	return done_testing();
}
