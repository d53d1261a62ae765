/* authtest.c — `yubin-ctl auth-test [-s SERVICE] LOGIN`, password on stdin
 * (first line): checks the login through auth.h exactly as the servers do
 * (virtual users, system accounts, the checkpassword hook) and says which
 * backend answered, like doveadm auth test / testsaslauthd. The attempt is
 * also logged as the servers log it (service=ctl unless -s).
 * Exit 0 ok, 1 bad login, 111 temporary failure, 100 usage. */
#include "ctl.h"
#include "auth.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* the first line of stdin, without its line end */
static size_t read_password(char *pw, size_t max)
{
	size_t len = 0;
	for (;;) {
		char c;
		ssize_t r = read(0, &c, 1);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) die_sys(EXIT_TEMP, "cannot read the password from stdin");
		if (r == 0 || c == '\n') break;
		if (len + 1 >= max) { explicit_bzero(pw, max); die(EXIT_PERM, "password too long"); }
		pw[len++] = c;
	}
	if (len && pw[len - 1] == '\r') len--;
	pw[len] = 0;
	return len;
}

/* the login as it may be printed: no control bytes, no '<' '>', 100 bytes */
static void printable(const char *in, char *out, size_t max)
{
	size_t i = 0;
	for (; in[i] && i + 1 < max && i < 100; i++) {
		unsigned char c = (unsigned char)in[i];
		out[i] = (c < 0x21 || c > 0x7e || c == '<' || c == '>') ? '?' : (char)c;
	}
	out[i] = 0;
}

int cmd_auth_test(int argc, char **argv)
{
	const char *service = "ctl";
	int opt;
	while ((opt = getopt(argc, argv, "s:")) != -1) {
		if (opt == 's') service = optarg;
		else die(EXIT_PERM, "usage: yubin-ctl auth-test [-s SERVICE] LOGIN < password");
	}
	if (optind + 1 != argc) die(EXIT_PERM, "usage: yubin-ctl auth-test [-s SERVICE] LOGIN < password");
	const char *login = argv[optind];
	char pw[SASL_PASSWORD_MAX];
	if (isatty(0)) fprintf(stderr, "password: ");
	read_password(pw, sizeof pw);
	struct auth_result r;
	int res = auth_verify(login, pw, &r);
	explicit_bzero(pw, sizeof pw);
	/* a system login by a process that cannot read shadow went through the helper */
	const char *via = r.helper || (!strchr(login, '@') && r.backend == AUTH_SYSTEM && geteuid() != 0 &&
	                               faccessat(AT_FDCWD, "/etc/shadow", R_OK, AT_EACCESS) != 0)
	                  ? " (via yubin-checkpassword --check)" : "";
	char user[128];
	printable(login, user, sizeof user);
	login = user;
	if (res == 1) {
		printf("auth ok: user=<%s> backend=%s%s\n", login, auth_backend_name(r.backend), via);
		log_msg("auth ok: service=%s rip=local user=<%s> mech=TEST backend=%s", service, login,
		        auth_backend_name(r.backend));
		return 0;
	}
	const char *reason = r.reason ? r.reason : "unknown";
	printf("auth %s: user=<%s> backend=%s reason=%s%s\n", res == 0 ? "failed" : "temporary failure", login,
	       auth_backend_name(r.backend), reason, via);
	log_msg("auth failed: service=%s rip=local user=<%s> mech=TEST reason=%s", service, login, reason);
	return res == 0 ? 1 : EXIT_TEMP;
}
