/* smtpd.h — the state of one SMTP session, shared by the files of
 * yubin-smtpd: main.c (setup and the command loop), commands.c (the
 * command table and the small commands), mail.c (MAIL and RCPT),
 * policy.c (the restriction lists), data.c (DATA into yubin-queue),
 * reply.c (replies, errors, tarpit, session ends), client.c (who is
 * talking), tls.c (STARTTLS), login.c (AUTH), config.c (settings by role). One process serves one connection, so there is one session. */
#ifndef YUBIN_SMTPD_H
#define YUBIN_SMTPD_H

#include "buf.h"
#include "cidr.h"
#include "content.h"
#include "io.h"
#include "qclient.h"

#include <stddef.h>

enum role { ROLE_SMTPD, ROLE_SUBMISSION };

struct session {
	enum role role;
	struct rbuf *in;
	struct wbuf *out;
	int infd, outfd;

	/* the client */
	struct ipaddr addr;
	char ip[64];          /* text form, or "unknown" */
	char host[256];       /* verified reverse name, or "unknown" */
	int trusted;          /* in mynetworks */
	char helo[256];       /* "" until HELO/EHLO */
	int esmtp;
	char proto[8];        /* SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA */
	char *login;          /* SASL login once authenticated */
	char sasl_method[8];
	unsigned auth_failures;
	int auth_seen;        /* an AUTH command came: credentials passed through memory */
	int tls;
	int tls_child;        /* TLS by a spawned yubin-tlsd, our child, not the service */
	char tls_info[160];

	/* the transaction */
	int in_mail;
	struct buf sender;    /* "" for <> */
	struct buf sender_canon; /* after canonical rewriting; empty when unchanged */
	long long size;       /* declared SIZE=, 0 if none */
	char body[10];        /* "", 7BIT or 8BITMIME */
	char ret[5];          /* "", FULL or HDRS */
	int smtputf8;         /* MAIL FROM said SMTPUTF8 (RFC 6531) */
	int bdat;             /* a BDAT message is open in yubin-queue (bdat.c) */
	struct buf envid;
	char **rcpt;          /* accepted recipients */
	char **rcpt_notify, **rcpt_orcpt;
	size_t nrcpt, caprcpt;
	/* HOLD and DISCARD actions of access tables and header/body checks:
	 * the message goes to queue/hold, or is accepted and dropped */
	int hold, discard;
	char hold_why[256], discard_why[256];

	/* the queue writer, kept for every message of the connection */
	struct qclient q;
	int q_open;

	/* counters and limits */
	unsigned errors;
	long long soft_errors, hard_errors, error_sleep;
	long long line_limit;
	long long size_limit;
	long long rcpt_limit;
	const char *last_cmd;  /* for "lost connection after X" */
	int hibernate_ms;      /* silence before the session leaves the worker (sleep.c); 0 never */
	int stay_awake;        /* the pool had no room for it, or it does not fit a record */
	unsigned long ncmd[16], nbad[16], ntotal;
	char *line;            /* command line buffer, line_limit + 1 */
};

extern struct session S;

/* settings, role-aware: submission_NAME overrides NAME for yubin-submission */
const char *cfg_get(const char *name);
size_t cfg_list(const char *name, const char *const **items);
long long cfg_int(const char *name);
long long cfg_size(const char *name);
long long cfg_time(const char *name);
int cfg_bool(const char *name);

/* client.c */
void client_init(struct session *s);
/* "host[ip]" for the log */
const char *client_name(const struct session *s);

/* reply.c */
void reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* an error reply: counted, delayed past the soft limit */
void reply_err(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* raw multi-line replies (EHLO) are built with reply_more() then reply() */
void reply_more(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* flush pending replies when the client has nothing more buffered */
void flush_if_idle(struct session *s);
void session_end(struct session *s, int code) __attribute__((noreturn));
/* the session's I/O failed: log why and end */
void io_failed(struct session *s, int status) __attribute__((noreturn));
/* Postfix's reject log line; qid NULL logs "NOQUEUE"; sender and rcpt
 * NULL mean the transaction's (its first recipient) */
void log_reject(struct session *s, const char *qid, const char *stage, const char *sender, const char *rcpt,
                const char *text);
/* the same line for other actions: "hold", "discard", "warning", ... */
void log_action(struct session *s, const char *qid, const char *action, const char *stage, const char *sender,
                const char *rcpt, const char *text);

/* commands.c */
void command_loop(struct session *s) __attribute__((noreturn));
void transaction_reset(struct session *s);

/* mail.c */
void cmd_mail(struct session *s, char *arg, size_t len);
void cmd_rcpt(struct session *s, char *arg, size_t len);

/* policy.c: 0 accept; otherwise the reply to give is in reply. The
 * restriction lists and relocated_maps see rcpt as the client gave it;
 * the unknown-user check sees final, the address after canonical maps. */
int policy_rcpt(struct session *s, const char *rcpt, const char *final, char *reply, size_t max);

/* access.c: the value check_*_access finds for the session's client or
 * HELO name, or for addr; 1 found (*value malloc'd), 0 none, -1 failure */
enum access_kind { ACCESS_CLIENT, ACCESS_HELO, ACCESS_SENDER, ACCESS_RECIPIENT };
int access_lookup(struct session *s, enum access_kind kind, const char *spec, const char *addr, char **value);

/* limits.c: per-client limits through yubin-anvil; connect ends the
 * session with 421 when over a limit, the others return -1 after a 450 */
void limits_connect(struct session *s);
int limits_mail(struct session *s);
int limits_rcpt(struct session *s);
int limits_auth(struct session *s);
/* a woken session (sleep.c): the limits limits_connect had set up, without
 * counting the connection again; limits_ident is the anvil ident ("" none) */
void limits_wake(struct session *s);
const char *limits_ident(void);

/* cleanup.c: canonical rewriting of an envelope address (1 rewritten
 * into out, 0 unchanged, -1 table failure), and the inspection of a
 * message (header_checks, body_checks, header rewriting) between the DATA
 * reader and the queue: inspect_begin sets it up for one message and
 * returns 1 when there is anything to do; the message then goes through
 * content_feed(&in->ct, ...) and comes out at out(arg, ...). */
int canonical_envelope(struct session *s, int sender, const char *addr, struct buf *out);
struct inspect {
	struct session *s;
	struct content ct;
	int active;
	char reject[320];      /* the reply once a check refused the message */
	char hpath[4096], bpath[4096];
	void (*emit)(void *arg, const char *p, size_t n);
	void *emit_arg;
};
int inspect_begin(struct session *s, struct inspect *in, void (*out)(void *arg, const char *p, size_t n), void *arg);

/* data.c */
void cmd_data(struct session *s, char *arg, size_t len);
/* The message in steps, for DATA and BDAT: begin starts it in yubin-queue
 * with the Received header, sending go_ahead (DATA's 354; NULL for BDAT)
 * once the envelope is on its way (-1: no queue, nothing started, no
 * reply given; a queue that fails after go_ahead went out gives 0 and a
 * message that end will refuse with 451); put takes message bytes with LF line ends (dot-unstuffed) and
 * does the header/size/hop accounting and the checks; refuse sets the
 * reply the message will get; end gives the verdict (queued or refused)
 * and resets the transaction; abort drops the message, queueing nothing. */
int message_begin(struct session *s, const char *go_ahead);
void message_put(const char *p, size_t n);
void message_refuse(const char *why);
int message_refused(void);
void message_end(struct session *s);
void message_abort(struct session *s);

/* bdat.c: BDAT (RFC 3030); bdat_reset drops an open BDAT message */
void cmd_bdat(struct session *s, char *arg, size_t len);
void bdat_reset(struct session *s);

/* smtputf8.c: RFC 6531 */
/* NULL when addr may be used in a transaction that did (declared) or did
 * not say SMTPUTF8; else the reply to give */
const char *smtputf8_addr_check(int declared, const char *addr, int sender);
/* the "with" protocol of the Received header: UTF8SMTP... or s->proto */
const char *received_protocol(const struct session *s);

/* sleep.c: hibernation between commands (serve.h). sleep_if_silent
 * returns when the client spoke within smtpd_hibernate_timeout or the
 * session may not sleep; else the worker moves on and it never returns.
 * session_wake fills a fresh session (main.c's setup) from the record:
 * 0, or -1 when the record is not one of ours. */
void sleep_if_silent(struct session *s);
int session_wake(struct session *s, const void *state, size_t len, int anvil);

/* tls.c */
const char *service_name(const struct session *s);
int tls_offered(struct session *s);
int tls_required(const struct session *s);
void tls_implicit(struct session *s);
void cmd_starttls(struct session *s, char *arg, size_t len);

/* login.c */
int auth_offered(struct session *s);
void cmd_auth(struct session *s, char *arg, size_t len);
/* reject_sender_login_mismatch: 0 ok, else reply_text holds the refusal */
int sender_login_check(struct session *s, const char *sender, char *reply_text, size_t max);

#endif
