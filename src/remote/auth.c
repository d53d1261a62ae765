/* auth.c — SMTP AUTH client (RFC 4954), PLAIN or LOGIN, when
 * smtp_sasl_auth_enable is on and smtp_sasl_password_maps has
 * "user:password" for this server: keys "[nexthop]:port", "[nexthop]",
 * "nexthop:port", "nexthop", then the server's own name (as Postfix).
 * A password never crosses an unencrypted connection unless
 * smtp_sasl_security_options lacks "noplaintext"; then, as Postfix, the
 * delivery is deferred ("no mechanism available") instead of being sent
 * unauthenticated. */
#include "remote.h"
#include "control.h"
#include "log.h"
#include "sasl.h"
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int lookup(const char *key, char **val)
{
	const char *spec = control_get("smtp_sasl_password_maps");
	if (!*spec) return 0;
	return table_lookup(spec, key, val);
}

/* 1 found (*val malloc'd), 0 none, -1 table trouble */
static int find_password(const struct conn *c, const struct route *r, char **val)
{
	char key[DNS_NAME_MAX + 16];
	int st = 0;
	if (r && !r->mx) {
		snprintf(key, sizeof key, "[%s]:%u", r->nexthop, r->port);
		st = lookup(key, val);
		if (st == 0) {
			snprintf(key, sizeof key, "[%s]", r->nexthop);
			st = lookup(key, val);
		}
	}
	if (st == 0 && r) {
		snprintf(key, sizeof key, "%s:%u", r->nexthop, r->port);
		st = lookup(key, val);
		if (st == 0) st = lookup(r->nexthop, val);
	}
	if (st == 0 && (!r || strcmp(c->host, r->nexthop) != 0)) st = lookup(c->host, val);
	return st;
}

static int send_line(struct conn *c, const char *s)
{
	return cmd_send(c, s, strlen(s)) < 0 || cmd_send(c, "\r\n", 2) < 0 || wbuf_flush(&c->w) < 0 ? -1 : 0;
}

static int step(struct conn *c, const char *line, struct reply *rp, int t)
{
	if (send_line(c, line) < 0) { rp->code = 0; rp->io = IO_EOF; return -1; }
	return reply_read(c, t, rp);
}

static int do_auth(struct conn *c, const char *user, const char *pass, struct reply *rp)
{
	int t = (int)timeout_of("smtp_helo_timeout");
	char msg[SASL_LOGIN_MAX + SASL_PASSWORD_MAX + 2];
	char b64[(sizeof msg / 3 + 2) * 4 + 16], cmd[sizeof b64 + 16];
	size_t ul = strlen(user), pl = strlen(pass);
	int r = -1;
	if (ul >= SASL_LOGIN_MAX || pl >= SASL_PASSWORD_MAX) { rp->code = 0; return -1; }
	if (c->caps.auth_plain) {
		msg[0] = 0;
		memcpy(msg + 1, user, ul);
		msg[1 + ul] = 0;
		memcpy(msg + 2 + ul, pass, pl);
		if (sasl_b64_encode(msg, 2 + ul + pl, b64, sizeof b64) < 0) goto out;
		snprintf(cmd, sizeof cmd, "AUTH PLAIN %s", b64);
		if (step(c, cmd, rp, t) < 0) goto out;
		r = rp->code == 235 ? 0 : -1;
		goto out;
	}
	if (step(c, "AUTH LOGIN", rp, t) < 0 || rp->code != 334) goto out;
	if (sasl_b64_encode(user, ul, b64, sizeof b64) < 0 || step(c, b64, rp, t) < 0 || rp->code != 334) goto out;
	if (sasl_b64_encode(pass, pl, b64, sizeof b64) < 0 || step(c, b64, rp, t) < 0) goto out;
	r = rp->code == 235 ? 0 : -1;
out:
	explicit_bzero(msg, sizeof msg);
	explicit_bzero(b64, sizeof b64);
	explicit_bzero(cmd, sizeof cmd);
	return r;
}

int auth_client(struct conn *c, const struct route *r, struct fail *f)
{
	char *val = NULL;
	if (!control_bool("smtp_sasl_auth_enable")) return 0;
	int st = find_password(c, r, &val);
	if (st < 0) {
		fail_set(f, 0, "4.3.0", "SASL authentication failed; cannot read the password table");
		return -1;
	}
	if (st == 0) return 0;
	char *colon = strchr(val, ':');
	int ret = -1;
	if (!colon) {
		log_msg("warning: smtp_sasl_password_maps: value for %s is not user:password", c->host);
		fail_set(f, 0, "4.3.5", "SASL authentication failed; bad password table entry for %s", c->host);
		goto out;
	}
	*colon = 0;
	if (!c->caps.auth_plain && !c->caps.auth_login) {
		/* the server does not do AUTH: go on without, as Postfix does */
		ret = 0;
		goto out;
	}
	if (!c->tls && control_list_has("smtp_sasl_security_options", "noplaintext")) {
		fail_set(f, 0, "4.7.0",
		         "SASL authentication failed; cannot authenticate to server %s[%s]: no mechanism available "
		         "(no TLS, and smtp_sasl_security_options forbids plaintext)", c->host, c->ip);
		goto out;
	}
	struct reply rp;
	if (do_auth(c, val, colon + 1, &rp) == 0) {
		ret = 0;
		goto out;
	}
	if (rp.code)
		fail_set(f, 0, "4.7.0", "SASL authentication failed; server %s[%s] said: %s", c->host, c->ip, rp.text);
	else
		fail_set(f, 0, "4.4.2", "lost connection with %s[%s] while authenticating", c->host, c->ip);
out:
	explicit_bzero(val, strlen(val) + (colon ? strlen(colon + 1) + 1 : 0));
	free(val);
	return ret;
}
