/* control.c — unit tests for src/lib/control.c value parsing and lookup. */
#include "tap.h"
#include "buf.h"
#include "control.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *loop_lookup(const char *name, void *arg)
{
	(void)arg;
	if (strcmp(name, "a") == 0) return "x $b";
	if (strcmp(name, "b") == 0) return "$a";
	if (strcmp(name, "c") == 0) return "see";
	return NULL;
}

static size_t nitems;
static char items[8][32];
static void collect(const char *s, size_t n, void *arg)
{
	(void)arg;
	if (nitems < 8 && n < 32) { memcpy(items[nitems], s, n); items[nitems][n] = 0; }
	nitems++;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

int main(void)
{
	long long v;
	int b;
	ok(parse_time("300", 3, 's', &v) == 0 && v == 300, "time without unit uses the default unit");
	ok(parse_time("5d", 2, 's', &v) == 0 && v == 432000, "time in days");
	ok(parse_time("2", 1, 'd', &v) == 0 && v == 172800, "day-unit setting");
	ok(parse_time("1w", 2, 's', &v) == 0 && v == 604800, "weeks");
	ok(parse_time("10x", 3, 's', &v) < 0, "unknown unit refused");
	ok(parse_time("", 0, 's', &v) < 0, "empty refused");
	ok(parse_time("99999999999999999999", 20, 's', &v) < 0, "overflow refused");
	ok(parse_time("9999999999999999w", 17, 's', &v) < 0, "unit overflow refused");
	ok(parse_time("1\0s", 3, 's', &v) < 0, "NUL inside refused");
	ok(parse_time("10ms", 4, 'M', &v) == 0 && v == 10, "millisecond setting: ms suffix");
	ok(parse_time("250", 3, 'M', &v) == 0 && v == 250, "millisecond setting: no suffix is ms");
	ok(parse_time("2s", 2, 'M', &v) == 0 && v == 2000, "millisecond setting: seconds");
	ok(parse_time("1m", 2, 'M', &v) == 0 && v == 60000, "millisecond setting: minutes");
	ok(parse_time("10ms", 4, 's', &v) < 0, "ms suffix only where milliseconds are meant");
	ok(parse_time("10mx", 4, 'M', &v) < 0 && parse_time("ms", 2, 'M', &v) < 0, "bad millisecond values refused");
	ok(parse_time("9999999999999999w", 17, 'M', &v) < 0, "millisecond unit overflow refused");
	ok(parse_size("10240000", 8, &v) == 0 && v == 10240000, "size");
	ok(parse_size("10k", 3, &v) == 0 && v == 10240, "size with k");
	ok(parse_size("-1", 2, &v) < 0, "negative size refused");
	ok(parse_bool("Yes", 3, &b) == 0 && b == 1, "bool yes");
	ok(parse_bool("no", 2, &b) == 0 && b == 0, "bool no");
	ok(parse_bool("maybe", 5, &b) < 0, "bool garbage refused");
	ok(parse_int("550", 3, &v) == 0 && v == 550, "int");
	ok(parse_int("55 0", 4, &v) < 0, "int with space refused");

	nitems = 0;
	list_split("a, b,,c\n d\te", 13, collect, NULL);
	ok(nitems == 5 && !strcmp(items[0], "a") && !strcmp(items[4], "e"), "list split on commas, spaces, newlines");
	nitems = 0;
	list_split(" , ", 3, collect, NULL);
	ok(nitems == 0, "empty list");

	struct buf out = BUF_INIT;
	ok(expand_value("$c and ${c}.", 12, loop_lookup, NULL, &out) == 0 && !strcmp(out.s, "see and see."), "expansion");
	buf_reset(&out);
	ok(expand_value("$nothing!", 9, loop_lookup, NULL, &out) == 0 && !strcmp(out.s, "!"), "unknown name expands to nothing");
	buf_reset(&out);
	ok(expand_value("cost $", 6, loop_lookup, NULL, &out) == 0 && !strcmp(out.s, "cost $"), "trailing $ kept");
	buf_reset(&out);
	errno = 0;
	ok(expand_value("$a", 2, loop_lookup, NULL, &out) < 0 && errno == ELOOP, "expansion loop detected");
	buf_free(&out);

	char dir[] = "/tmp/yubin-control-XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp root");
	setenv("YUBIN_ROOT", dir, 1);
	char path[512];
	snprintf(path, sizeof path, "%s/control", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/control/myhostname", dir);
	write_file(path, "# the name\nmail.example.org\n");
	snprintf(path, sizeof path, "%s/control/mynetworks", dir);
	write_file(path, "127.0.0.0/8,\n  [::1]/128\n# end\n");
	snprintf(path, sizeof path, "%s/control/smtpd_timeout", dir);
	write_file(path, "bogus\n");
	is_str(control_get("myhostname"), "mail.example.org", "value read, comment skipped");
	is_str(control_get("mydomain"), "example.org", "mydomain derived from myhostname");
	is_str(control_get("myorigin"), "mail.example.org", "default expands $myhostname");
	is_str(control_get("mydestination"), "mail.example.org, localhost.example.org, localhost", "default with two expansions");
	ok(control_list_has("mydestination", "LOCALHOST"), "list membership ignores case");
	const char *const *it;
	ok(control_list("mynetworks", &it) == 2 && !strcmp(it[1], "[::1]/128"), "multi-line list");
	ok(control_time("smtpd_timeout") == 300, "bad value falls back to the default");
	ok(control_size("message_size_limit") == 10240000, "default size");
	ok(control_is_set("myhostname") && !control_is_set("relayhost"), "is_set");
	control_reload();
	snprintf(path, sizeof path, "%s/control/myhostname", dir);
	write_file(path, "other.test\n");
	is_str(control_get("myhostname"), "other.test", "reload rereads");
	write_file(path, "third.test\n");
	sleep(1); /* control_refresh looks at most once a second */
	ok(control_refresh() == 1, "refresh notices a changed file");
	is_str(control_get("myhostname"), "third.test", "refresh rereads");
	sleep(1);
	ok(control_refresh() == 0, "refresh with nothing changed keeps the cache");

	/* control_changed: what a reused smtpd worker asks before a session */
	control_reload();
	is_str(control_get("myhostname"), "third.test", "read again after reload");
	ok(!control_is_set("relayhost"), "a missing file is cached too");
	ok(control_changed() == 0, "changed: nothing touched");
	write_file(path, "fourth.test\n");
	ok(control_changed() == 1, "changed: a file read so far was rewritten");
	control_reload();
	is_str(control_get("myhostname"), "fourth.test", "reread");
	ok(!control_is_set("relayhost"), "still missing");
	ok(control_changed() == 0, "changed: nothing touched since");
	snprintf(path, sizeof path, "%s/control/relayhost", dir);
	write_file(path, "[smarthost.test]\n");
	ok(control_changed() == 1, "changed: a missing file was made (the directory changed)");
	for (int i = 0; i < 300; i++) { /* many names: hash chains */
		char name[32];
		snprintf(name, sizeof name, "no_such_setting_%d", i);
		control_get(name);
	}
	is_str(control_get("myhostname"), "fourth.test", "lookups still right with 300 more cached names");
	return done_testing();
}
