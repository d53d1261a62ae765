/* check.c — `yubin-ctl check` (postfix check): every control file's value
 * parses, every compiled table is newer than its source, the TLS files are
 * usable, the regexp tables (header_checks, body_checks, NAME.regexp) parse
 * as lookups parse them, with actions header/body checks know, and, as
 * root, the accounts, owners and modes are right. One line per problem
 * naming the file (and line) and what to do; exit 1 if any. */
#include "ctl.h"
#include "cidr.h"
#include "content.h"
#include "control.h"
#include "log.h"
#include "starttls.h"
#include "table.h"

#include <dirent.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int problems;

static void problem(const char *fmt, const char *a, const char *b)
{
	fprintf(stdout, "yubin-ctl: ");
	fprintf(stdout, fmt, a, b);
	fputc('\n', stdout);
	problems++;
}

/* the services mostly share their TLS files: each problem is said once */
static void tls_line(const char *line)
{
	static char *seen[32];
	static size_t nseen;
	for (size_t i = 0; i < nseen; i++)
		if (strcmp(seen[i], line) == 0) return;
	if (nseen < sizeof seen / sizeof seen[0] && (seen[nseen] = strdup(line))) nseen++;
	printf("yubin-ctl: %s\n", line);
	if (strncmp(line, "warning:", 8) != 0) problems++;
}

/* each set file of a known kind parses */
static void check_values(void)
{
	for (size_t i = 0; i < settings_count; i++) {
		const struct setting *s = &settings[i];
		if (!control_is_set(s->name)) continue;
		const char *v = control_get(s->name);
		size_t n = strlen(v);
		long long ll;
		int b, bad = 0;
		switch (s->kind) {
		case SK_TIME: bad = parse_time(v, n, s->unit, &ll) < 0; break;
		case SK_SIZE: bad = parse_size(v, n, &ll) < 0; break;
		case SK_INT: bad = parse_int(v, n, &ll) < 0; break;
		case SK_BOOL: bad = parse_bool(v, n, &b) < 0; break;
		default: break;
		}
		if (bad) problem("control/%s: bad value \"%s\"; see yubin-ctl config -d for the form", s->name, v);
	}
	const char *const *nets;
	size_t k = control_list("mynetworks", &nets);
	for (size_t i = 0; i < k; i++) {
		struct cidr c;
		if (cidr_parse(nets[i], strlen(nets[i]), &c) < 0)
			problem("control/mynetworks: \"%s\" is not an address or network (192.0.2.0/24, [2001:db8::]/32)%s", nets[i], "");
	}
}

/* control/NAME newer than control/NAME.cdb: run yubin-map */
static void check_tables(void)
{
	char dir[4096];
	if (root_path(dir, sizeof dir, "control") < 0) return;
	DIR *d = opendir(dir);
	if (!d) { problem("%s: cannot read the control folder%s", dir, ""); return; }
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 4, ".cdb") != 0) continue;
		char src[4096 + 256], cdb[4096 + 256];
		snprintf(cdb, sizeof cdb, "%s/%s", dir, e->d_name);
		snprintf(src, sizeof src, "%s/%.*s", dir, (int)(n - 4), e->d_name);
		struct stat a, b;
		if (stat(src, &a) == 0 && stat(cdb, &b) == 0 &&
		    (a.st_mtim.tv_sec > b.st_mtim.tv_sec ||
		     (a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec > b.st_mtim.tv_nsec)))
			problem("%s is newer than its .cdb; run: yubin-map %s", src, src);
	}
	closedir(d);
}

struct rx_check {
	const char *path;
	int checks;  /* 0 a lookup table; 1 header_checks, 2 body_checks: actions too */
};

static void rx_problem(void *arg, unsigned long line, const char *what)
{
	const struct rx_check *c = arg;
	if (line) printf("yubin-ctl: %s:%lu: %s; fix or remove that line\n", c->path, line, what);
	else printf("yubin-ctl: %s: %s\n", c->path, what);
}

static void rx_result(void *arg, unsigned long line, const char *result)
{
	const struct rx_check *c = arg;
	char why[300];
	if (content_action_check(result, c->checks == 1, why, sizeof why) < 0) {
		printf("yubin-ctl: %s:%lu: %s\n", c->path, line, why);
		problems++;
	}
}

static void check_regexp(const char *path, int checks)
{
	struct rx_check c = { path, checks };
	int n = regexp_check_rules(path, rx_problem, checks ? rx_result : NULL, &c);
	if (n < 0) problem("%s: cannot read it; fix its owner or mode%s", path, "");
	else problems += n;
}

/* header_checks and body_checks (always regexp tables), and NAME.regexp */
static void check_regexp_tables(void)
{
	static const char *const checks[] = { "control/header_checks", "control/body_checks" };
	char path[4096];
	for (int i = 0; i < 2; i++)
		if (root_path(path, sizeof path, checks[i]) == 0 && access(path, F_OK) == 0) check_regexp(path, i + 1);
	char dir[4096];
	if (root_path(dir, sizeof dir, "control") < 0) return;
	DIR *d = opendir(dir);
	if (!d) return; /* check_tables said so */
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 8 || strcmp(e->d_name + n - 7, ".regexp") != 0) continue;
		char file[4096 + 256];
		snprintf(file, sizeof file, "%s/%s", dir, e->d_name);
		check_regexp(file, 0);
	}
	closedir(d);
}

static void check_owner(const char *rel, const char *user, mode_t mode)
{
	char path[4096];
	struct stat st;
	struct passwd *pw = getpwnam(user);
	if (root_path(path, sizeof path, rel) < 0) return;
	if (stat(path, &st) < 0) { problem("%s is missing; run yubin-setup%s", path, ""); return; }
	if (pw && st.st_uid != pw->pw_uid) problem("%s should belong to %s; run yubin-setup", path, user);
	if ((st.st_mode & 07777) != mode) problem("%s has the wrong mode; run yubin-setup%s", path, "");
}

static void check_privileges(void)
{
	static const char *const accounts[] = { "yubind", "yubinq", "yubinr", "yubinv" };
	for (size_t i = 0; i < sizeof accounts / sizeof accounts[0]; i++)
		if (!getpwnam(accounts[i])) problem("account %s is missing; run yubin-setup%s", accounts[i], "");
	static const char *const qdirs[] = { "incoming", "active", "deferred", "hold", "defer" };
	char rel[64];
	for (size_t i = 0; i < sizeof qdirs / sizeof qdirs[0]; i++) {
		snprintf(rel, sizeof rel, "queue/%s", qdirs[i]);
		check_owner(rel, "yubinq", 02750);
	}
	check_owner("queue/tmp", "yubinq", 02700);
}

int cmd_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char path[4096];
	struct stat st;
	if (root_path(path, sizeof path, "control") < 0 || stat(path, &st) < 0)
		die(EXIT_TEMP, "%s: no instance here (set YUBIN_ROOT, or run yubin-run / yubin-setup)", path);
	check_values();
	check_tables();
	check_regexp_tables();
	static const char *const services[] = { "smtpd", "submission", "pop3d", "imapd" };
	for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
		tls_check_files(services[i], tls_line);
	if (geteuid() == 0) check_privileges();
	if (problems) printf("yubin-ctl: %d problem%s found\n", problems, problems == 1 ? "" : "s");
	return problems ? 1 : 0;
}
