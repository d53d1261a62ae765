/* users.c — unit tests for src/lib/users.c: hashing (yescrypt by default),
 * checking good, bad, unknown and odd hashes, users.cdb lookups and the
 * virtual Maildir path with its safety checks. */
#include "tap.h"
#include "control.h"
#include "table.h"
#include "users.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static void write_file(const char *name, const char *text)
{
	char p[512];
	snprintf(p, sizeof p, "%s/control/%s", root, name);
	FILE *f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
	control_reload();
}

int main(void)
{
	snprintf(root, sizeof root, "/tmp/yubin-users-XXXXXX");
	ok(mkdtemp(root) != NULL, "temp root");
	setenv("YUBIN_ROOT", root, 1);
	char path[512];
	snprintf(path, sizeof path, "%s/control", root);
	mkdir(path, 0755);

	char *h = password_hash("s3cret pass");
	ok(h && strncmp(h, "$y$", 3) == 0, "yescrypt hash by default");
	ok(password_check(h, "s3cret pass") == 1, "right password");
	ok(password_check(h, "s3cret pasS") == 0, "wrong password");
	ok(password_check(h, "") == 0, "empty password");
	char *h2 = password_hash("s3cret pass");
	ok(h2 && strcmp(h, h2) != 0, "salted: two hashes differ");
	ok(password_check(NULL, "s3cret pass") == 0, "unknown user (dummy hash) fails");
	ok(password_check("!", "x") == 0 && password_check("*", "x") == 0, "locked hashes fail");
	ok(password_check("", "") == 0, "empty hash never matches");
	ok(password_check("$y$garbage", "x") == 0, "malformed hash fails");
	ok(password_check("$6$abc", "x") == 0, "truncated sha512 hash fails");

	struct crypt_data cd;
	memset(&cd, 0, sizeof cd);
	char *s = crypt_rn("other", "$6$saltsalt$", &cd, sizeof cd);
	char sha[CRYPT_OUTPUT_SIZE];
	snprintf(sha, sizeof sha, "%s", s ? s : "");
	ok(password_check(sha, "other") == 1 && password_check(sha, "nope") == 0, "sha512-crypt verifies");
	memset(&cd, 0, sizeof cd);
	s = crypt_rn("other", "$2b$05$abcdefghijklmnopqrstuu", &cd, sizeof cd);
	char bf[CRYPT_OUTPUT_SIZE];
	snprintf(bf, sizeof bf, "%s", s ? s : "");
	ok(password_check(bf, "other") == 1, "bcrypt verifies");
	char longpw[5000];
	memset(longpw, 'p', sizeof longpw - 1);
	longpw[sizeof longpw - 1] = 0;
	ok(password_check(h, longpw) == 0, "very long password just fails");

	char line[512];
	snprintf(line, sizeof line, "demo@example.test %s\n", h);
	write_file("users", line);
	snprintf(path, sizeof path, "%s/control/users", root);
	ok(table_compile(path) == 0, "users compiled");
	char *got;
	ok(users_get("demo@example.test", &got) == 1 && !strcmp(got, h), "users_get finds the hash");
	free(got);
	ok(users_get("DEMO@Example.Test", &got) == 1, "users_get ignores case");
	free(got);
	ok(users_get("nobody@example.test", &got) == 0 && got == NULL, "unknown user");
	free(h);
	free(h2);

	char dir[256];
	char want[512];
	snprintf(want, sizeof want, "%s/mail/example.test/demo", root);
	ok(virtual_maildir("Demo@Example.TEST", dir, sizeof dir) == 0 && !strcmp(dir, want), "maildir path");
	ok(virtual_maildir("..x@example.test", dir, sizeof dir) == 0, "'..' inside a longer name is fine");
	ok(virtual_maildir("..@example.test", dir, sizeof dir) < 0, "'..' user refused");
	ok(virtual_maildir(".@example.test", dir, sizeof dir) < 0, "'.' user refused");
	ok(virtual_maildir("a/b@example.test", dir, sizeof dir) < 0, "slash in user refused");
	ok(virtual_maildir("a@ex/ample", dir, sizeof dir) < 0, "slash in domain refused");
	ok(virtual_maildir("a@..", dir, sizeof dir) < 0, "'..' domain refused");
	ok(virtual_maildir("@example.test", dir, sizeof dir) < 0, "empty user refused");
	ok(virtual_maildir("a@", dir, sizeof dir) < 0, "empty domain refused");
	ok(virtual_maildir("nodomain", dir, sizeof dir) < 0, "no domain refused");
	ok(virtual_maildir("a\nb@x.y", dir, sizeof dir) < 0, "control character refused");
	errno = 0;
	ok(virtual_maildir("demo@example.test", dir, 10) < 0 && errno == ENAMETOOLONG, "small buffer refused");
	write_file("virtual_mailbox_base", "/srv/vmail\n");
	ok(virtual_maildir("demo@example.test", dir, sizeof dir) == 0 && !strcmp(dir, "/srv/vmail/example.test/demo"),
	   "absolute virtual_mailbox_base");

	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	if (system(cmd) != 0) return 1;
	return done_testing();
}
