/* recipient.c — unit tests for src/lib/recipient.c: domain classes, relay
 * domains and recipient_check for virtual users, aliases, virtual aliases
 * (catch-all, alias domains, regexp), system accounts and root. */
#include "tap.h"
#include "control.h"
#include "recipient.h"
#include "table.h"

#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static const char *cpath(const char *name)
{
	static char p[512];
	snprintf(p, sizeof p, "%s/control/%s", root, name);
	return p;
}

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(cpath(name), "w");
	fputs(text, f);
	fclose(f);
}

static void table(const char *name, const char *text)
{
	write_file(name, text);
	if (table_compile(cpath(name)) < 0) printf("# compile of %s failed\n", name);
}

int main(void)
{
	snprintf(root, sizeof root, "/tmp/yubin-rcpt-XXXXXX");
	ok(mkdtemp(root) != NULL, "temp root");
	setenv("YUBIN_ROOT", root, 1);
	char d[128];
	snprintf(d, sizeof d, "%s/control", root);
	mkdir(d, 0755);
	write_file("myhostname", "mail.example.org\n");
	write_file("mydestination", "localhost, $myhostname\n");
	write_file("virtual_mailbox_domains", "example.test\n");
	write_file("relay_domains", "relay.test, .sub.test, hash:relaymap\n");
	table("relaymap", "fromtable.test OK\n");
	table("users", "demo@example.test $y$j9T$x$y\n");
	table("aliases", "postmaster: demo\nroot: demo\n");
	table("virtual", "example.net anything\ninfo@example.net demo@example.test\n"
	                 "catch.test anything\n@catch.test demo@example.test\n"
	                 "alias@example.test demo@example.test\n");
	write_file("virtual.regexp", "/^re-.*@example\\.test$/ demo@example.test\n");

	ok(domain_classify("localhost") == DOMAIN_SYSTEM, "mydestination is a system domain");
	ok(domain_classify("MAIL.example.org") == DOMAIN_SYSTEM, "$myhostname expanded, case ignored");
	ok(domain_classify("example.test") == DOMAIN_VIRTUAL, "virtual mailbox domain");
	ok(domain_classify("example.net") == DOMAIN_ALIAS, "bare key in virtual: alias domain");
	ok(domain_classify("elsewhere.test") == DOMAIN_REMOTE, "remote domain");
	ok(domain_classify("") == DOMAIN_REMOTE, "empty domain is not ours");
	ok(domain_is_local("example.net") && !domain_is_local("elsewhere.test"), "domain_is_local");
	ok(domain_is_relay("relay.test") && domain_is_relay("a.sub.test") && !domain_is_relay("sub.test"),
	   "relay_domains, .dom matches subdomains only");
	ok(domain_is_relay("fromtable.test") && !domain_is_relay("other.test"), "relay_domains table");

	ok(recipient_check("demo@example.test") == RCPT_LOCAL, "virtual user");
	ok(recipient_check("Demo@EXAMPLE.test") == RCPT_LOCAL, "virtual user, any case");
	ok(recipient_check("demo+tag@example.test") == RCPT_LOCAL, "virtual user with extension");
	ok(recipient_check("nobody@example.test") == RCPT_UNKNOWN, "unknown virtual user");
	ok(recipient_check("postmaster@example.test") == RCPT_LOCAL, "aliases apply to virtual domains");
	ok(recipient_check("alias@example.test") == RCPT_LOCAL, "virtual alias in a virtual domain");
	ok(recipient_check("re-anything@example.test") == RCPT_LOCAL, "virtual.regexp");
	ok(recipient_check("info@example.net") == RCPT_LOCAL, "virtual alias domain entry");
	ok(recipient_check("other@example.net") == RCPT_UNKNOWN, "unknown in a virtual alias domain");
	ok(recipient_check("anyone@catch.test") == RCPT_LOCAL, "catch-all @domain");
	ok(recipient_check("someone@elsewhere.test") == RCPT_REMOTE, "remote address");
	ok(recipient_check("postmaster@localhost") == RCPT_LOCAL, "alias in a system domain");
	ok(recipient_check("root@localhost") == RCPT_LOCAL, "root known through its alias");
	struct passwd *pw = getpwnam("daemon");
	if (pw && pw->pw_uid != 0) {
		ok(recipient_check("daemon@localhost") == RCPT_LOCAL, "system account");
		ok(recipient_check("DAEMON+x@mail.example.org") == RCPT_LOCAL, "system account, case and extension");
	} else {
		ok(1, "# SKIP no daemon account");
		ok(1, "# SKIP no daemon account");
	}
	ok(recipient_check("no-such-account-xyz@localhost") == RCPT_UNKNOWN, "unknown system account");
	ok(recipient_check("daemon@example.test") == RCPT_UNKNOWN, "system accounts are not virtual users");

	table("aliases", "postmaster: demo\n");
	ok(recipient_check("root@localhost") == RCPT_UNKNOWN, "root without an alias is unknown (never delivered as root)");

	write_file("users", "demo@example.test changed\n"); /* edited, not compiled: users.cdb stays */
	unlink(cpath("users.cdb"));
	ok(recipient_check("demo@example.test") == RCPT_TEMPFAIL, "uncompiled users table: temporary failure");
	write_file("virtual.regexp", "/(/ broken\n");
	ok(recipient_check("x@example.test") == RCPT_TEMPFAIL, "broken regexp table: temporary failure");

	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	if (system(cmd) != 0) return 1;
	return done_testing();
}
