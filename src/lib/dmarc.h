/* dmarc.h — DMARC (RFC 7489): the From domain's policy record
 * (_dmarc.DOMAIN, else _dmarc.ORGANIZATIONAL-DOMAIN), identifier alignment
 * of SPF (MAIL FROM domain) and DKIM (d=) with the From domain, strict or
 * relaxed, and the policy that applies (p=, or sp= for a subdomain). The
 * organizational domain comes from the Public Suffix List
 * (/usr/share/publicsuffix/public_suffix_list.dat, Debian's publicsuffix;
 * without it: the last two labels). DNS through auth_dns (authdns.h). */
#ifndef YUBIN_DMARC_H
#define YUBIN_DMARC_H

#include <stddef.h>

enum dmarc_result { DMARC_NONE = 0, DMARC_PASS, DMARC_FAIL, DMARC_TEMPERROR, DMARC_PERMERROR };
const char *dmarc_result_name(int r);

struct dmarc {
	int result;
	char from[256];       /* the From domain */
	char policy[12];      /* "none", "quarantine" or "reject": what applies to this message */
	int pct;              /* 0..100 */
	int spf_aligned, dkim_aligned;
};

/* spf_pass_domain: the MAIL FROM (or HELO) domain when SPF passed, else
 * NULL; dkim_pass: the d= domains of signatures that passed. */
int dmarc_check(const char *from_domain, const char *spf_pass_domain, const char *const *dkim_pass, size_t ndkim,
                struct dmarc *out);

/* The organizational domain of domain into out (lower case). 0 or -1. */
int dmarc_org_domain(const char *domain, char *out, size_t max);
/* for the tests: another list file, or NULL for the default */
void dmarc_psl_file(const char *path);

#endif
