/* priv.c — drop root for good (see priv.h). */
#include "priv.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

int priv_drop(const char *user)
{
	if (geteuid() != 0) return 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		log_msg("account %s does not exist; create it with yubin-setup", user);
		return -1;
	}
	if (initgroups(user, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		log_sys("cannot become %s", user);
		return -1;
	}
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		log_msg("could regain root after becoming %s; refusing to go on", user);
		return -1;
	}
	return 0;
}
