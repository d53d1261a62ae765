/* tls.c — STARTTLS for outgoing mail per smtp_tls_security_level:
 * none (never), may (when offered; plain text only when the server does
 * not offer it), encrypt (required), verify (required, with the
 * certificate chain checked against smtp_tls_CAfile or the system bundle
 * and the server name). The TLS client engine lives in the tls engineer's
 * library (tlsclient.h); until it is built in, "may" goes on in plain text
 * and the required levels defer the mail (Postfix: 4.7.5 "TLS is
 * required, but our TLS engine is unavailable"). */
#include "remote.h"
#include "control.h"
#include "log.h"

#include <string.h>
#include <strings.h>

int tls_client_start(struct conn *c, struct fail *f)
{
	const char *level = control_get("smtp_tls_security_level");
	int required = strcasecmp(level, "encrypt") == 0 || strcasecmp(level, "verify") == 0 ||
	               strcasecmp(level, "secure") == 0;
	static int warned;
	if (!*level || strcasecmp(level, "none") == 0 || c->tls) return 0;
	if (!c->caps.starttls) {
		if (!required) return 0;
		fail_set(f, 0, "4.7.4", "TLS is required, but was not offered by host %s[%s]", c->host, c->ip);
		return -1;
	}
	if (required) {
		fail_set(f, 0, "4.7.5", "TLS is required, but our TLS engine is unavailable");
		return -1;
	}
	if (!warned) {
		log_msg("warning: STARTTLS offered by %s[%s] but this build has no TLS client; sending in plain text",
		        c->host, c->ip);
		warned = 1;
	}
	return 0;
}
