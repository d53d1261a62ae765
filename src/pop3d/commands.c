/* commands.c — the AUTHORIZATION state (RFC 1939, 2449, 2595, 5034):
 * one table of commands, one loop. Every line is read with a hard length
 * limit; overlong lines and unknown commands count as errors, and a
 * client that keeps making them is dropped. */
#include "pop3d.h"

#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "sasl.h"

static void c_capa(struct pop3d *s, const char *arg, size_t n)
{
	(void)arg; (void)n;
	reply(s, "+OK Capability list follows");
	reply(s, "TOP");
	reply(s, "UIDL");
	reply(s, "RESP-CODES");
	reply(s, "PIPELINING");
	reply(s, "AUTH-RESP-CODE");
	if (s->plaintext_ok) {
		reply(s, "USER");
		reply(s, "SASL " SASL_MECHS);
	}
	if (s->tls_offered && !s->tls) reply(s, "STLS");
	reply(s, ".");
}

static void c_stls(struct pop3d *s, const char *arg, size_t n)
{
	(void)arg; (void)n;
	if (s->tls) { reply(s, "-ERR Already using TLS."); return; }
	if (!s->tls_offered) { reply(s, "-ERR STLS not available."); return; }
	reply(s, "+OK Begin TLS negotiation now.");
	if (wbuf_flush(&s->out) < 0) _exit(0);
	tls_begin(s);
}

static int plaintext_refused(struct pop3d *s)
{
	if (s->plaintext_ok) return 0;
	reply(s, "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.");
	return 1;
}

static void c_user(struct pop3d *s, const char *arg, size_t n)
{
	if (plaintext_refused(s)) return;
	if (n == 0 || n >= sizeof s->user || memchr(arg, 0, n)) {
		reply(s, "-ERR Invalid user name.");
		return;
	}
	memcpy(s->user, arg, n);
	s->user[n] = 0;
	s->have_user = 1;
	reply(s, "+OK");
}

static void c_pass(struct pop3d *s, const char *arg, size_t n)
{
	if (plaintext_refused(s)) return;
	if (!s->have_user) { reply(s, "-ERR No user name given."); return; }
	if (n == 0 || n >= SASL_PASSWORD_MAX || memchr(arg, 0, n)) {
		s->have_user = 0;
		reply(s, "-ERR [AUTH] Authentication failed.");
		return;
	}
	login_run(s, s->user, arg, "USER");
}

/* RFC 5034: AUTH alone lists the mechanisms; AUTH MECH [initial-response] */
static void c_auth(struct pop3d *s, const char *arg, size_t n)
{
	if (n == 0) {
		reply(s, "+OK");
		if (s->plaintext_ok) {
			reply(s, "PLAIN");
			reply(s, "LOGIN");
		}
		reply(s, ".");
		return;
	}
	if (plaintext_refused(s)) return;
	const char *sp = memchr(arg, ' ', n);
	size_t mlen = sp ? (size_t)(sp - arg) : n;
	const char *init = sp ? sp + 1 : "";
	size_t ilen = sp ? n - mlen - 1 : 0;
	struct sasl st;
	char chal[SASL_CHAL_MAX];
	static char line[SASL_LINE_MAX];
	int r = sasl_begin(&st, arg, mlen, init, ilen, sp != NULL, chal, sizeof chal);
	while (r == SASL_CONTINUE) {
		/* "+ " and the challenge (already base64, or empty for PLAIN) */
		if (wbuf_puts(&s->out, "+ ") < 0) _exit(0);
		reply(s, chal);
		reply_flush(s);
		size_t len;
		int st2 = rbuf_getline(&s->in, line, sizeof line, &len, NULL);
		if (st2 == IO_LONG) { r = SASL_BAD; break; }
		if (st2 != IO_OK) _exit(0);
		r = sasl_step(&st, line, len, chal, sizeof chal);
		explicit_bzero(line, len);
	}
	switch (r) {
	case SASL_OK:
		login_run(s, st.login, st.password, sasl_mech_name(&st));
		break;
	case SASL_CANCEL:
		reply(s, "-ERR Authentication canceled.");
		break;
	case SASL_NOMECH:
		reply(s, "-ERR Unsupported authentication mechanism.");
		break;
	default:
		reply(s, "-ERR [AUTH] Invalid base64 data or SASL message.");
		s->errors++;
		break;
	}
	sasl_wipe(&st);
}

static void c_quit(struct pop3d *s, const char *arg, size_t n)
{
	(void)arg; (void)n;
	reply_die(s, "+OK Logging out.");
}

static const struct command {
	const char *verb;
	void (*fn)(struct pop3d *, const char *, size_t);
} commands[] = {
	{ "CAPA", c_capa }, { "USER", c_user }, { "PASS", c_pass }, { "AUTH", c_auth },
	{ "STLS", c_stls }, { "QUIT", c_quit },
};

static void error(struct pop3d *s, const char *msg)
{
	if (++s->errors >= POP3D_MAX_ERRORS)
		reply_die(s, "-ERR Too many bad commands.");
	reply(s, msg);
}

void commands_loop(struct pop3d *s)
{
	static char line[POP3D_LINE_MAX];
	for (;;) {
		size_t len;
		reply_flush(s);
		int r = rbuf_getline(&s->in, line, sizeof line, &len, NULL);
		if (r == IO_TIMEOUT) reply_die(s, "-ERR Disconnected for inactivity.");
		if (r == IO_LONG) { error(s, "-ERR Line too long."); continue; }
		if (r != IO_OK) _exit(0);
		const char *sp = memchr(line, ' ', len);
		size_t vlen = sp ? (size_t)(sp - line) : len;
		const char *arg = sp ? sp + 1 : line + len;
		size_t alen = sp ? len - vlen - 1 : 0;
		size_t i;
		for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
			if (strlen(commands[i].verb) == vlen && strncasecmp(commands[i].verb, line, vlen) == 0)
				break;
		if (i == sizeof commands / sizeof commands[0])
			error(s, "-ERR Unknown command.");
		else
			commands[i].fn(s, arg, alen);
		explicit_bzero(line, len);
	}
}
