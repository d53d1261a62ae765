/* yubin-imap — the mailbox half of the IMAP server. Started by
 * yubin-checkpassword as the mailbox owner, in the Maildir, with the client
 * on fds 0/1 (or yubin-tlsd's pipes). From yubin-imapd it gets
 * YUBIN_IMAP_TAG (it answers "TAG OK ... Logged in" itself) and
 * YUBIN_IMAP_INPUT (hex of bytes the front end had already read); run by
 * hand in a Maildir it greets with PREAUTH. Exit 0 once the session has
 * started whatever happens later, 111 when it cannot start (the front end
 * then says so and keeps the client). */
#include "imap.h"
#include "control.h"
#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { ANY = 0, AUTH = 1, SELECTED = 2 };

static void cmd_capability(struct session *s, struct imap_parser *ps)
{
	if (!ip_eol(ps)) return bad(s, "Unexpected arguments.");
	untagged(s, "CAPABILITY %s", capabilities());
	tagged(s, "OK", "Capability completed.");
}

static void cmd_noop(struct session *s, struct imap_parser *ps)
{
	if (!ip_eol(ps)) return bad(s, "Unexpected arguments.");
	if (s->sel) {
		folder_sync(s->sel, 1);
		report_changes(s, 1);
	}
	tagged(s, "OK", "NOOP completed.");
}

static void cmd_logout(struct session *s, struct imap_parser *ps)
{
	(void)ps;
	untagged(s, "BYE Logging out");
	tagged(s, "OK", "Logout completed.");
	out_flush(s);
	log_msg("user=<%s> logout", s->user);
	_exit(0);
}

static void cmd_already(struct session *s, struct imap_parser *ps)
{
	(void)ps;
	bad(s, "Already authenticated.");
}

static void cmd_id(struct session *s, struct imap_parser *ps)
{
	(void)ps; /* the client's ID is informational: accept anything */
	untagged(s, "ID (\"name\" \"yubin\")");
	tagged(s, "OK", "ID completed.");
}

static void cmd_enable(struct session *s, struct imap_parser *ps)
{
	struct buf en = BUF_INIT;
	while (ip_sp(ps) == 0) {
		char *a;
		size_t n;
		if (ip_atom(ps, NULL, &a, &n) < 0) { buf_free(&en); return bad(s, "Invalid arguments."); }
		(void)a; /* nothing optional to switch on yet */
	}
	if (!ip_eol(ps)) { buf_free(&en); return bad(s, "Invalid arguments."); }
	untagged(s, "ENABLED%s", en.len ? en.s : "");
	buf_free(&en);
	tagged(s, "OK", "Enabled.");
}

void cmd_namespace(struct session *s, struct imap_parser *ps)
{
	if (!ip_eol(ps)) return bad(s, "Unexpected arguments.");
	untagged(s, "NAMESPACE ((\"\" \".\")) NIL NIL");
	tagged(s, "OK", "Namespace completed.");
}

static const struct command {
	const char *name;
	int state;
	cmd_fn *fn;
} commands[] = {
	{ "CAPABILITY", ANY, cmd_capability },
	{ "NOOP", ANY, cmd_noop },
	{ "LOGOUT", ANY, cmd_logout },
	{ "LOGIN", ANY, cmd_already },
	{ "AUTHENTICATE", ANY, cmd_already },
	{ "STARTTLS", ANY, cmd_already },
	{ "ID", ANY, cmd_id },
	{ "ENABLE", AUTH, cmd_enable },
	{ "NAMESPACE", AUTH, cmd_namespace },
	{ "SELECT", AUTH, cmd_select },
	{ "EXAMINE", AUTH, cmd_examine },
	{ "CREATE", AUTH, cmd_create },
	{ "DELETE", AUTH, cmd_delete },
	{ "RENAME", AUTH, cmd_rename },
	{ "SUBSCRIBE", AUTH, cmd_subscribe },
	{ "UNSUBSCRIBE", AUTH, cmd_unsubscribe },
	{ "LIST", AUTH, cmd_list },
	{ "LSUB", AUTH, cmd_lsub },
	{ "STATUS", AUTH, cmd_status },
	{ "APPEND", AUTH, cmd_append },
	{ "IDLE", AUTH, cmd_idle },
	{ "CHECK", SELECTED, cmd_check },
	{ "CLOSE", SELECTED, cmd_close },
	{ "UNSELECT", SELECTED, cmd_unselect },
	{ "EXPUNGE", SELECTED, cmd_expunge },
	{ "SEARCH", SELECTED, cmd_search },
	{ "FETCH", SELECTED, cmd_fetch },
	{ "STORE", SELECTED, cmd_store },
	{ "COPY", SELECTED, cmd_copy },
	{ "MOVE", SELECTED, cmd_move },
	{ "UID", SELECTED, cmd_uid },
	{ "SORT", SELECTED, cmd_sort },
	{ "THREAD", SELECTED, cmd_thread },
};

/* FETCH, STORE and SEARCH (without UID) must not be told of expunges:
 * their sequence numbers would shift under the client */
static int expunge_ok(const char *name, size_t n)
{
	return !(imap_word_is(name, n, "FETCH") || imap_word_is(name, n, "STORE") ||
	         imap_word_is(name, n, "SEARCH") || imap_word_is(name, n, "COPY") ||
	         imap_word_is(name, n, "SORT") || imap_word_is(name, n, "THREAD") ||
	         imap_word_is(name, n, "MOVE"));
}

static void run_command(struct session *s)
{
	struct imap_parser ps;
	char *name;
	size_t n;
	ip_init(&ps, s->cmd.s, s->cmd.len);
	s->tag = NULL;
	s->uid = 0;
	if (ip_tag(&ps, &s->tag, &s->taglen) < 0 || ip_sp(&ps) < 0) {
		s->tag = NULL;
		return untagged(s, "BAD Missing tag or command.");
	}
	if (ip_atom(&ps, NULL, &name, &n) < 0) return bad(s, "Missing command.");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		const struct command *c = &commands[i];
		if (!imap_word_is(name, n, c->name)) continue;
		if (c->state == SELECTED && !s->sel) return bad(s, "No mailbox selected.");
		if (s->sel && c->fn != cmd_noop && c->fn != cmd_idle) {
			if (folder_sync(s->sel, 0) < 0 && errno == ESTALE)
				bye_exit(s, "Mailbox UIDVALIDITY changed, please reconnect.");
			report_changes(s, expunge_ok(name, n));
		}
		if (!ip_eol(&ps) && ip_peek(&ps) != ' ') return bad(s, "Invalid command.");
		c->fn(s, &ps);
		if (s->sel) cache_flush(s->sel);
		return;
	}
	bad(s, "Unknown command.");
}

/* After an unreadable command: answer with its tag when we have one. */
static void reject(struct session *s, const char *text)
{
	struct imap_parser ps;
	ip_init(&ps, s->cmd.s, s->cmd.len);
	if (s->cmd.len && ip_tag(&ps, &s->tag, &s->taglen) == 0) return bad(s, text);
	s->tag = NULL;
	untagged(s, "BAD %s", text);
}

static int unhex(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

/* bytes yubin-imapd read ahead of the login go back into our buffer */
static void pending_input(struct session *s)
{
	const char *hex = getenv("YUBIN_IMAP_INPUT");
	size_t n = hex ? strlen(hex) / 2 : 0;
	if (n > sizeof s->in.buf) n = 0;
	for (size_t i = 0; i < n; i++) {
		int a = unhex(hex[2 * i]), b = unhex(hex[2 * i + 1]);
		if (a < 0 || b < 0) { n = 0; break; }
		s->in.buf[i] = (char)(a * 16 + b);
	}
	s->in.pos = 0;
	s->in.len = n;
	unsetenv("YUBIN_IMAP_INPUT");
}

static struct session sess;

int main(void)
{
	struct session *s = &sess;
	log_init("yubin-imap");
	signal(SIGPIPE, SIG_IGN);
	s->user = getenv("YUBIN_LOGIN") ? getenv("YUBIN_LOGIN") : getenv("USER") ? getenv("USER") : "?";
	s->timeout_s = (int)control_time("imapd_timeout");
	if (s->timeout_s < 60) s->timeout_s = 60;
	long long maxline = control_size("imap_max_line_length");
	long long maxlit = control_size("message_size_limit");
	if (maxline < 1024) maxline = 1024;
	if (maxlit <= 0 || maxlit > (1LL << 30)) maxlit = 1LL << 30;
	/* a FETCH ends with a short tagged line after big writes: without
	 * NODELAY it could wait for the client's delayed ACK */
	int one = 1;
	setsockopt(1, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	rbuf_init(&s->in, 0, 0);
	wbuf_init(&s->out, 1, 300000);
	pending_input(s);
	s->rd = (struct imap_reader){ &s->in, &s->out, (size_t)maxline, (size_t)maxlit,
	                              (size_t)maxlit + (size_t)maxline * 4, 1, 0 };
	s->cmd.max = (size_t)maxlit + (size_t)maxline * 4 + 64;
	if (access("cur", F_OK) < 0 || access("new", F_OK) < 0) {
		log_sys("user=<%s> no Maildir in the working directory", s->user);
		return EXIT_TEMP;
	}
	folders_init();
	const char *tag = getenv("YUBIN_IMAP_TAG");
	if (tag && *tag) {
		out_puts(s, tag);
		out_puts(s, " OK [CAPABILITY ");
		out_puts(s, capabilities());
		out_puts(s, "] Logged in\r\n");
	} else {
		untagged(s, "PREAUTH [CAPABILITY %s] Logged in as %s", capabilities(), s->user);
	}
	log_msg("user=<%s> login", s->user);
	for (;;) {
		out_flush(s);
		s->in.timeout_ms = s->timeout_s * 1000;
		int st = imap_read_command(&s->rd, &s->cmd);
		switch (st) {
		case IR_OK: run_command(s); break;
		case IR_EOF: log_msg("user=<%s> disconnected", s->user); return 0;
		case IR_TIMEOUT: bye_exit(s, "Autologout; idle for too long");
		case IR_LONG: reject(s, "Command line too long."); break;
		case IR_TOOBIG:
			reject(s, "[TOOBIG] Literal too big.");
			if (s->rd.broken) bye_exit(s, "Too much data.");
			break;
		default: log_msg("user=<%s> connection lost", s->user); return 0;
		}
	}
}
