/* tlsclient.h — STARTTLS for yubin-remote: the client side of TLS, run by
 * yubin-tlsd in client mode (yubin-tlsd -c), so certificates and TLS
 * records from other servers are parsed outside yubin-remote (the same
 * process split as the server side, and no BearSSL state in the workers).
 * Cost: one posix_spawn per outgoing TLS connection; connections are
 * cached and reused, so it is paid once per connection, not per message.
 *
 * Levels (smtp_tls_security_level, Postfix meanings):
 *   none     never STARTTLS
 *   may      STARTTLS when offered, any certificate; plain text otherwise
 *   encrypt  STARTTLS required, any certificate
 *   verify   STARTTLS required; the chain must lead to a CA in
 *            smtp_tls_CAfile (default /etc/ssl/certs/ca-certificates.crt)
 *            and the certificate must name the host ("secure" is the same)
 * Protocols TLS 1.0-1.2 (BearSSL has no 1.3), ECDHE and AEAD preferred.
 *
 * Usage after the server's 220 reply to STARTTLS (wbuf flushed, rbuf
 * empty — a server that sent more is broken, or an attacker):
 *   char info[128]; int rfd, wfd; pid_t pid;
 *   if (tls_start_client(sock, host, level, &rfd, &wfd, &pid, info, sizeof info) < 0)
 *       defer this server: "4.7.5 TLS handshake failed: <info>";
 *   rbuf_init(&r, rfd, ...); wbuf_init(&w, wfd, ...); EHLO again;
 *   log "TLS connection established to HOST[IP]: <info>";
 *   at the end: close rfd, wfd and sock; kill(pid, SIGTERM) is not needed:
 *   yubin-tlsd ends when wfd is closed (reap it with waitpid). */
#ifndef YUBIN_TLSCLIENT_H
#define YUBIN_TLSCLIENT_H

#include <stddef.h>
#include <sys/types.h>

/* 1 when level asks for a verified chain and name */
int tls_level_verifies(const char *level);
/* 0: *rfd and *wfd are plaintext pipes (close-on-exec), *pid the helper, info
 * e.g. "TLSv1.2 with cipher ECDHE-RSA-AES128-GCM-SHA256"; -1: info says
 * why (handshake failure, "certificate not trusted", ...). */
int tls_start_client(int sock, const char *host, const char *level, int *rfd, int *wfd,
                     pid_t *pid, char *info, size_t max);

#endif
