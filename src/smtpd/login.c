/* login.c — SMTP AUTH (RFC 4954) with PLAIN and LOGIN through sasl.h and
 * auth.h, where it is allowed: after TLS, or without it only when
 * smtpd_tls_auth_only = no and the client is on loopback (or
 * disable_plaintext_auth = no). Every failure counts for the tarpit and
 * logs a fail2ban line (auth.h); smtpd_auth_failure_limit failures end
 * the session with 421. Also the submission sender check
 * (reject_sender_login_mismatch with smtpd_sender_login_maps). */
#include "smtpd.h"
#include "addr.h"
#include "anvil.h"
#include "auth.h"
#include "control.h"
#include "log.h"
#include "recipient.h"
#include "sasl.h"
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int auth_offered(struct session *s)
{
	if (s->login || !cfg_bool("smtpd_sasl_auth_enable")) return 0;
	if (s->tls) return 1;
	if (cfg_bool("smtpd_tls_auth_only")) return 0;
	return ip_is_loopback(&s->addr) || !cfg_bool("disable_plaintext_auth");
}

static void failed(struct session *s, const char *text)
{
	s->auth_failures++;
	long long limit = cfg_int("smtpd_auth_failure_limit");
	if (limit > 0 && s->auth_failures >= (unsigned)limit) {
		reply_err(s, "%s", text);
		log_msg("too many AUTH failures from %s", client_name(s));
		reply(s, "421 4.7.0 %s Error: too many authentication failures", control_get("myhostname"));
		session_end(s, 0);
	}
	reply_err(s, "%s", text);
}

void cmd_auth(struct session *s, char *arg, size_t len)
{
	s->auth_seen = 1;
	if (!auth_offered(s)) {
		reply_err(s, s->login ? "503 5.5.1 Error: already authenticated" : "503 5.5.1 Error: authentication not enabled");
		return;
	}
	if (!s->helo[0] || !s->esmtp) { reply_err(s, "503 5.5.1 Error: send EHLO first"); return; }
	if (s->in_mail) { reply_err(s, "503 5.5.1 Error: MAIL transaction in progress"); return; }
	char *sp = memchr(arg, ' ', len);
	size_t mlen = sp ? (size_t)(sp - arg) : len;
	const char *init = sp ? sp + 1 : "";
	size_t ilen = sp ? len - mlen - 1 : 0;
	if (mlen == 0) { reply_err(s, "501 5.5.4 Syntax: AUTH mechanism"); return; }
	if (limits_auth(s) < 0) return;

	struct sasl st;
	char chal[SASL_CHAL_MAX], line[SASL_LINE_MAX + 1];
	int r = sasl_begin(&st, arg, mlen, init, ilen, sp != NULL, chal, sizeof chal);
	while (r == SASL_CONTINUE) {
		reply(s, "334 %s", chal);
		flush_if_idle(s);
		size_t n;
		int io = rbuf_getline(s->in, line, sizeof line, &n, NULL);
		if (io == IO_LONG) {
			sasl_wipe(&st);
			failed(s, "500 5.5.6 Authentication Exchange line is too long");
			return;
		}
		if (io != IO_OK) {
			sasl_wipe(&st);
			io_failed(s, io);
		}
		r = sasl_step(&st, line, n, chal, sizeof chal);
		explicit_bzero(line, sizeof line);
	}
	switch (r) {
	case SASL_OK: break;
	case SASL_CANCEL: sasl_wipe(&st); reply_err(s, "501 5.0.0 Authentication aborted"); return;
	case SASL_NOMECH: sasl_wipe(&st); reply_err(s, "504 5.5.4 Unrecognized authentication type"); return;
	default: sasl_wipe(&st); failed(s, "501 5.5.2 Cannot decode response"); return;
	}
	const char *svc = s->role == ROLE_SUBMISSION ? "submission" : "smtp";
	/* auth_failure_rate_limit: guessing across connections gets nowhere */
	if (!anvil_login_allowed(svc, s->ip)) {
		sasl_wipe(&st);
		reply_err(s, "454 4.7.0 Temporary authentication failure: too many failed logins from %s", s->ip);
		return;
	}
	int ok = auth_check_mech(st.login, st.password, svc, s->ip, sasl_mech_name(&st));
	if (ok == 0) anvil_login_failed(svc, s->ip);
	if (ok > 0) {
		s->login = strdup(st.login);
		if (!s->login) die_nomem();
		snprintf(s->sasl_method, sizeof s->sasl_method, "%s", sasl_mech_name(&st));
		snprintf(s->proto, sizeof s->proto, "%s", s->tls ? "ESMTPSA" : "ESMTPA");
		reply(s, "235 2.7.0 Authentication successful");
	} else if (ok < 0) {
		reply_err(s, "454 4.7.0 Temporary authentication failure");
	} else {
		failed(s, "535 5.7.8 Error: authentication failed: authentication failure");
	}
	sasl_wipe(&st);
}

/* Does the logged-in user own sender? smtpd_sender_login_maps lists the
 * logins allowed per address (or @domain); an address not listed belongs
 * to the virtual user of that name, or to the system account whose name
 * is the local part of an address in a system domain. */
static int owns(const char *login, const char *sender)
{
	const char *spec = cfg_get("smtpd_sender_login_maps");
	if (*spec) {
		char *v = NULL;
		int r = table_lookup_addr(spec, sender, &v);
		if (r < 0) return -1;
		if (r > 0) {
			int hit = 0;
			for (char *tok = strtok(v, ", \t"); tok && !hit; tok = strtok(NULL, ", \t"))
				hit = strcasecmp(tok, login) == 0;
			free(v);
			return hit;
		}
	}
	if (strcasecmp(login, sender) == 0) return 1;
	const char *at = strrchr(sender, '@');
	if (!strchr(login, '@') && at && (size_t)(at - sender) == strlen(login) &&
	    strncasecmp(sender, login, strlen(login)) == 0 && domain_classify(at + 1) == DOMAIN_SYSTEM)
		return 1;
	return 0;
}

int sender_login_check(struct session *s, const char *sender, char *reply_text, size_t max)
{
	const char *const *items;
	size_t n = cfg_list("smtpd_sender_restrictions", &items), i;
	for (i = 0; i < n; i++)
		if (strcasecmp(items[i], "reject_sender_login_mismatch") == 0) break;
	if (i == n || !*sender) return 0;
	if (!s->login) {
		/* an address somebody owns may only be used by them */
		const char *spec = cfg_get("smtpd_sender_login_maps");
		char *v = NULL;
		if (*spec && table_lookup_addr(spec, sender, &v) > 0) {
			free(v);
			snprintf(reply_text, max, "553 5.7.1 <%s>: Sender address rejected: not logged in", sender);
			return 1;
		}
		return 0;
	}
	int r = owns(s->login, sender);
	if (r < 0) {
		snprintf(reply_text, max, "451 4.3.0 <%s>: Temporary lookup failure", sender);
		return 1;
	}
	if (r == 0) {
		snprintf(reply_text, max, "553 5.7.1 <%s>: Sender address rejected: not owned by user %s", sender, s->login);
		return 1;
	}
	return 0;
}
