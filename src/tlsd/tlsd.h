/* tlsd.h — yubin-tlsd's parts: the server side with the certificate and
 * key (server.c), the long-running service that runs it for connections
 * handed over a Unix socket (daemon.c), the client side for yubin-remote
 * (client.c), and the engine loop relaying plaintext <-> TLS (relay.c). */
#ifndef YUBIN_TLSD_H
#define YUBIN_TLSD_H

#include "tlscert.h"

#include <bearssl.h>

struct relay {
	int net_in, net_out;        /* the client socket */
	int app_in, app_out;        /* plaintext from / to the protocol program
	                             * (two pipes, or one socket on two fds) */
	int handshake_timeout_ms;
	int ready;                  /* handshake done (on_ready was called) */
	int timed_out;
	int io_error;               /* BR_ERR_IO when the socket failed */
	void (*on_ready)(br_ssl_engine_context *eng, void *arg);
	void *arg;
};

enum { FD_APP_IN = 3, FD_APP_OUT = 4, FD_STATUS = 5 };

/* main.c: the status line (only the first call after status_to writes;
 * fd FD_STATUS, closed after it, unless status_to said otherwise), the
 * handshake callback that sends "ok ...", the client address for logs */
void status_to(int fd, int keep_open);
void status(const char *word, const char *text);
void on_ready(br_ssl_engine_context *eng, void *arg);
const char *peer(void);

/* server.c: one TLS session with SERVICE's certificate on the client
 * socket net_in/net_out, plaintext on app_in/app_out; client.c: connect
 * to host, verifying the chain against cafile and the name when verify is
 * set. Both return the exit code. daemon.c: yubin-tlsd -d. */
int server_session(const char *service, int net_in, int net_out, int app_in, int app_out);
void daemon_main(void) __attribute__((noreturn));
int client_main(const char *host, int verify, const char *cafile);
/* Run until the connection ends. Returns the BearSSL error (0 on a clean
 * close); r->ready tells whether the handshake completed. */
int relay_run(br_ssl_engine_context *eng, struct relay *r);

#endif
