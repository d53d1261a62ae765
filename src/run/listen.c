/* listen.c — yubin-run's listeners: one socket per service on 127.0.0.1,
 * handed to the service's program as systemd hands one to an Accept=no
 * unit (fd 3, LISTEN_FDS=1). The program serves it with forked workers
 * (serve.h), so no connection costs an exec; supervise.c restarts it. */
#include "run.h"
#include "log.h"
#include "priv.h"
#include "qclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_CONNECTIONS "500" /* per service, as tcpserver -c 500 */

struct service {
	const char *name;
	int offset;          /* port = base + offset */
	const char *program;
	int implicit_tls;
	int fd;
};

static struct service services[] = {
	{ "smtp", 25, "yubin-smtpd", 0, -1 },
	{ "submission", 587, "yubin-submission", 0, -1 },
	{ "submissions", 465, "yubin-submission", 1, -1 },
	{ "pop3", 110, "yubin-pop3d", 0, -1 },
	{ "pop3s", 995, "yubin-pop3d", 1, -1 },
	{ "imap", 143, "yubin-imapd", 0, -1 },
	{ "imaps", 993, "yubin-imapd", 1, -1 },
};
#define NSERVICES (sizeof services / sizeof services[0])

static int program_exists(const char *prog)
{
	char path[4096];
	return prog_path(path, sizeof path, prog) == 0 && access(path, X_OK) == 0;
}

int listeners_open(int base)
{
	char buf[64];
	for (size_t i = 0; i < NSERVICES; i++) {
		struct service *s = &services[i];
		if (!program_exists(s->program)) continue;
		int port = base ? base + s->offset : s->offset;
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int one = 1;
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
		    bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(fd, 256) < 0) {
			log_sys("cannot listen on 127.0.0.1:%d for %s", port, s->name);
			return -1;
		}
		/* above 3, so placing it on fd 3 in the child is a real dup2
		 * (which drops CLOEXEC) */
		s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 10);
		close(fd);
		if (s->fd < 0) { log_sys("cannot listen for %s", s->name); return -1; }
		log_msg("listening on 127.0.0.1:%d for %s (%s)", port, s->name, s->program);
		if (strcmp(s->name, "smtp") == 0) {
			/* yubin-remote treats its own listening address as "myself" */
			snprintf(buf, sizeof buf, "127.0.0.1:%d", port);
			setenv("YUBIN_SMTP_LISTEN", buf, 1);
		}
	}
	return 0;
}

void listeners_start(void)
{
	/* a YUBIN_PROCESS_LIMIT yubin-run was given (tests, small machines)
	 * goes through; the limit ends each list, where NULL ends it early */
	const char *given = getenv("YUBIN_PROCESS_LIMIT");
	char *limit = given && *given ? NULL : "YUBIN_PROCESS_LIMIT=" MAX_CONNECTIONS;
	/* static: supervise.c keeps them for restarts */
	static char *plain[] = { "LISTEN_FDS=1", NULL, NULL };
	static char *implicit[] = { "LISTEN_FDS=1", "YUBIN_TLS_IMPLICIT=1", NULL, NULL };
	plain[1] = implicit[2] = limit;
	for (size_t i = 0; i < NSERVICES; i++) {
		struct service *s = &services[i];
		if (s->fd < 0) continue;
		supervise_service(s->program, s->fd, s->implicit_tls ? implicit : plain, USER_DAEMON);
	}
}

/* environ plus extra, with extra's names replacing inherited ones */
static char **make_env(char *const extra[])
{
	size_t n = 0, k = 0;
	while (environ[n]) n++;
	for (size_t i = 0; extra[i]; i++) k++;
	char **env = calloc(n + k + 1, sizeof *env);
	if (!env) return NULL;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		int replaced = 0;
		for (size_t j = 0; j < k; j++) {
			const char *eq = strchr(extra[j], '=');
			size_t nl = eq ? (size_t)(eq - extra[j]) + 1 : strlen(extra[j]);
			if (strncmp(environ[i], extra[j], nl) == 0) replaced = 1;
		}
		if (!replaced) env[m++] = environ[i];
	}
	for (size_t j = 0; j < k; j++) env[m++] = extra[j];
	env[m] = NULL;
	return env;
}

/* The root path: vfork, become the account, exec. The child only makes
 * system calls (dup2, setgroups, setresgid, setresuid, execve), which is
 * what a vfork child may do; the account was looked up once, at start. */
static pid_t vfork_as(const struct priv_id *id, const char *path, int listen_fd, char **argv, char **env)
{
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old); /* no handler may run in the child */
	pid_t pid = vfork();
	if (pid == 0) {
		if (listen_fd >= 0 && dup2(listen_fd, 3) < 0) _exit(EXIT_TEMP);
		if (priv_become(id) < 0) _exit(EXIT_TEMP);
		/* an ignored SIGPIPE would survive exec; the child has its own
		 * dispositions (vfork shares memory, not the signal table) */
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigaction(SIGPIPE, &dfl, NULL);
		/* handlers are reset by exec; the mask is inherited, so clear it */
		sigset_t none;
		sigemptyset(&none);
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(long));
		execve(path, argv, env);
		_exit(EXIT_TEMP);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return pid;
}

pid_t spawn_program(const char *prog, const char *arg, int listen_fd, char *const extra[], const char *user)
{
	char path[4096];
	if (prog_path(path, sizeof path, prog) < 0) return -1;
	char **env = make_env(extra);
	if (!env) return -1;
	if (user && geteuid() == 0) {
		static struct priv_id id;
		static const char *looked_up;
		if (looked_up != user) {
			if (priv_lookup(user, &id) < 0) { free(env); return -1; }
			looked_up = user;
		}
		char *argv[] = { (char *)prog, (char *)arg, NULL };
		pid_t pid = vfork_as(&id, path, listen_fd, argv, env);
		free(env);
		if (pid < 0) log_sys("cannot start %s", path);
		return pid;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (listen_fd >= 0) posix_spawn_file_actions_adddup2(&fa, listen_fd, 3);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	sigset_t dfl;
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGCHLD);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	char *argv[] = { (char *)prog, (char *)arg, NULL };
	pid_t pid;
	int err = posix_spawn(&pid, path, &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(env);
	if (err) {
		errno = err;
		log_sys("cannot start %s", path);
		return -1;
	}
	return pid;
}
