/* tlsd.h — yubin-tlsd's parts: the BearSSL server context built from the
 * loaded certificate and key (server.c), and the engine loop relaying
 * plaintext pipes <-> TLS socket (relay.c). */
#ifndef YUBIN_TLSD_H
#define YUBIN_TLSD_H

#include "tlscert.h"

#include <bearssl.h>

struct relay {
	int net_in, net_out;        /* the client socket */
	int app_in, app_out;        /* plaintext from / to the protocol program */
	int handshake_timeout_ms;
	int ready;                  /* handshake done (on_ready was called) */
	int timed_out;
	int io_error;               /* BR_ERR_IO when the socket failed */
	void (*on_ready)(br_ssl_engine_context *eng, void *arg);
	void *arg;
};

/* TLS 1.2 only, ECDHE + AEAD suites matching the key type, server
 * preference, no renegotiation. 0, or -1 if BearSSL refuses. */
int server_setup(br_ssl_server_context *sc, const struct tls_creds *c,
                 unsigned char *iobuf, size_t len);
/* Run until the connection ends. Returns the BearSSL error (0 on a clean
 * close); r->ready tells whether the handshake completed. */
int relay_run(br_ssl_engine_context *eng, struct relay *r);

#endif
