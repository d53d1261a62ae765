/* config.c — the settings yubin-local acts on, read in the main process
 * (which may read control/ and the passwd database) and copied into the
 * forked workers and children, which may not be able to. Before each job
 * it costs a stat of control/ and of each file read (control_changed);
 * only an edit, a new or a removed file rereads them, so an edit applies
 * at the next delivery. */
#include "local.h"
#include "control.h"
#include "log.h"

#include <pwd.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct config cfg;

static void mail_base_owner(void);

/* look up an account we switch to; a problem is logged once per change */
static void account(const char *setting, const char *name, int *ok, uid_t *uid, gid_t *gid, int *warned)
{
	struct passwd *pw = getpwnam(name);
	*ok = pw && pw->pw_uid != 0;
	if (*ok) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
		*warned = 0;
	} else if (!*warned) {
		log_msg("warning: control/%s: account %s %s", setting, name,
		        pw ? "is root; nothing is delivered as root" : "does not exist");
		*warned = 1;
	}
}

void config_load(void)
{
	static int loaded;
	if (!loaded || control_changed()) {
		control_reload();
		loaded = 1;
	}
	cfg.root = geteuid() == 0;
	snprintf(cfg.host, sizeof cfg.host, "%s", control_get("myhostname"));
	snprintf(cfg.home_mailbox, sizeof cfg.home_mailbox, "%s", control_get("home_mailbox"));
	snprintf(cfg.spool, sizeof cfg.spool, "%s", control_get("mail_spool_directory"));
	cfg.command_time_limit = control_time("command_time_limit");
	if (cfg.command_time_limit <= 0) cfg.command_time_limit = 1000;
	if (!cfg.root) return; /* identities only matter to root */
	const char *v = control_get("virtual_user"), *p = control_get("default_privs");
	/* passwd lookups only when a name or /etc/passwd changed */
	static struct timespec pw_mtime;
	static ino_t pw_ino;
	static int w1, w2;
	struct stat st;
	int pw_changed = stat("/etc/passwd", &st) < 0 || st.st_ino != pw_ino ||
	                 st.st_mtim.tv_sec != pw_mtime.tv_sec || st.st_mtim.tv_nsec != pw_mtime.tv_nsec;
	if (pw_changed || strcmp(cfg.vuser, *v ? v : "yubinv") != 0 || strcmp(cfg.privs, p) != 0) {
		snprintf(cfg.vuser, sizeof cfg.vuser, "%s", *v ? v : "yubinv");
		account("virtual_user", cfg.vuser, &cfg.vuser_ok, &cfg.vuid, &cfg.vgid, &w1);
		snprintf(cfg.privs, sizeof cfg.privs, "%s", p);
		account("default_privs", cfg.privs, &cfg.privs_ok, &cfg.puid, &cfg.pgid, &w2);
		pw_ino = st.st_ino;
		pw_mtime = st.st_mtim;
	}
	if (cfg.vuser_ok) mail_base_owner();
}

/* The virtual mailbox tree (virtual_mailbox_base, "mail/") belongs to
 * virtual_user, whose workers create DOMAIN/USER in it: made when
 * missing, and given to that account when root still owns it (as
 * yubin-run's first start leaves it). */
static void mail_base_owner(void)
{
	static uid_t done = (uid_t)-1;
	if (done == cfg.vuid) return;
	char path[4096];
	const char *base = control_get("virtual_mailbox_base");
	int n = base[0] == '/' ? snprintf(path, sizeof path, "%s", base)
	                       : snprintf(path, sizeof path, "%s/%s", yubin_root(), base);
	if (n < 0 || (size_t)n >= sizeof path) return;
	struct stat st;
	if (stat(path, &st) < 0) {
		if (mkdir(path, 0700) < 0 || stat(path, &st) < 0) { log_sys("warning: cannot create %s", path); return; }
		st.st_uid = 0;
	}
	if (st.st_uid == 0) {
		if (chown(path, cfg.vuid, cfg.vgid) < 0) { log_sys("warning: cannot give %s to %s", path, cfg.vuser); return; }
		log_msg("gave %s to %s (control/virtual_user), which writes the virtual mailboxes", path, cfg.vuser);
	}
	done = cfg.vuid;
}
