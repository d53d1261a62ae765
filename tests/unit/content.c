/* content.c — unit tests for src/lib/content.c: header_checks and
 * body_checks actions on a message fed in pieces of every size, logical
 * headers with continuation lines, header address rewriting, and the
 * bounds (overlong header, long body lines, body_limit). */
#include "tap.h"
#include "buf.h"
#include "content.h"
#include "control.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64], hpath[128], bpath[128];
static struct buf got, acts;

static void out(void *arg, const char *p, size_t n)
{
	(void)arg;
	buf_add(&got, p, n);
}

static void action(void *arg, const char *what, const char *text, int header, const char *line, size_t len)
{
	(void)arg;
	buf_addf(&acts, "%s[%s]%s:%.*s;", what, text, header ? "h" : "b", (int)len, line);
}

static int mapper(void *arg, const char *addr, struct buf *o)
{
	(void)arg;
	return strcmp(addr, "me@box.local") == 0 ? (buf_adds(o, "me@example.org") < 0 ? -1 : 1) : 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* run msg through in pieces of `step` bytes */
static void run(struct content *c, const char *msg, size_t step)
{
	buf_reset(&got);
	buf_reset(&acts);
	content_start(c);
	size_t n = strlen(msg);
	for (size_t i = 0; i < n; i += step) content_feed(c, msg + i, n - i < step ? n - i : step);
	content_finish(c);
}

static struct content base(void)
{
	struct content c;
	memset(&c, 0, sizeof c);
	c.header_checks = hpath;
	c.body_checks = bpath;
	c.header_max = 4096;
	c.line_max = 100;
	c.time_limit = 60;
	c.out = out;
	c.action = action;
	return c;
}

int main(void)
{
	snprintf(root, sizeof root, "/tmp/yubin-content-XXXXXX");
	ok(mkdtemp(root) != NULL, "temp root");
	setenv("YUBIN_ROOT", root, 1);
	snprintf(hpath, sizeof hpath, "%s/header_checks", root);
	snprintf(bpath, sizeof bpath, "%s/body_checks", root);
	write_file(hpath, "/^Subject: .*viagra/ REJECT no spam here\n/^X-Drop:/ IGNORE\n"
	                  "/^X-Old: (.*)/ REPLACE X-New: $1\n/^Subject: hold me/ HOLD held by rule\n"
	                  "/^Subject: warn me/ WARN just so you know\n/^Subject: bin/ DISCARD\n"
	                  "/^X-Mark:/ PREPEND X-Before: yes\n/^Received: .*multi/ WARN folded header seen\n");
	write_file(bpath, "/^secret/ REPLACE [redacted]\n/^drop this line/ IGNORE\n/^reject body/ REJECT bad body\n"
	                  "/^x{50}/ WARN long\n");

	struct content c = base();
	const char *msg = "Subject: hello\nX-Drop: gone\nX-Old: value\nReceived: from a\n\tby multi\n"
	                  "X-Mark: m\n\nbody one\nsecret stuff\ndrop this line\nlast\n";
	const char *want = "Subject: hello\nX-New: value\nReceived: from a\n\tby multi\nX-Before: yes\nX-Mark: m\n"
	                   "\nbody one\n[redacted]\nlast\n";
	int all = 1;
	for (size_t step = 1; step <= strlen(msg); step++) {
		run(&c, msg, step);
		if (!got.s || strcmp(got.s, want) != 0) {
			all = 0;
			printf("# step %zu got:\n%s", step, got.s ? got.s : "");
			break;
		}
	}
	ok(all, "IGNORE, REPLACE, PREPEND in headers and body, for every piece size");
	is_str(acts.s, "WARN[folded header seen]h:Received: from a\n\tby multi;",
	       "a folded header is matched as one, with its line break");

	run(&c, "Subject: buy viagra\n\nx\n", 3);
	is_str(acts.s, "REJECT[no spam here]h:Subject: buy viagra;", "REJECT with its text");
	run(&c, "Subject: hold me\n\n", 5);
	is_str(acts.s, "HOLD[held by rule]h:Subject: hold me;", "HOLD");
	run(&c, "Subject: warn me\n\n", 5);
	is_str(acts.s, "WARN[just so you know]h:Subject: warn me;", "WARN");
	run(&c, "Subject: bin it\n\n", 5);
	is_str(acts.s, "DISCARD[]h:Subject: bin it;", "DISCARD without text");
	run(&c, "Subject: x\n\nreject body\n", 4);
	is_str(acts.s, "REJECT[bad body]b:reject body;", "body REJECT");
	run(&c, "Subject: x\nnot a header line\nreject body\n", 4);
	is_str(acts.s, "REJECT[bad body]b:reject body;", "a non-header line starts the body");
	is_str(got.s, "Subject: x\nnot a header line\nreject body\n", "and passes unchanged");

	/* a long body line is looked at in pieces of line_max bytes */
	char longline[400];
	memset(longline, 'x', 300);
	memcpy(longline + 300, "\n", 2);
	char m2[500];
	snprintf(m2, sizeof m2, "A: b\n\n%s", longline);
	run(&c, m2, 7);
	struct buf want3 = BUF_INIT;
	for (int i = 0; i < 3; i++) {
		buf_adds(&want3, "WARN[long]b:");
		buf_add(&want3, longline, 100);
		buf_adds(&want3, ";");
	}
	is_str(acts.s, want3.s, "long line in pieces of line_max");
	buf_free(&want3);
	ok(got.len == 5 + 1 + 301, "long line passes whole");

	/* body_limit: only the first bytes are inspected */
	c.body_limit = 10;
	run(&c, "A: b\n\n0123456789\nreject body\n", 3);
	is_str(acts.s ? acts.s : "", "", "past body_checks_size_limit nothing is inspected");
	c.body_limit = 0;

	/* an overlong header passes uninspected, and the rest is still checked */
	struct content small = base();
	small.header_max = 1000;
	struct buf big = BUF_INIT;
	buf_adds(&big, "Subject: viagra ");
	for (int i = 0; i < 120; i++) buf_adds(&big, "0123456789");
	buf_adds(&big, "\n\tmore\nX-Drop: gone\n\nbody\n");
	run(&small, big.s, 64);
	ok(acts.len == 0, "overlong header not inspected");
	ok(got.len == big.len - strlen("X-Drop: gone\n"), "it passes whole; the next header is still checked");
	buf_free(&big);

	/* address rewriting in sender and recipient headers */
	struct content r = base();
	r.header_checks = r.body_checks = NULL;
	r.rewrite_classes = HDR_SENDER;
	r.rewrite = mapper;
	run(&r, "From: Me <me@box.local>\nTo: me@box.local\n\nme@box.local\n", 2);
	is_str(got.s, "From: Me <me@example.org>\nTo: me@box.local\n\nme@box.local\n", "only the classes asked for");
	r.rewrite_classes = HDR_SENDER | HDR_RECIPIENT;
	run(&r, "From: Me <me@box.local>\nCc: a@b,\n  me@box.local\n\n", 5);
	is_str(got.s, "From: Me <me@example.org>\nCc: a@b,\n  me@example.org\n\n", "folded recipient header");

	/* no tables: everything streams through unchanged */
	struct content none = base();
	none.header_checks = none.body_checks = NULL;
	run(&none, msg, 13);
	is_str(got.s, msg, "no checks: unchanged");
	run(&none, "no newline at the end", 4);
	is_str(got.s, "no newline at the end", "a last line without LF");
	content_free(&c);
	content_free(&small);
	content_free(&r);
	content_free(&none);

	/* yubin-ctl check's view of a result */
	char why[300];
	ok(content_action_check("REJECT no spam", 1, why, sizeof why) == 0, "REJECT with text");
	ok(content_action_check("hold", 0, why, sizeof why) == 0, "words in any case");
	ok(content_action_check("PREPEND X-Tag: yes", 1, why, sizeof why) == 0, "PREPEND a header");
	ok(content_action_check("PREPEND just text", 0, why, sizeof why) == 0, "PREPEND a body line");
	ok(content_action_check("PREPEND just text", 1, why, sizeof why) < 0 && strstr(why, "Name: value"),
	   "PREPEND in header_checks must be a header");
	ok(content_action_check("REPLACE", 0, why, sizeof why) < 0 && strstr(why, "needs"), "REPLACE needs text");
	ok(content_action_check("IGNORE it", 1, why, sizeof why) < 0 && strstr(why, "no text"), "IGNORE takes none");
	ok(content_action_check("FILTER smtp:x", 1, why, sizeof why) < 0 && strstr(why, "unknown action \"FILTER\""),
	   "an action the checks do not carry out");
	buf_free(&got);
	buf_free(&acts);
	return done_testing();
}
