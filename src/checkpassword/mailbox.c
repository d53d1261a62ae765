/* mailbox.c — where a logged-in user's Maildir is and whom to run as.
 * Virtual users: $YUBIN_ROOT/mail/DOM/USER owned by control/virtual_user
 * (default account "yubinv"). System users: ~/ + home_mailbox (a Maildir,
 * path ending in '/'), as that user; a home not owned by its user is
 * refused. Not root: virtual users and the invoking account only. */
#include "checkpassword.h"
#include "control.h"
#include "log.h"
#include "users.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void set_str(char *out, size_t max, const char *what, const char *a, const char *b)
{
	int n = snprintf(out, max, "%s%s", a, b);
	if (n < 0 || (size_t)n >= max) die(EXIT_TEMP, "%s: path too long", what);
}

void mailbox_virtual(const char *login, struct mailbox *mb)
{
	char lower[256], path[4096];
	size_t n = strlen(login);
	memset(mb, 0, sizeof *mb);
	if (n >= sizeof lower) die(EXIT_TEMP, "login too long");
	for (size_t i = 0; i <= n; i++)
		lower[i] = (login[i] >= 'A' && login[i] <= 'Z') ? (char)(login[i] + 32) : login[i];
	if (virtual_maildir(lower, path, sizeof path) < 0)
		die(EXIT_TEMP, "no safe mailbox path for <%s>", lower);
	if (path[0] != '/') {
		char cwd[2048];
		if (!getcwd(cwd, sizeof cwd)) die_sys(EXIT_TEMP, "getcwd");
		int k = snprintf(mb->maildir, sizeof mb->maildir, "%s/%s", cwd, path);
		if (k < 0 || (size_t)k >= sizeof mb->maildir) die(EXIT_TEMP, "mailbox path too long");
	} else {
		set_str(mb->maildir, sizeof mb->maildir, "mailbox", path, "");
	}
	size_t m = strlen(mb->maildir);
	while (m > 1 && mb->maildir[m - 1] == '/') mb->maildir[--m] = 0;
	set_str(mb->home, sizeof mb->home, "home", mb->maildir, "");
	if (geteuid() == 0) {
		const char *owner = control_get("virtual_user");
		set_str(mb->user, sizeof mb->user, "control/virtual_user", *owner ? owner : "yubinv", "");
	}
}

void mailbox_system(const char *login, struct mailbox *mb)
{
	memset(mb, 0, sizeof *mb);
	mb->system = 1;
	errno = 0;
	struct passwd *pw = getpwnam(login);
	if (!pw) die(EXIT_TEMP, "no account %s for the mailbox", login);
	if (geteuid() != 0 && pw->pw_uid != getuid())
		die(EXIT_TEMP, "cannot become %s: not running as root", login);
	if (pw->pw_uid == 0) die(EXIT_TEMP, "refusing to serve root's mailbox");
	struct stat st;
	if (stat(pw->pw_dir, &st) < 0) die_sys(EXIT_TEMP, "home of %s: %s", login, pw->pw_dir);
	if (st.st_uid != pw->pw_uid) die(EXIT_TEMP, "home %s is not owned by %s", pw->pw_dir, login);
	const char *hm = control_get("home_mailbox");
	size_t n = strlen(hm);
	if (n == 0 || hm[n - 1] != '/')
		die(EXIT_TEMP, "control/home_mailbox \"%s\" is not a Maildir (ends in /); POP3 and IMAP need one", hm);
	if (hm[0] == '/' || strstr(hm, ".."))
		die(EXIT_TEMP, "control/home_mailbox \"%s\" must be relative to the home directory", hm);
	set_str(mb->home, sizeof mb->home, "home", pw->pw_dir, "");
	int k = snprintf(mb->maildir, sizeof mb->maildir, "%s/%.*s", pw->pw_dir, (int)(n - 1), hm);
	if (k < 0 || (size_t)k >= sizeof mb->maildir) die(EXIT_TEMP, "mailbox path too long");
	if (geteuid() == 0) set_str(mb->user, sizeof mb->user, "user", pw->pw_name, "");
}

static void become(const char *user, int virtual_owner)
{
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		if (virtual_owner)
			die(EXIT_TEMP, "control/virtual_user: account %s does not exist (create it or name another)", user);
		die(EXIT_TEMP, "no account %s", user);
	}
	if (pw->pw_uid == 0) die(EXIT_TEMP, "refusing to run a mailbox as root (%s)", user);
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		die_sys(EXIT_TEMP, "cannot become %s", user);
	if (setuid(0) == 0) die(EXIT_TEMP, "privileges were not dropped");
}

/* mkdir every missing component of path, mode 700 */
static void make_dirs(char *path)
{
	struct stat st;
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != 0) continue;
		char c = *p;
		*p = 0;
		if (stat(path, &st) < 0) {
			if (mkdir(path, 0700) < 0 && errno != EEXIST) die_sys(EXIT_TEMP, "mkdir %s", path);
		} else if (!S_ISDIR(st.st_mode)) {
			die(EXIT_TEMP, "%s is not a directory", path);
		}
		*p = c;
		if (!c) return;
	}
}

void mailbox_enter(const struct mailbox *mb, const char *login)
{
	char path[4096 + 8];
	if (mb->user[0]) become(mb->user, !mb->system);
	for (int i = 0; i < 4; i++) {
		static const char *const sub[] = { "", "/cur", "/new", "/tmp" };
		set_str(path, sizeof path, "mailbox", mb->maildir, sub[i]);
		make_dirs(path);
	}
	const char *user = login;
	struct passwd *pw = mb->system ? getpwuid(getuid()) : NULL;
	if (pw) user = pw->pw_name;
	if (setenv("USER", user, 1) < 0 || setenv("HOME", mb->home, 1) < 0 ||
	    setenv("MAILDIR", mb->maildir, 1) < 0 || setenv("YUBIN_LOGIN", login, 1) < 0)
		die_nomem();
	if (chdir(mb->maildir) < 0) die_sys(EXIT_TEMP, "chdir %s", mb->maildir);
}
