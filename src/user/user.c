/* yubin-user — virtual users in control/users ("user@domain HASH" lines,
 * compiled to users.cdb after every change):
 *   yubin-user add user@dom      password from stdin (one line)
 *   yubin-user passwd user@dom   new password from stdin
 *   yubin-user del user@dom      (the Maildir is left in place)
 *   yubin-user list
 * Passwords are never taken from argv and never logged. Concurrent runs
 * serialise on a lock of the control/ directory. add also lists dom in
 * control/virtual_mailbox_domains when missing, and says so. */
#include "addr.h"
#include "buf.h"
#include "control.h"
#include "io.h"
#include "log.h"
#include "table.h"
#include "user.h"
#include "users.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#define PASSWORD_MAX 1024

static char users_path[PATH_MAX];
static struct buf text = BUF_INIT;

static void usage(void)
{
	die(EXIT_PERM, "usage: yubin-user add|passwd|del user@domain (password on stdin) | yubin-user list");
}

/* user@domain, lower-cased, safe as mail/DOMAIN/USER */
static void canonical(const char *arg, struct buf *out)
{
	size_t used, n = strlen(arg);
	char dir[PATH_MAX];
	if (addr_parse_path(arg, n, 0, out, &used) != ADDR_OK || used != n)
		die(EXIT_PERM, "%s: not a valid address", arg);
	if (!*addr_domain(out->s) || out->s[0] == '"' || addr_has_route_tricks(out->s) ||
	    addr_starts_with_dash(out->s) || out->s[0] == '.')
		die(EXIT_PERM, "%s: a virtual user needs a plain address user@domain", arg);
	for (size_t i = 0; i < out->len; i++)
		if (out->s[i] >= 'A' && out->s[i] <= 'Z') out->s[i] = (char)(out->s[i] + 32);
	if (virtual_maildir(out->s, dir, sizeof dir) < 0) die(EXIT_PERM, "%s: unusable as a mailbox path", arg);
}

static void lock_and_read(void)
{
	char dir[PATH_MAX];
	if (root_path(users_path, sizeof users_path, "control/users") < 0 ||
	    root_path(dir, sizeof dir, "control") < 0)
		die(EXIT_PERM, "YUBIN_ROOT too long");
	/* the lock is on control/ itself: control/users is replaced by rename,
	 * so it cannot carry the lock, and we leave no lock file behind */
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) die_sys(EXIT_TEMP, "%s", dir);
	/* fd stays open: the lock lasts until we exit */
	if (file_read(users_path, &text) < 0) die_sys(EXIT_TEMP, "%s", users_path);
}

static int blank(char c) { return c == ' ' || c == '\t'; }

/* byte range of addr's line (with its continuation lines) in text */
static int find_user(const char *addr, size_t *b, size_t *e)
{
	size_t al = strlen(addr), i = 0;
	while (i < text.len) {
		const char *line = text.s + i;
		const char *nl = memchr(line, '\n', text.len - i);
		size_t next = nl ? (size_t)(nl - text.s) + 1 : text.len;
		size_t k = 0;
		while (i + k < next && !blank(line[k]) && line[k] != '\n') k++;
		if (k == al && strncasecmp(line, addr, al) == 0 && line[0] != '#') {
			*b = i;
			/* continuation lines belong to it */
			while (next < text.len && blank(text.s[next])) {
				const char *n2 = memchr(text.s + next, '\n', text.len - next);
				next = n2 ? (size_t)(n2 - text.s) + 1 : text.len;
			}
			*e = next;
			return 1;
		}
		i = next;
	}
	return 0;
}

static void save(void)
{
	if (file_replace(users_path, text.s, text.len, 0640) < 0) die_sys(EXIT_TEMP, "%s: cannot write", users_path);
	if (table_compile(users_path) < 0)
		die(errno == EINVAL ? EXIT_PERM : EXIT_TEMP, "%s: saved but not compiled; fix it and run yubin-map %s",
		    users_path, users_path);
}

static char *new_hash(void)
{
	char pw[PASSWORD_MAX];
	int n = read_password(pw, sizeof pw);
	if (n == -1) die_sys(EXIT_TEMP, "reading the password");
	if (n == -2) die(EXIT_PERM, "password longer than %d bytes", PASSWORD_MAX - 1);
	if (n < 0) die(EXIT_PERM, "password holds a NUL byte");
	if (n == 0) die(EXIT_PERM, "empty password (it is read from stdin, one line)");
	char *h = password_hash(pw);
	explicit_bzero(pw, sizeof pw);
	if (!h) die(EXIT_TEMP, "cannot hash the password");
	return h;
}

/* the "user@domain HASH\n" line replacing text[b, e) */
static void put_line(const char *addr, const char *hash, size_t b, size_t e)
{
	struct buf out = BUF_INIT;
	if (buf_add(&out, text.s, b) < 0 || (b && text.s[b - 1] != '\n' && buf_addc(&out, '\n') < 0) ||
	    (hash && buf_addf(&out, "%s %s\n", addr, hash) < 0) || buf_add(&out, text.s + e, text.len - e) < 0)
		die_nomem();
	buf_free(&text);
	text = out;
}

static void ensure_domain(const char *dom)
{
	if (control_list_has("mydestination", dom))
		die(EXIT_PERM, "%s is in mydestination (system accounts); virtual users need a domain of their own", dom);
	if (control_list_has("virtual_mailbox_domains", dom)) return;
	char path[PATH_MAX];
	struct buf v = BUF_INIT;
	if (root_path(path, sizeof path, "control/virtual_mailbox_domains") < 0 || file_read(path, &v) < 0)
		die_sys(EXIT_TEMP, "control/virtual_mailbox_domains");
	if ((v.len && v.s[v.len - 1] != '\n' && buf_addc(&v, '\n') < 0) || buf_addf(&v, "%s\n", dom) < 0) die_nomem();
	if (file_replace(path, v.s, v.len, 0644) < 0) die_sys(EXIT_TEMP, "%s: cannot write", path);
	log_msg("added %s to control/virtual_mailbox_domains", dom);
	buf_free(&v);
}

static int cmd_add(const char *addr)
{
	size_t b, e;
	lock_and_read();
	if (find_user(addr, &b, &e)) die(EXIT_PERM, "%s already exists (use passwd to change the password)", addr);
	ensure_domain(addr_domain(addr));
	char *hash = new_hash();
	put_line(addr, hash, text.len, text.len);
	free(hash);
	save();
	return 0;
}

static int cmd_passwd(const char *addr)
{
	size_t b, e;
	lock_and_read();
	if (!find_user(addr, &b, &e)) die(EXIT_PERM, "%s: no such user", addr);
	char *hash = new_hash();
	put_line(addr, hash, b, e);
	free(hash);
	save();
	return 0;
}

static int cmd_del(const char *addr)
{
	size_t b, e;
	char dir[PATH_MAX];
	lock_and_read();
	if (!find_user(addr, &b, &e)) die(EXIT_PERM, "%s: no such user", addr);
	put_line(addr, NULL, b, e);
	save();
	if (virtual_maildir(addr, dir, sizeof dir) == 0) log_msg("deleted %s; its mailbox %s is left in place", addr, dir);
	return 0;
}

static int cmd_list(const char *unused)
{
	(void)unused;
	struct wbuf w;
	lock_and_read();
	wbuf_init(&w, 1, 0);
	for (size_t i = 0; i < text.len;) {
		const char *nl = memchr(text.s + i, '\n', text.len - i);
		size_t next = nl ? (size_t)(nl - text.s) + 1 : text.len, k = i;
		while (k < next && !blank(text.s[k]) && text.s[k] != '\n' && text.s[k] != '\r') k++;
		if (k > i && text.s[i] != '#') {
			wbuf_put(&w, text.s + i, k - i);
			wbuf_put(&w, "\n", 1);
		}
		i = next;
	}
	if (wbuf_flush(&w) < 0) die_sys(EXIT_TEMP, "write");
	return 0;
}

static const struct command {
	const char *name;
	int (*run)(const char *addr);
	int takes_addr;
} commands[] = {
	{ "add", cmd_add, 1 },
	{ "passwd", cmd_passwd, 1 },
	{ "del", cmd_del, 1 },
	{ "list", cmd_list, 0 },
};

int main(int argc, char **argv)
{
	log_init("yubin-user");
	if (argc < 2) usage();
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
		const struct command *c = &commands[i];
		if (strcmp(argv[1], c->name) != 0) continue;
		if (c->takes_addr && argc > 3) die(EXIT_PERM, "passwords are read from stdin, never from the command line");
		if (argc != 2 + c->takes_addr) usage();
		struct buf addr = BUF_INIT;
		if (c->takes_addr) canonical(argv[2], &addr);
		int rc = c->run(addr.s);
		buf_free(&addr);
		buf_free(&text);
		return rc;
	}
	usage();
}
