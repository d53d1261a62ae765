/* recipient.c — which domains are ours and whether a local address exists
 * (see recipient.h). The answer drives 550 5.1.1 at RCPT time, so a table
 * that cannot be read gives RCPT_TEMPFAIL (451), never "unknown".
 * root: a system account, but nothing is ever delivered as root; like
 * Postfix's local(8) its mail must go through an alias, so root@ (and any
 * uid-0 account) is known only when control/aliases has an entry for it. */
#include "recipient.h"
#include "addr.h"
#include "buf.h"
#include "control.h"
#include "log.h"
#include "table.h"
#include "users.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A bare "example.net" key in control/virtual makes it a virtual alias domain. */
static int has_key(const char *table, const char *key, size_t n);
static int is_alias_domain(const char *domain)
{
	return has_key("virtual", domain, strlen(domain)) > 0;
}

enum domain_class domain_classify(const char *domain)
{
	if (!*domain) return DOMAIN_REMOTE;
	if (control_list_has("mydestination", domain)) return DOMAIN_SYSTEM;
	if (control_list_has("virtual_mailbox_domains", domain)) return DOMAIN_VIRTUAL;
	if (is_alias_domain(domain)) return DOMAIN_ALIAS;
	return DOMAIN_REMOTE;
}

int domain_is_local(const char *domain) { return domain_classify(domain) != DOMAIN_REMOTE; }

int domain_is_relay(const char *domain)
{
	const char *const *items;
	size_t n = control_list("relay_domains", &items), dl = strlen(domain);
	if (!dl) return 0;
	for (size_t i = 0; i < n; i++) {
		const char *it = items[i];
		size_t il = strlen(it);
		if (strchr(it, ':')) { /* a table of domains, e.g. hash:/etc/postfix/relay_domains */
			char *v;
			int r = table_lookup(it, domain, &v);
			free(v);
			if (r > 0) return 1;
		} else if (it[0] == '.') {
			if (dl > il && strcasecmp(domain + dl - il, it) == 0) return 1;
		} else if (strcasecmp(domain, it) == 0) {
			return 1;
		}
	}
	return 0;
}

/* existence only: 1 found, 0 not, -1 temporary */
static int has_key(const char *table, const char *key, size_t n)
{
	char *v;
	int r = table_get(table, key, n, &v);
	free(v);
	return r;
}

static int has_addr(const char *spec, const char *addr)
{
	char *v;
	int r = table_lookup_addr(spec, addr, &v);
	free(v);
	return r;
}

/* control/aliases holds bare names: try the local part, then without extension */
static int alias_exists(const char *local, size_t ll, const char *plain_local, size_t pl)
{
	int r = has_key("aliases", local, ll);
	if (r == 0 && pl != ll) r = has_key("aliases", plain_local, pl);
	return r;
}

/* a non-root passwd account named local (lower-cased, as Postfix looks it up) */
static int system_user_exists(const char *local, size_t ll)
{
	char name[256], pwbuf[4096];
	struct passwd pw, *res = NULL;
	if (ll == 0 || ll >= sizeof name || memchr(local, '"', ll)) return 0;
	for (size_t i = 0; i < ll; i++) name[i] = local[i] >= 'A' && local[i] <= 'Z' ? (char)(local[i] + 32) : local[i];
	name[ll] = 0;
	int e = getpwnam_r(name, &pw, pwbuf, sizeof pwbuf, &res);
	if (res) return pw.pw_uid != 0;
	if (e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM) return 0;
	log_msg("warning: passwd lookup of %s failed: %s", name, strerror(e));
	return -1;
}

enum recipient_status recipient_check(const char *addr)
{
	struct buf full = BUF_INIT, plain = BUF_INIT;
	enum recipient_status st = RCPT_UNKNOWN;
	int r;
	if (addr_qualify(addr, &full) < 0 || addr_strip_extension(full.s, &plain) < 0) {
		st = RCPT_TEMPFAIL;
		goto done;
	}
	const char *local, *domain, *plocal, *pdomain;
	size_t ll, dl, pl, pdl;
	addr_split(full.s, &local, &ll, &domain, &dl);
	addr_split(plain.s, &plocal, &pl, &pdomain, &pdl);
	enum domain_class dc = domain_classify(domain);
	if (dc == DOMAIN_REMOTE) { st = RCPT_REMOTE; goto done; }

	/* virtual aliases apply to every local domain, before anything else */
	r = has_addr("virtual", full.s);
	if (r == 0) r = has_addr("regexp:virtual", full.s);
	/* aliases apply to every local domain (DESIGN.md) */
	if (r == 0) r = alias_exists(local, ll, plocal, pl);
	if (r == 0 && dc == DOMAIN_SYSTEM) {
		r = system_user_exists(local, ll);
		if (r == 0 && pl != ll) r = system_user_exists(plocal, pl);
	}
	if (r == 0 && dc == DOMAIN_VIRTUAL) {
		char *hash;
		r = users_get(full.s, &hash);
		free(hash);
		if (r == 0 && plain.len != full.len) {
			r = users_get(plain.s, &hash);
			free(hash);
		}
	}
	st = r < 0 ? RCPT_TEMPFAIL : r > 0 ? RCPT_LOCAL : RCPT_UNKNOWN;
done:
	buf_free(&full);
	buf_free(&plain);
	return st;
}
