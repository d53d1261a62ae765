/* login.c — hand the credentials to yubin-checkpassword, qmail style, but
 * as a child so that a bad password gets a NO and the session goes on:
 *
 *   yubin-imapd --fork--> yubin-checkpassword BIN/yubin-imap
 *                          (fd 3: "login\0password\0timestamp\0";
 *                           fds 0/1: the client, or the TLS pipes;
 *                           YUBIN_IMAP_TAG: the LOGIN's tag, so yubin-imap
 *                           itself answers "TAG OK [CAPABILITY ...]";
 *                           YUBIN_IMAP_INPUT: hex of bytes we read ahead)
 *
 * The front end waits for the child and reads its exit status:
 *   0    the mailbox session ran and ended: the front end exits too
 *   1    bad login: "TAG NO [AUTHENTICATIONFAILED]", tarpit, stay
 *   other exit codes: nothing was said to the client (yubin-imap exits
 *        non-zero only before its greeting): "TAG NO [UNAVAILABLE]", stay
 *   killed by a signal: hang up without a word (the session may have run) */
#include "imapd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "anvil.h"
#include "log.h"

/* BIN/NAME where BIN is the folder this program was started from */
static int sibling(char *out, size_t max, const char *name)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) return -1;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (!slash) return -1;
	*slash = 0;
	int k = snprintf(out, max, "%s/%s", self, name);
	return k < 0 || (size_t)k >= max ? -1 : 0;
}

static int credentials_pipe(const char *login, const char *password)
{
	int p[2];
	if (pipe(p) < 0) return -1;
	char stamp[64];
	int k = snprintf(stamp, sizeof stamp, "<%ld.%lld@yubin>", (long)getpid(), (long long)time(NULL));
	struct buf b = BUF_INIT;
	int bad = k < 0 || buf_add(&b, login, strlen(login) + 1) < 0 ||
	          buf_add(&b, password, strlen(password) + 1) < 0 || buf_add(&b, stamp, strlen(stamp) + 1) < 0;
	/* at most a few hundred bytes: fits the pipe, no deadlock */
	if (!bad) bad = write_all(p[1], b.s, b.len) < 0;
	if (b.s) explicit_bzero(b.s, b.len);
	buf_free(&b);
	close(p[1]);
	if (bad) { close(p[0]); return -1; }
	return p[0];
}

static int export_env(struct imapd *s, const char *mech)
{
	static const char hex[] = "0123456789abcdef";
	static char enc[2 * IO_BUFSIZE + 1];
	size_t n = rbuf_pending(&s->in);
	const unsigned char *p = (const unsigned char *)s->in.buf + s->in.pos;
	for (size_t i = 0; i < n; i++) {
		enc[2 * i] = hex[p[i] >> 4];
		enc[2 * i + 1] = hex[p[i] & 15];
	}
	enc[2 * n] = 0;
	char tag[256];
	snprintf(tag, sizeof tag, "%.*s", (int)s->taglen, s->tag);
	return (n ? setenv("YUBIN_IMAP_INPUT", enc, 1) : unsetenv("YUBIN_IMAP_INPUT")) < 0 ||
	       setenv("YUBIN_IMAP_TAG", tag, 1) < 0 || setenv("YUBIN_SERVICE", "imap", 1) < 0 ||
	       setenv("YUBIN_AUTH_MECH", mech, 1) < 0 || setenv("YUBIN_TLS", s->tls ? "1" : "0", 1) < 0
	       ? -1 : 0;
}

static void child(int credfd, const char *checkpw, const char *mailbox)
{
	if (credfd != 3) {
		if (dup2(credfd, 3) < 0) _exit(111);
		close(credfd);
	}
	char *argv[] = { (char *)checkpw, (char *)mailbox, NULL };
	execv(checkpw, argv);
	log_sys("cannot run %s", checkpw);
	_exit(111);
}

/* each failure waits a little longer; a client that keeps guessing is
 * dropped */
static void tarpit(struct imapd *s)
{
	anvil_login_failed("imap", s->rip); /* auth_failure_rate_limit, across connections */
	s->failures++;
	sleep((unsigned)(s->failures < 5 ? s->failures : 5));
	if (s->failures >= IMAPD_MAX_FAILURES) {
		reply(s, "NO", "[AUTHENTICATIONFAILED] Authentication failed.");
		bye(s, "Too many failed logins.");
	}
	reply(s, "NO", "[AUTHENTICATIONFAILED] Authentication failed.");
}

void login_run(struct imapd *s, const char *login, const char *password, const char *mech)
{
	char checkpw[PATH_MAX], mailbox[PATH_MAX];
	if (!anvil_login_allowed("imap", s->rip))
		return reply(s, "NO", "[UNAVAILABLE] Too many failed logins, try again later.");
	if (sibling(checkpw, sizeof checkpw, "yubin-checkpassword") < 0 ||
	    sibling(mailbox, sizeof mailbox, "yubin-imap") < 0 || export_env(s, mech) < 0) {
		reply(s, "NO", "[UNAVAILABLE] Internal error.");
		return;
	}
	flush(s);
	int credfd = credentials_pipe(login, password);
	if (credfd < 0) return reply(s, "NO", "[UNAVAILABLE] Internal error.");
	pid_t pid = fork();
	if (pid < 0) {
		close(credfd);
		return reply(s, "NO", "[UNAVAILABLE] Temporary failure, try again later.");
	}
	if (pid == 0) child(credfd, checkpw, mailbox);
	close(credfd);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) _exit(0);
	if (WIFSIGNALED(status)) _exit(0);
	switch (WEXITSTATUS(status)) {
	case 0: _exit(0);
	case 1: tarpit(s); return;
	default: reply(s, "NO", "[UNAVAILABLE] Temporary failure, try again later."); return;
	}
}
