/* anvil.h — the client side of yubin-anvil, the per-client counters that
 * every per-connection program shares (Postfix's anvil(8)).
 *
 * Socket $YUBIN_ROOT/queue/public/anvil, SOCK_SEQPACKET: one datagram per
 * request and one per reply, on a connection kept for the whole session.
 *   request  "<op> <ident>"   ident = "<service>:<client address>"
 *            op C connect, M message (MAIL), R recipient (RCPT), A AUTH
 *               command, F failed login, L look at failed logins (no count)
 *   reply    "<count> <rate>"  count: the ident's connections now (C only);
 *            rate: events of that kind in the current anvil_rate_time_unit
 * A connection is uncounted when the socket that sent its C closes, so a
 * process that dies (kill -9 included) never leaves a stale count.
 * When anvil is not there every call says "unavailable" at once and the
 * caller serves without limits; one warning per process says so. */
#ifndef YUBIN_ANVIL_H
#define YUBIN_ANVIL_H

#include "cidr.h"

#include <stddef.h>

#define ANVIL_SOCKET "queue/public/anvil"
#define ANVIL_IDENT_MAX 96
#define ANVIL_REQUEST_MAX 128

enum anvil_op {
	ANVIL_CONNECT = 'C',
	ANVIL_MAIL = 'M',
	ANVIL_RCPT = 'R',
	ANVIL_AUTH = 'A',
	ANVIL_FAIL = 'F',
	ANVIL_PEEK = 'L',
};

/* "service:address" into out; an IPv6 address is cut to its
 * smtpd_client_ipv6_prefix_length network (one /64 is one client). -1 when
 * it does not fit or the address is unknown. */
int anvil_ident(char *out, size_t max, const char *service, const struct ipaddr *ip);

/* One event. 1: answered, *count and *rate set (either may be NULL);
 * 0: anvil unavailable (serve without limits). */
int anvil_request(char op, const char *ident, long *count, long *rate);

/* Forget the connection (tests, or before exec): closes the socket, which
 * uncounts a registered connection. */
void anvil_close(void);

/* Hibernation (serve.h): the socket that counts this connection leaves
 * the process with it. anvil_release returns it (-1 if none) and forgets
 * it without closing; anvil_adopt takes it back in another process, with
 * the ident its C was sent for. */
int anvil_release(void);
void anvil_adopt(int sock, const char *ident);

/* 1 when ip is in smtpd_client_event_limit_exceptions (default
 * $mynetworks, with mynetworks_style when mynetworks is empty). */
int anvil_exempt(const struct ipaddr *ip);

/* Failed logins across connections (POP3, IMAP): auth_failure_rate_limit
 * per client and time unit. anvil_login_allowed returns 0 when the
 * client's failures already reached the limit (logged), else 1 (also when
 * anvil is unavailable, the limit is 0 or the client is an exception).
 * anvil_login_failed counts one failure. ip is the text form. */
int anvil_login_allowed(const char *service, const char *ip);
void anvil_login_failed(const char *service, const char *ip);

/* The request parser, shared with yubin-anvil and the unit test:
 * (pointer, length) -> op and ident (NUL-terminated into ident). 0 or -1. */
int anvil_parse_request(const char *p, size_t n, char *op, char *ident, size_t max);

#endif
