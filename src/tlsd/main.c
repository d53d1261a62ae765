/* yubin-tlsd — the only yubin program that touches TLS records and the
 * only one that holds a private key.
 *   yubin-tlsd -d                      the TLS service: a pool of workers
 *                                      on queue/public/tlsd, each doing
 *                                      one connection's TLS at a time
 *                                      (daemon.c; starttls.h says how the
 *                                      protocol programs use it)
 *   yubin-tlsd SERVICE                 one server session, started by
 *                                      tlsd_spawn() when the service is
 *                                      not running (STARTTLS, 465/993/995)
 *   yubin-tlsd -c HOST encrypt|verify CAFILE   client (yubin-remote)
 * A spawned yubin-tlsd has fd 0/1 the socket, fd 3 plaintext from the
 * calling program, fd 4 plaintext to it, fd 5 a status pipe that gets one
 * line, "ok TLSv1.2 with cipher NAME" or "fail REASON", once the handshake
 * is over. Exit: 0 after a completed session, 1 failed handshake, 111 no
 * usable certificate/key/CA file or system trouble, 100 usage. */
#include "log.h"
#include "tlsd.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
	int fd;
	int keep_open;   /* the daemon's status goes ahead of the plaintext */
	int sent;
} st = { FD_STATUS, 0, 0 };

void status_to(int fd, int keep_open)
{
	st.fd = fd;
	st.keep_open = keep_open;
	st.sent = 0;
}

void status(const char *word, const char *text)
{
	char line[512];
	if (st.sent++) return;
	int n = snprintf(line, sizeof line, "%s %s\n", word, text);
	if (n > 0) {
		size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
		line[len - 1] = '\n';
		ssize_t w = write(st.fd, line, len);
		(void)w;
	}
	if (!st.keep_open) close(st.fd);
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
	if (argc == 2 && strcmp(argv[1], "-d") == 0) daemon_main();
	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		die(EXIT_PERM, "usage: yubin-tlsd -d | yubin-tlsd [SERVICE] | yubin-tlsd -c HOST encrypt|verify CAFILE");
	return server_session(argc == 2 ? argv[1] : "smtpd", 0, 1, FD_APP_IN, FD_APP_OUT);
}
