/* program.c — deliver to a |command from an alias or .forward. The
 * command text comes from the admin's or user's file, never from the
 * envelope; envelope facts reach it only as environment variables
 * (SENDER, RECIPIENT, LOCAL, DOMAIN, EXTENSION, ORIGINAL_RECIPIENT).
 * It runs through /bin/sh -c in its own process group with the message
 * (Return-Path and Delivered-To prepended) on a seekable stdin. Exit 0
 * is delivered; sysexits 64-78 are permanent except EX_OSERR (71) and
 * EX_TEMPFAIL (75), as in Postfix; anything else, a signal or
 * command_time_limit passing, is temporary. Its first output lines go
 * into the result text, so a bounce can say what it complained about. */
#include "local.h"
#include "addr.h"
#include "buf.h"
#include "maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUTPUT_KEEP 600

/* the message as a file the program can read (and seek) */
static int message_file(const struct message *m, const char *head, size_t hl)
{
	int fd = memfd_create("yubin-local", MFD_CLOEXEC);
	if (fd < 0) fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) return -1;
	if (write(fd, head, hl) != (ssize_t)hl || copy_range(m->fd, m->off, m->len, fd) < 0 ||
	    lseek(fd, 0, SEEK_SET) < 0) {
		int err = errno;
		close(fd);
		errno = err ? err : EIO;
		return -1;
	}
	return fd;
}

static int env_add(char **env, size_t *n, size_t max, const char *name, const char *value)
{
	if (*n + 1 >= max) return -1;
	size_t a = strlen(name), b = strlen(value);
	char *s = malloc(a + b + 2);
	if (!s) return -1;
	memcpy(s, name, a);
	s[a] = '=';
	memcpy(s + a + 1, value, b + 1);
	env[(*n)++] = s;
	env[*n] = NULL;
	return 0;
}

static int build_env(char **env, size_t max, const struct message *m, const char *addr,
                     const char *user, const char *home)
{
	size_t n = 0;
	env[0] = NULL;
	const char *local, *domain;
	size_t ll, dl;
	addr_split(addr, &local, &ll, &domain, &dl);
	char lp[1024], ext[1024] = "";
	snprintf(lp, sizeof lp, "%.*s", (int)ll, local);
	struct buf plain = BUF_INIT;
	if (addr_strip_extension(addr, &plain) > 0) {
		const char *pl, *pd;
		size_t pll, pdl;
		addr_split(plain.s, &pl, &pll, &pd, &pdl);
		if (pll + 1 < ll) snprintf(ext, sizeof ext, "%.*s", (int)(ll - pll - 1), local + pll + 1);
	}
	buf_free(&plain);
	int r = env_add(env, &n, max, "SENDER", m->sender) | env_add(env, &n, max, "RECIPIENT", addr) |
	        env_add(env, &n, max, "LOCAL", lp) | env_add(env, &n, max, "DOMAIN", domain) |
	        env_add(env, &n, max, "EXTENSION", ext) |
	        env_add(env, &n, max, "ORIGINAL_RECIPIENT", m->rcpt) |
	        env_add(env, &n, max, "QUEUE_ID", m->qid) |
	        env_add(env, &n, max, "HOME", home && *home ? home : "/") |
	        env_add(env, &n, max, "PATH", "/usr/local/bin:/usr/bin:/bin") |
	        env_add(env, &n, max, "SHELL", "/bin/sh");
	if (user) r |= env_add(env, &n, max, "USER", user) | env_add(env, &n, max, "LOGNAME", user);
	return r ? -1 : 0;
}

static void env_free(char **env)
{
	for (size_t i = 0; env[i]; i++) free(env[i]);
}

static const struct { int code; const char *dsn; const char *what; } sysexits[] = {
	{ 64, "5.3.0", "usage error" },       { 65, "5.6.0", "data format error" },
	{ 66, "5.3.0", "cannot open input" }, { 67, "5.1.1", "user unknown" },
	{ 68, "5.1.2", "host name unknown" }, { 69, "5.3.0", "service unavailable" },
	{ 70, "5.3.0", "internal software error" }, { 72, "5.3.0", "critical OS file missing" },
	{ 73, "5.2.0", "cannot create output file" }, { 74, "5.3.0", "input/output error" },
	{ 76, "5.5.0", "remote protocol error" }, { 77, "5.7.0", "permission denied" },
	{ 78, "5.3.5", "configuration error" },
};

void deliver_program(const struct message *m, const char *addr, const char *cmd,
                     const char *user, const char *home, struct result *r)
{
	char head[2 * 4096 + 64], out[OUTPUT_KEEP + 1];
	char *env[24];
	size_t outlen = 0;
	int loop = msg_loop_check(m, addr);
	if (loop < 0) { result_errno(r, errno, "cannot read queue file %s", m->qid); return; }
	if (loop) { result_set(r, 'D', "5.4.6", "mail forwarding loop for %s", addr); return; }
	int hl = msg_head(head, sizeof head, m, addr, 1);
	if (hl < 0) { result_set(r, 'D', "5.1.3", "address too long"); return; }
	int in = message_file(m, head, (size_t)hl);
	if (in < 0) { result_errno(r, errno, "cannot prepare the message for command"); return; }
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) { close(in); result_errno(r, errno, "pipe"); return; }
	if (build_env(env, sizeof env / sizeof *env, m, addr, user, home) < 0) {
		env_free(env);
		close(in); close(p[0]); close(p[1]);
		result_set(r, 'Z', "4.3.0", "out of memory");
		return;
	}

	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	const char *dir = home && *home == '/' && access(home, X_OK) == 0 ? home : "/";
	posix_spawn_file_actions_addchdir_np(&fa, dir);
	posix_spawnattr_init(&at);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	pid_t pid;
	int err = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	env_free(env);
	close(in);
	close(p[1]);
	if (err) {
		close(p[0]);
		result_errno(r, err, "cannot run /bin/sh for command");
		return;
	}

	/* collect output until the shell exits (not until EOF: a command
	 * that left a background child holding the pipe must not hang us) */
	time_t deadline = time(NULL) + (time_t)cfg.command_time_limit;
	int status = 0, exited = 0, timed_out = 0;
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	for (;;) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		poll(&pf, 1, 200);
		char tmp[4096];
		ssize_t k;
		while ((k = read(p[0], tmp, sizeof tmp)) > 0) {
			size_t keep = (size_t)k;
			if (keep > OUTPUT_KEEP - outlen) keep = OUTPUT_KEEP - outlen;
			memcpy(out + outlen, tmp, keep);
			outlen += keep;
		}
		if (exited) break;
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) { exited = 1; continue; } /* one more read for the last output */
		if (time(NULL) >= deadline) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR) ;
			timed_out = 1;
			break;
		}
	}
	close(p[0]);
	out[outlen] = 0;
	while (outlen && (out[outlen - 1] == '\n' || out[outlen - 1] == ' ')) out[--outlen] = 0;
	const char *sep = outlen ? ": " : "";

	if (timed_out) {
		result_set(r, 'Z', "4.3.0", "command timed out after %llds: %s%s%s", cfg.command_time_limit, cmd, sep, out);
		return;
	}
	if (WIFSIGNALED(status)) {
		result_set(r, 'Z', "4.3.0", "command killed by signal %d: %s%s%s", WTERMSIG(status), cmd, sep, out);
		return;
	}
	int code = WEXITSTATUS(status);
	if (code == 0) {
		result_set(r, 'K', "2.0.0", "delivered to command: %s", cmd);
		return;
	}
	for (size_t i = 0; i < sizeof sysexits / sizeof *sysexits; i++)
		if (sysexits[i].code == code) {
			result_set(r, 'D', sysexits[i].dsn, "command %s failed with exit %d (%s)%s%s", cmd, code,
			           sysexits[i].what, sep, out);
			return;
		}
	result_set(r, 'Z', "4.3.0", "command %s failed with exit %d%s%s", cmd, code, sep, out);
}
