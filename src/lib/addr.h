/* addr.h — mail addresses (RFC 5321 paths, RFC 5322 addr-spec).
 * Addresses inside yubin are "local@domain" strings: the domain
 * lower-cased and without a trailing dot, the local part as given
 * (quoted form kept only when it needs quotes). */
#ifndef YUBIN_ADDR_H
#define YUBIN_ADDR_H

#include <stddef.h>

struct buf;

enum addr_status {
	ADDR_OK = 0,
	ADDR_SYNTAX = -1,      /* 501 5.1.3 / 5.1.7 */
	ADDR_TOO_LONG = -2,    /* 501 5.1.3 */
};

/* Parse the path of "MAIL FROM:" / "RCPT TO:" starting at p (the '<' or,
 * leniently, a bare address). Strips a source route (@a,@b:), accepts
 * "<>" (empty address) when allow_empty. On success out holds the
 * address and *used the bytes consumed (ESMTP parameters follow). */
int addr_parse_path(const char *p, size_t n, int allow_empty, struct buf *out, size_t *used);

/* Split "local@domain": pointers into addr, lengths; domain_len 0 when
 * there is no '@'. */
void addr_split(const char *addr, const char **local, size_t *local_len,
                const char **domain, size_t *domain_len);

/* Domain of addr (after the last '@'), or "" */
const char *addr_domain(const char *addr);

/* Remove an extension from the local part using control/recipient_delimiter:
 * "user+ext@dom" -> out "user@dom". Returns 1 when one was removed. */
int addr_strip_extension(const char *addr, struct buf *out);

/* 1 when the local part hides another route (user%host, host!user,
 * quoted "@", or a source route): never relay such addresses. */
int addr_has_route_tricks(const char *addr);

/* 1 when addr has a dotted domain (reject_non_fqdn_recipient) */
int addr_is_fqdn(const char *addr);

/* 1 when addr starts with '-' (smtpd refuses such addresses unless
 * control/allow_min_user: they could pass as options to a program). */
int addr_starts_with_dash(const char *addr);

/* Complete a bare address with control/myorigin; lower-case the domain. */
int addr_qualify(const char *addr, struct buf *out);

#endif
