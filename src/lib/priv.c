/* priv.c — drop root for good (see priv.h). */
#include "priv.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/syscall.h>
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

int priv_lookup(const char *user, struct priv_id *id)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		log_msg("account %s does not exist; create it with yubin-setup", user);
		return -1;
	}
	id->uid = pw->pw_uid;
	id->gid = pw->pw_gid;
	id->ngroups = (int)(sizeof id->groups / sizeof id->groups[0]);
	if (getgrouplist(user, pw->pw_gid, id->groups, &id->ngroups) < 0) {
		log_msg("account %s is in too many groups", user);
		return -1;
	}
	return 0;
}

int priv_become(const struct priv_id *id)
{
	if (syscall(SYS_setgroups, (size_t)id->ngroups, id->groups) < 0) return -1;
	if (syscall(SYS_setresgid, id->gid, id->gid, id->gid) < 0) return -1;
	if (syscall(SYS_setresuid, id->uid, id->uid, id->uid) < 0) return -1;
	return 0;
}
