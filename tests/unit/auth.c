/* auth.c — unit tests for src/lib/auth.c: virtual users, system-account
 * refusals, the external checkpassword program, and the exact shape of the
 * fail2ban log lines (stderr is captured into a file). */
#include "tap.h"
#include "auth.h"
#include "control.h"
#include "table.h"
#include "users.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256], logpath[300];

static void put(const char *name, const char *text, mode_t mode)
{
	char path[512];
	snprintf(path, sizeof path, "%s/control/%s", root, name);
	FILE *f = fopen(path, "w");
	if (!f) { perror(path); exit(1); }
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* run auth_check_mech with stderr going to a file; returns its result and
 * leaves the log text in out */
static int logged(const char *login, const char *pw, const char *mech, char *out, size_t max)
{
	fflush(stderr);
	int saved = dup(2);
	int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	int r = auth_check_mech(login, pw, "smtp", "192.0.2.1", mech);
	dup2(saved, 2);
	close(saved);
	FILE *f = fopen(logpath, "r");
	size_t n = f ? fread(out, 1, max - 1, f) : 0;
	out[n] = 0;
	if (f) fclose(f);
	return r;
}

int main(void)
{
	struct auth_result r;
	char line[1024], path[512];
	snprintf(root, sizeof root, "/tmp/yubin-auth-XXXXXX");
	if (!mkdtemp(root)) return 1;
	snprintf(logpath, sizeof logpath, "%s/log", root);
	setenv("YUBIN_ROOT", root, 1);
	snprintf(path, sizeof path, "%s/control", root);
	mkdir(path, 0755);

	put("auth_cache_ttl", "0\n", 0644);   /* every check a real one, until the cache's turn */
	char *h = password_hash("s3cret pass");
	ok(h != NULL, "hash made");
	char users[512];
	snprintf(users, sizeof users, "bob@example.test %s\n", h ? h : "x");
	free(h);
	put("users", users, 0600);
	snprintf(path, sizeof path, "%s/control/users", root);
	ok(table_compile(path) == 0, "users table compiled");

	ok(auth_verify("bob@example.test", "s3cret pass", &r) == 1 && r.backend == AUTH_VIRTUAL, "virtual user: good password");
	ok(auth_verify("Bob@Example.TEST", "s3cret pass", &r) == 1, "login is case-insensitive");
	ok(auth_verify("bob@example.test", "s3cret", &r) == 0 && !strcmp(r.reason, "bad password"), "bad password");
	ok(auth_verify("bob@example.test", "", &r) == 0, "empty password");
	ok(auth_verify("eve@example.test", "s3cret pass", &r) == 0 && !strcmp(r.reason, "unknown user"), "unknown virtual user");
	ok(auth_verify("", "x", &r) == 0, "empty login");
	ok(auth_verify("root", "whatever", &r) == 0 && !strcmp(r.reason, "root login refused"), "root never logs in");
	ok(auth_verify("no-such-account-xyz", "pw", &r) == 0 && !strcmp(r.reason, "unknown user"), "unknown system account");
	{
		char big[600];
		memset(big, 'a', sizeof big - 1);
		big[sizeof big - 1] = 0;
		ok(auth_verify(big, "pw", &r) == 0 && auth_verify("bob@example.test", big, &r) == 0, "overlong login or password");
	}

	ok(logged("bob@example.test", "nope", "PLAIN", line, sizeof line) == 0 &&
	   strstr(line, "auth failed: service=smtp rip=192.0.2.1 user=<bob@example.test> mech=PLAIN reason=bad password\n"),
	   "failure line for fail2ban");
	printf("# %s", line);
	ok(logged("bob@example.test", "s3cret pass", "LOGIN", line, sizeof line) == 1 &&
	   strstr(line, "auth ok: service=smtp rip=192.0.2.1 user=<bob@example.test> mech=LOGIN backend=virtual\n"),
	   "success line");
	ok(logged("x> rip=6.6.6.6 <y\r\n", "pw", NULL, line, sizeof line) == 0 &&
	   strstr(line, "rip=192.0.2.1 user=<x?" "?rip=6.6.6.6?" "?y?" "?> mech=- reason="),
	   "a hostile login cannot break out of user=<...> or add a line");
	ok(strchr(line, '\n') == line + strlen(line) - 1, "one line");

	/* external checkpassword: succeeds for ext/pw, temporary for "temp" */
	snprintf(path, sizeof path, "%s/cp.sh", root);
	FILE *f = fopen(path, "w");
	fputs("#!/bin/sh\n"
	      "dd bs=600 count=1 <&3 2>/dev/null | tr '\\000' '\\n' | {\n"
	      "  read l; read p; read t\n"
	      "  [ \"$l\" = temp ] && exit 111\n"
	      "  [ -n \"$t\" ] || exit 2\n"
	      "  [ \"$l\" = ext ] && [ \"$p\" = pw ] && exec \"$@\"\n"
	      "  exit 1; }\n", f);
	fclose(f);
	chmod(path, 0755);
	snprintf(line, sizeof line, "%s\n", path);
	put("checkpassword", line, 0644);
	control_reload();
	ok(auth_verify("ext", "pw", &r) == 1 && r.backend == AUTH_EXTERNAL, "checkpassword program says yes");
	ok(auth_verify("ext", "bad", &r) == 0 && !strcmp(r.reason, "checkpassword refused"), "checkpassword program says no");
	ok(auth_verify("temp", "pw", &r) == -1, "checkpassword exit 111 is temporary");
	ok(auth_verify("bob@example.test", "s3cret pass", &r) == 1 && r.backend == AUTH_VIRTUAL,
	   "virtual users still answer first");
	put("checkpassword", "/nonexistent/prog\n", 0644);
	control_reload();
	ok(auth_verify("ext", "pw", &r) == -1, "missing checkpassword program is temporary");

	/* sasl + auth as a protocol engine would chain them */
	struct sasl s;
	char chal[SASL_CHAL_MAX];
	ok(sasl_begin(&s, "PLAIN", 5, "AGJvYkBleGFtcGxlLnRlc3QAczNjcmV0IHBhc3M=", 40, 1, chal, sizeof chal) == SASL_OK &&
	   auth_verify(s.login, s.password, &r) == 1, "SASL PLAIN into auth_verify");
	sasl_wipe(&s);

	/* the verified-login cache (authcache.h) */
	put("checkpassword", "", 0644);
	put("auth_cache_ttl", "1h\n", 0644);
	control_reload();
	ok(auth_verify("bob@example.test", "s3cret pass", &r) == 1 && !r.cached, "cache: the first login runs crypt");
	ok(auth_verify("bob@example.test", "s3cret pass", &r) == 1 && r.cached, "cache: the next one is a hit");
	ok(auth_verify("BOB@example.test", "s3cret pass", &r) == 1 && r.cached, "cache: under the same lower-cased login");
	ok(auth_verify("bob@example.test", "s3cret pasS", &r) == 0 && !r.cached, "cache: a wrong password is never a hit");
	ok(logged("bob@example.test", "s3cret pass", "PLAIN", line, sizeof line) == 1 &&
	   strstr(line, "auth ok: service=smtp rip=192.0.2.1 user=<bob@example.test> mech=PLAIN backend=virtual cache=hit\n"),
	   "cache: the log line says cache=hit");
	h = password_hash("new pass");
	snprintf(users, sizeof users, "bob@example.test %s\n", h ? h : "x");
	free(h);
	put("users", users, 0600);
	snprintf(path, sizeof path, "%s/control/users", root);
	ok(table_compile(path) == 0, "cache: users table compiled with a new password");
	ok(auth_verify("bob@example.test", "s3cret pass", &r) == 0, "cache: the old password fails at once");
	ok(auth_verify("bob@example.test", "new pass", &r) == 1 && !r.cached, "cache: the new one is checked for real");
	put("users", "alice@example.test x\n", 0600);
	ok(table_compile(path) == 0 && auth_verify("bob@example.test", "new pass", &r) == 0 &&
	   !strcmp(r.reason, "unknown user"), "cache: a removed user fails at once");
	put("auth_cache_ttl", "0\n", 0644);
	control_reload();
	ok(auth_verify("alice@example.test", "x", &r) == 0, "cache: a locked hash never logs in");

	snprintf(path, sizeof path, "rm -rf %s", root);
	if (system(path) != 0) return 1;
	return done_testing();
}
