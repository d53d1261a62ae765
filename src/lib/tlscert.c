/* tlscert.c — load and check TLS certificate chains and private keys with
 * BearSSL's PEM, X.509 and key decoders (see tlscert.h). Files are read
 * whole (bounded by TLS_FILE_MAX); buffers that held key material are
 * wiped before they are freed. */
#include "tlscert.h"
#include "buf.h"
#include "control.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* days from 0000-01-01 (BearSSL's X.509 epoch) to 1970-01-01 */
#define X509_UNIX_EPOCH_DAYS 719528

static int service_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 32) return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int resolve(const char *val, char *out, size_t max)
{
	if (val[0] != '/') return root_path(out, max, val);
	size_t n = strlen(val);
	if (n >= max) { errno = ENAMETOOLONG; return -1; }
	memcpy(out, val, n + 1);
	return 0;
}

/* control/SERVICE_tls_CERT_file (with SERVICE_tls_KEY_file, else the
 * certificate file) when the service sets it, else smtpd_tls_CERT_file */
static int paths(const char *service, const char *cname, const char *kname,
                 char *cert, size_t cmax, char *key, size_t kmax)
{
	char name[80];
	const char *c, *k;
	if (!service_ok(service)) return -1;
	snprintf(name, sizeof name, "%s_tls_%s_file", service, cname);
	if (strcmp(service, "smtpd") != 0 && control_is_set(name)) {
		c = control_get(name);
		snprintf(name, sizeof name, "%s_tls_%s_file", service, kname);
		k = control_is_set(name) ? control_get(name) : c;
	} else {
		snprintf(name, sizeof name, "smtpd_tls_%s_file", cname);
		c = control_get(name);
		snprintf(name, sizeof name, "smtpd_tls_%s_file", kname);
		k = control_get(name);
	}
	if (!*c) return 0;
	if (!*k) k = c;
	if (resolve(c, cert, cmax) < 0 || resolve(k, key, kmax) < 0) return -1;
	return 1;
}

int tls_paths(const char *service, char *cert, size_t cmax, char *key, size_t kmax)
{
	return paths(service, "cert", "key", cert, cmax, key, kmax);
}

int tls_ecpaths(const char *service, char *cert, size_t cmax, char *key, size_t kmax)
{
	return paths(service, "eccert", "eckey", cert, cmax, key, kmax);
}

/* whole file into b (bounded) */
static int read_file(const char *path, struct buf *b, char *err, size_t emax)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) return fail_msg(err, emax, "%s: %s", path, strerror(errno));
	b->max = TLS_FILE_MAX;
	for (;;) {
		if (buf_ready(b, 4096) < 0) {
			close(fd);
			return fail_msg(err, emax, "%s: larger than %d bytes", path, TLS_FILE_MAX);
		}
		ssize_t n = read(fd, b->s + b->len, 4096);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return fail_msg(err, emax, "%s: %s", path, strerror(e));
		}
		if (n == 0) break;
		b->len += (size_t)n;
	}
	close(fd);
	return 0;
}

static void wipe_buf(struct buf *b)
{
	if (b->s) explicit_bzero(b->s, b->cap);
	buf_free(b);
}

static void der_append(void *ctx, const void *p, size_t n)
{
	struct buf *b = ctx;
	if (buf_add(b, p, n) < 0) b->max = 1;   /* remember the overflow */
}

/* Call fn for each PEM object in data. fn returns 0 to go on, -1 to stop. */
static int pem_each(const char *path, const struct buf *data,
                    int (*fn)(void *arg, const char *name, struct buf *der, char *err, size_t emax),
                    void *arg, char *err, size_t emax)
{
	br_pem_decoder_context pc;
	struct buf der = BUF_INIT;
	char name[128] = "";
	int inobj = 0, rc = 0;
	br_pem_decoder_init(&pc);
	const unsigned char *p = (const unsigned char *)data->s;
	size_t left = data->len;
	/* a final newline makes a file without one end cleanly */
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		if (pass == 1) { p = (const unsigned char *)"\n"; left = 1; }
		while (left > 0 && rc == 0) {
			size_t used = br_pem_decoder_push(&pc, p, left);
			p += used;
			left -= used;
			switch (br_pem_decoder_event(&pc)) {
			case BR_PEM_BEGIN_OBJ:
				snprintf(name, sizeof name, "%s", br_pem_decoder_name(&pc));
				wipe_buf(&der);
				der.max = 256 * 1024;
				br_pem_decoder_setdest(&pc, der_append, &der);
				inobj = 1;
				break;
			case BR_PEM_END_OBJ:
				inobj = 0;
				if (der.max == 1) rc = fail_msg(err, emax, "%s: PEM object too large", path);
				else rc = fn(arg, name, &der, err, emax);
				wipe_buf(&der);
				break;
			case BR_PEM_ERROR:
				rc = fail_msg(err, emax, "%s: malformed PEM", path);
				break;
			}
		}
	}
	if (rc == 0 && inobj) rc = fail_msg(err, emax, "%s: truncated PEM object", path);
	wipe_buf(&der);
	explicit_bzero(&pc, sizeof pc);
	return rc;
}

static int take_cert(void *arg, const char *name, struct buf *der, char *err, size_t emax)
{
	struct tls_creds *c = arg;
	if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0) return 0;
	if (c->chain_len == TLS_CHAIN_MAX) return fail_msg(err, emax, "more than %d certificates", TLS_CHAIN_MAX);
	unsigned char *d = malloc(der->len ? der->len : 1);
	if (!d) return fail_msg(err, emax, "out of memory");
	memcpy(d, der->s, der->len);
	c->chain[c->chain_len].data = d;
	c->chain[c->chain_len].data_len = der->len;
	c->chain_len++;
	return 0;
}

/* public key and validity of the first (server) certificate */
static int decode_server_cert(struct tls_creds *c, const char *path, char *err, size_t emax)
{
	br_x509_decoder_context dc;
	char e[64];
	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, c->chain[0].data, c->chain[0].data_len);
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
	if (!pk) return fail_msg(err, emax, "%s: bad certificate (%s)", path,
	                     tls_error_text(br_x509_decoder_last_error(&dc), e, sizeof e));
	c->cert_key_type = pk->key_type;
	c->issuer_key_type = br_x509_decoder_get_signer_key_type(&dc);
	c->pub.key_type = pk->key_type;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		const br_rsa_public_key *r = &pk->key.rsa;
		if (r->nlen + r->elen > sizeof c->pub_data) return fail_msg(err, emax, "%s: RSA key too large", path);
		memcpy(c->pub_data, r->n, r->nlen);
		memcpy(c->pub_data + r->nlen, r->e, r->elen);
		c->pub.key.rsa.n = c->pub_data;
		c->pub.key.rsa.nlen = r->nlen;
		c->pub.key.rsa.e = c->pub_data + r->nlen;
		c->pub.key.rsa.elen = r->elen;
	} else if (pk->key_type == BR_KEYTYPE_EC) {
		const br_ec_public_key *q = &pk->key.ec;
		if (q->qlen > sizeof c->pub_data) return fail_msg(err, emax, "%s: EC key too large", path);
		memcpy(c->pub_data, q->q, q->qlen);
		c->pub.key.ec.curve = q->curve;
		c->pub.key.ec.q = c->pub_data;
		c->pub.key.ec.qlen = q->qlen;
	} else {
		return fail_msg(err, emax, "%s: certificate key is neither RSA nor EC", path);
	}
	c->not_before = ((long long)dc.notbefore_days - X509_UNIX_EPOCH_DAYS) * 86400 + dc.notbefore_seconds;
	c->not_after = ((long long)dc.notafter_days - X509_UNIX_EPOCH_DAYS) * 86400 + dc.notafter_seconds;
	return 0;
}

int tls_load_cert(struct tls_creds *c, const char *path, char *err, size_t emax)
{
	struct buf data = BUF_INIT;
	memset(c, 0, sizeof *c);
	if (read_file(path, &data, err, emax) < 0) return -1;
	int rc = pem_each(path, &data, take_cert, c, err, emax);
	buf_free(&data);
	if (rc == 0 && c->chain_len == 0) rc = fail_msg(err, emax, "%s: no certificate in the file", path);
	if (rc == 0) rc = decode_server_cert(c, path, err, emax);
	if (rc < 0) tls_creds_free(c);
	return rc;
}

int tls_key_file_ok(const char *path, char *err, size_t emax)
{
	struct stat st;
	if (stat(path, &st) < 0) return fail_msg(err, emax, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode)) return fail_msg(err, emax, "%s: not a regular file", path);
	if (st.st_mode & (S_IROTH | S_IWOTH))
		return fail_msg(err, emax, "%s: private key is accessible by others (mode %04o): chmod 600 it",
		            path, (unsigned)(st.st_mode & 07777));
	/* readability is not checked here: the key is often readable only by
	 * yubin-tlsd's group (setgid), not by the program asking */
	return 0;
}

struct keyctx {
	struct tls_creds *c;
	const char *path;
};

static int take_key(void *arg, const char *name, struct buf *der, char *err, size_t emax)
{
	struct keyctx *k = arg;
	char e[64];
	if (strcmp(name, "ENCRYPTED PRIVATE KEY") == 0)
		return fail_msg(err, emax, "%s: the private key is encrypted (a passphrase cannot be entered)", k->path);
	if (strcmp(name, "RSA PRIVATE KEY") != 0 && strcmp(name, "EC PRIVATE KEY") != 0 &&
	    strcmp(name, "PRIVATE KEY") != 0)
		return 0;
	if (k->c->have_key) return fail_msg(err, emax, "%s: more than one private key", k->path);
	br_skey_decoder_init(&k->c->skey);
	br_skey_decoder_push(&k->c->skey, der->s, der->len);
	int r = br_skey_decoder_last_error(&k->c->skey);
	if (r) return fail_msg(err, emax, "%s: bad private key (%s)", k->path, tls_error_text(r, e, sizeof e));
	k->c->have_key = 1;
	return 0;
}

int tls_load_key(struct tls_creds *c, const char *path, char *err, size_t emax)
{
	struct buf data = BUF_INIT;
	struct keyctx k = { c, path };
	if (read_file(path, &data, err, emax) < 0) { wipe_buf(&data); return -1; }
	int rc = pem_each(path, &data, take_key, &k, err, emax);
	wipe_buf(&data);
	if (rc == 0 && !c->have_key) rc = fail_msg(err, emax, "%s: no private key in the file", path);
	if (rc < 0) {
		explicit_bzero(&c->skey, sizeof c->skey);
		c->have_key = 0;
	}
	return rc;
}

/* compare two big-endian unsigned integers, ignoring leading zeros */
static int same_int(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
	while (an && !*a) { a++; an--; }
	while (bn && !*b) { b++; bn--; }
	return an == bn && memcmp(a, b, an) == 0;
}

int tls_key_matches(const struct tls_creds *c)
{
	if (!c->have_key || !c->chain_len) return 0;
	int kt = br_skey_decoder_key_type(&c->skey);
	if (kt != c->cert_key_type) return 0;
	if (kt == BR_KEYTYPE_RSA) {
		/* same modulus, and a private-then-public round trip with the
		 * certificate's exponent (BearSSL's compute_pubexp only handles
		 * primes = 3 mod 4, which OpenSSL keys need not be) */
		const br_rsa_private_key *sk = br_skey_decoder_get_rsa(&c->skey);
		unsigned char n[4096 / 8 + 8], x[4096 / 8 + 8];   /* BearSSL: RSA up to 4096 bits */
		br_rsa_compute_modulus cm = br_rsa_compute_modulus_get_default();
		size_t nlen = cm(NULL, sk);
		if (!nlen || nlen > sizeof n || cm(n, sk) != nlen) return 0;
		if (!same_int(n, nlen, c->pub.key.rsa.n, c->pub.key.rsa.nlen)) return 0;
		br_rsa_public_key pk = { n, nlen, c->pub.key.rsa.e, c->pub.key.rsa.elen };
		memset(x, 0, nlen);
		for (size_t i = 1; i < nlen; i++) x[i] = (unsigned char)(i * 7 + 1);   /* < n: top byte 0 */
		if (!br_rsa_private_get_default()(x, sk)) return 0;
		if (!br_rsa_public_get_default()(x, nlen, &pk)) return 0;
		for (size_t i = 1; i < nlen; i++)
			if (x[i] != (unsigned char)(i * 7 + 1)) return 0;
		return x[0] == 0;
	}
	if (kt == BR_KEYTYPE_EC) {
		const br_ec_private_key *sk = br_skey_decoder_get_ec(&c->skey);
		unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE];
		br_ec_public_key pk;
		if (!br_ec_compute_pub(br_ec_get_default(), &pk, q, sk)) return 0;
		return pk.curve == c->pub.key.ec.curve && pk.qlen == c->pub.key.ec.qlen &&
		       memcmp(pk.q, c->pub.key.ec.q, pk.qlen) == 0;
	}
	return 0;
}

int tls_file_unchanged(const struct stat *a, const struct stat *b)
{
	return a->st_ino && a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mode == b->st_mode && a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

void tls_creds_free(struct tls_creds *c)
{
	for (size_t i = 0; i < c->chain_len; i++) free(c->chain[i].data);
	c->chain_len = 0;
	explicit_bzero(&c->skey, sizeof c->skey);
	c->have_key = 0;
}

/* trust anchors: every certificate of a CA bundle becomes DN + key */
struct anchors {
	br_x509_trust_anchor *ta;
	size_t n, cap;
};

static void dn_append(void *ctx, const void *p, size_t n)
{
	struct buf *b = ctx;
	if (buf_add(b, p, n) < 0) b->max = 1;
}

static int copy_pkey(br_x509_pkey *dst, const br_x509_pkey *src)
{
	*dst = *src;
	if (src->key_type == BR_KEYTYPE_RSA) {
		unsigned char *n = malloc(src->key.rsa.nlen + src->key.rsa.elen + 1);
		if (!n) return -1;
		memcpy(n, src->key.rsa.n, src->key.rsa.nlen);
		memcpy(n + src->key.rsa.nlen, src->key.rsa.e, src->key.rsa.elen);
		dst->key.rsa.n = n;
		dst->key.rsa.e = n + src->key.rsa.nlen;
	} else if (src->key_type == BR_KEYTYPE_EC) {
		unsigned char *q = malloc(src->key.ec.qlen + 1);
		if (!q) return -1;
		memcpy(q, src->key.ec.q, src->key.ec.qlen);
		dst->key.ec.q = q;
	} else {
		return -1;
	}
	return 0;
}

static int take_anchor(void *arg, const char *name, struct buf *der, char *err, size_t emax)
{
	struct anchors *a = arg;
	br_x509_decoder_context dc;
	struct buf dn = BUF_INIT;
	if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "TRUSTED CERTIFICATE") != 0 &&
	    strcmp(name, "X509 CERTIFICATE") != 0)
		return 0;
	dn.max = 64 * 1024;
	br_x509_decoder_init(&dc, dn_append, &dn);
	br_x509_decoder_push(&dc, der->s, der->len);
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
	if (!pk || dn.max == 1) { buf_free(&dn); return 0; }   /* skip what BearSSL cannot use */
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 64;
		br_x509_trust_anchor *t = realloc(a->ta, nc * sizeof *t);
		if (!t) { buf_free(&dn); return fail_msg(err, emax, "out of memory"); }
		a->ta = t;
		a->cap = nc;
	}
	br_x509_trust_anchor *ta = &a->ta[a->n];
	if (copy_pkey(&ta->pkey, pk) < 0) { buf_free(&dn); return 0; }
	ta->dn.data = (unsigned char *)dn.s;
	ta->dn.len = dn.len;
	ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	a->n++;
	return 0;
}

int tls_load_anchors(const char *path, br_x509_trust_anchor **ta, size_t *n, char *err, size_t emax)
{
	struct buf data = BUF_INIT;
	struct anchors a = { NULL, 0, 0 };
	*ta = NULL;
	*n = 0;
	if (read_file(path, &data, err, emax) < 0) return -1;
	int rc = pem_each(path, &data, take_anchor, &a, err, emax);
	buf_free(&data);
	if (rc == 0 && a.n == 0) rc = fail_msg(err, emax, "%s: no usable CA certificate", path);
	*ta = a.ta;
	*n = a.n;
	return rc;
}

const char *tls_error_text(int err, char *buf, size_t max)
{
	static const struct { int code; const char *text; } t[] = {
		{ BR_ERR_OK, "no error" },
		{ BR_ERR_UNSUPPORTED_VERSION, "unsupported protocol version (TLS 1.2 only)" },
		{ BR_ERR_BAD_VERSION, "bad protocol version" },
		{ BR_ERR_BAD_LENGTH, "bad record length" },
		{ BR_ERR_TOO_LARGE, "record too large" },
		{ BR_ERR_BAD_MAC, "bad record MAC" },
		{ BR_ERR_NO_RANDOM, "no random source" },
		{ BR_ERR_UNKNOWN_TYPE, "unknown record type (not TLS)" },
		{ BR_ERR_UNEXPECTED, "unexpected message" },
		{ BR_ERR_BAD_HANDSHAKE, "malformed handshake message" },
		{ BR_ERR_BAD_CIPHER_SUITE, "no shared cipher suite" },
		{ BR_ERR_BAD_FRAGLEN, "bad fragment length" },
		{ BR_ERR_BAD_SNI, "bad server name" },
		{ BR_ERR_LIMIT_EXCEEDED, "limit exceeded" },
		{ BR_ERR_BAD_FINISHED, "bad Finished message" },
		{ BR_ERR_INVALID_ALGORITHM, "invalid algorithm" },
		{ BR_ERR_BAD_SIGNATURE, "bad signature" },
		{ BR_ERR_WRONG_KEY_USAGE, "wrong key usage" },
		{ BR_ERR_IO, "connection closed" },
		{ BR_ERR_X509_TRUNCATED, "truncated certificate" },
		{ BR_ERR_X509_EXPIRED, "certificate expired or not yet valid" },
		{ BR_ERR_X509_NOT_TRUSTED, "certificate not trusted" },
		{ BR_ERR_X509_BAD_SERVER_NAME, "certificate does not match the host name" },
		{ BR_ERR_X509_UNSUPPORTED, "unsupported certificate feature" },
		{ BR_ERR_X509_BAD_SIGNATURE, "bad certificate signature" },
		{ BR_ERR_X509_WEAK_PUBLIC_KEY, "weak public key" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (t[i].code == err) return t[i].text;
	if (err >= BR_ERR_SEND_FATAL_ALERT) snprintf(buf, max, "sent fatal alert %d", err - BR_ERR_SEND_FATAL_ALERT);
	else if (err >= BR_ERR_RECV_FATAL_ALERT) snprintf(buf, max, "client sent fatal alert %d", err - BR_ERR_RECV_FATAL_ALERT);
	else if (err >= 32 && err < 64) snprintf(buf, max, "X.509 error %d", err);
	else snprintf(buf, max, "TLS error %d", err);
	return buf;
}

const char *tls_suite_name(unsigned suite)
{
	switch (suite) {
	case BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: return "ECDHE-ECDSA-AES128-GCM-SHA256";
	case BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: return "ECDHE-ECDSA-AES256-GCM-SHA384";
	case BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: return "ECDHE-ECDSA-CHACHA20-POLY1305";
	case BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: return "ECDHE-RSA-AES128-GCM-SHA256";
	case BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: return "ECDHE-RSA-AES256-GCM-SHA384";
	case BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: return "ECDHE-RSA-CHACHA20-POLY1305";
	case BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: return "ECDHE-RSA-AES128-SHA256";
	case BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: return "ECDHE-ECDSA-AES128-SHA256";
	case BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: return "ECDHE-RSA-AES128-SHA";
	case BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: return "ECDHE-ECDSA-AES128-SHA";
	case BR_TLS_RSA_WITH_AES_128_GCM_SHA256: return "AES128-GCM-SHA256";
	case BR_TLS_RSA_WITH_AES_256_GCM_SHA384: return "AES256-GCM-SHA384";
	case BR_TLS_RSA_WITH_AES_128_CBC_SHA: return "AES128-SHA";
	case BR_TLS_RSA_WITH_AES_256_CBC_SHA: return "AES256-SHA";
	case BR_TLS_RSA_WITH_AES_128_CBC_SHA256: return "AES128-SHA256";
	case BR_TLS_RSA_WITH_AES_256_CBC_SHA256: return "AES256-SHA256";
	case BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: return "ECDHE-RSA-AES256-SHA384";
	case BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384: return "ECDHE-ECDSA-AES256-SHA384";
	case BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: return "ECDHE-RSA-AES256-SHA";
	case BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: return "ECDHE-ECDSA-AES256-SHA";
	default: return "UNKNOWN";
	}
}

const char *tls_version_name(unsigned version)
{
	switch (version) {
	case BR_TLS12: return "TLSv1.2";
	case BR_TLS11: return "TLSv1.1";
	case BR_TLS10: return "TLSv1";
	default: return "TLS";
	}
}
