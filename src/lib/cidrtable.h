/* cidrtable.h — Postfix cidr: tables, for client addresses: control/NAME.cidr
 * (a setting says "cidr:NAME" or "cidr:/etc/postfix/NAME.cidr"), one rule
 * a line, "network/bits result" or "address result"; the first rule that
 * matches wins. Parsed once per process and again when the file changes.
 * Lookups return 1 found (*value malloc'd), 0 not found, -1 temporary
 * error (unreadable file or a syntax error: logged with file and line). */
#ifndef YUBIN_CIDRTABLE_H
#define YUBIN_CIDRTABLE_H

#include "cidr.h"

#include <stddef.h>

/* 1 when spec names a cidr table (its name in control/ via *name, *len) */
int cidr_spec(const char *spec, const char **name, size_t *len);
/* first rule of control/NAME.cidr (name[0..len)) that covers ip */
int cidr_table_lookup(const char *name, size_t len, const struct ipaddr *ip, char **value);

#endif
