/* authdns.h — the one DNS entry point of the sender-authentication checks
 * (SPF, DKIM, DMARC). It is a function pointer so the unit tests can put a
 * fake resolver with published records in its place; by default it is
 * dns_query (res_query plus our bounded parser). A lookup answers with a
 * dns_status: DNS_OK, DNS_NODATA, DNS_NXDOMAIN, or DNS_TEMP/DNS_BAD, which
 * the checks report as temperror, never as a permanent failure. */
#ifndef YUBIN_AUTHDNS_H
#define YUBIN_AUTHDNS_H

#include "dns.h"

extern int (*auth_dns)(const char *name, int qtype, struct dns_answer *a);

/* The TXT records of name that start with prefix (e.g. "v=spf1"), each
 * copied NUL-terminated into out[i] (malloc'd, caller frees with
 * auth_txt_free). Returns a dns_status; DNS_OK with *n == 0 when records
 * exist but none starts with prefix. At most max records are kept. */
int auth_txt(const char *name, const char *prefix, char **out, size_t max, size_t *n);
void auth_txt_free(char **out, size_t n);

#endif
