/* yubin-tlsd SERVICE — the only yubin program that holds a TLS private
 * key. Started by tls_start_server() (starttls.h) with: fd 0/1 the client
 * socket, fd 3 plaintext from the protocol program, fd 4 plaintext to it,
 * fd 5 a status pipe. Loads SERVICE's certificate and key (tlscert.h) at
 * every start, does the server handshake, writes "ok TLSv1.2 with cipher
 * NAME\n" or "fail REASON\n" on fd 5, then relays until either side ends.
 * Exit: 0 after a completed session, 1 failed handshake, 111 no usable
 * certificate/key or system trouble. */
#include "control.h"
#include "log.h"
#include "tlsd.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { FD_APP_IN = 3, FD_APP_OUT = 4, FD_STATUS = 5 };

static struct tls_creds creds;
static br_ssl_server_context sc;
static unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];

static void status(const char *word, const char *text)
{
	char line[512];
	int n = snprintf(line, sizeof line, "%s %s\n", word, text);
	if (n > 0) {
		ssize_t w = write(FD_STATUS, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
		(void)w;
	}
	close(FD_STATUS);
}

static void on_ready(br_ssl_engine_context *eng, void *arg)
{
	br_ssl_session_parameters sp;
	char info[128];
	(void)arg;
	br_ssl_engine_get_session_parameters(eng, &sp);
	snprintf(info, sizeof info, "TLSv1.2 with cipher %s", tls_suite_name(sp.cipher_suite));
	status("ok", info);
}

/* certificate and key for service, checked as tls_check_files() does */
static int load(const char *service, char *err, size_t emax)
{
	char cert[4096], key[4096];
	int p = tls_paths(service, cert, sizeof cert, key, sizeof key);
	if (p <= 0) {
		snprintf(err, emax, p ? "bad service name %s" : "no certificate configured (smtpd_tls_cert_file)", service);
		return -1;
	}
	if (tls_load_cert(&creds, cert, err, emax) < 0) return -1;
	time_t now = time(NULL);
	if (now > creds.not_after || now < creds.not_before) {
		snprintf(err, emax, "%s: certificate expired or not yet valid", cert);
		return -1;
	}
	if (tls_key_file_ok(key, err, emax) < 0 || tls_load_key(&creds, key, err, emax) < 0) return -1;
	if (!tls_key_matches(&creds)) {
		snprintf(err, emax, "%s: private key does not match the certificate %s", key, cert);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char err[8448], e[64];
	log_init("yubin-tlsd");
	signal(SIGPIPE, SIG_IGN);
	const char *service = argc > 1 ? argv[1] : "smtpd";
	const char *rip = getenv("TCPREMOTEIP");
	if (!rip) rip = getenv("REMOTE_ADDR");
	if (!rip) rip = "unknown";
	if (load(service, err, sizeof err) < 0 || server_setup(&sc, &creds, iobuf, sizeof iobuf) < 0) {
		if (!err[0]) snprintf(err, sizeof err, "BearSSL refused the configuration");
		log_msg("TLS unavailable: service=%s rip=%s: %s", service, rip, err);
		status("fail", err);
		return EXIT_TEMP;
	}
	long long t = control_time("smtpd_timeout");
	struct relay r = {
		.net_in = 0, .net_out = 1, .app_in = FD_APP_IN, .app_out = FD_APP_OUT,
		.handshake_timeout_ms = t > 0 && t < 3600 ? (int)t * 1000 : 300000,
		.on_ready = on_ready,
	};
	int rc = relay_run(&sc.eng, &r);
	tls_creds_free(&creds);
	if (!r.ready) {
		const char *why = r.timed_out ? "timeout" : tls_error_text(rc, e, sizeof e);
		log_msg("TLS handshake failed: service=%s rip=%s: %s", service, rip, why);
		status("fail", why);
		return 1;
	}
	if (rc && rc != BR_ERR_IO)
		log_msg("TLS session ended with an error: service=%s rip=%s: %s", service, rip,
		        tls_error_text(rc, e, sizeof e));
	return 0;
}
