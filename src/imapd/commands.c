/* commands.c — the not-authenticated state (RFC 3501 6.1-6.2, RFC 4959
 * SASL-IR, RFC 2971 ID): a table of commands, each a small function. */
#include "imapd.h"

#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "sasl.h"

static void c_capability(struct imapd *s, struct imap_parser *ps)
{
	if (!ip_eol(ps)) return reply(s, "BAD", "Unexpected arguments.");
	say(s, "* CAPABILITY %s", capabilities(s));
	reply(s, "OK", "Capability completed.");
}

static void c_noop(struct imapd *s, struct imap_parser *ps)
{
	(void)ps;
	reply(s, "OK", "NOOP completed.");
}

static void c_logout(struct imapd *s, struct imap_parser *ps)
{
	(void)ps;
	say(s, "* BYE Logging out");
	reply(s, "OK", "Logout completed.");
	flush(s);
	_exit(0);
}

static void c_id(struct imapd *s, struct imap_parser *ps)
{
	(void)ps; /* informational only */
	say(s, "* ID (\"name\" \"yubin\")");
	reply(s, "OK", "ID completed.");
}

static void c_starttls(struct imapd *s, struct imap_parser *ps)
{
	if (!ip_eol(ps)) return reply(s, "BAD", "Unexpected arguments.");
	if (s->tls) return reply(s, "BAD", "TLS is already active.");
	if (!s->tls_offered) return reply(s, "NO", "TLS is not available.");
	/* pipelined bytes after STARTTLS are dropped unanswered */
	s->in.pos = s->in.len;
	reply(s, "OK", "Begin TLS negotiation now.");
	flush(s);
	tls_begin(s);
}

static int plaintext_refused(struct imapd *s)
{
	if (s->plaintext_ok) return 0;
	reply(s, "NO", "[PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections.");
	return 1;
}

static void c_login(struct imapd *s, struct imap_parser *ps)
{
	char *u, *p;
	size_t un, pn;
	if (ip_sp(ps) < 0 || ip_astring(ps, &u, &un) < 0 || ip_sp(ps) < 0 || ip_astring(ps, &p, &pn) < 0 ||
	    !ip_eol(ps))
		return reply(s, "BAD", "Invalid arguments.");
	if (plaintext_refused(s)) return;
	char user[SASL_LOGIN_MAX], pass[SASL_PASSWORD_MAX];
	if (un == 0 || un >= sizeof user || pn >= sizeof pass || memchr(u, 0, un) || memchr(p, 0, pn)) {
		s->failures++;
		return reply(s, "NO", "[AUTHENTICATIONFAILED] Authentication failed.");
	}
	memcpy(user, u, un);
	user[un] = 0;
	memcpy(pass, p, pn);
	pass[pn] = 0;
	explicit_bzero(p, pn);
	login_run(s, user, pass, "LOGIN");
	explicit_bzero(pass, sizeof pass);
}

static void c_authenticate(struct imapd *s, struct imap_parser *ps)
{
	char *mech, *init = NULL;
	size_t mn, in = 0;
	int has_init = 0;
	if (ip_sp(ps) < 0 || ip_atom(ps, NULL, &mech, &mn) < 0) return reply(s, "BAD", "Invalid arguments.");
	if (ip_sp(ps) == 0) {
		/* SASL-IR: the initial response right here ("=" is empty) */
		if (ip_atom(ps, "=", &init, &in) < 0) return reply(s, "BAD", "Invalid arguments.");
		has_init = 1;
	}
	if (!ip_eol(ps)) return reply(s, "BAD", "Invalid arguments.");
	if (plaintext_refused(s)) return;
	struct sasl st;
	char chal[SASL_CHAL_MAX], line[SASL_LINE_MAX];
	int r = sasl_begin(&st, mech, mn, init, in, has_init, chal, sizeof chal);
	while (r == SASL_CONTINUE) {
		say(s, "+ %s", chal);
		flush(s);
		size_t len;
		int g = rbuf_getline(&s->in, line, sizeof line, &len, NULL);
		if (g == IO_LONG) { r = SASL_BAD; break; }
		if (g != IO_OK) _exit(0);
		r = sasl_step(&st, line, len, chal, sizeof chal);
	}
	switch (r) {
	case SASL_OK: login_run(s, st.login, st.password, sasl_mech_name(&st)); break;
	case SASL_CANCEL: reply(s, "BAD", "Authentication aborted."); break;
	case SASL_NOMECH: reply(s, "NO", "[CANNOT] Unsupported authentication mechanism."); break;
	default:
		s->failures++;
		reply(s, "BAD", "Invalid base64 data or SASL message.");
		break;
	}
	sasl_wipe(&st);
	explicit_bzero(line, sizeof line);
}

static void c_later(struct imapd *s, struct imap_parser *ps)
{
	(void)ps;
	reply(s, "BAD", "Log in first.");
}

typedef void command_fn(struct imapd *s, struct imap_parser *ps);
static const struct { const char *name; command_fn *fn; } commands[] = {
	{ "CAPABILITY", c_capability }, { "NOOP", c_noop }, { "LOGOUT", c_logout }, { "ID", c_id },
	{ "STARTTLS", c_starttls }, { "LOGIN", c_login }, { "AUTHENTICATE", c_authenticate },
};

/* commands of the later states get a hint rather than "unknown" */
static const char *const later[] = {
	"SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LSUB",
	"STATUS", "APPEND", "CHECK", "CLOSE", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "UID",
	"IDLE", "ENABLE", "NAMESPACE", "MOVE", "UNSELECT",
};

static void dispatch(struct imapd *s)
{
	struct imap_parser ps;
	char *name;
	size_t n;
	ip_init(&ps, s->cmd.s, s->cmd.len);
	s->tag = NULL;
	if (ip_tag(&ps, &s->tag, &s->taglen) < 0 || ip_sp(&ps) < 0 || ip_atom(&ps, NULL, &name, &n) < 0) {
		s->tag = NULL;
		s->errors++;
		return say(s, "* BAD Missing tag or command.");
	}
	if (!ip_eol(&ps) && ip_peek(&ps) != ' ') {
		s->errors++;
		return reply(s, "BAD", "Invalid command.");
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (imap_word_is(name, n, commands[i].name)) return commands[i].fn(s, &ps);
	for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
		if (imap_word_is(name, n, later[i])) return c_later(s, &ps);
	s->errors++;
	reply(s, "BAD", "Unknown command.");
}

void command_loop(struct imapd *s)
{
	for (;;) {
		flush(s);
		if (s->errors >= IMAPD_MAX_ERRORS) bye(s, "Too many invalid commands.");
		int st = imap_read_command(&s->rd, &s->cmd);
		switch (st) {
		case IR_OK: dispatch(s); break;
		case IR_EOF: _exit(0);
		case IR_TIMEOUT: bye(s, "Disconnected for inactivity.");
		case IR_LONG:
		case IR_TOOBIG: {
			/* answer with the tag when we have one: a client waiting
			 * for "+" after a refused literal needs its tagged reply */
			struct imap_parser ps;
			ip_init(&ps, s->cmd.s, s->cmd.len);
			s->errors++;
			if (s->cmd.len && ip_tag(&ps, &s->tag, &s->taglen) == 0) reply(s, "BAD", "Command too long.");
			else say(s, "* BAD Command too long.");
			if (s->rd.broken) bye(s, "Too much data.");
			break;
		}
		default: _exit(0);
		}
	}
}
