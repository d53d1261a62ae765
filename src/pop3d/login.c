/* login.c — hand the credentials to yubin-checkpassword, qmail style, but
 * as a child so a bad password can be answered and retried:
 *
 *   yubin-pop3d --fork--> yubin-checkpassword BIN/yubin-pop3
 *                          (fd 3: "login\0password\0timestamp\0";
 *                           fds 0/1: the client, or the TLS pipes)
 *
 * The front end waits for the child and reads its exit status:
 *   0    the mailbox session ran and ended: the front end exits too
 *   1    bad login (checkpassword): "-ERR [AUTH]", tarpit, stay
 *   2    yubin-pop3 answered the client itself ("-ERR [IN-USE]" ...) and
 *        read nothing: stay in AUTHORIZATION
 *   111, other, 100: "-ERR [SYS/TEMP]" or "[SYS/PERM]", then hang up
 *   killed by a signal: hang up without a word (the session may have run)
 * Pipelined commands already read into our buffer travel to yubin-pop3
 * hex-encoded in YUBIN_POP3_INPUT, so "PASS x" + "STAT" in one packet work. */
#include "pop3d.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "anvil.h"
#include "auth.h"
#include "buf.h"
#include "log.h"
#include "qclient.h"


static int export_pending(struct pop3d *s)
{
	size_t n = rbuf_pending(&s->in);
	if (!n) return unsetenv("YUBIN_POP3_INPUT");
	static const char hex[] = "0123456789abcdef";
	static char enc[2 * IO_BUFSIZE + 1];
	const unsigned char *p = (const unsigned char *)s->in.buf + s->in.pos;
	for (size_t i = 0; i < n; i++) {
		enc[2 * i] = hex[p[i] >> 4];
		enc[2 * i + 1] = hex[p[i] & 15];
	}
	enc[2 * n] = 0;
	return setenv("YUBIN_POP3_INPUT", enc, 1);
}

/* after a failed login: wait a little longer each time, and give up on
 * clients that keep guessing */
static void tarpit(struct pop3d *s)
{
	anvil_login_failed("pop3", s->rip); /* auth_failure_rate_limit, across connections */
	s->failures++;
	sleep((unsigned)(s->failures < 5 ? s->failures : 5));
	if (s->failures >= POP3D_MAX_FAILURES)
		reply_die(s, "-ERR [AUTH] Authentication failed, too many attempts.");
	reply(s, "-ERR [AUTH] Authentication failed.");
}

void login_run(struct pop3d *s, const char *login, const char *password, const char *mech)
{
	char checkpw[PATH_MAX], mailbox[PATH_MAX];
	s->have_user = 0;
	if (!anvil_login_allowed("pop3", s->rip)) {
		reply(s, "-ERR [SYS/TEMP] Too many failed logins, try again later.");
		return;
	}
	if (prog_path(checkpw, sizeof checkpw, "yubin-checkpassword") < 0 ||
	    prog_path(mailbox, sizeof mailbox, "yubin-pop3") < 0)
		reply_die(s, "-ERR [SYS/TEMP] Internal error.");
	if (wbuf_flush(&s->out) < 0) _exit(0);
	if (export_pending(s) < 0 || setenv("YUBIN_SERVICE", "pop3", 1) < 0 ||
	    setenv("YUBIN_AUTH_MECH", mech, 1) < 0 || setenv("YUBIN_TLS", s->tls ? "1" : "0", 1) < 0)
		reply_die(s, "-ERR [SYS/TEMP] Internal error.");
	int credfd = checkpassword_record(login, password);
	if (credfd < 0) reply_die(s, "-ERR [SYS/TEMP] Internal error.");
	pid_t pid = fork();
	if (pid < 0) {
		close(credfd);
		reply_die(s, "-ERR [SYS/TEMP] Temporary failure, try again later.");
	}
	if (pid == 0) checkpassword_exec(credfd, checkpw, mailbox);
	close(credfd);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) reply_die(s, "-ERR [SYS/TEMP] Internal error.");
	if (WIFSIGNALED(status)) _exit(0);
	switch (WEXITSTATUS(status)) {
	case 0: _exit(0);
	case 1: tarpit(s); return;
	case 2: return;
	case 100: reply_die(s, "-ERR [SYS/PERM] Mailbox unavailable.");
	default: reply_die(s, "-ERR [SYS/TEMP] Temporary failure, try again later.");
	}
}
