/* table.c — unit tests for src/lib/table*.c: compiling postmap and aliases
 * text, cdb lookups (and seeing a rebuilt table), regexp tables, specs and
 * the Postfix address lookup order; bad input of every kind. */
#include "tap.h"
#include "control.h"
#include "table.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static const char *cpath(const char *name)
{
	static char p[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof p[k], "%s/control/%s", root, name);
	return p[k];
}

static void write_bytes(const char *name, const char *data, size_t n)
{
	FILE *f = fopen(cpath(name), "w");
	fwrite(data, 1, n, f);
	fclose(f);
}

static void write_file(const char *name, const char *text) { write_bytes(name, text, strlen(text)); }

/* value of key in NAME.cdb, or "(none)" / "(error)" */
static const char *get(const char *name, const char *key)
{
	static char out[4][256];
	static int k;
	char *v;
	k = (k + 1) % 4;
	int r = table_get(name, key, strlen(key), &v);
	snprintf(out[k], sizeof out[k], "%s", r < 0 ? "(error)" : r == 0 ? "(none)" : v);
	free(v);
	return out[k];
}

static const char *rx(const char *name, const char *subj, size_t n)
{
	static char out[4][256];
	static int k;
	char *v;
	k = (k + 1) % 4;
	int r = table_regexp(name, subj, n, &v);
	snprintf(out[k], sizeof out[k], "%s", r < 0 ? "(error)" : r == 0 ? "(none)" : v);
	free(v);
	return out[k];
}

static const char *addr(const char *spec, const char *a)
{
	static char out[4][256];
	static int k;
	char *v;
	k = (k + 1) % 4;
	int r = table_lookup_addr(spec, a, &v);
	snprintf(out[k], sizeof out[k], "%s", r < 0 ? "(error)" : r == 0 ? "(none)" : v);
	free(v);
	return out[k];
}

static int temp_files_left(void)
{
	char d[128];
	snprintf(d, sizeof d, "%s/control", root);
	DIR *dir = opendir(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(dir)))
		if (strstr(e->d_name, ".cdb.")) n++;
	closedir(dir);
	return n;
}

static void postmap_tests(void)
{
	write_file("access", "# comment\nFoo@Example.COM   OK\n\nbar  REJECT go away\n"
	                     "multi first\n   second  \n\t third\n"
	                     "crlf value\r\n"
	                     "foo@example.com DUPLICATE\n"
	                     "last no-newline");
	ok(table_compile(cpath("access")) == 0, "postmap table compiles");
	is_str(get("access", "foo@example.com"), "OK", "key stored lower-case, value kept");
	is_str(get("access", "FOO@EXAMPLE.com"), "OK", "lookup ignores case");
	is_str(get("access", "bar"), "REJECT go away", "value keeps inner spaces");
	is_str(get("access", "multi"), "first second third", "continuation lines join with one space");
	is_str(get("access", "crlf"), "value", "CR before LF dropped");
	is_str(get("access", "last"), "no-newline", "last line without newline");
	is_str(get("access", "nothing"), "(none)", "missing key");
	is_str(get("access", "# comment"), "(none)", "comments are not keys");
	is_str(get("nonexistent", "x"), "(none)", "missing table is empty");
	ok(temp_files_left() == 0, "no temp file left behind");

	/* rebuilt table is seen by the same process */
	write_file("access", "foo@example.com CHANGED\n");
	ok(table_compile(cpath("access")) == 0, "recompile");
	is_str(get("access", "foo@example.com"), "CHANGED", "rebuilt table seen at the next lookup");
	is_str(get("access", "bar"), "(none)", "old keys gone after rebuild");

	struct stat st;
	write_file("secret", "k v\n");
	chmod(cpath("secret"), 0640);
	ok(table_compile(cpath("secret")) == 0 && stat(cpath("secret.cdb"), &st) == 0 && (st.st_mode & 0777) == 0640,
	   "cdb gets the text file's mode");

	write_file("uncompiled", "k v\n");
	is_str(get("uncompiled", "k"), "(error)", "text without .cdb is a temporary error");

	/* bad input */
	errno = 0;
	write_bytes("nul", "a b\nc d\0e\n", 10);
	ok(table_compile(cpath("nul")) < 0 && errno == EINVAL, "NUL byte refused");
	write_file("nokey", "lonely\n");
	ok(table_compile(cpath("nokey")) < 0 && errno == EINVAL, "key without value refused");
	write_file("cont", "  starts with space\n");
	ok(table_compile(cpath("cont")) < 0 && errno == EINVAL, "continuation without a line refused");
	errno = 0;
	ok(table_compile(cpath("missing-file")) < 0 && errno == EINVAL, "missing text file is a usage error");
	size_t big = (1u << 20) + 10;
	char *huge = malloc(big);
	memset(huge, 'x', big);
	huge[1] = ' ';
	write_bytes("huge", huge, big);
	ok(table_compile(cpath("huge")) < 0 && errno == EINVAL, "overlong line refused");
	for (size_t i = 0; i < big; i += 1000) huge[i] = '\n';
	huge[1] = ' ';
	write_bytes("manylines", huge, big);
	ok(table_compile(cpath("manylines")) < 0, "lines without values refused");
	free(huge);
	struct stat st2;
	ok(stat(cpath("nul.cdb"), &st2) < 0 && stat(cpath("nokey.cdb"), &st2) < 0, "failed compile leaves no .cdb");
	ok(temp_files_left() == 0, "failed compile leaves no temp file");
	write_file("bad.cdb", "garbage");
	is_str(get("bad", "x"), "(error)", "truncated cdb is a temporary error");
	char longkey[5000];
	memset(longkey, 'a', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = 0;
	is_str(get("access", longkey), "(none)", "overlong key simply not found");
	char *v;
	ok(table_get("../etc", "x", 1, &v) < 0, "table name with a path refused");
	ok(table_get("access", "foo@example.com\0x", 17, &v) == 0, "key with NUL is a different key");
}

static void aliases_tests(void)
{
	write_file("aliases", "# system\nPostmaster: demo\nroot:\tadmin, \n  other@example.org\n"
	                      "\"odd name\": x\nprog: |/usr/bin/thing arg\n");
	ok(table_compile(cpath("aliases")) == 0, "aliases compile");
	is_str(get("aliases", "postmaster"), "demo", "alias name lower-cased");
	is_str(get("aliases", "root"), "admin, other@example.org", "alias continuation");
	is_str(get("aliases", "odd name"), "x", "quoted alias name");
	is_str(get("aliases", "prog"), "|/usr/bin/thing arg", "program alias kept whole");
	write_file("aliases", "no colon here\n");
	ok(table_compile(cpath("aliases")) < 0 && errno == EINVAL, "alias without colon refused");
	write_file("aliases", "empty:\n");
	ok(table_compile(cpath("aliases")) < 0 && errno == EINVAL, "alias without value refused");
	write_file("aliases", "\"open: x\n");
	ok(table_compile(cpath("aliases")) < 0 && errno == EINVAL, "unterminated quoted name refused");
	is_str(get("aliases", "postmaster"), "demo", "failed compile keeps the old table");
}

struct check_seen { unsigned long lines[8]; int n, results; };

static void check_report(void *arg, unsigned long line, const char *what)
{
	struct check_seen *c = arg;
	(void)what;
	if (c->n < 8) c->lines[c->n++] = line;
}

static void check_result(void *arg, unsigned long line, const char *result)
{
	struct check_seen *c = arg;
	(void)line, (void)result;
	c->results++;
}

static void regexp_tests(void)
{
	write_file("checks.regexp",
	           "# header checks\n"
	           "/^Subject: (.*) (spam)$/ REJECT $2 in ${1}!\n"
	           "/^X-Case: exact$/i FOUND sensitive\n"
	           "/^X-Case: ex/ FOUND insensitive\n"
	           "!/@/ NOAT\n"
	           "if /^To:/\n"
	           "/example\\.com/ TO-EXAMPLE\n"
	           "endif\n"
	           "|a/b| PIPE $$5\n"
	           "/x\\/y/ ESCAPED\n"
	           "/^long/ continued\n  result\n");
	is_str(rx("checks", "Subject: buy now spam", 21), "REJECT spam in buy now!", "$n and ${n} substituted");
	is_str(rx("checks", "X-Case: exact", 13), "FOUND sensitive", "i flag: case-sensitive match");
	is_str(rx("checks", "X-CASE: EXACT", 13), "FOUND insensitive", "default is case-insensitive (Postfix)");
	is_str(rx("checks", "plain", 5), "NOAT", "negated pattern");
	is_str(rx("checks", "To: a@example.com", 17), "TO-EXAMPLE", "rule inside if matches");
	is_str(rx("checks", "Cc: a@example.com", 17), "(none)", "if skips its rules");
	is_str(rx("checks", "a/b@", 4), "PIPE $5", "other delimiter, $$ is a dollar");
	is_str(rx("checks", "x/y@", 4), "ESCAPED", "escaped delimiter");
	is_str(rx("checks", "long@", 5), "continued result", "continuation line in a regexp table");
	is_str(rx("checks", "Subject: a spam\0junk", 15), "REJECT spam in a!", "subject bounded by its length");
	is_str(rx("checks", "zz\0@", 4), "(none)", "bytes after a NUL in the subject are seen");
	is_str(rx("none", "x", 1), "(none)", "missing regexp table is empty");
	is_str(addr("regexp:checks", "user@example.com"), "(none)", "regexp spec by address");
	ok(table_compile(cpath("checks.regexp")) == 0, "yubin-map checks a good regexp table");

	write_file("checks.regexp", "/^new/ NEW\n");
	is_str(rx("checks", "new@", 4), "NEW", "changed regexp table reread");

	static const char *bad[] = {
		"/unclosed REJECT\n", "/a/ \n", "/a/q REJECT\n", "/(/ REJECT\n", "/(a)/ $2\n",
		"!/(a)/ $1\n", "if /a/\n/b/ X\n", "endif\n", "noslash X\n", "if /a/ extra\n/b/ X\nendif\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		write_file("bad.regexp", bad[i]);
		char msg[64];
		snprintf(msg, sizeof msg, "bad regexp table %zu refused", i);
		ok(strcmp(rx("bad", "a", 1), "(error)") == 0 && table_compile(cpath("bad.regexp")) < 0, "%s", msg);
	}
	write_bytes("nul.regexp", "/a/ X\0\n", 7);
	is_str(rx("nul", "a", 1), "(error)", "NUL in regexp table refused");

	/* yubin-ctl check: every bad line reported, results handed over */
	write_file("checked.regexp", "/ok/ A\n/(/ B\n/x/q C\nif /y/\n/z/ D\nendif\n/(a)/ $2\nif /w/\n");
	struct check_seen seen = { { 0 }, 0, 0 };
	int problems = regexp_check_rules(cpath("checked.regexp"), check_report, check_result, &seen);
	ok(problems == 4, "four problems found, not just the first (%d)", problems);
	ok(seen.n == 4 && seen.lines[0] == 2 && seen.lines[1] == 3 && seen.lines[2] == 7 && seen.lines[3] == 0,
	   "reported at lines 2, 3, 7 and for the file (if without endif)");
	ok(seen.results == 2, "the results of the good rules are handed over");
	write_file("checked.regexp", "if /(/\n/a/ A\nendif\nif /b/ junk\nendif\n");
	memset(&seen, 0, sizeof seen);
	ok(regexp_check_rules(cpath("checked.regexp"), check_report, check_result, &seen) == 2 && seen.n == 2 &&
	   seen.lines[0] == 1 && seen.lines[1] == 4, "a bad if is one problem, its endif none");
	ok(regexp_check_rules(cpath("no-such.regexp"), check_report, NULL, &seen) < 0 && errno == ENOENT,
	   "a missing file is an error of its own");
}

static void spec_tests(void)
{
	write_file("mydestination", "localhost\n");
	write_file("myorigin", "localhost\n");
	control_reload();
	write_file("virtual", "user+ext@example.com exact\nuser@example.com plain\n"
	                      "local-only stripped\nbare@localhost full\n@example.com catchall\n"
	                      "bare bare-user\nsys+x user-ext\n");
	ok(table_compile(cpath("virtual")) == 0, "virtual compiles");
	is_str(addr("virtual", "user+ext@example.com"), "exact", "user+ext@domain first");
	is_str(addr("virtual", "user+other@example.com"), "plain", "then user@domain");
	is_str(addr("virtual", "USER@Example.Com"), "plain", "address lookup ignores case");
	is_str(addr("virtual", "nobody@example.com"), "catchall", "@domain catch-all last");
	is_str(addr("virtual", "bare@localhost"), "full", "full address before bare user");
	is_str(addr("virtual", "bare+x@localhost"), "full", "extension stripped before bare user");
	is_str(addr("virtual", "sys+x@localhost"), "user-ext", "bare user+ext for a local domain");
	is_str(addr("virtual", "bare@remote.test"), "(none)", "bare user not tried for other domains");
	is_str(addr("virtual", "bare"), "bare-user", "address without domain");
	is_str(addr("hash:/etc/postfix/virtual", "user@example.com"), "plain", "Postfix hash: spec");
	char *v;
	int unext = -1;
	ok(table_lookup_addr_ext("virtual", "user+other@example.com", &v, &unext) == 1 && unext == 1,
	   "matched without its extension: said so");
	free(v);
	ok(table_lookup_addr_ext("virtual", "user+ext@example.com", &v, &unext) == 1 && unext == 0,
	   "matched with it: not");
	free(v);
	ok(table_lookup_addr_ext("virtual", "bare+x@localhost", &v, &unext) == 1 && unext == 1, "bare user stripped");
	free(v);
	ok(table_lookup_addr_ext("virtual", "nobody+x@example.com", &v, &unext) == 1 && unext == 0,
	   "@domain is no extension match");
	free(v);
	ok(table_lookup("virtual", "@example.com", &v) == 1 && !strcmp(v, "catchall"), "table_lookup exact key");
	free(v);
	ok(table_lookup("cdb:virtual.cdb", "bare", &v) == 1, "cdb: spec with suffix");
	free(v);
	ok(table_lookup("nosuchtype:virtual", "bare", &v) < 0, "unknown table type refused");
	ok(table_lookup("hash:", "bare", &v) < 0, "empty table name refused");
	ok(table_lookup("hash:/etc/.hidden", "bare", &v) < 0, "dot file name refused");
	write_file("acc.regexp", "/^(.*)@evil\\.test$/ REJECT $1\n");
	ok(table_lookup("regexp:/etc/postfix/acc.regexp", "bob@evil.test", &v) == 1 && !strcmp(v, "REJECT bob"),
	   "regexp: spec with Postfix path");
	free(v);
	is_str(addr("regexp:acc", "bob+tag@evil.test"), "REJECT bob+tag", "regexp sees the extension first");
	write_file("acc2.regexp", "/^bob@evil\\.test$/ STRIPPED\n");
	is_str(addr("regexp:acc2", "bob+tag@evil.test"), "STRIPPED", "then the address without extension");
	ok(table_query_file(cpath("virtual"), "BARE", 4, &v) == 1 && !strcmp(v, "bare-user"), "query by file path");
	free(v);
	ok(table_query_file(cpath("acc.regexp"), "x@evil.test", 11, &v) == 1, "query a regexp file by path");
	free(v);
}

int main(void)
{
	snprintf(root, sizeof root, "/tmp/yubin-table-XXXXXX");
	ok(mkdtemp(root) != NULL, "temp root");
	setenv("YUBIN_ROOT", root, 1);
	char d[128];
	snprintf(d, sizeof d, "%s/control", root);
	mkdir(d, 0755);
	postmap_tests();
	aliases_tests();
	regexp_tests();
	spec_tests();
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	if (system(cmd) != 0) return 1;
	return done_testing();
}
