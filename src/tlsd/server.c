/* server.c — configure a BearSSL server context by hand instead of the
 * "full" profiles: TLS 1.2 only, ECDHE key exchange, AES-GCM and
 * ChaCha20-Poly1305 only, our preference order (AES-128-GCM first: AES-NI
 * makes it the cheapest here), and only the suites the key can sign for.
 * The certificate and key are checked at every handshake, so a renewed
 * certificate is used by the next connection without any reload. */
#include "control.h"
#include "log.h"
#include "tlsd.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const uint16_t rsa_suites[] = {
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};
static const uint16_t ec_suites[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
};

static int server_setup(br_ssl_server_context *sc, const struct tls_creds *c,
                        unsigned char *iobuf, size_t len)
{
	br_ssl_engine_context *eng = &sc->eng;
	int kt = br_skey_decoder_key_type(&c->skey);
	br_ssl_server_zero(sc);
	br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
	if (kt == BR_KEYTYPE_RSA)
		br_ssl_engine_set_suites(eng, rsa_suites, sizeof rsa_suites / sizeof rsa_suites[0]);
	else if (kt == BR_KEYTYPE_EC)
		br_ssl_engine_set_suites(eng, ec_suites, sizeof ec_suites / sizeof ec_suites[0]);
	else
		return -1;
	br_ssl_engine_set_default_ec(eng);
	br_ssl_engine_set_hash(eng, br_sha1_ID, &br_sha1_vtable);
	br_ssl_engine_set_hash(eng, br_sha224_ID, &br_sha224_vtable);
	br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
	br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
	br_ssl_engine_set_hash(eng, br_sha512_ID, &br_sha512_vtable);
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_aes_gcm(eng);
	br_ssl_engine_set_default_chapol(eng);
	if (kt == BR_KEYTYPE_RSA)
		br_ssl_server_set_single_rsa(sc, c->chain, c->chain_len, br_skey_decoder_get_rsa(&c->skey),
		                             BR_KEYTYPE_SIGN, br_rsa_private_get_default(),
		                             br_rsa_pkcs1_sign_get_default());
	else
		br_ssl_server_set_single_ec(sc, c->chain, c->chain_len, br_skey_decoder_get_ec(&c->skey),
		                            BR_KEYTYPE_SIGN, (unsigned)c->issuer_key_type,
		                            br_ssl_engine_get_ec(eng), br_ecdsa_sign_asn1_get_default());
	br_ssl_engine_set_all_flags(eng, BR_OPT_ENFORCE_SERVER_PREFERENCES | BR_OPT_NO_RENEGOTIATION);
	br_ssl_engine_set_buffer(eng, iobuf, len, 1);
	return br_ssl_server_reset(sc) ? 0 : -1;
}

/* The credentials last loaded and the stats of the files they came from.
 * A spawned yubin-tlsd loads them once; a daemon worker (daemon.c) keeps
 * them for handshake after handshake and loads them again as soon as
 * either file changes, so a renewed certificate still needs no reload.
 * The files are stat'ed before they are read: a change during the load
 * then shows at the next handshake instead of hiding behind new stats. */
static struct {
	char cert[4096], key[4096];
	struct stat cst, kst;
	int loaded;
} cached;
static struct tls_creds creds;
static br_ssl_server_context sc;
static unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];

static int load(const char *cert, const char *key, char *err, size_t emax)
{
	if (tls_load_cert(&creds, cert, err, emax) < 0) return -1;
	if (tls_key_file_ok(key, err, emax) < 0 || tls_load_key(&creds, key, err, emax) < 0) return -1;
	if (!tls_key_matches(&creds)) {
		snprintf(err, emax, "%s: private key does not match the certificate %s", key, cert);
		return -1;
	}
	return 0;
}

/* certificate and key for service, checked as tls_check_files() does */
static int creds_for(const char *service, char *err, size_t emax)
{
	char cert[sizeof cached.cert], key[sizeof cached.key];
	struct stat cst, kst;
	int p = tls_paths(service, cert, sizeof cert, key, sizeof key);
	if (p <= 0) {
		snprintf(err, emax, p ? "bad service name %s" : "no certificate configured (smtpd_tls_cert_file)", service);
		return -1;
	}
	if (stat(cert, &cst) < 0) memset(&cst, 0, sizeof cst);
	if (stat(key, &kst) < 0) memset(&kst, 0, sizeof kst);
	if (!cached.loaded || strcmp(cert, cached.cert) != 0 || strcmp(key, cached.key) != 0 ||
	    !tls_file_unchanged(&cst, &cached.cst) || !tls_file_unchanged(&kst, &cached.kst)) {
		if (cached.loaded) tls_creds_free(&creds);
		cached.loaded = 0;
		if (load(cert, key, err, emax) < 0) {
			tls_creds_free(&creds);
			return -1;
		}
		memcpy(cached.cert, cert, sizeof cert);
		memcpy(cached.key, key, sizeof key);
		cached.cst = cst;
		cached.kst = kst;
		cached.loaded = 1;
	}
	time_t now = time(NULL);
	if (now > creds.not_after || now < creds.not_before) {
		snprintf(err, emax, "%s: certificate expired or not yet valid", cert);
		return -1;
	}
	return 0;
}

int server_session(const char *service, int net_in, int net_out, int app_in, int app_out)
{
	char err[8448] = "", e[64];
	if (creds_for(service, err, sizeof err) < 0 || server_setup(&sc, &creds, iobuf, sizeof iobuf) < 0) {
		if (!err[0]) snprintf(err, sizeof err, "BearSSL refused the configuration");
		log_msg("TLS unavailable: service=%s rip=%s: %s", service, peer(), err);
		status("fail", err);
		return EXIT_TEMP;
	}
	long long t = control_time("smtpd_timeout");
	struct relay r = {
		.net_in = net_in, .net_out = net_out, .app_in = app_in, .app_out = app_out,
		.handshake_timeout_ms = t > 0 && t < 3600 ? (int)t * 1000 : 300000,
		.on_ready = on_ready,
	};
	int rc = relay_run(&sc.eng, &r);
	/* a daemon worker serves another client next: nothing of this one's
	 * plaintext (a password, say) or session keys stays behind */
	explicit_bzero(iobuf, sizeof iobuf);
	explicit_bzero(&sc, sizeof sc);
	if (!r.ready) {
		const char *why = r.timed_out ? "timeout" : tls_error_text(rc, e, sizeof e);
		log_msg("TLS handshake failed: service=%s rip=%s: %s", service, peer(), why);
		status("fail", why);
		return 1;
	}
	if (rc && rc != BR_ERR_IO)
		log_msg("TLS session ended with an error: service=%s rip=%s: %s", service, peer(),
		        tls_error_text(rc, e, sizeof e));
	return 0;
}
