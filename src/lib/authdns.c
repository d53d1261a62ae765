/* authdns.c — DNS for SPF, DKIM and DMARC through a replaceable function
 * (see authdns.h), and the TXT helper they share: records selected by
 * their leading tag ("" takes every record), the record's strings already joined by dns_parse. */
#include "authdns.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int (*auth_dns)(const char *name, int qtype, struct dns_answer *a) = dns_query;

int auth_txt(const char *name, const char *prefix, char **out, size_t max, size_t *n)
{
	struct dns_answer *a = malloc(sizeof *a);
	*n = 0;
	if (!a) return DNS_TEMP;
	int r = auth_dns(name, DNS_T_TXT, a);
	if (r != DNS_OK) { free(a); return r; }
	size_t plen = strlen(prefix);
	for (size_t i = 0; i < a->n && *n < max; i++) {
		const struct dns_rr *rr = &a->rr[i];
		if (rr->type != DNS_T_TXT || rr->txt_off > a->txt_used || rr->txt_len > a->txt_used - rr->txt_off) continue;
		const char *t = a->txt + rr->txt_off;
		/* the tag must be whole: "v=spf1" matches "v=spf1 ..." but not "v=spf10" */
		if (rr->txt_len < plen || strncasecmp(t, prefix, plen) != 0) continue;
		if (plen && rr->txt_len > plen && t[plen] != ' ' && t[plen] != ';' && t[plen] != '\t') continue;
		if (memchr(t, 0, rr->txt_len)) continue;
		char *s = malloc(rr->txt_len + 1);
		if (!s) { auth_txt_free(out, *n); *n = 0; free(a); return DNS_TEMP; }
		memcpy(s, t, rr->txt_len);
		s[rr->txt_len] = 0;
		out[(*n)++] = s;
	}
	free(a);
	return DNS_OK;
}

void auth_txt_free(char **out, size_t n)
{
	for (size_t i = 0; i < n; i++) free(out[i]);
}
