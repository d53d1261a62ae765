/* config.c — settings as this role sees them. yubin-submission reads
 * control/submission_NAME before control/NAME (Postfix's master.cf -o
 * overrides) and has the seeds' master.cf defaults where submission
 * differs from port 25; yubin-smtpd reads control/NAME. */
#include "smtpd.h"
#include "control.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* master.cf "submission" -o settings, used unless control/submission_NAME exists */
static const struct { const char *name, *value; } submission_defaults[] = {
	{ "smtpd_tls_security_level", "encrypt" },
	{ "smtpd_client_restrictions", "permit_sasl_authenticated, reject" },
	{ "smtpd_recipient_restrictions",
	  "reject_non_fqdn_recipient, reject_unknown_recipient_domain, permit_sasl_authenticated, reject" },
	{ "smtpd_sender_restrictions", "reject_sender_login_mismatch" },
	{ "smtpd_sasl_auth_enable", "yes" },
};

struct override {
	const char *name;
	char *value;
	const char **items;
	size_t nitems;
};
static struct override cache[32];
static size_t ncache;

static const char *raw(const char *name, void *arg)
{
	(void)arg;
	return control_raw(name);
}

static void push(const char *item, size_t len, void *arg)
{
	struct override *o = arg;
	const char **it = realloc(o->items, (o->nitems + 1) * sizeof *it);
	char *copy = strndup(item, len);
	if (!it || !copy) die_nomem();
	o->items = it;
	o->items[o->nitems++] = copy;
}

/* The submission value of name, or NULL when the smtpd one applies. */
static struct override *submission_value(const char *name)
{
	if (S.role != ROLE_SUBMISSION) return NULL;
	for (size_t i = 0; i < ncache; i++)
		if (cache[i].name == name || strcmp(cache[i].name, name) == 0) return &cache[i];
	char sub[160];
	if (strlen(name) + 12 > sizeof sub) return NULL;
	memcpy(sub, "submission_", 11);
	memcpy(sub + 11, name, strlen(name) + 1);
	const char *v = NULL;
	char shortname[160];
	/* submission_tls_cert_file as well as submission_smtpd_tls_cert_file */
	shortname[0] = 0;
	if (strncmp(name, "smtpd_", 6) == 0) {
		memcpy(shortname, "submission_", 11);
		memcpy(shortname + 11, name + 6, strlen(name + 6) + 1);
	}
	if (control_is_set(sub)) {
		v = control_get(sub);
	} else if (shortname[0] && control_is_set(shortname)) {
		v = control_get(shortname);
	} else {
		for (size_t i = 0; i < sizeof submission_defaults / sizeof submission_defaults[0]; i++)
			if (strcmp(submission_defaults[i].name, name) == 0) v = submission_defaults[i].value;
		if (!v) return NULL;
	}
	if (ncache == sizeof cache / sizeof cache[0]) return NULL;
	struct buf b = BUF_INIT;
	if (expand_value(v, strlen(v), raw, NULL, &b) < 0) buf_set(&b, v, strlen(v));
	if (buf_add(&b, "", 0) < 0) die_nomem();
	struct override *o = &cache[ncache++];
	o->name = name;
	o->value = b.s;
	o->items = NULL;
	o->nitems = 0;
	list_split(o->value, strlen(o->value), push, o);
	return o;
}

const char *cfg_get(const char *name)
{
	struct override *o = submission_value(name);
	return o ? o->value : control_get(name);
}

size_t cfg_list(const char *name, const char *const **items)
{
	struct override *o = submission_value(name);
	if (!o) return control_list(name, items);
	*items = o->items;
	return o->nitems;
}

/* A typed submission override; a bad value falls back to the smtpd setting. */
static int typed(const char *name, int (*parse)(const char *, size_t, long long *), long long *out)
{
	struct override *o = submission_value(name);
	if (!o) return -1;
	if (parse(o->value, strlen(o->value), out) == 0) return 0;
	log_msg("warning: control/submission_%s: bad value \"%s\"; using control/%s", name, o->value, name);
	return -1;
}

static int p_int(const char *s, size_t n, long long *o) { return parse_int(s, n, o); }
static int p_size(const char *s, size_t n, long long *o) { return parse_size(s, n, o); }
static int p_time(const char *s, size_t n, long long *o)
{
	const struct setting *st = setting_find("smtpd_timeout");
	return parse_time(s, n, st ? st->unit : 's', o);
}
static int p_bool(const char *s, size_t n, long long *o)
{
	int b;
	if (parse_bool(s, n, &b) < 0) return -1;
	*o = b;
	return 0;
}

long long cfg_int(const char *name)
{
	long long v;
	return typed(name, p_int, &v) == 0 ? v : control_int(name);
}

long long cfg_size(const char *name)
{
	long long v;
	return typed(name, p_size, &v) == 0 ? v : control_size(name);
}

long long cfg_time(const char *name)
{
	long long v;
	return typed(name, p_time, &v) == 0 ? v : control_time(name);
}

int cfg_bool(const char *name)
{
	long long v;
	return typed(name, p_bool, &v) == 0 ? (int)v : control_bool(name);
}
