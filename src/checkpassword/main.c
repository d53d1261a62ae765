/* yubin-checkpassword PROG [ARGS...] — the DJB checkpassword interface on
 * top of auth.h: reads "login\0password\0timestamp\0" from fd 3, checks it,
 * becomes the mailbox owner, sets USER HOME MAILDIR YUBIN_LOGIN, chdir()s
 * into the Maildir (made mode 700 when missing) and execs PROG — the
 * qmail-popup -> checkpassword -> qmail-pop3d chain for yubin-pop3d/imapd.
 * Exit: 1 bad login (or malformed input), 111 temporary trouble or a
 * configuration problem (named in the log), 100 usage.
 * Optional env: YUBIN_SERVICE (pop3, imap; for the log), YUBIN_AUTH_MECH. */
#include "auth.h"
#include "checkpassword.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	size_t len = read_fd3(data, sizeof data);
	char *login = data, *z = memchr(data, 0, len);
	if (!z) die(1, "malformed credentials on fd 3");
	char *password = z + 1;
	if (!memchr(password, 0, len - (size_t)(password - data))) die(1, "malformed credentials on fd 3");

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
