/* authres.c — runs SPF, DKIM and DMARC for one received message and
 * writes the Authentication-Results field (RFC 8601), one result per
 * method with a comment and the property it checked. Comments are
 * sanitized: text from DNS or the message never carries parentheses,
 * backslashes or control characters into the field. */
#include "authres.h"
#include "control.h"
#include "sasl.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int has(const char *checks, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = checks; *p;) {
		size_t k = strcspn(p, " ,\t\n");
		if (k == n && strncasecmp(p, name, n) == 0) return 1;
		p += k;
		p += strspn(p, " ,\t\n");
	}
	return 0;
}

void authres_begin(struct authres *a, const char *checks, const struct ipaddr *ip, const char *helo,
                   const char *sender)
{
	memset(a, 0, sizeof *a);
	if (!checks) checks = control_get("smtpd_authentication_checks");
	a->do_dmarc = has(checks, "dmarc");
	a->do_spf = a->do_dmarc || has(checks, "spf");
	a->do_dkim = a->do_dmarc || has(checks, "dkim");
	if (!a->do_spf) return;
	const char *at = sender ? strrchr(sender, '@') : NULL;
	char fake[300];
	if (at && at[1]) {
		snprintf(a->spf_domain, sizeof a->spf_domain, "%s", at + 1);
		snprintf(a->mailfrom, sizeof a->mailfrom, "%s", sender);
	} else {
		/* the null sender: the HELO identity (RFC 7208 2.4) */
		a->spf_helo = 1;
		snprintf(a->spf_domain, sizeof a->spf_domain, "%s", helo ? helo : "");
		snprintf(a->mailfrom, sizeof a->mailfrom, "%s", helo ? helo : "");
		snprintf(fake, sizeof fake, "postmaster@%s", helo ? helo : "");
		sender = fake;
	}
	for (char *c = a->spf_domain; *c; c++) if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
	a->spf = spf_check(ip, a->spf_domain, sender, helo, a->spf_why, sizeof a->spf_why);
}

void authres_header(struct authres *a, const char *hdr, size_t hlen)
{
	if (a->have_header) return;
	if (dkim_from_domain(hdr, hlen, a->from, sizeof a->from) < 0) a->from[0] = 0;
	if (a->do_dkim && dkim_verify_begin(&a->dkim, hdr, hlen, (long long)time(NULL)) == 0) a->have_header = 1;
}

void authres_body(struct authres *a, const void *p, size_t n)
{
	if (a->have_header) dkim_verify_body(&a->dkim, p, n);
}

/* a comment's or value's text, with nothing that could end or escape it */
static int clean(struct buf *out, const char *s)
{
	int r = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		r |= buf_addc(out, c < 0x20 || c == 0x7f || c == '(' || c == ')' || c == '\\' || c == ';' ? '_' : (char)c);
	}
	return r;
}

int authres_end(struct authres *a, const char *authserv, struct buf *out)
{
	int r = 0;
	if (!a->do_spf && !a->do_dkim) return 0;
	if (a->have_header) dkim_verify_end(&a->dkim);
	r |= buf_adds(out, "Authentication-Results: ") | clean(out, authserv) | buf_addc(out, ';');
	if (a->do_spf) {
		r |= buf_adds(out, "\n\tspf=") | buf_adds(out, spf_result_name(a->spf)) | buf_adds(out, " (");
		r |= clean(out, a->spf_why) | buf_adds(out, a->spf_helo ? ") smtp.helo=" : ") smtp.mailfrom=");
		r |= clean(out, a->mailfrom[0] ? a->mailfrom : "unknown") | buf_addc(out, ';');
	}
	const char *pass[DKIM_VERIFY_MAX];
	size_t npass = 0;
	if (a->do_dkim) {
		if (!a->have_header || a->dkim.nsig == 0) {
			r |= buf_adds(out, "\n\tdkim=none (no signature);");
		}
		for (size_t i = 0; a->have_header && i < a->dkim.nsig; i++) {
			const struct dkim_sig *s = &a->dkim.sig[i];
			char b8[12] = "";
			r |= buf_adds(out, "\n\tdkim=") | buf_adds(out, dkim_result_name(s->result)) | buf_adds(out, " (");
			r |= clean(out, s->why) | buf_adds(out, ") header.d=") | clean(out, s->d[0] ? s->d : "unknown");
			if (s->s[0]) r |= buf_adds(out, " header.s=") | clean(out, s->s);
			/* header.b: the first 8 characters of the signature tell signatures apart (RFC 6008) */
			if (s->blen >= 6 && sasl_b64_encode(s->b, 6, b8, sizeof b8) == 8) r |= buf_adds(out, " header.b=") | buf_adds(out, b8);
			r |= buf_addc(out, ';');
			if (s->result == DKIM_PASS && npass < DKIM_VERIFY_MAX) pass[npass++] = s->d;
		}
	}
	if (a->do_dmarc) {
		const char *spf_ok = a->spf == SPF_PASS && !a->spf_helo ? a->spf_domain : NULL;
		dmarc_check(a->from, spf_ok, pass, npass, &a->dmarc);
		r |= buf_adds(out, "\n\tdmarc=") | buf_adds(out, dmarc_result_name(a->dmarc.result));
		if (a->dmarc.policy[0]) r |= buf_adds(out, " (p=") | buf_adds(out, a->dmarc.policy) | buf_addc(out, ')');
		r |= buf_adds(out, " header.from=") | clean(out, a->from[0] ? a->from : "unknown") | buf_addc(out, ';');
	}
	/* no ';' after the last result */
	if (out->len && out->s[out->len - 1] == ';') out->len--;
	return r | buf_addc(out, '\n');
}

void authres_free(struct authres *a)
{
	if (a->have_header) dkim_verify_free(&a->dkim);
	a->have_header = 0;
}
