/* yubin-tlsd — the only yubin program that touches TLS records and the
 * only one that holds a private key. Started by tlsd_spawn() (starttls.h)
 * with fd 0/1 the socket, fd 3 plaintext from the calling program, fd 4
 * plaintext to it, fd 5 a status pipe that gets one line, "ok TLSv1.2 with
 * cipher NAME" or "fail REASON", once the handshake is over.
 *   yubin-tlsd SERVICE                 server (STARTTLS, 465/993/995)
 *   yubin-tlsd -c HOST encrypt|verify CAFILE   client (yubin-remote)
 * Exit: 0 after a completed session, 1 failed handshake, 111 no usable
 * certificate/key/CA file or system trouble, 100 usage. */
#include "log.h"
#include "tlsd.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void status(const char *word, const char *text)
{
	static int sent;
	char line[512];
	if (sent++) return;
	int n = snprintf(line, sizeof line, "%s %s\n", word, text);
	if (n > 0) {
		ssize_t w = write(FD_STATUS, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
		(void)w;
	}
	close(FD_STATUS);
}

void on_ready(br_ssl_engine_context *eng, void *arg)
{
	br_ssl_session_parameters sp;
	char info[128];
	(void)arg;
	br_ssl_engine_get_session_parameters(eng, &sp);
	snprintf(info, sizeof info, "%s with cipher %s", tls_version_name(sp.version),
	         tls_suite_name(sp.cipher_suite));
	status("ok", info);
}

const char *peer(void)
{
	const char *rip = getenv("TCPREMOTEIP");
	if (!rip || !*rip) rip = getenv("REMOTE_ADDR");
	return rip && *rip ? rip : "unknown";
}

int main(int argc, char **argv)
{
	log_init("yubin-tlsd");
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && strcmp(argv[1], "-c") == 0) {
		/* a client needs no key: give up the key group (setgid) at once */
		if (setgid(getgid()) < 0) die_sys(EXIT_TEMP, "setgid");
		return client_main(argv[2], strcmp(argv[3], "verify") == 0, argv[4]);
	}
	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		die(EXIT_PERM, "usage: yubin-tlsd [SERVICE] | yubin-tlsd -c HOST encrypt|verify CAFILE");
	return server_main(argc == 2 ? argv[1] : "smtpd");
}
