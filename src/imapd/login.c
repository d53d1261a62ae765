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
#include "auth.h"
#include "log.h"
#include "qclient.h"


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
	if (prog_path(checkpw, sizeof checkpw, "yubin-checkpassword") < 0 ||
	    prog_path(mailbox, sizeof mailbox, "yubin-imap") < 0 || export_env(s, mech) < 0) {
		reply(s, "NO", "[UNAVAILABLE] Internal error.");
		return;
	}
	flush(s);
	int credfd = checkpassword_record(login, password);
	if (credfd < 0) return reply(s, "NO", "[UNAVAILABLE] Internal error.");
	pid_t pid = fork();
	if (pid < 0) {
		close(credfd);
		return reply(s, "NO", "[UNAVAILABLE] Temporary failure, try again later.");
	}
	if (pid == 0) checkpassword_exec(credfd, checkpw, mailbox);
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
