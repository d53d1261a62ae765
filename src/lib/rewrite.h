/* rewrite.h — address rewriting with canonical(5)-style tables, for
 * smtpd and sendmail (canonical_maps, sender_canonical_maps,
 * recipient_canonical_maps) and yubin-remote (smtp_generic_maps), in
 * envelopes and in headers.
 *
 * A table maps user@domain, user (for our own domains) or @domain to a
 * new address; a result "@otherdomain" keeps the local part, and an
 * extension the key lacked is kept when propagate_unmatched_extensions
 * names the table's class. A table list
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

/* propagate_unmatched_extensions: 1 when it names class ("canonical",
 * "virtual", "generic"). A lookup of user+ext@dom that matched only as
 * user@dom (or user) then keeps +ext in its result: new+ext@newdom. */
int rewrite_propagates(const char *class);
/* the extension of addr with its delimiter ("+ext" of "user+ext@dom",
 * recipient_delimiter); returns its length, 0 (and "") when none */
size_t rewrite_extension(const char *addr, const char **ext);
/* addr[0..n) with ext inserted before its last '@' (appended when there
 * is none), NUL-terminated in out; 0, -1 out of memory */
int rewrite_add_extension(const char *addr, size_t n, const char *ext, size_t elen, struct buf *out);

/* Canonical rewriting as Postfix's cleanup does it, for every way mail
 * comes in (smtpd, sendmail). canonical_classes as bits: */
enum { CANON_ENV_SENDER = 1, CANON_ENV_RECIPIENT = 2, CANON_HEAD_SENDER = 4, CANON_HEAD_RECIPIENT = 8 };
unsigned rewrite_canonical_classes(const char *const *items, size_t n);
/* sender_canonical_maps (sender) or recipient_canonical_maps, then
 * canonical_maps: 1 rewritten (into out), 0 unchanged, -1 table failure */
int rewrite_canonical(int sender, const char *addr, struct buf *out);
/* the header classes (HDR_SENDER | HDR_RECIPIENT) worth rewriting: those
 * canonical_classes allows and some table exists for; 0 = none */
unsigned rewrite_canonical_headers(unsigned classes);

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
