/* rewrite.h — address rewriting with canonical(5)-style tables, for
 * smtpd (canonical_maps, sender_canonical_maps, recipient_canonical_maps)
 * and yubin-remote (smtp_generic_maps), in envelopes and in headers.
 *
 * A table maps user@domain, user (for our own domains) or @domain to a
 * new address; a result "@otherdomain" keeps the local part. A table list
 * is tried in order; the result is looked up again (at most 10 times, a
 * loop stops where it is), as Postfix's cleanup does. */
#ifndef YUBIN_REWRITE_H
#define YUBIN_REWRITE_H

#include <stddef.h>

struct buf;

/* addr through the tables of a list setting (e.g. "canonical_maps").
 * 1 rewritten (out holds the new address, NUL-terminated), 0 unchanged,
 * -1 a table could not be read (logged). */
int rewrite_addr(const char *setting, const char *addr, struct buf *out);
/* 1 when some table the setting names exists (cheap: remembered until
 * control/ changes) */
int rewrite_tables_exist(const char *setting);

/* Which addresses a header carries: sender headers (From, Sender,
 * Reply-To, Errors-To, Return-Path and their Resent- forms) or recipient
 * headers (To, Cc, Bcc, Resent-To/Cc/Bcc, Apparently-To); 0 for others. */
enum { HDR_SENDER = 1, HDR_RECIPIENT = 2 };
unsigned rewrite_header_class(const char *name, size_t n);

/* Rewrite every address in a header value (RFC 5322 address list,
 * folded lines, comments, quoted strings, groups kept as they are):
 * map(arg, address) returns 1 with the replacement in out, 0 to keep it,
 * -1 on a failure. Returns 1 when something changed (the whole new value
 * in out), 0 unchanged, -1 failure. Only addr-specs with an '@' are
 * offered to map. */
typedef int rewrite_map_fn(void *arg, const char *addr, struct buf *out);
int rewrite_header_value(const char *v, size_t n, rewrite_map_fn *map, void *arg, struct buf *out);

#endif
