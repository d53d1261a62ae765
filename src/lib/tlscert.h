/* tlscert.h — certificate and key files for the TLS server side: which
 * files a service uses, PEM parsing with BearSSL, expiry, key/certificate
 * match, and the key-file mode rule. Used by yubin-tlsd (which alone loads
 * private keys for serving), by tls_available() (certificate and file
 * metadata only) and by tls_check_files() for `yubin-ctl check`.
 *
 * Files: control/SERVICE_tls_cert_file and SERVICE_tls_key_file when set
 * (e.g. submission_tls_cert_file, imapd_tls_cert_file), else
 * smtpd_tls_cert_file / smtpd_tls_key_file. The optional second pair
 * (smtpd_tls_eccert_file / smtpd_tls_eckey_file, one RSA and one EC key
 * between the two pairs) follows the same rule on its own, as Postfix's -o
 * overrides do. A relative path is relative to $YUBIN_ROOT. Certificate file: PEM chain, server certificate first (other
 * PEM objects such as a key are skipped). Key file: RSA or EC key in
 * PKCS#1 ("RSA PRIVATE KEY"), SEC1 ("EC PRIVATE KEY") or PKCS#8
 * ("PRIVATE KEY") PEM; unencrypted; not readable by others. */
#ifndef YUBIN_TLSCERT_H
#define YUBIN_TLSCERT_H

#include <bearssl.h>
#include <stddef.h>

#define TLS_CHAIN_MAX 10
#define TLS_FILE_MAX (1024 * 1024)

struct tls_creds {
	br_x509_certificate chain[TLS_CHAIN_MAX];   /* DER, malloc'd */
	size_t chain_len;
	int cert_key_type;        /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC (server cert's key) */
	int issuer_key_type;      /* key type that signed the server cert */
	long long not_before, not_after;   /* Unix time */
	br_x509_pkey pub;         /* the server cert's public key (points into pub_data) */
	unsigned char pub_data[BR_X509_BUFSIZE_KEY];
	int have_key;
	br_skey_decoder_context skey;   /* private key; self-referential: never copy */
};

/* Resolve the two paths for a service. 1: configured; 0: no certificate
 * configured (TLS off); -1: a path too long or a bad service name. */
int tls_paths(const char *service, char *cert, size_t cmax, char *key, size_t kmax);
/* The same for the second pair (SERVICE_tls_eccert_file, ...). */
int tls_ecpaths(const char *service, char *cert, size_t cmax, char *key, size_t kmax);
/* Parse the chain into c (which it zeroes first). 0, or -1 with err set. */
int tls_load_cert(struct tls_creds *c, const char *path, char *err, size_t emax);
/* Metadata check of the key file: a regular file with no access for
 * others (group access is fine: yubin-setup gives the key to yubin-tlsd's
 * group). 0 or -1 with err set (errors name the file and the fix). */
int tls_key_file_ok(const char *path, char *err, size_t emax);
/* Load the private key into c. 0 or -1 with err set. */
int tls_load_key(struct tls_creds *c, const char *path, char *err, size_t emax);
/* 1 when the private key belongs to the certificate's public key */
int tls_key_matches(const struct tls_creds *c);
/* 1 when two stats of a certificate or key file describe the same file
 * with the same contents and permissions (a renewal, a replacement or a
 * chmod makes it 0): cached credentials may then be used again. */
#include <sys/stat.h>
int tls_file_unchanged(const struct stat *a, const struct stat *b);
/* Free the chain and wipe the key. */
void tls_creds_free(struct tls_creds *c);

/* Every usable certificate of a PEM CA bundle as a trust anchor (arrays
 * malloc'd; they live until the process ends). 0, or -1 with err set. */
int tls_load_anchors(const char *path, br_x509_trust_anchor **ta, size_t *n, char *err, size_t emax);
/* "TLSv1.2", "TLSv1.1", "TLSv1" */
const char *tls_version_name(unsigned version);

/* BearSSL error code as text (for logs) */
const char *tls_error_text(int err, char *buf, size_t max);
/* OpenSSL-style name of a cipher suite, e.g. "ECDHE-RSA-AES128-GCM-SHA256" */
const char *tls_suite_name(unsigned suite);

#endif
