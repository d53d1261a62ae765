/* yubin-smtpd — the SMTP server for one connection, on fd 0 and 1 (started
 * by tcpserver, a systemd socket unit with Accept=yes or inetd), or a
 * worker of the pool serve.h runs on a listening socket it was handed
 * (yubin-run, a systemd socket unit with Accept=no), one session after
 * another.
 * Called as yubin-submission it plays the submission role (ports 587/465).
 * It reads control files and runs yubin-queue; it needs no privilege.
 * main() reads the settings, greets and runs the command table. */
#include "smtpd.h"
#include "control.h"
#include "log.h"
#include "serve.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct session S;
static const char *program_name;

/* a session's memory goes with it, so the next one served by the same
 * worker (serve.h) starts from nothing, as a new process would
 * (session_end has wiped what an AUTH exchange went through). Only the
 * connection to the injector stays: it is the worker's, between messages
 * (session_end closed it otherwise), and saves the next client's first
 * message a connect and a thread in yubin-queue. */
static void forget(struct session *s)
{
	transaction_reset(s);
	struct qclient q = s->q;
	int q_open = s->q_open;
	free(s->rcpt);
	free(s->rcpt_notify);
	free(s->rcpt_orcpt);
	buf_free(&s->sender);
	buf_free(&s->sender_canon);
	buf_free(&s->envid);
	free(s->login);
	free(s->in);
	free(s->out);
	free(s->line);
	memset(s, 0, sizeof *s);
	s->q = q;
	s->q_open = q_open;
}

static enum role role_of(const char *program)
{
	const char *base = strrchr(program, '/');
	base = base ? base + 1 : program;
	return strcmp(base, "yubin-submission") == 0 ? ROLE_SUBMISSION : ROLE_SMTPD;
}

static void setup(struct session *s)
{
	forget(s);
	s->role = role_of(program_name);
	signal(SIGPIPE, SIG_IGN); /* a vanished client or yubin-queue is an error return */
	s->infd = 0;
	s->outfd = 1;
	long long t = cfg_time("smtpd_timeout");
	int ms = t <= 0 || t > 86400 ? 86400 * 1000 : (int)t * 1000;
	s->in = malloc(sizeof *s->in);
	s->out = malloc(sizeof *s->out);
	s->line_limit = cfg_size("line_length_limit");
	if (s->line_limit < 512) s->line_limit = 512;      /* RFC 5321 4.5.3.1.4 minimum */
	if (s->line_limit > 1 << 20) s->line_limit = 1 << 20;
	s->line = malloc((size_t)s->line_limit + 1);
	if (!s->in || !s->out || !s->line) die_nomem();
	rbuf_init(s->in, s->infd, ms);
	wbuf_init(s->out, s->outfd, ms);
	s->soft_errors = cfg_int("smtpd_soft_error_limit");
	s->hard_errors = cfg_int("smtpd_hard_error_limit");
	s->error_sleep = cfg_time("smtpd_error_sleep_time");
	s->size_limit = cfg_size("message_size_limit");
	s->rcpt_limit = cfg_int("smtpd_recipient_limit");
	s->last_cmd = "CONNECT";
	memcpy(s->proto, "SMTP", 5);
	long long h = cfg_time("smtpd_hibernate_timeout");
	s->hibernate_ms = h < 0 || h >= ms ? 0 : (int)h;
}

/* one client, from the greeting to session_end() */
static void session(void)
{
	setup(&S);
	client_init(&S);
	log_msg("connect from %s", client_name(&S));
	tls_implicit(&S);
	limits_connect(&S);
	reply(&S, "220 %s", cfg_get("smtpd_banner"));
	command_loop(&S);
}

/* a session that slept in the pool (sleep.c), in this worker now */
static void wake(const void *state, size_t len, int anvil, enum serve_wake why)
{
	setup(&S);
	if (session_wake(&S, state, len, anvil) < 0) {
		log_msg("warning: a hibernated session came back unreadable; closing its connection");
		if (anvil >= 0) close(anvil);
		serve_session_end(0, 1);
	}
	if (why == SERVE_WAKE_TIMEOUT) io_failed(&S, IO_TIMEOUT);
	if (why == SERVE_WAKE_NO_ROOM) S.stay_awake = 1;
	command_loop(&S);
}

int main(int argc, char **argv)
{
	(void)argc;
	program_name = argv[0] ? argv[0] : "yubin-smtpd";
	log_init(program_name);
	/* hibernation also changes how the pool grows (serve.h): off for
	 * good when the setting says 0 as the pool starts */
	S.role = role_of(program_name);
	if (cfg_time("smtpd_hibernate_timeout") > 0) serve_resumable(wake);
	serve(argv, session);
}
