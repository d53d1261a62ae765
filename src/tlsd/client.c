/* client.c — yubin-tlsd -c: the TLS client for yubin-remote's STARTTLS.
 * Opportunistic levels (may, encrypt) accept any certificate, as Postfix
 * does: the point is encryption against passive listeners. "verify"
 * checks the chain against the CA file (smtp_tls_CAfile or the system
 * bundle) and the host name. TLS 1.0-1.2 with ECDHE first, AEAD first:
 * for outgoing mail an old server with TLS beats plain text. Runs in its
 * own process so certificates and records from the Internet are parsed
 * outside yubin-remote. */
#include "control.h"
#include "log.h"
#include "tlsd.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const uint16_t suites[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
	BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	BR_TLS_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_RSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_RSA_WITH_AES_128_CBC_SHA256,
	BR_TLS_RSA_WITH_AES_256_CBC_SHA256,
	BR_TLS_RSA_WITH_AES_128_CBC_SHA,
	BR_TLS_RSA_WITH_AES_256_CBC_SHA,
};

/* An X.509 "engine" that accepts any chain and hands over the server's
 * key: decodes only the first certificate. */
struct x509_any {
	const br_x509_class *vtable;
	br_x509_decoder_context dc;
	unsigned certs;
};

static struct x509_any *any_of(const br_x509_class **ctx) { return (struct x509_any *)(void *)ctx; }

static void any_start_chain(const br_x509_class **ctx, const char *server_name)
{
	(void)server_name;
	any_of(ctx)->certs = 0;
	br_x509_decoder_init(&any_of(ctx)->dc, NULL, NULL);
}

static void any_start_cert(const br_x509_class **ctx, uint32_t length) { (void)ctx; (void)length; }

static void any_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	if (any_of(ctx)->certs == 0) br_x509_decoder_push(&any_of(ctx)->dc, buf, len);
}

static void any_end_cert(const br_x509_class **ctx) { any_of(ctx)->certs++; }

static unsigned any_end_chain(const br_x509_class **ctx)
{
	return (unsigned)br_x509_decoder_last_error(&any_of(ctx)->dc);
}

static const br_x509_pkey *any_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	struct x509_any *a = (struct x509_any *)(void *)ctx;
	if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
	return br_x509_decoder_get_pkey(&a->dc);
}

static const br_x509_class x509_any_vtable = {
	sizeof(struct x509_any), any_start_chain, any_start_cert, any_append,
	any_end_cert, any_end_chain, any_get_pkey,
};

static br_ssl_client_context cc;
static br_x509_minimal_context xc;
static struct x509_any xa;
static unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];

static void engine_setup(void)
{
	static const br_hash_class *const hashes[] = {
		&br_md5_vtable, &br_sha1_vtable, &br_sha224_vtable,
		&br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable,
	};
	br_ssl_engine_context *eng = &cc.eng;
	br_ssl_client_zero(&cc);
	br_ssl_engine_set_versions(eng, BR_TLS10, BR_TLS12);
	br_ssl_engine_set_suites(eng, suites, sizeof suites / sizeof suites[0]);
	br_ssl_client_set_default_rsapub(&cc);
	br_ssl_engine_set_default_rsavrfy(eng);
	br_ssl_engine_set_default_ec(eng);
	br_ssl_engine_set_default_ecdsa(eng);
	for (int id = br_md5_ID; id <= br_sha512_ID; id++) br_ssl_engine_set_hash(eng, id, hashes[id - 1]);
	br_ssl_engine_set_prf10(eng, &br_tls10_prf);
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_aes_cbc(eng);
	br_ssl_engine_set_default_aes_gcm(eng);
	br_ssl_engine_set_default_chapol(eng);
	br_ssl_engine_set_buffer(eng, iobuf, sizeof iobuf, 1);
}

/* chain checks against the anchors, with every hash but MD5 */
static void minimal_setup(const br_x509_trust_anchor *ta, size_t n)
{
	static const br_hash_class *const hashes[] = {
		&br_sha1_vtable, &br_sha224_vtable, &br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable,
	};
	br_x509_minimal_init(&xc, &br_sha256_vtable, ta, n);
	for (int id = br_sha1_ID; id <= br_sha512_ID; id++) br_x509_minimal_set_hash(&xc, id, hashes[id - br_sha1_ID]);
	br_x509_minimal_set_rsa(&xc, br_ssl_engine_get_rsavrfy(&cc.eng));
	br_x509_minimal_set_ecdsa(&xc, br_ssl_engine_get_ec(&cc.eng), br_ssl_engine_get_ecdsa(&cc.eng));
	br_ssl_engine_set_x509(&cc.eng, &xc.vtable);
}

static int is_ip_literal(const char *host)
{
	unsigned char tmp[16];
	return inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
}

int client_main(const char *host, int verify, const char *cafile)
{
	char err[8448] = "", e[64];
	engine_setup();
	/* SNI and the name check need a DNS name; an address gets neither */
	const char *name = host[0] && !is_ip_literal(host) ? host : NULL;
	if (verify) {
		br_x509_trust_anchor *ta = NULL;
		size_t n = 0;
		if (!name) snprintf(err, sizeof err, "verify needs a host name, not \"%s\"", host);
		else if (tls_load_anchors(cafile, &ta, &n, err, sizeof err) == 0) minimal_setup(ta, n);
		if (err[0]) {
			log_msg("TLS client unavailable: host=%s: %s", host, err);
			status("fail", err);
			return EXIT_TEMP;
		}
	} else {
		xa.vtable = &x509_any_vtable;
		br_ssl_engine_set_x509(&cc.eng, &xa.vtable);
	}
	if (!br_ssl_client_reset(&cc, name, 0)) {
		status("fail", "BearSSL refused the client configuration");
		return EXIT_TEMP;
	}
	long long t = control_time("smtp_helo_timeout");
	struct relay r = {
		.net_in = 0, .net_out = 1, .app_in = FD_APP_IN, .app_out = FD_APP_OUT,
		.handshake_timeout_ms = t > 0 && t < 3600 ? (int)t * 1000 : 300000,
		.on_ready = on_ready,
	};
	int rc = relay_run(&cc.eng, &r);
	if (!r.ready) {
		const char *why = r.timed_out ? "timeout" : tls_error_text(rc, e, sizeof e);
		/* yubin-remote logs the failure with the queue id; say why only */
		status("fail", why);
		return 1;
	}
	return 0;
}
