/* remote.h — yubin-remote's parts. Design: one master process talks the
 * deliver.h job protocol with yubin-qmgr, groups jobs of one message and
 * one destination into batches and hands each batch to a worker: a forked
 * child that runs one SMTP session at a time with blocking I/O and
 * per-stage timeouts. A worker keeps its connection open after a batch;
 * the master sends the next batch for the same destination to it (the
 * connection cache), and the worker closes it after
 * smtp_connection_cache_time_limit of idleness. Concurrency = the number
 * of workers, at most default_process_limit.
 *
 * master -> worker:  "B <qid> <mx> <port> <nexthop> <job>:<index>,...\n"
 *                    "Q\n" (quit: close the cached connection and exit)
 * worker -> master:  "R <job> <K|Z|D> <x.y.z> <text>\n" per job,
 *                    "I <cache key or ->\n" when the batch is done,
 *                    "C\n" when it closed an idle cached connection. */
#ifndef YUBIN_REMOTE_H
#define YUBIN_REMOTE_H

#include "deliver.h"
#include "dns.h"
#include "io.h"
#include "qfile.h"
#include "mtasts.h"
#include "route.h"

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

#define BATCH_MAX 1000            /* jobs per batch, hard cap */
#define KEY_MAX (ROUTE_DEST_MAX)

/* ---- worker side ---- */

struct job {
	unsigned long id;         /* qmgr's job number */
	size_t index;             /* recipient index in the envelope */
	char code;                /* K Z D, 0 = no result yet */
	char status[8];
	char text[DELIVER_TEXT_MAX + 1];
	int accepted;             /* RCPT got 2xx in this transaction */
};

struct batch {
	char qid[QID_MAX];
	struct route route;       /* SMTP nexthop, port, mx, dest */
	char relay[DNS_NAME_MAX + 80];   /* "host[ip]:port" of the last server, or "none" */
	unsigned conn_use;        /* transactions on that connection, this one included */
	int sts;                  /* MTA-STS applies: sent by MX to the recipients' own domain */
	size_t n;
	struct job job[BATCH_MAX];
};

/* SMTP server capabilities from EHLO */
struct caps {
	int esmtp, pipelining, eightbit, dsn, starttls, smtputf8, chunking, auth_plain, auth_login;
	long long size;           /* SIZE limit, 0 = none announced */
};

/* one SMTP connection (socket, or pipes to a TLS helper) */
struct conn {
	int fd;                   /* the socket; -1 when closed */
	int rfd, wfd;             /* plaintext read/write ends */
	pid_t helper;             /* TLS helper process, 0 when none */
	struct rbuf r;
	struct wbuf w;
	char host[DNS_NAME_MAX];  /* name of the server as we know it */
	char ip[64];
	unsigned port;
	char key[KEY_MAX];        /* route.dest it belongs to */
	char policy[600];         /* TLS/AUTH settings it was made under */
	struct caps caps;
	int tls;
	unsigned uses;            /* transactions done on it */
	int broken;               /* do not reuse */
	int sts;                  /* MTA-STS mode it was opened under (STS_ENFORCE: verified TLS) */
	int sts_retry;            /* mode testing: the certificate failed; connect again without the policy */
};

/* why a server or the destination could not be used */
struct fail {
	char status[8];
	char text[DELIVER_TEXT_MAX + 1];
	int perm;                 /* bounce rather than defer */
};
void fail_set(struct fail *f, int perm, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* An SMTP reply: code and up to DELIVER_TEXT_MAX bytes of joined text. */
struct reply {
	int code;                 /* 0 = none: I/O error, timeout or garbage */
	int io;                   /* io_status when code is 0 */
	char text[DELIVER_TEXT_MAX + 1];   /* "250 2.0.0 Ok" (lines joined) */
	char lines[4096];         /* each line after its code, '\n'-separated (EHLO) */
};

/* reply.c */
int reply_read(struct conn *c, int timeout_s, struct reply *rp);
/* enhanced status of a reply (or derived from its code) into st[8] */
void reply_status(const struct reply *rp, char *st);
int cmd_send(struct conn *c, const char *s, size_t n);
/* snprintf that may cut: for texts bounded on purpose */
void textf(char *dst, size_t max, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* conn.c: connect the destination of b (MX, addresses, loop check,
 * greeting, EHLO/HELO, STARTTLS, AUTH). 0 connected; -1 with every job's
 * result set (deferred or bounced). */
int conn_open(struct conn *c, struct batch *b);
void conn_close(struct conn *c, int quit);
/* the settings a connection depends on: reuse only while they hold */
void conn_policy(char *out, size_t max);
/* smtp.c: the greeting-to-ready part for one address */
int session_start(struct conn *c, const struct route *r, struct fail *f);
/* EHLO (HELO fallback) and the capabilities; also after STARTTLS */
int session_hello(struct conn *c, struct fail *f);

/* tls.c: STARTTLS on c per smtp_tls_security_level. 0 go on (TLS or not
 * needed), -1 this server cannot be used (why set). */
int tls_client_start(struct conn *c, struct fail *f);
/* auth.c: AUTH when configured. 0 go on, -1 failed (why set). */
int auth_client(struct conn *c, const struct route *r, struct fail *f);

/* transaction.c: one mail transaction for the batch on c. Returns 0 when
 * results were set for every job, 1 when the cached connection turned out
 * dead before the server said anything (retry on a new one). */
int transaction(struct conn *c, struct batch *b, const struct qenv *e, int fd, int reused);

/* generic.c: smtp_generic_maps on what is sent; the address to send,
 * and the header (rewritten) to w with *off moved past it: 0, -1 write
 * error, -2 read error */
const char *generic_addr(const char *addr);
int generic_headers(struct wbuf *w, int fd, off_t *off);

/* myself.c */
int myself_is(const struct dns_addr *a, unsigned port);

/* conn.c: non-blocking connect bounded by timeout_s; the fd or -1 (*err) */
int connect_to(const struct dns_addr *a, unsigned port, int timeout_s, int *err);

/* mtasts.c: the MTA-STS policy of the domain nexthop (RFC 8461), from the
 * cache or fetched; NULL when none applies (none published, mode none,
 * smtp_mta_sts = no). id gets the policy's id for the logs. */
const struct sts_policy *mtasts_policy(const char *nexthop, char *id, size_t idmax);
/* 1 when every recipient of b is in the domain b goes to by MX (not a
 * relayhost or transport next hop): the case MTA-STS is for */
int mtasts_applies(const struct batch *b, const struct qenv *e);
/* an MX host against policy p: 0 usable (logged when only mode testing
 * lets it pass), -1 not in an enforced policy (why in f) */
int mtasts_mx_check(const struct batch *b, const struct sts_policy *p, const char *id, const char *host,
                    struct fail *f);
/* name the enforced policy in a deferral's text */
void mtasts_explain(struct fail *f, const char *domain, const char *id);

/* worker.c */
void worker_main(int in, int out) __attribute__((noreturn));
void job_result(struct job *j, char code, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void batch_fail(struct batch *b, char code, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
long long timeout_of(const char *setting);

/* ---- master side (pool.c, jobs.c) ---- */
struct worker;
void pool_init(void);
/* hand b's wire line to a worker (or queue it); answers must reach qmgr */
void pool_submit(const char *key, const char *line, size_t n, const unsigned long *jobs, size_t njobs);
/* poll set management for the master loop */
size_t pool_pollfds(struct pollfd *fds, size_t max);
void pool_events(struct pollfd *fds, size_t n);
void pool_reap(void);
void pool_shutdown(void);
/* the master's output to qmgr */
void master_result(const char *line, size_t n);
void master_flush(void);

/* jobs.c: read job lines from qmgr, group, submit */
int jobs_read(int fd);
void jobs_dispatch(void);

#endif
