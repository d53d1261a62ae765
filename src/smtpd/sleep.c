/* sleep.c — a client that has gone silent between transactions does not
 * keep a worker: after smtpd_hibernate_timeout without a byte, or after
 * PRESSED_SILENCE_MS when the pool has work and no idle worker, the
 * session is written into a small record and handed with its connection
 * (and the anvil socket that counts it) to the pool process (serve.h,
 * "Hibernation"). When the client speaks again, hangs up, or has been
 * silent for smtpd_timeout in all, a free worker reads the record back
 * and the command loop goes on where it stopped. A session sleeps only
 * at a command boundary, outside a transaction, with nothing buffered
 * either way, and not when a yubin-tlsd child of this process carries
 * its TLS. The connection to the injector stays with the worker, as at
 * the end of a session. */
#include "smtpd.h"
#include "anvil.h"
#include "log.h"
#include "serve.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>

#define RECORD_VERSION 1
/* a busy pool wants workers: a client silent this long sleeps */
#define PRESSED_SILENCE_MS 5

/* the session between transactions: what session_wake needs to go on */
struct record {
	uint32_t version;
	uint32_t role;
	struct ipaddr addr;
	int32_t trusted, esmtp, auth_seen, tls, has_login;
	uint32_t auth_failures, errors;
	unsigned long ncmd[16], nbad[16], ntotal;
	char ip[64], host[256], helo[256], proto[8], sasl_method[8], tls_info[160];
	char last_cmd[16], login[256];
};

_Static_assert(sizeof(struct record) <= SERVE_STATE_MAX, "a session record must fit serve.h's limit");

/* copy a NUL-ended string into a fixed field: 0, or -1 when it does not fit */
static int put_field(char *field, size_t max, const char *v)
{
	size_t n = strlen(v);
	if (n >= max) return -1;
	memcpy(field, v, n + 1);
	return 0;
}

/* a field read back: always NUL-ended within its size */
#define TAKE(dst, src) do { memcpy(dst, src, sizeof dst); (dst)[sizeof dst - 1] = 0; } while (0)

static int may_sleep(const struct session *s)
{
	return s->hibernate_ms > 0 && !s->stay_awake && !s->in_mail && !s->bdat && !s->tls_child && s->infd == 0 &&
	       s->outfd == 1 && rbuf_pending(s->in) == 0 && s->out->len == 0;
}

/* 1 when the client stayed silent long enough to sleep: for
 * smtpd_hibernate_timeout, or for PRESSED_SILENCE_MS when the pool asks
 * for a worker (serve_pressure_fd) and this one takes the request; 0 when
 * the client spoke or hung up first; -1 when poll failed */
static int silent_long_enough(struct session *s)
{
	struct pollfd p[2] = { { .fd = s->infd, .events = POLLIN }, { .fd = serve_pressure_fd(), .events = POLLIN } };
	nfds_t n = p[1].fd >= 0 ? 2 : 1;
	int64_t start = now_ms(), limit = s->hibernate_ms;
	for (;;) {
		int64_t quiet = now_ms() - start;
		if (quiet >= limit) {
			if (limit == s->hibernate_ms) return 1;
			/* asked: the first worker to take the request goes */
			if (serve_take_pressure()) return 1;
			n = 2;
			limit = s->hibernate_ms;
			continue;
		}
		int r = poll(p, n, (int)(limit - quiet));
		if (r < 0 && errno != EINTR) return -1;
		if (r > 0 && p[0].revents) return 0;
		if (r > 0 && n == 2 && (p[1].revents & POLLIN) && PRESSED_SILENCE_MS < limit) {
			n = 1; /* asked for room: only the client matters now */
			limit = quiet > PRESSED_SILENCE_MS ? quiet : PRESSED_SILENCE_MS;
		}
	}
}

void sleep_if_silent(struct session *s)
{
	if (!may_sleep(s)) return;
	int silent = silent_long_enough(s);
	if (silent == 0) {
		/* it spoke: read it now, with no second poll (timeout 0 is none) */
		int timeout = s->in->timeout_ms;
		s->in->timeout_ms = 0;
		rbuf_fill(s->in);
		s->in->timeout_ms = timeout;
	}
	if (silent != 1) return;
	static struct record r;
	memset(&r, 0, sizeof r);
	r.version = RECORD_VERSION;
	r.role = (uint32_t)s->role;
	r.addr = s->addr;
	r.trusted = s->trusted;
	r.esmtp = s->esmtp;
	r.auth_seen = s->auth_seen;
	r.tls = s->tls;
	r.has_login = s->login != NULL;
	r.auth_failures = s->auth_failures;
	r.errors = s->errors;
	memcpy(r.ncmd, s->ncmd, sizeof r.ncmd);
	memcpy(r.nbad, s->nbad, sizeof r.nbad);
	r.ntotal = s->ntotal;
	if (put_field(r.ip, sizeof r.ip, s->ip) < 0 || put_field(r.host, sizeof r.host, s->host) < 0 ||
	    put_field(r.helo, sizeof r.helo, s->helo) < 0 || put_field(r.proto, sizeof r.proto, s->proto) < 0 ||
	    put_field(r.sasl_method, sizeof r.sasl_method, s->sasl_method) < 0 ||
	    put_field(r.tls_info, sizeof r.tls_info, s->tls_info) < 0 ||
	    put_field(r.last_cmd, sizeof r.last_cmd, s->last_cmd) < 0 ||
	    (s->login && put_field(r.login, sizeof r.login, s->login) < 0)) {
		s->stay_awake = 1; /* a login too long for the record: this one stays */
		return;
	}
	int64_t deadline = now_ms() + s->in->timeout_ms - s->hibernate_ms;
	if (s->auth_seen) {
		/* as at session_end: the next client of this worker must not find
		 * what carried the credentials (the buffer only: should the pool
		 * not take the session, it goes on with its reader as it was) */
		explicit_bzero(s->in->buf, sizeof s->in->buf);
		explicit_bzero(s->line, (size_t)s->line_limit + 1);
	}
	if (s->q_open && !qclient_reusable(&s->q)) {
		qclient_close(&s->q); /* a yubin-queue of this session's own */
		s->q_open = 0;
	}
	int anvil = anvil_release();
	serve_hibernate(&r, sizeof r, anvil, deadline);
	/* the pool could not take it: go on awake, anvil keeps counting */
	if (anvil >= 0) anvil_adopt(anvil, limits_ident());
	explicit_bzero(&r, sizeof r);
}

int session_wake(struct session *s, const void *state, size_t len, int anvil)
{
	static struct record r;
	if (len != sizeof r) return -1;
	memcpy(&r, state, sizeof r);
	if (r.version != RECORD_VERSION || r.role != (uint32_t)s->role ||
	    (r.addr.family != 0 && r.addr.family != 4 && r.addr.family != 6))
		return -1;
	s->addr = r.addr;
	s->trusted = r.trusted != 0;
	s->esmtp = r.esmtp != 0;
	s->auth_seen = r.auth_seen != 0;
	s->tls = r.tls != 0;
	s->auth_failures = r.auth_failures;
	s->errors = r.errors;
	memcpy(s->ncmd, r.ncmd, sizeof s->ncmd);
	memcpy(s->nbad, r.nbad, sizeof s->nbad);
	s->ntotal = r.ntotal;
	TAKE(s->ip, r.ip);
	TAKE(s->host, r.host);
	TAKE(s->helo, r.helo);
	TAKE(s->proto, r.proto);
	TAKE(s->sasl_method, r.sasl_method);
	TAKE(s->tls_info, r.tls_info);
	static char last_cmd[sizeof r.last_cmd];
	TAKE(last_cmd, r.last_cmd);
	s->last_cmd = last_cmd;
	if (r.has_login) {
		r.login[sizeof r.login - 1] = 0;
		s->login = strdup(r.login);
		if (!s->login) die_nomem();
	}
	explicit_bzero(&r, sizeof r);
	limits_wake(s);
	if (anvil >= 0) anvil_adopt(anvil, limits_ident());
	return 0;
}
