/* tlscert.c — unit tests for src/lib/tlscert.c and the file checks in
 * starttls.c: which files a service uses, PEM parsing (good, garbage,
 * truncated, encrypted), key/certificate match, expiry, key modes, and
 * what tls_available() and tls_check_files() say about each. Certificates
 * are made with the openssl command in a temporary root. */
#include "tap.h"
#include "control.h"
#include "starttls.h"
#include "tlscert.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];
static char reports[8][512];
static int nreports;

static void collect(const char *line)
{
	if (nreports < 8) snprintf(reports[nreports], sizeof reports[0], "%s", line);
	nreports++;
}

static int reported(const char *needle)
{
	for (int i = 0; i < nreports && i < 8; i++)
		if (strstr(reports[i], needle)) return 1;
	return 0;
}

static int check(const char *service)
{
	nreports = 0;
	return tls_check_files(service, collect);
}

static void put(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/control/%s", root, name);
	FILE *f = fopen(path, "w");
	if (!f) { perror(path); exit(1); }
	fputs(text, f);
	fclose(f);
}

static int sh(const char *cmd)
{
	char full[2048];
	snprintf(full, sizeof full, "cd %s/control && (%s) >/dev/null 2>&1", root, cmd);
	return system(full);
}

int main(void)
{
	char cert[4096], key[4096], err[512], path[512];
	struct tls_creds *c = calloc(1, sizeof *c);
	snprintf(root, sizeof root, "/tmp/yubin-tlscert-XXXXXX");
	if (!mkdtemp(root)) return 1;
	setenv("YUBIN_ROOT", root, 1);
	snprintf(path, sizeof path, "%s/control", root);
	mkdir(path, 0755);

	int made = sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	              "-keyout key.pem -out cert.pem -days 365 -subj /CN=localhost && "
	              "openssl req -x509 -newkey rsa:2048 -nodes -keyout rsakey.pem -out rsacert.pem "
	              "-days 10 -subj /CN=localhost && "
	              "openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out other.pem && "
	              "openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out otherrsa.pem && "
	              "openssl pkcs8 -topk8 -in key.pem -passout pass:x -out enc.pem && "
	              "mkdir ca && cd ca && touch index.txt && echo 01 > serial && "
	              "printf '[ca]\\ndefault_ca=d\\n[d]\\ndir=.\\ndatabase=index.txt\\nserial=serial\\n"
	              "new_certs_dir=.\\ndefault_md=sha256\\npolicy=p\\nunique_subject=no\\n[p]\\n"
	              "commonName=supplied\\n' > ca.cnf && "
	              "openssl req -newkey rsa:2048 -nodes -keyout ../oldkey.pem -out old.csr -subj /CN=x && "
	              "openssl ca -batch -config ca.cnf -selfsign -keyfile ../oldkey.pem -in old.csr "
	              "-out ../oldcert.pem -startdate 20200101000000Z -enddate 20200201000000Z && "
	              "cd .. && chmod 600 *.pem");
	if (made != 0) {
		printf("1..0 # SKIP openssl could not make test certificates\n");
		return 0;
	}
	put("smtpd_tls_cert_file", "control/cert.pem\n");
	put("smtpd_tls_key_file", "control/key.pem\n");

	ok(tls_paths("smtpd", cert, sizeof cert, key, sizeof key) == 1, "smtpd files configured");
	snprintf(path, sizeof path, "%s/control/cert.pem", root);
	ok(strcmp(cert, path) == 0, "relative certificate path is under YUBIN_ROOT");
	ok(tls_paths("../x", cert, sizeof cert, key, sizeof key) < 0, "a service name with '/' is refused");
	ok(tls_paths("submission", cert, sizeof cert, key, sizeof key) == 1 && strstr(cert, "/control/cert.pem"),
	   "other services fall back to smtpd_tls_*");

	ok(tls_load_cert(c, cert, err, sizeof err) == 0 && c->chain_len == 1 && c->cert_key_type == BR_KEYTYPE_EC,
	   "EC certificate loads");
	ok(c->not_after > c->not_before && c->not_after - c->not_before > 364 * 86400LL, "validity dates decoded");
	ok(tls_key_file_ok(key, err, sizeof err) == 0, "key mode 600 is fine");
	ok(tls_load_key(c, key, err, sizeof err) == 0 && tls_key_matches(c), "PKCS#8 EC key matches");
	tls_creds_free(c);
	ok(tls_available("smtpd") == 1, "tls_available: good files");
	ok(check("smtpd") == 0 && nreports == 0, "tls_check_files: nothing to report");

	/* per-service override with RSA, expiring soon (a fresh name: control values are cached) */
	put("r_tls_cert_file", "control/rsacert.pem\n");
	put("r_tls_key_file", "control/rsakey.pem\n");
	ok(check("r") == 0 && reported("warning:") && reported("expires in"),
	   "RSA pair fine, with a warning about expiry within 30 days");
	ok(tls_available("r") == 1, "RSA service available");

	/* mismatched keys */
	put("m1_tls_cert_file", "control/cert.pem\n");
	put("m1_tls_key_file", "control/other.pem\n");
	ok(check("m1") == 1 && reported("does not match"), "EC key of another certificate reported");
	put("m2_tls_cert_file", "control/rsacert.pem\n");
	put("m2_tls_key_file", "control/otherrsa.pem\n");
	ok(check("m2") == 1 && reported("does not match"), "RSA key of another certificate reported");
	put("m3_tls_cert_file", "control/rsacert.pem\n");
	put("m3_tls_key_file", "control/key.pem\n");
	ok(check("m3") == 1 && reported("does not match"), "EC key for an RSA certificate reported");

	/* key readable by others */
	sh("cp key.pem open.pem && chmod 644 open.pem");
	put("o_tls_cert_file", "control/cert.pem\n");
	put("o_tls_key_file", "control/open.pem\n");
	ok(check("o") == 1 && reported("accessible by others") && reported("chmod 600"), "mode 644 key reported");
	ok(tls_available("o") == 0, "and TLS is not offered");

	/* expired */
	put("e_tls_cert_file", "control/oldcert.pem\n");
	put("e_tls_key_file", "control/oldkey.pem\n");
	ok(check("e") == 1 && reported("expired"), "expired certificate reported");
	ok(tls_available("e") == 0, "and TLS is not offered");

	/* missing files, garbage, truncated, encrypted */
	put("x1_tls_cert_file", "control/nonexistent.pem\n");
	ok(tls_available("x1") == 0 && check("x1") == 1 && reported("No such file"), "missing certificate");
	put("junk.pem", "this is not PEM at all\n\x01\x02\x03");
	put("x2_tls_cert_file", "control/junk.pem\n");
	ok(tls_available("x2") == 0 && check("x2") == 1 && reported("no certificate"), "garbage certificate file");
	put("trunc.pem", "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n");
	put("x3_tls_cert_file", "control/trunc.pem\n");
	ok(tls_available("x3") == 0 && check("x3") == 1 && reported("truncated"), "truncated PEM");
	put("baddder.pem", "-----BEGIN CERTIFICATE-----\nZm9vYmFy\n-----END CERTIFICATE-----\n");
	put("x4_tls_cert_file", "control/baddder.pem\n");
	ok(tls_available("x4") == 0 && check("x4") == 1 && reported("bad certificate"), "PEM of garbage DER");
	put("x5_tls_cert_file", "control/cert.pem\n");
	put("x5_tls_key_file", "control/enc.pem\n");
	ok(check("x5") == 1 && reported("encrypted"), "encrypted key reported");
	put("x6_tls_cert_file", "control/cert.pem\n");
	put("x6_tls_key_file", "control/cert.pem\n");
	sh("chmod 600 cert.pem");
	ok(check("x6") == 1 && reported("no private key"), "key file without a key");

	/* level none, and no certificate at all */
	put("n_tls_cert_file", "control/cert.pem\n");
	put("n_tls_security_level", "none\n");
	ok(tls_available("n") == 0, "security level none: not offered");
	snprintf(path, sizeof path, "%s/control/smtpd_tls_cert_file", root);
	unlink(path);
	snprintf(path, sizeof path, "%s/control/smtpd_tls_key_file", root);
	unlink(path);
	control_reload();
	ok(tls_paths("smtpd", cert, sizeof cert, key, sizeof key) == 0, "no certificate configured");
	ok(tls_available("z") == 0 && check("z") == 0 && reported("no certificate configured"),
	   "not configured: off, reported as a warning");

	ok(!strcmp(tls_suite_name(BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384), "ECDHE-RSA-AES256-GCM-SHA384") &&
	   !strcmp(tls_suite_name(BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256), "ECDHE-ECDSA-CHACHA20-POLY1305"),
	   "OpenSSL-style suite names");
	char eb[64];
	ok(strstr(tls_error_text(BR_ERR_RECV_FATAL_ALERT + 40, eb, sizeof eb), "alert 40") != NULL, "alert text");

	free(c);
	snprintf(path, sizeof path, "rm -rf %s", root);
	if (system(path) != 0) return 1;
	return done_testing();
}
