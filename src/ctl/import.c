/* import.c — `yubin-ctl import-postfix [-n] DIR`: read DIR/main.cf (and the
 * submission -o overrides of DIR/master.cf) in Postfix syntax and write
 * every parameter yubin knows to control/NAME (control/submission_NAME for
 * the overrides), copying the tables they name (importtab.c). Every
 * parameter that could not be mapped is one "not mapped" line with the
 * reason. -n prints the plan and writes nothing. Exit 0 when all that
 * could be mapped was written, 1 when a table or file failed, 100 usage. */
#include "ctl.h"
#include "buf.h"
#include "control.h"
#include "import.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CF_MAX ((size_t)4 << 20)

struct param {
	char *name, *value;
	int line;
	int inlined;   /* used through $name by another parameter */
	int unknown;   /* neither yubin's nor Postfix's known to us: reported last */
};
static struct param *params;
static size_t nparams;

/* Postfix parameters with no control file in yubin, and why */
static const struct { const char *name, *why; } ignored[] = {
	{ "inet_interfaces", "listening addresses are set by the socket units or tcpserver lines (see INSTALL)" },
	{ "queue_directory", "yubin's folders come from YUBIN_ROOT" },
	{ "command_directory", "programs are in $YUBIN_ROOT/bin" },
	{ "daemon_directory", "programs are in $YUBIN_ROOT/bin" },
	{ "data_directory", "yubin's folders come from YUBIN_ROOT" },
	{ "meta_directory", "yubin's folders come from YUBIN_ROOT" },
	{ "shlib_directory", "yubin has no shared libraries of its own" },
	{ "config_directory", "control files are in $YUBIN_ROOT/control" },
	{ "html_directory", "documentation is in the man pages" },
	{ "manpage_directory", "man pages are installed by make install" },
	{ "sample_directory", "control/ holds the documented defaults" },
	{ "readme_directory", "documentation is in the man pages" },
	{ "sendmail_path", "sendmail is $YUBIN_ROOT/bin/sendmail" },
	{ "newaliases_path", "newaliases is $YUBIN_ROOT/bin/newaliases" },
	{ "mailq_path", "mailq is $YUBIN_ROOT/bin/mailq" },
	{ "mail_owner", "accounts are made by yubin-setup" },
	{ "setgid_group", "accounts are made by yubin-setup" },
	{ "debug_peer_level", "no debugging hooks; every event is one log line" },
	{ "debug_peer_list", "no debugging hooks; every event is one log line" },
	{ "debugger_command", "no debugging hooks; every event is one log line" },
	{ "compatibility_level", "yubin has one behaviour, the documented one" },
	{ "smtpd_sasl_type", "one built-in authentication service serves every program (yubin-ctl auth-test)" },
	{ "smtpd_sasl_path", "one built-in authentication service serves every program (yubin-ctl auth-test)" },
	{ "smtpd_sasl_local_domain", "logins are full addresses for virtual users, account names for system users" },
	{ "cyrus_sasl_config_path", "one built-in authentication service serves every program" },
	{ "smtpd_sasl_security_options", "anonymous logins are always refused" },
	{ "smtpd_tls_loglevel", "each TLS session is logged in one line" },
	{ "smtp_tls_loglevel", "each TLS session is logged in one line" },
	{ "smtpd_tls_session_cache_database", "no TLS session cache is kept" },
	{ "smtpd_tls_session_cache_timeout", "no TLS session cache is kept" },
	{ "smtp_tls_session_cache_database", "no TLS session cache is kept" },
	{ "tls_random_source", "BearSSL seeds itself from the kernel" },
	{ "syslog_name", "log lines start with the program's name (yubin-submission)" },
	{ "syslog_facility", "programs log to stderr; the service manager routes it" },
	{ "milter_macro_daemon_name", "yubin has no milter interface" },
	{ "biff", "no biff notifications" },
	{ "smtpd_tls_wrappermode", "port 465 speaks TLS from the start in yubin-submission's socket unit" },
	{ "smtpd_relay_restrictions", "not a separate list in yubin: put its words at the front of smtpd_recipient_restrictions" },
};

/* Postfix parameters whose tables go to one fixed file in control/ */
static const struct { const char *name, *text, *re; } fixed[] = {
	{ "alias_maps", "aliases", NULL },
	{ "alias_database", "aliases", NULL },
	{ "virtual_alias_maps", "virtual", "virtual.regexp" },
	{ "header_checks", NULL, "header_checks" },
	{ "body_checks", NULL, "body_checks" },
};

/* old Postfix TLS switches, read when the new name is not set */
static const struct { const char *name, *target, *yes; } renamed[] = {
	{ "smtpd_use_tls", "smtpd_tls_security_level", "may" },
	{ "smtpd_enforce_tls", "smtpd_tls_security_level", "encrypt" },
	{ "smtp_use_tls", "smtp_tls_security_level", "may" },
	{ "smtp_enforce_tls", "smtp_tls_security_level", "encrypt" },
};

#define COUNT(a) (sizeof (a) / sizeof (a)[0])

static struct param *find_param(const char *name)
{
	for (size_t i = 0; i < nparams; i++)
		if (strcmp(params[i].name, name) == 0) return &params[i];
	return NULL;
}

static void not_mapped(struct import *im, const char *where, const char *name, const char *why)
{
	printf("%s: %s: not mapped: %s\n", where, name, why);
	im->unmapped++;
}

/* edit distance, for "did you mean" (names are short; longer ones never match) */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];
	if (la > 64 || lb > 64) return 99;
	for (size_t j = 0; j <= lb; j++) row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best) best = up + 1;
			if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static const char *closest(const char *name)
{
	const char *best = NULL;
	size_t bd = 3;   /* two typos at most */
	for (size_t i = 0; i < settings_count; i++) {
		size_t d = distance(name, settings[i].name);
		if (d < bd) { bd = d; best = settings[i].name; }
	}
	for (size_t i = 0; i < COUNT(fixed); i++) {
		size_t d = distance(name, fixed[i].name);
		if (d < bd) { bd = d; best = fixed[i].name; }
	}
	return best;
}

/* $name of a parameter defined only in main.cf (user-defined, as the
 * seeds' $mua_client_restrictions) is replaced by its value; $name of a
 * yubin setting stays; anything else is warned about. */
static char *inline_custom(const char *where, const char *pname, const char *v, int depth)
{
	struct buf out = BUF_INIT;
	size_t n = strlen(v);
	for (size_t i = 0; i < n;) {
		if (v[i] != '$' || i + 1 == n) {
			if (buf_addc(&out, v[i++]) < 0) die_nomem();
			continue;
		}
		size_t s = i + 1, e;
		char close = v[s] == '{' ? '}' : v[s] == '(' ? ')' : 0;
		if (close) s++;
		for (e = s; e < n && e - s < 64 && ((v[e] >= 'a' && v[e] <= 'z') || (v[e] >= 'A' && v[e] <= 'Z') ||
		                                    (v[e] >= '0' && v[e] <= '9') || v[e] == '_'); e++) {}
		char name[65];
		memcpy(name, v + s, e - s);
		name[e - s] = 0;
		size_t end = close && e < n && v[e] == close ? e + 1 : e;
		struct param *p = e > s && !setting_find(name) ? find_param(name) : NULL;
		if (p && depth < 8) {
			char *sub = inline_custom(where, pname, p->value, depth + 1);
			p->inlined = 1;
			if (buf_adds(&out, sub) < 0) die_nomem();
			free(sub);
		} else {
			if (e > s && !p && !setting_find(name))
				printf("%s: %s: warning: $%s is not a yubin setting; it expands to nothing\n", where, pname, name);
			if (buf_add(&out, v + i, end - i) < 0) die_nomem();
		}
		i = end;
	}
	if (buf_add(&out, "", 0) < 0) die_nomem();
	return out.s;
}

static void report_unknown(struct import *im, const char *where, const char *name)
{
	const char *near = closest(name);
	char msg[200];
	if (near) snprintf(msg, sizeof msg, "unknown parameter; did you mean %s?", near);
	else snprintf(msg, sizeof msg, "yubin has no such setting (yubin-ctl config -d lists them)");
	not_mapped(im, where, name, msg);
}

/* a number, time, size or boolean yubin cannot parse is written as it is
 * (yubin-ctl check then reports it), but said here first */
static void check_value(const char *where, const struct setting *st, const char *v)
{
	size_t n = strlen(v);
	long long ll;
	int b, bad = 0;
	if (strchr(v, '$')) return;
	switch (st->kind) {
	case SK_TIME: bad = parse_time(v, n, st->unit, &ll) < 0; break;
	case SK_SIZE: bad = parse_size(v, n, &ll) < 0; break;
	case SK_INT: bad = parse_int(v, n, &ll) < 0; break;
	case SK_BOOL: bad = parse_bool(v, n, &b) < 0; break;
	default: break;
	}
	if (bad) printf("%s: %s: warning: \"%s\" is not a value yubin reads here (yubin-ctl config -d shows the form)\n",
	                where, st->name, v);
}

/* one parameter: where it goes, or why it goes nowhere */
static void map_param(struct import *im, const char *where, const char *name, const char *raw, const char *prefix)
{
	char target[256];
	const char *why = NULL;
	char *value = inline_custom(where, name, raw, 0);
	if (snprintf(target, sizeof target, "%s%s", prefix, name) >= (int)sizeof target) {
		not_mapped(im, where, name, "name too long");
	} else if (setting_find(name)) {
		char *v = import_rewrite(im, name, value, &why);
		if (v) check_value(where, setting_find(name), v);
		if (v) import_write(im, target, v);
		else not_mapped(im, where, name, why);
		free(v);
	} else {
		size_t i;
		for (i = 0; i < COUNT(fixed) && strcmp(fixed[i].name, name) != 0; i++) {}
		if (i < COUNT(fixed) && !*prefix) {
			if (import_fixed(im, name, value, fixed[i].text, fixed[i].re, &why) < 0) not_mapped(im, where, name, why);
			goto out;
		}
		for (i = 0; i < COUNT(renamed) && strcmp(renamed[i].name, name) != 0; i++) {}
		if (i < COUNT(renamed) && !*prefix) {
			int b;
			if (find_param(renamed[i].target)) not_mapped(im, where, name, "replaced by the security level set in main.cf");
			else if (parse_bool(value, strlen(value), &b) < 0) not_mapped(im, where, name, "not yes or no");
			else if (b) import_write(im, renamed[i].target, renamed[i].yes);
			goto out;
		}
		for (i = 0; i < COUNT(ignored) && strcmp(ignored[i].name, name) != 0; i++) {}
		if (i < COUNT(ignored)) { not_mapped(im, where, name, ignored[i].why); goto out; }
		struct param *p = *prefix ? NULL : find_param(name);
		if (p) p->unknown = 1;   /* reported at the end, once we know whether $name used it */
		else report_unknown(im, where, name);
	}
out:
	free(value);
}

static void add_param(const char *name, size_t nl, const char *value, size_t vl, int line)
{
	char *nm = strndup(name, nl), *v = strndup(value, vl);
	if (!nm || !v) die_nomem();
	struct param *p = find_param(nm);
	if (p) {   /* Postfix: the last definition wins */
		free(p->value);
		p->value = v;
		p->line = line;
		free(nm);
		return;
	}
	struct param *g = realloc(params, (nparams + 1) * sizeof *g);
	if (!g) die_nomem();
	params = g;
	params[nparams++] = (struct param){ nm, v, line, 0, 0 };
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Calls fn for each logical line of a Postfix file: comment and blank
 * lines skipped, lines starting with whitespace joined to the previous
 * one with a space. */
static void logical_lines(const char *s, size_t n, void (*fn)(const char *, size_t, int, void *), void *arg)
{
	struct buf cur = BUF_INIT;
	int start = 0, lineno = 0;
	for (size_t i = 0; i < n;) {
		size_t e = i;
		while (e < n && s[e] != '\n') e++;
		size_t len = e - i;
		lineno++;
		while (len && is_space(s[i + len - 1])) len--;
		size_t k = 0;
		while (k < len && is_space(s[i + k])) k++;
		if (k < len && s[i + k] != '#') {
			if (k == 0 || !start) {
				if (start) fn(cur.s, cur.len, start, arg);
				buf_reset(&cur);
				start = lineno;
			} else if (buf_addc(&cur, ' ') < 0) die_nomem();
			if (buf_add(&cur, s + i + k, len - k) < 0) die_nomem();
		}
		i = e < n ? e + 1 : e;
	}
	if (start) fn(cur.s, cur.len, start, arg);
	buf_free(&cur);
}

static void main_cf_line(const char *s, size_t n, int line, void *arg)
{
	struct import *im = arg;
	const char *eq = memchr(s, '=', n);
	size_t nl = eq ? (size_t)(eq - s) : 0;
	while (nl && is_space(s[nl - 1])) nl--;
	int ok = eq && nl;
	for (size_t i = 0; ok && i < nl; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
	if (!ok) {
		printf("main.cf:%d: not mapped: not a \"name = value\" line: %.60s\n", line, s);
		im->unmapped++;
		return;
	}
	const char *v = eq + 1;
	size_t vl = n - (size_t)(v - s);
	while (vl && is_space(*v)) { v++; vl--; }
	add_param(s, nl, v, vl, line);
}

/* master.cf: the -o overrides of the smtpd services */
static void master_cf_line(const char *s, size_t n, int line, void *arg)
{
	struct import *im = arg;
	char *copy = strndup(s, n), *save = NULL, *f[8];
	if (!copy) die_nomem();
	int nf = 0;
	for (char *t = strtok_r(copy, " \t", &save); t; t = nf < 8 ? strtok_r(NULL, " \t", &save) : NULL) f[nf++] = t;
	if (nf < 8 || strcmp(f[1], "inet") != 0 || strcmp(f[7], "smtpd") != 0) { free(copy); return; }
	const char *svc = strrchr(f[0], ':') ? strrchr(f[0], ':') + 1 : f[0];
	int sub = !strcmp(svc, "submission") || !strcmp(svc, "587") || !strcmp(svc, "submissions") ||
	          !strcmp(svc, "smtps") || !strcmp(svc, "465");
	int port25 = !strcmp(svc, "smtp") || !strcmp(svc, "25");
	char where[64];
	snprintf(where, sizeof where, "master.cf:%d", line);
	if (!sub && !port25) {
		char msg[160];
		snprintf(msg, sizeof msg, "an smtpd service on %.40s: yubin listens on 25, 587 and 465 (see INSTALL)", f[0]);
		not_mapped(im, where, f[0], msg);
		free(copy);
		return;
	}
	for (char *t = strtok_r(NULL, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (strcmp(t, "-o") == 0) t = strtok_r(NULL, " \t", &save);
		else if (strncmp(t, "-o", 2) == 0) t += 2;
		else continue;
		char *eq = t ? strchr(t, '=') : NULL;
		if (!eq) { not_mapped(im, where, t ? t : "-o", "only -o name=value is read"); continue; }
		*eq = 0;
		if (port25)
			not_mapped(im, where, t, "a port 25 override: yubin-smtpd reads control/NAME; set it there if it is meant");
		else
			map_param(im, where, t, eq + 1, "submission_");
	}
	free(copy);
}

static char *read_cf(const struct import *im, const char *file, size_t *len, int must)
{
	char path[4096];
	if (snprintf(path, sizeof path, "%s/%s", im->dir, file) >= (int)sizeof path)
		die(EXIT_PERM, "%s: path too long", im->dir);
	char *s = import_slurp(path, CF_MAX, len);
	if (!s && (must || errno != ENOENT)) die_sys(must && errno == ENOENT ? EXIT_PERM : EXIT_TEMP, "cannot read %s", path);
	return s;
}

int cmd_import_postfix(int argc, char **argv)
{
	struct import im = { 0 };
	int opt;
	while ((opt = getopt(argc, argv, "n")) != -1) {
		if (opt == 'n') im.dry_run = 1;
		else die(EXIT_PERM, "usage: yubin-ctl import-postfix [-n] DIR");
	}
	if (optind + 1 != argc) die(EXIT_PERM, "usage: yubin-ctl import-postfix [-n] DIR");
	im.dir = argv[optind];
	char path[4096];
	struct stat st;
	if (!im.dry_run && (root_path(path, sizeof path, "control") < 0 || stat(path, &st) < 0))
		die(EXIT_TEMP, "%s: no instance here (set YUBIN_ROOT, or run yubin-run / yubin-setup first)", path);
	size_t len;
	char *cf = read_cf(&im, "main.cf", &len, 1);
	logical_lines(cf, len, main_cf_line, &im);
	struct param *cd = find_param("config_directory");
	im.confdir = cd ? cd->value : "/etc/postfix";
	for (size_t i = 0; i < nparams; i++) {
		char where[32];
		snprintf(where, sizeof where, "main.cf:%d", params[i].line);
		map_param(&im, where, params[i].name, params[i].value, "");
	}
	char *mf = read_cf(&im, "master.cf", &len, 0);
	if (mf) logical_lines(mf, len, master_cf_line, &im);
	for (size_t i = 0; i < nparams; i++) {
		if (!params[i].unknown) continue;
		char where[32];
		snprintf(where, sizeof where, "main.cf:%d", params[i].line);
		if (params[i].inlined)
			printf("%s: %s: used through $%s; its value was written in place\n", where, params[i].name, params[i].name);
		else
			report_unknown(&im, where, params[i].name);
	}
	printf("import-postfix: %d setting%s and %d table%s %s; %d parameter%s not mapped%s\n",
	       im.settings, im.settings == 1 ? "" : "s", im.tables, im.tables == 1 ? "" : "s",
	       im.dry_run ? "would be written" : "written", im.unmapped, im.unmapped == 1 ? "" : "s",
	       im.failed ? "; some tables failed (see above)" : "");
	if (!im.dry_run && !im.failed) printf("import-postfix: next, run yubin-ctl check\n");
	free(cf);
	free(mf);
	for (size_t i = 0; i < nparams; i++) { free(params[i].name); free(params[i].value); }
	free(params);
	for (size_t i = 0; i < im.ndone; i++) { free(im.done[i].name); free(im.done[i].source); }
	free(im.done);
	return im.failed ? 1 : 0;
}
