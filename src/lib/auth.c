/* auth.c — verify a login against virtual users, system accounts (shadow +
 * crypt) or an external checkpassword program, and log one fail2ban-ready
 * line per attempt (see auth.h for the order and the line format).
 * Every "no" path still computes one hash, so an unknown user costs the
 * same time as a wrong password. */
#include "auth.h"
#include "authcache.h"
#include "cidr.h"
#include "control.h"
#include "log.h"
#include "qclient.h"
#include "users.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <shadow.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

const char *auth_backend_name(enum auth_backend b)
{
	switch (b) {
	case AUTH_VIRTUAL: return "virtual";
	case AUTH_SYSTEM: return "system";
	case AUTH_EXTERNAL: return "checkpassword";
	default: return "none";
	}
}

const char *auth_client_ip(void)
{
	const char *ip = getenv("TCPREMOTEIP");
	if (!ip || !*ip) ip = getenv("REMOTE_ADDR");
	return ip && *ip ? ip : "unknown";
}

/* spend the time a real check costs, then say no */
static int refuse(struct auth_result *r, enum auth_backend b, const char *reason, const char *password)
{
	(void)password_check(NULL, password);
	r->backend = b;
	r->reason = reason;
	return 0;
}

/* password_check, or the answer authcache.h kept from a moment ago */
static int checked_before(struct auth_result *r, const char *login, const char *password, const char *hash)
{
	if (authcache_hit(login, password, hash)) {
		r->cached = 1;
		return 1;
	}
	int ok = password_check(hash, password);
	if (ok > 0) authcache_add(login, password, hash);
	return ok;
}

static int check_virtual(const char *login, const char *password, struct auth_result *r)
{
	char key[SASL_LOGIN_MAX];
	size_t n = strlen(login);
	if (n >= sizeof key) return refuse(r, AUTH_VIRTUAL, "unknown user", password);
	for (size_t i = 0; i <= n; i++)
		key[i] = (login[i] >= 'A' && login[i] <= 'Z') ? (char)(login[i] + 32) : login[i];
	char *hash = NULL;
	int found = users_get(key, &hash);
	explicit_bzero(key, sizeof key);
	if (found < 0) { r->backend = AUTH_VIRTUAL; r->reason = "temporary failure"; return -1; }
	if (found == 0) return refuse(r, AUTH_NONE, "unknown user", password);
	int ok = checked_before(r, key, password, hash);
	free(hash);
	r->backend = AUTH_VIRTUAL;
	r->reason = ok < 0 ? "temporary failure" : ok ? NULL : "bad password";
	return ok;
}

/* a crypt(3) hash that can match: not empty, not locked ("!", "*", "!!") */
static int hash_usable(const char *h)
{
	return h && h[0] && h[0] != '!' && h[0] != '*' && strcmp(h, "x") != 0;
}

static int helper_path(char *path, size_t max);
static int check_via_helper(const char *path, const char *login, const char *password,
                            struct auth_result *r);

static int check_system(const char *login, const char *password, struct auth_result *r)
{
	char helper[4096];
	/* every system login goes the same way, known or not, so the spawn
	 * does not tell which accounts exist */
	if (geteuid() != 0 && faccessat(AT_FDCWD, "/etc/shadow", R_OK, AT_EACCESS) < 0 &&
	    helper_path(helper, sizeof helper) == 0)
		return check_via_helper(helper, login, password, r);
	errno = 0;
	struct passwd *pw = getpwnam(login);
	if (!pw) {
		if (errno && errno != ENOENT && errno != ESRCH) {
			r->backend = AUTH_SYSTEM; r->reason = "temporary failure";
			return -1;
		}
		return refuse(r, AUTH_NONE, "unknown user", password);
	}
	if (pw->pw_uid == 0) return refuse(r, AUTH_SYSTEM, "root login refused", password);
	const char *hash = pw->pw_passwd;
	errno = 0;
	struct spwd *sp = getspnam(login);
	if (sp) {
		hash = sp->sp_pwdp;
		long today = (long)(time(NULL) / 86400);
		if (sp->sp_expire > 0 && today >= sp->sp_expire)
			return refuse(r, AUTH_SYSTEM, "expired account", password);
	} else if (!hash_usable(hash) &&
	           (errno == EACCES || faccessat(AT_FDCWD, "/etc/shadow", R_OK, AT_EACCESS) < 0)) {
		/* only root or group shadow may read it */
		return refuse(r, AUTH_SYSTEM, "shadow unreadable", password);
	}
	if (!hash_usable(hash)) return refuse(r, AUTH_SYSTEM, "locked account", password);
	int ok = checked_before(r, login, password, hash);
	r->backend = AUTH_SYSTEM;
	r->reason = ok < 0 ? "temporary failure" : ok ? NULL : "bad password";
	return ok;
}

/* Run a DJB checkpassword-style program with "login\0password\0time\0"
 * on fd 3 and stdin/stdout on /dev/null; returns its wait status, or -1.
 * The data is written into the pipe before the spawn (it is far below the
 * pipe size), so a program that never reads cannot block or SIGPIPE us. */
int checkpassword_record(const char *login, const char *password)
{
	char data[2 * SASL_PASSWORD_MAX + 32];
	size_t ln = strlen(login), pn = strlen(password);
	if (ln >= SASL_LOGIN_MAX || pn >= SASL_PASSWORD_MAX) return -1;
	int tn = snprintf(data + ln + pn + 2, sizeof data - ln - pn - 2, "%lld", (long long)time(NULL));
	if (tn < 0) return -1;
	memcpy(data, login, ln + 1);
	memcpy(data + ln + 1, password, pn + 1);
	size_t total = ln + pn + 2 + (size_t)tn + 1;

	int p[2];
	if (pipe(p) < 0) { log_sys("checkpassword: pipe"); return -1; }
	ssize_t w = write(p[1], data, total);
	explicit_bzero(data, sizeof data);
	close(p[1]);
	if (w != (ssize_t)total) { close(p[0]); log_sys("checkpassword: write"); return -1; }
	return p[0];
}

static int run_djb(char *const argv[], int search, const char *login, const char *password)
{
	int rec = checkpassword_record(login, password);
	if (rec < 0) return -1;

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, rec, 3);
	pid_t pid;
	int err = search ? posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ)
	                 : posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(rec);
	if (err) {
		errno = err;
		log_sys("checkpassword: cannot run %s", argv[0]);
		return -1;
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) { log_sys("checkpassword: waitpid"); return -1; }
	return st;
}

/* control/checkpassword PROG ARGS... /bin/true */
static int check_external(const char *login, const char *password, struct auth_result *r)
{
	const char *const *items;
	size_t nitems = control_list("checkpassword", &items);
	r->backend = AUTH_EXTERNAL;
	r->reason = "temporary failure";
	if (nitems == 0 || nitems > 30) return -1;
	/* setuid callers pass their own PATH: no search then */
	if (items[0][0] != '/' && getuid() != geteuid()) {
		log_msg("control/checkpassword: %s must be an absolute path", items[0]);
		return -1;
	}
	char *argv[32];
	for (size_t i = 0; i < nitems; i++) argv[i] = (char *)items[i];
	argv[nitems] = "/bin/true";
	argv[nitems + 1] = NULL;
	int st = run_djb(argv, 1, login, password);
	if (st < 0) return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) { r->reason = NULL; return 1; }
	if (WIFEXITED(st) && WEXITSTATUS(st) == 1) { r->reason = "checkpassword refused"; return 0; }
	log_msg("checkpassword: %s %s %d", argv[0], WIFEXITED(st) ? "exited" : "killed by signal",
	        WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return -1;
}

/* verdicts of yubin-checkpassword --check, as exit codes */
static const char *const reasons[] = {
	NULL, "bad password", "unknown user", "locked account", "expired account",
	"root login refused", "checkpassword refused", "shadow unreadable",
};
#define NREASONS (sizeof reasons / sizeof reasons[0])

int auth_exit_code(int res, const struct auth_result *r)
{
	if (res == 1) return 0;
	if (res < 0 || !r->reason) return EXIT_TEMP;
	for (size_t i = 1; i < NREASONS; i++)
		if (strcmp(reasons[i], r->reason) == 0) return (int)i;
	return 1;
}

/* The setuid-root yubin-checkpassword next to this program, when there is
 * one (yubin-setup installs it so, runnable by the network account). */
static int helper_path(char *path, size_t max)
{
	struct stat st;
	if (prog_path(path, max, "yubin-checkpassword") < 0 || stat(path, &st) < 0) return -1;
	if (st.st_uid != 0 || !(st.st_mode & S_ISUID)) return -1;
	return faccessat(AT_FDCWD, path, X_OK, AT_EACCESS);
}

/* an unprivileged caller asks the helper, which reads /etc/shadow */
static int check_via_helper(const char *path, const char *login, const char *password,
                            struct auth_result *r)
{
	char *argv[] = { (char *)path, "--check", NULL };
	int st = run_djb(argv, 0, login, password);
	r->backend = AUTH_SYSTEM;
	r->reason = "temporary failure";
	if (st < 0 || !WIFEXITED(st)) return -1;
	int code = WEXITSTATUS(st);
	if (code == 0) { r->reason = NULL; return 1; }
	if (code > 0 && (size_t)code < NREASONS) {
		r->reason = reasons[code];
		if (code == 2) { r->backend = AUTH_NONE; r->helper = 1; }   /* it tried checkpassword too */
		return 0;
	}
	return -1;
}

int auth_verify(const char *login, const char *password, struct auth_result *r)
{
	r->backend = AUTH_NONE;
	r->reason = "unknown user";
	r->helper = 0;
	r->cached = 0;
	if (!login[0] || strlen(login) >= SASL_LOGIN_MAX || strlen(password) >= SASL_PASSWORD_MAX)
		return refuse(r, AUTH_NONE, "unknown user", "");
	int res = strchr(login, '@') ? check_virtual(login, password, r)
	                             : check_system(login, password, r);
	if (res == 0 && r->backend == AUTH_NONE && !r->helper && control_get("checkpassword")[0])
		res = check_external(login, password, r);
	return res;
}

/* the login as it may appear in a log line */
static void log_safe(const char *in, char *out, size_t max)
{
	size_t i = 0;
	for (; in[i] && i + 1 < max && i < 100; i++) {
		unsigned char c = (unsigned char)in[i];
		out[i] = (c < 0x21 || c > 0x7e || c == '<' || c == '>') ? '?' : (char)c;
	}
	out[i] = 0;
}

int auth_check_mech(const char *login, const char *password, const char *service,
                    const char *client_ip, const char *mech)
{
	struct auth_result r;
	char user[128];
	int res = auth_verify(login, password, &r);
	log_safe(login, user, sizeof user);
	if (!mech) mech = "-";
	if (!client_ip) client_ip = auth_client_ip();
	if (res == 1)
		log_msg("auth ok: service=%s rip=%s user=<%s> mech=%s backend=%s%s",
		        service, client_ip, user, mech, auth_backend_name(r.backend), r.cached ? " cache=hit" : "");
	else
		log_msg("auth failed: service=%s rip=%s user=<%s> mech=%s reason=%s",
		        service, client_ip, user, mech, r.reason ? r.reason : "unknown");
	return res;
}

int auth_check(const char *login, const char *password, const char *service,
               const char *client_ip)
{
	return auth_check_mech(login, password, service, client_ip, NULL);
}

int plaintext_login_allowed(const char *rip, int tls)
{
	struct ipaddr ip;
	if (tls) return 1;
	if (rip && ip_parse(rip, strlen(rip), &ip) == 0 && ip_is_loopback(&ip)) return 1;
	return !control_bool("disable_plaintext_auth");
}

void checkpassword_exec(int credfd, const char *checkpw, const char *mailbox)
{
	if (credfd != 3) {
		if (dup2(credfd, 3) < 0) _exit(EXIT_TEMP);
		close(credfd);
	}
	char *argv[] = { (char *)checkpw, (char *)mailbox, NULL };
	execv(checkpw, argv);
	log_sys("cannot run %s", checkpw);
	_exit(EXIT_TEMP);
}
