/* reply.c — what the server says and how a session ends. Replies are
 * buffered (pipelining: answers go out together when the client has no
 * more commands buffered); an error reply past smtpd_soft_error_limit is
 * delayed by smtpd_error_sleep_time, the tarpit; the session ends through
 * session_end(), which logs Postfix's "disconnect from" line. */
#include "smtpd.h"
#include "control.h"
#include "anvil.h"
#include "log.h"
#include "serve.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void put(struct session *s, const char *fmt, va_list ap)
{
	char line[1024];
	int n = vsnprintf(line, sizeof line - 2, fmt, ap);
	if (n < 0) return;
	size_t len = (size_t)n < sizeof line - 2 ? (size_t)n : sizeof line - 3;
	/* a reply never carries a line break from a table or a client */
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\r' || line[i] == '\n' || line[i] == 0) line[i] = ' ';
	line[len++] = '\r';
	line[len++] = '\n';
	wbuf_put(s->out, line, len);
}

void reply(struct session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	put(s, fmt, ap);
	va_end(ap);
}

void reply_more(struct session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	put(s, fmt, ap);
	va_end(ap);
}

static void sleep_seconds(long long secs)
{
	struct timespec ts = { .tv_sec = secs > 3600 ? 3600 : secs, .tv_nsec = 0 };
	while (nanosleep(&ts, &ts) < 0) ;
}

void reply_err(struct session *s, const char *fmt, ...)
{
	if (s->soft_errors >= 0 && s->errors >= (unsigned long long)s->soft_errors && s->error_sleep > 0) {
		/* the earlier replies go out now; only this one waits */
		wbuf_flush(s->out);
		sleep_seconds(s->error_sleep);
	}
	s->errors++;
	va_list ap;
	va_start(ap, fmt);
	put(s, fmt, ap);
	va_end(ap);
}

void flush_if_idle(struct session *s)
{
	if (rbuf_pending(s->in) == 0 && wbuf_flush(s->out) < 0) {
		log_msg("lost connection after %s from %s", s->last_cmd, client_name(s));
		session_end(s, 0);
	}
}

void log_action(struct session *s, const char *qid, const char *action, const char *stage, const char *sender,
                const char *rcpt, const char *text)
{
	if (!sender) sender = s->in_mail && s->sender.s ? s->sender.s : "";
	if (!rcpt) rcpt = s->nrcpt ? s->rcpt[0] : "";
	log_msg("%s: %s: %s from %s: %s; from=<%s> to=<%s> proto=%s helo=<%s>", qid && *qid ? qid : "NOQUEUE", action, stage,
	        client_name(s), text, sender, rcpt, s->proto, s->helo);
}

void log_reject(struct session *s, const char *qid, const char *stage, const char *sender, const char *rcpt,
                const char *text)
{
	log_action(s, qid, "reject", stage, sender, rcpt, text);
}

/* Postfix's per-command summary: "ehlo=1 mail=1 rcpt=0/1 data=1 quit=1 commands=4/5" */
extern const char *const command_names[];
extern const size_t command_count;

void session_end(struct session *s, int code)
{
	char stats[512];
	size_t len = 0;
	unsigned long ok_total = 0, total = 0;
	wbuf_flush(s->out);
	if (s->q_open && !qclient_reusable(&s->q)) {
		qclient_close(&s->q); /* no commit: yubin-queue drops what it had */
		s->q_open = 0;
	}
	stats[0] = 0;
	for (size_t i = 0; i < command_count && i < 16; i++) {
		unsigned long all = s->ncmd[i], bad = s->nbad[i];
		if (!all) continue;
		int n = bad ? snprintf(stats + len, sizeof stats - len, " %s=%lu/%lu", command_names[i], all - bad, all)
		            : snprintf(stats + len, sizeof stats - len, " %s=%lu", command_names[i], all);
		if (n > 0 && (size_t)n < sizeof stats - len) len += (size_t)n;
		ok_total += all - bad;
		total += all;
	}
	if (total == ok_total)
		log_msg("disconnect from %s%s commands=%lu", client_name(s), stats, total);
	else
		log_msg("disconnect from %s%s commands=%lu/%lu", client_name(s), stats, ok_total, total);
	anvil_close(); /* anvil counts this connection until its socket closes */
	if (s->auth_seen) {
		/* the credentials came through these buffers (login.c wipes its
		 * own); the worker may serve another client next */
		explicit_bzero(s->in, sizeof *s->in);
		explicit_bzero(s->line, (size_t)s->line_limit + 1);
	}
	/* As Postfix's smtpd, a worker serves the next client after any
	 * session: TLS state never enters this process (yubin-tlsd has it)
	 * and main.c wipes what carried a password before the next client's
	 * first byte. Only a session whose TLS a spawned yubin-tlsd child
	 * carried ends its worker, which need not wait for that child. */
	serve_session_end(code, !s->tls_child);
}

void io_failed(struct session *s, int status)
{
	if (status == IO_TIMEOUT) {
		log_msg("timeout after %s from %s", s->last_cmd, client_name(s));
		reply(s, "421 4.4.2 %s Error: timeout exceeded", control_get("myhostname"));
	} else {
		log_msg("lost connection after %s from %s", s->last_cmd, client_name(s));
	}
	session_end(s, 0);
}
