/* rewrite.c — unit tests for src/lib/rewrite.c: canonical-style lookups
 * (user@domain, @domain with the local part kept, chains and loops, table
 * lists) and the header address scanner (display names, comments, quoted
 * strings, groups, folding, junk that must pass untouched). */
#include "tap.h"
#include "buf.h"
#include "control.h"
#include "rewrite.h"
#include "table.h"

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
}

static void map(const char *name, const char *text)
{
	char p[512];
	write_file(name, text);
	snprintf(p, sizeof p, "%s/control/%s", root, name);
	table_compile(p);
}

static const char *rw(const char *setting, const char *a)
{
	static char out[4][256];
	static int k;
	struct buf b = BUF_INIT;
	k = (k + 1) % 4;
	int r = rewrite_addr(setting, a, &b);
	snprintf(out[k], sizeof out[k], "%s", r < 0 ? "(error)" : r == 0 ? "(same)" : b.s);
	buf_free(&b);
	return out[k];
}

/* the test mapper: a@x -> new@y, *@old.test -> *@new.test, fail@x fails */
static int mapper(void *arg, const char *addr, struct buf *out)
{
	(*(int *)arg)++;
	if (strcmp(addr, "fail@x") == 0) return -1;
	if (strcmp(addr, "a@x") == 0) return buf_adds(out, "new@y") < 0 ? -1 : 1;
	const char *at = strchr(addr, '@');
	if (at && strcmp(at, "@old.test") == 0) {
		buf_add(out, addr, (size_t)(at - addr));
		return buf_adds(out, "@new.test") < 0 ? -1 : 1;
	}
	return 0;
}

static const char *hv(const char *v, int *calls)
{
	static char out[4][512];
	static int k;
	struct buf b = BUF_INIT;
	int n = 0;
	k = (k + 1) % 4;
	int r = rewrite_header_value(v, strlen(v), mapper, &n, &b);
	snprintf(out[k], sizeof out[k], "%s", r < 0 ? "(error)" : r == 0 ? "(same)" : b.s);
	if (calls) *calls = n;
	buf_free(&b);
	return out[k];
}

int main(void)
{
	snprintf(root, sizeof root, "/tmp/yubin-rewrite-XXXXXX");
	ok(mkdtemp(root) != NULL, "temp root");
	setenv("YUBIN_ROOT", root, 1);
	char d[128];
	snprintf(d, sizeof d, "%s/control", root);
	mkdir(d, 0755);
	write_file("myhostname", "mail.example.com\n");

	is_str(rw("canonical_maps", "x@y"), "(same)", "no tables: unchanged");
	map("canonical", "joe@example.com joseph.smith@example.com\n@old.example @new.example\n"
	                 "loop1@x loop2@x\nloop2@x loop1@x\nchain@a chain@b\nchain@b final@c\n");
	is_str(rw("canonical_maps", "joe@example.com"), "joseph.smith@example.com", "user@domain");
	is_str(rw("canonical_maps", "Joe@Example.COM"), "joseph.smith@example.com", "keys are case-insensitive");
	is_str(rw("canonical_maps", "anyone@old.example"), "anyone@new.example", "@domain result keeps the local part");
	is_str(rw("canonical_maps", "chain@a"), "final@c", "results are looked up again");
	ok(strcmp(rw("canonical_maps", "loop1@x"), "(error)") != 0, "a loop ends");
	is_str(rw("canonical_maps", "nobody@else.test"), "(same)", "unlisted address unchanged");
	is_str(rw("canonical_maps", ""), "(same)", "the null sender is never rewritten");
	map("generic", "@localdomain.local @example.org\n");
	write_file("smtp_generic_maps", "nosuch, generic\n");
	is_str(rw("smtp_generic_maps", "bob@localdomain.local"), "bob@example.org", "second table of a list");
	write_file("sender_canonical", "x y\n"); /* text without .cdb: not compiled */
	is_str(rw("sender_canonical_maps", "x"), "(error)", "uncompiled table is a temporary failure");

	ok(rewrite_header_class("From", 4) == HDR_SENDER, "From is a sender header");
	ok(rewrite_header_class("reply-to", 8) == HDR_SENDER, "Reply-To too");
	ok(rewrite_header_class("CC", 2) == HDR_RECIPIENT, "Cc is a recipient header");
	ok(rewrite_header_class("Subject", 7) == 0, "Subject is neither");

	int calls;
	is_str(hv(" a@x", NULL), " new@y", "bare address");
	is_str(hv(" Alice <a@x>", NULL), " Alice <new@y>", "angle address, name kept");
	is_str(hv(" \"Smith, A\" <a@x>, b@old.test (Bob)", NULL), " \"Smith, A\" <new@y>, b@new.test (Bob)",
	       "quoted comma, comment after a bare address");
	is_str(hv(" team: a@x, c@old.test;, z@z", NULL), " team: new@y, c@new.test;, z@z", "group members");
	is_str(hv(" a@x,\n\tc@old.test", NULL), " new@y,\n\tc@new.test", "folded list keeps its folding");
	is_str(hv(" (comment, with <a@x>) d@d", &calls), "(same)", "address inside a comment untouched");
	is_str(hv(" undisclosed-recipients:;", &calls), "(same)", "empty group");
	ok(calls == 0, "nothing offered for an empty group");
	is_str(hv(" Bob b@old.test", NULL), "(same)", "display name without <> is left alone");
	is_str(hv(" <@route,@r2:a@x>", NULL), "(same)", "source route left alone");
	is_str(hv(" <a@x", NULL), "(same)", "unterminated angle bracket");
	is_str(hv(" \"unterminated <a@x>", NULL), "(same)", "unterminated quote");
	is_str(hv(" fail@x", NULL), "(error)", "mapper failure reported");
	is_str(hv(" local-only", &calls), "(same)", "no @: not offered");
	ok(calls == 0, "mapper not called for it");
	is_str(hv("", NULL), "(same)", "empty value");

	/* propagate_unmatched_extensions (default "canonical, virtual") */
	const char *ext;
	ok(rewrite_extension("joe+news@example.com", &ext) == 5 && strncmp(ext, "+news", 5) == 0,
	   "extension with its delimiter");
	ok(rewrite_extension("joe@example.com", &ext) == 0 && *ext == 0, "no extension");
	ok(rewrite_extension("joe+a+b", &ext) == 4 && strcmp(ext, "+a+b") == 0, "bare local part, first delimiter");
	struct buf x = BUF_INIT;
	ok(rewrite_add_extension("new@y", 5, "+e", 2, &x) == 0 && strcmp(x.s, "new+e@y") == 0, "extension before @");
	ok(rewrite_add_extension("new", 3, "+e", 2, &x) == 0 && strcmp(x.s, "new+e") == 0, "appended without @");
	buf_free(&x);
	map("canonical", "joe@example.com joseph.smith@example.com\n@old.example @new.example\n"
	                 "joe+list@example.com lists@example.com\nchain@a chain@b\nchain@b final@c\n");
	is_str(rw("canonical_maps", "joe+news@example.com"), "joseph.smith+news@example.com",
	       "unmatched extension carried to the result");
	is_str(rw("canonical_maps", "joe+list@example.com"), "lists@example.com", "an extension the table names is not");
	is_str(rw("canonical_maps", "ann+x@old.example"), "ann+x@new.example", "@domain keeps it once");
	is_str(rw("canonical_maps", "chain+x@a"), "final+x@c", "kept through a chain");
	map("generic", "bob@host.local robert@example.org\n");
	write_file("smtp_generic_maps", "generic\n");
	control_reload();
	is_str(rw("smtp_generic_maps", "bob+x@host.local"), "robert@example.org", "generic does not propagate by default");
	write_file("propagate_unmatched_extensions", "virtual, generic\n");
	control_reload();
	is_str(rw("canonical_maps", "joe+news@example.com"), "joseph.smith@example.com", "canonical not listed: dropped");
	is_str(rw("smtp_generic_maps", "bob+x@host.local"), "robert+x@example.org", "generic listed: kept");
	ok(rewrite_propagates("virtual") && !rewrite_propagates("canonical"), "rewrite_propagates reads the setting");
	write_file("propagate_unmatched_extensions", "canonical\n");
	write_file("recipient_delimiter", "-\n");
	control_reload();
	is_str(rw("canonical_maps", "joe-news@example.com"), "joseph.smith-news@example.com", "recipient_delimiter");

	/* the canonical chain smtpd and sendmail share */
	char p[512];
	snprintf(p, sizeof p, "%s/control/sender_canonical", root);
	unlink(p);
	map("sender_canonical", "alice@a.test chain@a\n");
	const char *classes[] = { "envelope_sender", "Header_Recipient", "bogus" };
	ok(rewrite_canonical_classes(classes, 3) == (CANON_ENV_SENDER | CANON_HEAD_RECIPIENT), "canonical_classes words");
	ok(rewrite_canonical_headers(CANON_HEAD_SENDER | CANON_HEAD_RECIPIENT | CANON_ENV_SENDER) ==
	       (HDR_SENDER | HDR_RECIPIENT), "header classes with tables");
	ok(rewrite_canonical_headers(CANON_ENV_SENDER | CANON_ENV_RECIPIENT) == 0, "no header classes asked");
	struct buf c = BUF_INIT;
	ok(rewrite_canonical(1, "alice@a.test", &c) == 1 && strcmp(c.s, "final@c") == 0,
	   "sender: sender_canonical, then canonical");
	ok(rewrite_canonical(0, "alice@a.test", &c) == 0, "recipient: sender_canonical not used");
	ok(rewrite_canonical(0, "chain@a", &c) == 1 && strcmp(c.s, "final@c") == 0, "recipient: canonical");
	buf_free(&c);
	return done_testing();
}
