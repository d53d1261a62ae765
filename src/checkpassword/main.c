/* yubin-checkpassword PROG [ARGS...] — the DJB checkpassword interface on
 * top of auth.h: reads "login\0password\0timestamp\0" from fd 3, checks it,
 * becomes the mailbox owner, sets USER HOME MAILDIR YUBIN_LOGIN, chdir()s
 * into the Maildir (made mode 700 when missing) and execs PROG — the
 * qmail-popup -> checkpassword -> qmail-pop3d chain for yubin-pop3d/imapd.
 * Exit: 1 bad login (or malformed input), 111 temporary trouble or a
 * configuration problem (named in the log), 100 usage.
 * Optional env: YUBIN_SERVICE (pop3, imap; for the log), YUBIN_AUTH_MECH.
 * May be installed setuid root (runnable only by the network account's
 * group): then $YUBIN_ROOT/control must be root's alone.
 * yubin-checkpassword --check: verify only, for auth.h in unprivileged
 * programs (SMTP AUTH of system accounts); exit codes in auth.h. */
#include "auth.h"
#include "checkpassword.h"
#include "control.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Installed setuid root (yubin-setup), we run with the caller's
 * environment: YUBIN_ROOT must then name an instance whose control/ only
 * root can change, or a caller could bring its own users table. */
static void check_trusted_root(void)
{
	char path[4096];
	struct stat st;
	if (getuid() == geteuid()) return;
	if (root_path(path, sizeof path, "control") < 0 || stat(path, &st) < 0)
		die_sys(EXIT_TEMP, "setuid: cannot check %s/control", yubin_root());
	if (st.st_uid != 0 || (st.st_mode & 022))
		die(EXIT_TEMP, "setuid: %s must be owned by root and writable only by root", path);
}

/* fd 3 holds at most 512 bytes in DJB's interface; allow a little more */
static size_t read_fd3(char *buf, size_t max)
{
	size_t len = 0;
	for (;;) {
		if (len == max) die(1, "credentials on fd 3 are too long");
		ssize_t n = read(3, buf + len, max - len);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) die_sys(EXIT_TEMP, "cannot read fd 3");
		if (n == 0) break;
		len += (size_t)n;
	}
	close(3);
	return len;
}

int main(int argc, char **argv)
{
	char data[1024];
	log_init("yubin-checkpassword");
	if (argc < 2) die(EXIT_PERM, "usage: yubin-checkpassword PROG [ARGS...]");
	check_trusted_root();
	size_t len = read_fd3(data, sizeof data);
	char *login = data, *z = memchr(data, 0, len);
	if (!z) die(1, "malformed credentials on fd 3");
	char *password = z + 1;
	if (!memchr(password, 0, len - (size_t)(password - data))) die(1, "malformed credentials on fd 3");

	if (strcmp(argv[1], "--check") == 0) {
		/* auth.h's helper for unprivileged callers: verdict only, the
		 * caller writes the log line */
		struct auth_result r;
		int res = auth_verify(login, password, &r);
		explicit_bzero(data, sizeof data);
		return auth_exit_code(res, &r);
	}
	const char *service = getenv("YUBIN_SERVICE");
	int ok = auth_check_mech(login, password, service && *service ? service : "checkpassword",
	                         auth_client_ip(), getenv("YUBIN_AUTH_MECH"));
	explicit_bzero(data + (password - data), len - (size_t)(password - data));
	if (ok == 0) return 1;
	if (ok < 0) return EXIT_TEMP;

	struct mailbox mb;
	if (strchr(login, '@')) mailbox_virtual(login, &mb);
	else mailbox_system(login, &mb);
	mailbox_enter(&mb, login);
	execvp(argv[1], argv + 1);
	die_sys(EXIT_TEMP, "cannot run %s", argv[1]);
}
