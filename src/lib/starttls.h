/* starttls.h — TLS for the protocol programs (smtpd, submission, pop3d,
 * imapd) without the private key ever entering their memory.
 *
 * tls_start_server() hands the client socket to the TLS service,
 * `yubin-tlsd -d` on queue/public/tlsd (SCM_RIGHTS; src/tlsd/daemon.c),
 * or, when that is not running, spawns bin/yubin-tlsd on it. Either way
 * yubin-tlsd checks the certificate and key (at every connection, so a
 * renewed certificate needs no reload), does the TLS 1.2 handshake with
 * BearSSL (ECDHE with AES-GCM or ChaCha20-Poly1305, server preference),
 * reports the result and then relays plaintext <-> TLS. The caller's
 * in/out fds are replaced (dup2, same numbers) by the plaintext
 * connection (a Unix socket from the service, pipes from a spawned one),
 * so an rbuf/wbuf on them keeps working after the switch. The service
 * costs no process start per connection; a spawn costs one (1.5-3 ms
 * of CPU here) for each connection that uses TLS.
 *
 * service: the program's role, used for per-service files and the log:
 * "smtpd", "submission", "pop3d", "imapd" (control/SERVICE_tls_cert_file
 * and SERVICE_tls_key_file override smtpd_tls_cert_file/_key_file).
 *
 * Usage (SMTP STARTTLS; IMAP/POP3 alike):
 *
 *   ehlo:     if (tls_available("smtpd")) advertise "STARTTLS";
 *   STARTTLS: if (rbuf_pending(&in))                 // CVE-2011-0411 class:
 *                 in.pos = in.len;                   // drop pipelined bytes unanswered
 *             wbuf_puts(&out, "220 2.0.0 Ready to start TLS\r\n");
 *             wbuf_flush(&out);
 *             char info[128];
 *             int ifd = 0, ofd = 1;
 *             if (tls_start_server("smtpd", &ifd, &ofd, info, sizeof info) < 0)
 *                 die(...);                          // the client is gone or broken
 *             rbuf_init(&in, ifd, timeout); wbuf_init(&out, ofd, timeout);
 *             reset all SMTP state; EHLO required again;
 *             Received: "(using %s)", info   -> "(using TLSv1.2 with cipher ...)"
 *   465/993/995: if getenv("YUBIN_TLS_IMPLICIT") is "1", call
 *             tls_start_server() before the greeting.
 *
 * The caller should ignore SIGPIPE (or handle EPIPE): if the client drops
 * the connection, yubin-tlsd exits and writes to the pipe fail. */
#ifndef YUBIN_STARTTLS_H
#define YUBIN_STARTTLS_H

#include <stddef.h>
#include <sys/types.h>

#define TLSD_SOCKET "queue/public/tlsd"   /* yubin-tlsd -d */

/* 1 when TLS can be offered for service: a certificate is configured,
 * parses, is valid now, and the key file exists and is not accessible by
 * others (the caller need not be able to read it: yubin-tlsd may be setgid); the security level (SERVICE_tls_security_level if
 * set, else smtpd_tls_security_level) is not "none". A problem is logged
 * once ("TLS disabled: ...") and gives 0; never fatal. The answer is kept
 * while the cert and key files stat the same and the cert is in date.
 * A key that does not match the certificate is found by yubin-tlsd (the
 * handshake then fails and is logged) and by `yubin-ctl check`. */
int tls_available(const char *service);

/* Start TLS on *in / *out (the client socket; may be the same fd). On
 * success *in and *out are plaintext (normally the same fd numbers as
 * before), info holds e.g. "TLSv1.2 with cipher
 * ECDHE-ECDSA-AES128-GCM-SHA256", and the result is 0 when the TLS
 * service took the connection, 1 when a spawned yubin-tlsd child did (the
 * caller's process then has a child that ends with the connection). On
 * failure returns -1, info holds the reason, and the session should end
 * (the socket is no longer usable). */
int tls_start_server(const char *service, int *in, int *out, char *info, size_t max);

/* The spawn both sides share (tlsclient.h too): yubin-tlsd ARGS with
 * in/out as its fd 0 and 1, plaintext pipes on 3 and 4, status on 5.
 * 0: status holds the text after "ok ", and *rfd, *wfd (close-on-exec) and
 * *pid are set; -1: status holds the reason, nothing is left open. */
int tlsd_spawn(char *const argv[], int in, int out, int *rfd, int *wfd, pid_t *pid,
               char *status, size_t smax);

/* yubin-ctl check: reports each problem with the service's TLS files as
 * one line through report ("warning: ..." for things that still work, such
 * as a certificate expiring within 30 days). Loads the key to check that it
 * matches the certificate. Returns the number of errors (0 = usable, or
 * TLS not configured — reported as "warning: no certificate"). */
typedef void tls_report_fn(const char *line);
int tls_check_files(const char *service, tls_report_fn *report);

#endif
