/* commands.c — the command table, the loop that reads commands and
 * dispatches them, and the small commands (HELO, EHLO, RSET, NOOP, QUIT,
 * VRFY, HELP, ETRN). Pipelining falls out of the loop: commands are read
 * from the input buffer as long as it holds some, and the replies are
 * flushed only when it is empty (or before a delay), so answers go back in
 * order and in as few packets as the client allows. */
#include "smtpd.h"
#include "addr.h"
#include "control.h"
#include "log.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void cmd_helo(struct session *s, char *arg, size_t len);
static void cmd_ehlo(struct session *s, char *arg, size_t len);
static void cmd_rset(struct session *s, char *arg, size_t len);
static void cmd_noop(struct session *s, char *arg, size_t len);
static void cmd_quit(struct session *s, char *arg, size_t len);
static void cmd_vrfy(struct session *s, char *arg, size_t len);
static void cmd_help(struct session *s, char *arg, size_t len);
static void cmd_etrn(struct session *s, char *arg, size_t len);

enum { PRE_TLS = 1 }; /* allowed before TLS when TLS is required */

static const struct command {
	const char *name;
	void (*fn)(struct session *s, char *arg, size_t len);
	unsigned flags;
} commands[] = {
	{ "HELO", cmd_helo, PRE_TLS }, { "EHLO", cmd_ehlo, PRE_TLS }, { "MAIL", cmd_mail, 0 },
	{ "RCPT", cmd_rcpt, 0 },       { "DATA", cmd_data, 0 },       { "RSET", cmd_rset, PRE_TLS },
	{ "NOOP", cmd_noop, PRE_TLS }, { "QUIT", cmd_quit, PRE_TLS }, { "VRFY", cmd_vrfy, 0 },
	{ "HELP", cmd_help, 0 },       { "ETRN", cmd_etrn, 0 },       { "STARTTLS", cmd_starttls, PRE_TLS },
	{ "AUTH", cmd_auth, 0 },       { "BDAT", cmd_bdat, PRE_TLS }, /* reads its chunk even when refused */
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])
#define UNKNOWN NCOMMANDS /* counter slot for everything else */

const char *const command_names[] = { "helo", "ehlo", "mail", "rcpt", "data", "rset", "noop", "quit",
                                      "vrfy", "help", "etrn", "starttls", "auth", "bdat", "unknown" };
const size_t command_count = NCOMMANDS + 1;

/* a line that is no command at all */
static void bad_line(struct session *s, const char *reply_text)
{
	s->ncmd[UNKNOWN]++;
	s->nbad[UNKNOWN]++;
	s->last_cmd = "UNKNOWN";
	reply_err(s, "%s", reply_text);
}

/* Lines a web browser or proxy client sends: not a mail client. */
static int forbidden(const char *verb, size_t n)
{
	static const char *const words[] = { "CONNECT", "GET", "POST", "PUT", "HEAD" };
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i]) == n && strncmp(verb, words[i], n) == 0) return 1;
	return n > 0 && verb[n - 1] == ':'; /* "Host:", "User-Agent:" ... */
}

static void dispatch(struct session *s, char *line, size_t len)
{
	size_t v = 0;
	while (v < len && line[v] != ' ') v++;
	while (len > v && (line[len - 1] == ' ' || line[len - 1] == '\t')) len--; /* trailing blanks */
	char *arg = line + v;
	size_t alen = len - v;
	while (alen && *arg == ' ') { arg++; alen--; }
	arg[alen] = 0;
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strlen(commands[i].name) == v && strncasecmp(line, commands[i].name, v) == 0) {
			unsigned before = s->errors;
			s->last_cmd = commands[i].name;
			s->ncmd[i]++;
			if (!(commands[i].flags & PRE_TLS) && tls_required(s))
				reply_err(s, "530 5.7.0 Must issue a STARTTLS command first");
			else
				commands[i].fn(s, arg, alen);
			if (s->errors != before) s->nbad[i]++;
			return;
		}
	}
	s->ncmd[UNKNOWN]++;
	s->nbad[UNKNOWN]++;
	s->last_cmd = "UNKNOWN";
	if (forbidden(line, v)) {
		log_msg("warning: non-SMTP command from %s: %.100s", client_name(s), line);
		reply(s, "221 2.7.0 Error: I can break rules, too. Goodbye.");
		session_end(s, 0);
	}
	if (len == 0)
		reply_err(s, "500 5.5.2 Error: bad syntax");
	else
		reply_err(s, "502 5.5.2 Error: command not recognized");
}

void command_loop(struct session *s)
{
	for (;;) {
		if (s->hard_errors > 0 && s->errors >= (unsigned long long)s->hard_errors) {
			log_msg("too many errors after %s from %s", s->last_cmd, client_name(s));
			reply(s, "421 4.7.0 %s Error: too many errors", control_get("myhostname"));
			session_end(s, 0);
		}
		flush_if_idle(s);
		sleep_if_silent(s);
		size_t len = 0;
		int st = rbuf_getline(s->in, s->line, (size_t)s->line_limit + 1, &len, NULL);
		if (st == IO_LONG) {
			bad_line(s, "500 5.5.2 Error: line too long");
			continue;
		}
		if (st != IO_OK) io_failed(s, st); /* a last line without LF is never obeyed */
		if (memchr(s->line, 0, len)) {
			bad_line(s, "500 5.5.2 Error: NUL character in command");
			continue;
		}
		dispatch(s, s->line, len);
	}
}

void transaction_reset(struct session *s)
{
	for (size_t i = 0; i < s->nrcpt; i++) {
		free(s->rcpt[i]);
		free(s->rcpt_notify[i]);
		free(s->rcpt_orcpt[i]);
	}
	s->nrcpt = 0;
	s->in_mail = 0;
	bdat_reset(s); /* RSET, HELO or a new EHLO between chunks: nothing is queued */
	s->smtputf8 = 0;
	s->hold = s->discard = 0;
	buf_reset(&s->sender);
	buf_reset(&s->sender_canon);
	buf_reset(&s->envid);
	s->size = 0;
	s->body[0] = 0;
	s->ret[0] = 0;
}

/* The HELO/EHLO argument as it will appear in logs, the Received header
 * and the queue file: one printable word. */
static int take_helo(struct session *s, const char *arg, size_t len)
{
	size_t n = 0;
	while (n < len && arg[n] != ' ') n++;
	if (n == 0 || n >= sizeof s->helo) return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)arg[i] <= 32 || (unsigned char)arg[i] >= 127) return -1;
	memcpy(s->helo, arg, n);
	s->helo[n] = 0;
	return 0;
}

static void cmd_helo(struct session *s, char *arg, size_t len)
{
	if (take_helo(s, arg, len) < 0) {
		reply_err(s, "501 5.5.4 Syntax: HELO hostname");
		return;
	}
	transaction_reset(s);
	s->esmtp = 0;
	memcpy(s->proto, "SMTP", 5);
	reply(s, "250 %s", control_get("myhostname"));
}

static void cmd_ehlo(struct session *s, char *arg, size_t len)
{
	if (take_helo(s, arg, len) < 0) {
		reply_err(s, "501 5.5.4 Syntax: EHLO hostname");
		return;
	}
	transaction_reset(s);
	s->esmtp = 1;
	const char *proto = s->tls ? (s->login ? "ESMTPSA" : "ESMTPS") : (s->login ? "ESMTPA" : "ESMTP");
	memcpy(s->proto, proto, strlen(proto) + 1);
	reply_more(s, "250-%s", control_get("myhostname"));
	reply_more(s, "250-PIPELINING");
	if (s->size_limit > 0)
		reply_more(s, "250-SIZE %lld", s->size_limit);
	else
		reply_more(s, "250-SIZE");
	if (!cfg_bool("disable_vrfy_command")) reply_more(s, "250-VRFY");
	reply_more(s, "250-ETRN");
	if (tls_offered(s)) reply_more(s, "250-STARTTLS");
	if (auth_offered(s)) {
		reply_more(s, "250-AUTH PLAIN LOGIN");
		if (cfg_bool("broken_sasl_auth_clients")) reply_more(s, "250-AUTH=PLAIN LOGIN");
	}
	reply_more(s, "250-ENHANCEDSTATUSCODES");
	reply_more(s, "250-8BITMIME");
	reply_more(s, "250-DSN");
	reply_more(s, "250-SMTPUTF8");
	reply(s, "250 CHUNKING");
}

static void cmd_rset(struct session *s, char *arg, size_t len)
{
	(void)arg;
	if (len) {
		reply_err(s, "501 5.5.4 Syntax: RSET");
		return;
	}
	transaction_reset(s);
	reply(s, "250 2.0.0 Ok");
}

static void cmd_noop(struct session *s, char *arg, size_t len)
{
	(void)arg;
	(void)len;
	reply(s, "250 2.0.0 Ok");
}

static void cmd_quit(struct session *s, char *arg, size_t len)
{
	(void)arg;
	(void)len;
	reply(s, "221 2.0.0 Bye");
	session_end(s, 0);
}

/* VRFY says neither yes nor no (252), so it tells a harvester nothing;
 * RFC 5321 3.5.3 allows that. */
static void cmd_vrfy(struct session *s, char *arg, size_t len)
{
	if (cfg_bool("disable_vrfy_command")) {
		reply_err(s, "502 5.5.1 VRFY command is disabled");
		return;
	}
	if (len == 0) {
		reply_err(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	struct buf a = BUF_INIT;
	size_t used;
	if (addr_parse_path(arg, len, 0, &a, &used) != ADDR_OK) {
		buf_free(&a);
		reply_err(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	reply(s, "252 2.0.0 %s", a.s);
	buf_free(&a);
}

static void cmd_help(struct session *s, char *arg, size_t len)
{
	(void)arg;
	(void)len;
	reply_more(s, "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP ETRN STARTTLS AUTH");
	reply(s, "214 2.0.0 See RFC 5321");
}

/* ETRN (RFC 1985): ask yubin-qmgr to retry the deferred mail for a domain
 * now. "@domain" and "#queue" forms are accepted as the domain itself. */
static void cmd_etrn(struct session *s, char *arg, size_t len)
{
	if (!s->helo[0]) {
		reply_err(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->in_mail) {
		reply_err(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	if (len && (*arg == '@' || *arg == '#')) { arg++; len--; }
	if (len == 0 || len > 253) {
		reply_err(s, "500 5.5.4 Syntax: ETRN domain");
		return;
	}
	char dom[256];
	for (size_t i = 0; i < len; i++) {
		char c = arg[i];
		if (!isalnum((unsigned char)c) && c != '-' && c != '.' && c != '_') {
			reply_err(s, "501 5.1.2 Error: invalid parameter syntax");
			return;
		}
		dom[i + 1] = (char)tolower((unsigned char)c);
	}
	dom[0] = 'f';
	dom[len + 1] = 0;
	qtrigger(dom);
	log_msg("ETRN %s from %s", dom + 1, client_name(s));
	reply(s, "250 2.0.0 Queuing started");
}
