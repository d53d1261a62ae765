/* dkim.h — DKIM (RFC 6376) rsa-sha256: canonicalization (simple and
 * relaxed), signing, and verification of received signatures.
 *
 * Messages are given as a header block (pointer, length; LF or CRLF line
 * ends, up to the blank line) and a body fed in pieces, so a body is
 * streamed, never held whole. Signing: dkim_body_* hashes the body, then
 * dkim_sign builds the DKIM-Signature field to put on top of the message.
 * Verification: dkim_verify_begin on the header block, dkim_verify_body for
 * the body, dkim_verify_end looks the keys up (authdns.h) and checks.
 * ed25519-sha256 (RFC 8463) is not supported: BearSSL 0.6 has no Ed25519,
 * such signatures get permerror "unsupported algorithm". */
#ifndef YUBIN_DKIM_H
#define YUBIN_DKIM_H

#include "buf.h"

#include <bearssl.h>
#include <stddef.h>

#define DKIM_HDR_MAX (256 * 1024)   /* header block bytes looked at */
#define DKIM_FIELDS_MAX 1000        /* header fields looked at */
#define DKIM_VERIFY_MAX 4           /* signatures checked per message */

/* A private key from a PEM file (PKCS#1 "RSA PRIVATE KEY" or PKCS#8
 * "PRIVATE KEY", unencrypted). The decoder holds the key: never copy. */
struct dkim_key {
	br_skey_decoder_context dec;
	const br_rsa_private_key *rsa;
	unsigned char n[512], e[8];   /* the public key, from the same DER */
	size_t nlen, elen;
};
int dkim_key_load(struct dkim_key *k, const char *path, char *err, size_t emax);
void dkim_key_free(struct dkim_key *k);
/* The DNS TXT record that publishes k's public key, "v=DKIM1; k=rsa;
 * p=<base64 SubjectPublicKeyInfo>", appended to out. 0 or -1. */
int dkim_key_record_make(const struct dkim_key *k, struct buf *out);

/* The body hash, streaming: relaxed or simple canonicalization, an
 * optional length limit (l=; -1 none). */
struct dkim_body {
	br_sha256_context sha;
	int relaxed;
	long long limit;
	unsigned long long hashed;
	unsigned long long empty;   /* empty lines held back: trailing ones are dropped */
	int started;                /* the current line has output */
	int wsp;                    /* relaxed: whitespace held back within the line */
	int cr;                     /* a CR held back (CRLF or LF input) */
	int any;                    /* any line was output */
	size_t olen;
	unsigned char out[4096];
};
void dkim_body_init(struct dkim_body *b, int relaxed, long long limit);
void dkim_body_update(struct dkim_body *b, const void *p, size_t n);
void dkim_body_final(struct dkim_body *b, unsigned char hash[32]);

/* One header field's canonical form, appended to out: relaxed
 * ("name:value" lower-case name, unfolded, whitespace runs collapsed) or
 * simple (as is), each ending in CRLF. -1 on a field without a colon or
 * out of memory. */
int dkim_canon_header(const char *f, size_t n, int relaxed, struct buf *out);

/* The header fields of a block: offsets and lengths (continuation lines
 * included, final line end excluded). Returns the count (at most max). */
struct dkim_field { size_t off, len; };
size_t dkim_fields(const char *hdr, size_t n, struct dkim_field *f, size_t max);

/* The header hash: the fields named in h (':'-separated; for a name given
 * k times, its last k instances bottom-up, RFC 6376 5.4.2; a name with no
 * instance left adds nothing) and then the signature field sigf itself
 * (b= already emptied) without its final CRLF. 0 or -1 out of memory. */
int dkim_hash_headers(const char *hdr, const struct dkim_field *fl, size_t nf, const char *h, int relaxed,
                      const char *sigf, size_t siglen, unsigned char out[32]);

/* Build the DKIM-Signature field for a message (header block hdr, body
 * hash bh from dkim_body_* with relaxed canonicalization): the usual
 * header set, From signed once more than it occurs. eol is the line end
 * to use ("\r\n" on the wire, "\n" in a queue file); out gets the whole
 * field ending in eol. t is the signing time. 0, or -1 (out of memory, no
 * From field, or the RSA signing failed). */
int dkim_sign(const char *hdr, size_t hlen, const unsigned char bh[32], const char *domain, const char *selector,
              const struct dkim_key *k, long long t, const char *eol, struct buf *out);

/* The domain of the message's author: the single mailbox of the single
 * From field, lower case, into out. 0, or -1 (no From, several From
 * fields or mailboxes, no domain, too long). DMARC uses it as well. */
int dkim_from_domain(const char *hdr, size_t hlen, char *out, size_t max);

/* One DER element of the given tag at *p (n bytes left): its content in
 * *v, *vl; *p and *n move past it. 0 or -1. */
int dkim_der_get(const unsigned char **p, size_t *n, int tag, const unsigned char **v, size_t *vl);

/* ---- verification ---- */
enum dkim_result { DKIM_NONE = 0, DKIM_PASS, DKIM_FAIL, DKIM_NEUTRAL, DKIM_TEMPERROR, DKIM_PERMERROR };
const char *dkim_result_name(int r);

struct dkim_sig {
	int result;
	char why[80];               /* for the Authentication-Results comment */
	char d[256], s[64];         /* signing domain and selector */
	char i[256];                /* agent identifier (default @d) */
	int hrelaxed, brelaxed;
	long long l, x;             /* -1 when absent */
	char h[1024];               /* signed field names, ':'-separated, lower case */
	unsigned char bh[32];
	unsigned char b[1024];
	size_t blen;
	size_t field;               /* index of its DKIM-Signature field */
	struct dkim_body body;
};
/* Parse the tag list of a DKIM-Signature value into sig (result left
 * DKIM_NONE when it is usable, else PERMERROR with why). */
void dkim_sig_parse(const char *v, size_t n, struct dkim_sig *sig);

struct dkim_verify {
	const char *hdr;            /* the caller's header block, kept alive until end */
	size_t hlen, nf;
	struct dkim_field *f;       /* malloc'd */
	size_t nsig;
	struct dkim_sig sig[DKIM_VERIFY_MAX];
	long long now;
};
/* 0, or -1 out of memory (nothing to free then) */
int dkim_verify_begin(struct dkim_verify *v, const char *hdr, size_t hlen, long long now);
void dkim_verify_body(struct dkim_verify *v, const void *p, size_t n);
/* Key lookups and checks; results in v->sig[i].result. */
void dkim_verify_end(struct dkim_verify *v);
void dkim_verify_free(struct dkim_verify *v);

/* A key record "v=DKIM1; k=rsa; p=..." to an RSA public key (n and e
 * copied into buf). 0 ok, -1 malformed, -2 revoked (empty p=), -3 not RSA. */
int dkim_key_record(const char *rec, size_t n, br_rsa_public_key *pk, unsigned char *buf, size_t max);

#endif
