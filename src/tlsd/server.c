/* server.c — configure a BearSSL server context by hand instead of the
 * "full" profiles: TLS 1.2 only, ECDHE key exchange, AES-GCM and
 * ChaCha20-Poly1305 only, our preference order (AES-128-GCM first: AES-NI
 * makes it the cheapest here), and only the suites the keys can sign for.
 * Two certificates may be served, as Postfix does: smtpd_tls_cert_file
 * and, optionally, smtpd_tls_eccert_file, one with an RSA key and one with
 * an EC key (either way round). Then our policy (choose() below) picks per
 * handshake: the EC certificate when the client offers an ECDHE_ECDSA
 * suite, ECDSA with a hash we have and the certificate's curve, else the
 * RSA one. A second pair that cannot be used is logged and the first is
 * served alone. The files are checked at every handshake, so a renewed
 * certificate is used by the next connection without any reload. */
#include "control.h"
#include "log.h"
#include "tlsd.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* the largest ASN.1 ECDSA signature (P-521): SEQUENCE of two 66-byte INTEGERs */
#define ECDSA_SIG_MAX 139

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
#define N(a) (sizeof a / sizeof a[0])

/* BearSSL's policy object: the certificates on offer, and the one
 * choose() took for this handshake, whose key do_sign() then uses */
static struct policy {
	const br_ssl_server_policy_class *vtable;
	const struct tls_creds *rsa, *ec, *chosen;
	br_ssl_engine_context *eng;
} policy;

/* the hash to sign with, from a bit set of hash ids (bit id set: the
 * client takes it); BearSSL's own single-key policies prefer the same */
static int pick_hash(unsigned bits)
{
	static const int pref[] = { br_sha256_ID, br_sha384_ID, br_sha512_ID, br_sha224_ID, br_sha1_ID };
	for (size_t i = 0; i < N(pref); i++)
		if ((bits >> pref[i]) & 1) return pref[i];
	return 0;
}

/* Called once the ClientHello is read. The suites come in our order
 * (BR_OPT_ENFORCE_SERVER_PREFERENCES), EC ones first when there are two
 * keys; take the first the client can verify. A client that does not
 * list the EC certificate's curve gets the RSA one when there is one. */
static int choose(const br_ssl_server_policy_class **pctx, const br_ssl_server_context *cc,
                  br_ssl_server_choices *out)
{
	struct policy *p = (struct policy *)(void *)pctx;
	size_t n;
	const br_suite_translated *st = br_ssl_server_get_client_suites(cc, &n);
	uint32_t hashes = br_ssl_server_get_client_hashes(cc);
	int rsa_hash = pick_hash(hashes & 0xFF), ec_hash = pick_hash((hashes >> 8) & 0xFF);
	int curve = p->ec ? p->ec->pub.key.ec.curve : 0;
	int ec_ok = p->ec && ec_hash &&
	            (!p->rsa || (curve < 32 && ((br_ssl_server_get_client_curves(cc) >> curve) & 1)));
	for (size_t i = 0; i < n; i++) {
		unsigned kx = st[i][1] >> 12;
		int hash;
		if (kx == BR_SSLKEYX_ECDHE_ECDSA && ec_ok) {
			p->chosen = p->ec;
			hash = ec_hash;
		} else if (kx == BR_SSLKEYX_ECDHE_RSA && p->rsa && rsa_hash) {
			p->chosen = p->rsa;
			hash = rsa_hash;
		} else {
			continue;
		}
		out->cipher_suite = st[i][0];
		/* 0xFF00 + hash: the engine hashes the ECDHE parameters with
		 * it and do_sign() gets the hash value */
		out->algo_id = 0xFF00u + (unsigned)hash;
		out->chain = p->chosen->chain;
		out->chain_len = p->chosen->chain_len;
		return 1;
	}
	return 0;
}

/* only for RSA and static ECDH key exchange, which we never enable */
static uint32_t do_keyx(const br_ssl_server_policy_class **pctx, unsigned char *data, size_t *len)
{
	(void)pctx, (void)data, (void)len;
	return 0;
}

/* Sign the hash of the ECDHE parameters in data (hv_len bytes) with the
 * chosen key, the signature replacing it (len bytes of room): RSA
 * PKCS#1 v1.5 with the hash's OID, or ECDSA in ASN.1 form (what TLS 1.2
 * sends). Returns its length, 0 on failure. */
static size_t do_sign(const br_ssl_server_policy_class **pctx, unsigned algo_id, unsigned char *data,
                      size_t hv_len, size_t len)
{
	struct policy *p = (struct policy *)(void *)pctx;
	static const unsigned char *const oids[] = {
		[br_sha1_ID] = BR_HASH_OID_SHA1, [br_sha224_ID] = BR_HASH_OID_SHA224,
		[br_sha256_ID] = BR_HASH_OID_SHA256, [br_sha384_ID] = BR_HASH_OID_SHA384,
		[br_sha512_ID] = BR_HASH_OID_SHA512,
	};
	unsigned char hv[64];
	unsigned id = algo_id & 0xFF;
	if (!p->chosen || algo_id < 0xFF00 || id >= N(oids) || !oids[id] || hv_len > sizeof hv) return 0;
	memcpy(hv, data, hv_len);   /* the signature is written over data */
	if (p->chosen->cert_key_type == BR_KEYTYPE_RSA) {
		const br_rsa_private_key *sk = br_skey_decoder_get_rsa(&p->chosen->skey);
		size_t sig_len = (sk->n_bitlen + 7) / 8;
		if (sig_len > len) return 0;
		return br_rsa_pkcs1_sign_get_default()(oids[id], hv, hv_len, sk, data) ? sig_len : 0;
	}
	const br_hash_class *hc = br_ssl_engine_get_hash(p->eng, (int)id);
	if (!hc || len < ECDSA_SIG_MAX) return 0;
	return br_ecdsa_sign_asn1_get_default()(br_ssl_engine_get_ec(p->eng), hc, hv,
	                                        br_skey_decoder_get_ec(&p->chosen->skey), data);
}

static const br_ssl_server_policy_class policy_class = {
	.context_size = sizeof(struct policy),
	.choose = choose,
	.do_keyx = do_keyx,
	.do_sign = do_sign,
};

/* the engine for these credentials (one or two, at most one per key type) */
static int server_setup(br_ssl_server_context *sc, const struct tls_creds *const *creds, int n,
                        unsigned char *iobuf, size_t len)
{
	br_ssl_engine_context *eng = &sc->eng;
	uint16_t suites[N(ec_suites) + N(rsa_suites)];
	size_t ns = 0;
	policy = (struct policy){ .vtable = &policy_class, .eng = eng };
	for (int i = 0; i < n; i++) {
		if (creds[i]->cert_key_type == BR_KEYTYPE_RSA) policy.rsa = creds[i];
		else if (creds[i]->cert_key_type == BR_KEYTYPE_EC) policy.ec = creds[i];
		else return -1;
	}
	if (policy.ec) {
		memcpy(suites + ns, ec_suites, sizeof ec_suites);
		ns += N(ec_suites);
	}
	if (policy.rsa) {
		memcpy(suites + ns, rsa_suites, sizeof rsa_suites);
		ns += N(rsa_suites);
	}
	br_ssl_server_zero(sc);
	br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_suites(eng, suites, ns);
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
	br_ssl_server_set_policy(sc, &policy.vtable);
	br_ssl_engine_set_all_flags(eng, BR_OPT_ENFORCE_SERVER_PREFERENCES | BR_OPT_NO_RENEGOTIATION);
	br_ssl_engine_set_buffer(eng, iobuf, len, 1);
	return br_ssl_server_reset(sc) ? 0 : -1;
}

/* A certificate and key as last loaded and the stats of their files. A
 * spawned yubin-tlsd loads them once; a daemon worker (daemon.c) keeps
 * them for handshake after handshake and loads them again as soon as
 * either file changes, so a renewed certificate still needs no reload.
 * The files are stat'ed before they are read: a change during the load
 * then shows at the next handshake instead of hiding behind new stats. */
struct pair {
	char cert[4096], key[4096];
	struct stat cst, kst;
	int loaded;
	struct tls_creds creds;
};
/* smtpd_tls_cert_file's and smtpd_tls_eccert_file's (or the service's own) */
static struct pair pairs[2];
/* why the second pair was last left out: logged when it changes */
static char second_trouble[8448];
static br_ssl_server_context sc;
static unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];

static void unload(struct pair *p)
{
	if (p->loaded) tls_creds_free(&p->creds);
	p->loaded = 0;
}

/* load a pair unless the same files are loaded unchanged; checked as
 * tls_check_files() does */
static int refresh(struct pair *p, const char *cert, const char *key, char *err, size_t emax)
{
	struct stat cst, kst;
	if (stat(cert, &cst) < 0) memset(&cst, 0, sizeof cst);
	if (stat(key, &kst) < 0) memset(&kst, 0, sizeof kst);
	if (p->loaded && strcmp(cert, p->cert) == 0 && strcmp(key, p->key) == 0 &&
	    tls_file_unchanged(&cst, &p->cst) && tls_file_unchanged(&kst, &p->kst))
		return 0;
	unload(p);
	struct tls_creds *c = &p->creds;
	if (tls_load_cert(c, cert, err, emax) < 0) return -1;
	if (tls_key_file_ok(key, err, emax) < 0 || tls_load_key(c, key, err, emax) < 0) {
		tls_creds_free(c);
		return -1;
	}
	if (!tls_key_matches(c)) {
		snprintf(err, emax, "%s: private key does not match the certificate %s", key, cert);
		tls_creds_free(c);
		return -1;
	}
	snprintf(p->cert, sizeof p->cert, "%s", cert);
	snprintf(p->key, sizeof p->key, "%s", key);
	p->cst = cst;
	p->kst = kst;
	p->loaded = 1;
	return 0;
}

static int valid_now(const struct pair *p, char *err, size_t emax)
{
	time_t now = time(NULL);
	if (now <= p->creds.not_after && now >= p->creds.not_before) return 1;
	snprintf(err, emax, "%s: certificate expired or not yet valid", p->cert);
	return 0;
}

/* 1 when service's second pair is loaded and can serve beside the
 * first; else 0, with why set when one is configured */
static int second_usable(const char *service, char *why, size_t wmax)
{
	char cert[sizeof pairs[1].cert], key[sizeof pairs[1].key];
	int q = tls_ecpaths(service, cert, sizeof cert, key, sizeof key);
	if (q == 0) {
		unload(&pairs[1]);
		return 0;
	}
	if (q < 0) {
		snprintf(why, wmax, "smtpd_tls_eccert_file or smtpd_tls_eckey_file: path too long");
		return 0;
	}
	if (refresh(&pairs[1], cert, key, why, wmax) < 0 || !valid_now(&pairs[1], why, wmax)) return 0;
	int kt = pairs[0].creds.cert_key_type;
	if (pairs[1].creds.cert_key_type == kt) {
		snprintf(why, wmax, "%s and %s both have %s keys: one pair must be RSA, the other EC",
		         pairs[0].cert, pairs[1].cert, kt == BR_KEYTYPE_RSA ? "RSA" : "EC");
		return 0;
	}
	return 1;
}

/* The credentials for service into use[]: how many (1 or 2), or -1 with
 * err set when the first pair is unusable (then there is no TLS). */
static int creds_for(const char *service, const struct tls_creds *use[2], char *err, size_t emax)
{
	char cert[sizeof pairs[0].cert], key[sizeof pairs[0].key], why[sizeof second_trouble] = "";
	int p = tls_paths(service, cert, sizeof cert, key, sizeof key);
	if (p <= 0) {
		snprintf(err, emax, p ? "bad service name %s" : "no certificate configured (smtpd_tls_cert_file)", service);
		return -1;
	}
	if (refresh(&pairs[0], cert, key, err, emax) < 0 || !valid_now(&pairs[0], err, emax)) return -1;
	use[0] = &pairs[0].creds;
	int two = second_usable(service, why, sizeof why);
	if (two) use[1] = &pairs[1].creds;
	/* a daemon worker says it once, not at every handshake */
	if (why[0] && strcmp(why, second_trouble) != 0)
		log_msg("TLS second certificate not used: service=%s: %s (serving %s only)", service, why, pairs[0].cert);
	memcpy(second_trouble, why, sizeof why);
	return 1 + two;
}

int server_session(const char *service, int net_in, int net_out, int app_in, int app_out)
{
	char err[8448] = "", e[64];
	const struct tls_creds *use[2] = { NULL, NULL };
	int n = creds_for(service, use, err, sizeof err);
	if (n < 0 || server_setup(&sc, use, n, iobuf, sizeof iobuf) < 0) {
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
