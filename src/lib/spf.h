/* spf.h — SPF (RFC 7208): may this client IP send mail for this domain?
 * check_host() with the mechanisms all, ip4, ip6, a, mx, include, exists,
 * ptr (which never matches: it is deprecated and needs reverse lookups we
 * do not make), the modifiers redirect= (exp= is ignored), the macros of
 * section 7 (letters s l o d i h v, digits, r, delimiters), and the DNS
 * limits: 10 terms that cause lookups, 10 MX names per mx, 2 void
 * lookups. DNS goes through auth_dns (authdns.h); a DNS failure is
 * temperror, never fail. */
#ifndef YUBIN_SPF_H
#define YUBIN_SPF_H

#include "cidr.h"

#include <stddef.h>

enum spf_result { SPF_NONE = 0, SPF_NEUTRAL, SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_TEMPERROR, SPF_PERMERROR };
const char *spf_result_name(int r);

/* check_host(ip, domain, sender); helo is the HELO name (for %{h}).
 * sender is the MAIL FROM address, or postmaster@helo for the null
 * sender (the caller decides). why gets a short text for the logs and
 * the Authentication-Results comment. */
int spf_check(const struct ipaddr *ip, const char *domain, const char *sender, const char *helo, char *why,
              size_t wmax);

/* Macro expansion (RFC 7208 section 7) of spec (pointer, length) into out.
 * 0, or -1 on a malformed macro or an overlong result. Exposed for tests. */
int spf_expand(const char *spec, size_t n, const struct ipaddr *ip, const char *domain, const char *sender,
               const char *helo, char *out, size_t max);

#endif
