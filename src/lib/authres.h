/* authres.h — the incoming sender-authentication checks of one message
 * and their Authentication-Results field (RFC 8601): SPF of the MAIL
 * FROM domain (or of the HELO name for the null sender), DKIM signatures,
 * and DMARC from those two. Which checks run: control/
 * smtpd_authentication_checks (any of spf, dkim, dmarc; dmarc needs the
 * other two and turns them on). Results are advice: the caller decides
 * what a DMARC p=reject means; DNS failures come out as temperror.
 *
 *   authres_begin(&a, ip, helo, sender)      at DATA (runs SPF)
 *   authres_header(&a, hdr, hlen)            the header block, once
 *   authres_body(&a, p, n) ...               the body as it streams
 *   authres_end(&a, authserv_id, &field)     DKIM keys, DMARC, the field
 *   authres_free(&a) */
#ifndef YUBIN_AUTHRES_H
#define YUBIN_AUTHRES_H

#include "buf.h"
#include "cidr.h"
#include "dkim.h"
#include "dmarc.h"
#include "spf.h"

struct authres {
	int do_spf, do_dkim, do_dmarc;
	int spf;
	char spf_why[160];
	char spf_domain[256];      /* the domain SPF checked */
	char mailfrom[300];        /* what smtp.mailfrom / smtp.helo shows */
	int spf_helo;              /* checked the HELO name (null sender) */
	int have_header;
	struct dkim_verify dkim;
	struct dmarc dmarc;
	char from[256];            /* the From domain, "" when there is not exactly one */
};

/* checks: a list like "spf dkim dmarc"; NULL reads the setting */
void authres_begin(struct authres *a, const char *checks, const struct ipaddr *ip, const char *helo,
                   const char *sender);
void authres_header(struct authres *a, const char *hdr, size_t hlen);
void authres_body(struct authres *a, const void *p, size_t n);
/* The whole field "Authentication-Results: ...\n" (LF line ends) into
 * out. 0 or -1 out of memory. Nothing is appended when no check ran. */
int authres_end(struct authres *a, const char *authserv, struct buf *out);
void authres_free(struct authres *a);

#endif
