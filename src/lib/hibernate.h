/* hibernate.h — how a pool (serve.c) keeps the sessions its workers put
 * to sleep (serve.h, "Hibernation").
 *
 * A session travels as one message on a SOCK_SEQPACKET socket: a header,
 * the connection's environment (TCPREMOTEIP=... strings, NUL-ended) and
 * the program's own state, with the client connection attached
 * (SCM_RIGHTS) and at most one more descriptor. The same message goes from
 * the worker to the pool process and, when the session wakes, from the
 * pool to whichever worker takes it. Both ends check every length: a
 * message that does not add up is dropped with its descriptors closed.
 *
 * The lot is the pool's side: the sleeping sessions in one poll set, each
 * with the time at which its client has been silent too long. */
#ifndef YUBIN_HIBERNATE_H
#define YUBIN_HIBERNATE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define HIB_ENV_MAX 512
#define HIB_STATE_MAX 4096

/* why a session wakes (struct hib_header.wake) */
enum { HIB_ASLEEP = 0, HIB_READY = 1, HIB_TIMEOUT = 2, HIB_NO_ROOM = 3 };

struct hib_header {
	uint32_t magic;
	uint32_t wake;
	int64_t deadline_ms;   /* CLOCK_MONOTONIC */
	uint32_t env_len, state_len;
};

struct hib_msg {
	struct hib_header h;
	char data[HIB_ENV_MAX + HIB_STATE_MAX]; /* environment, then state */
	int fds[2];                             /* the connection; the other or -1 */
};

/* m->h.magic is set here. 0 sent; -1 with errno (EAGAIN when the socket
 * is nonblocking and full) */
int hib_send(int sock, struct hib_msg *m);
/* 1 one message taken into m (descriptors close-on-exec), 0 none waiting
 * (the socket is read with MSG_DONTWAIT), -1 malformed (logged; any
 * descriptors it carried are closed) or an error */
int hib_recv(int sock, struct hib_msg *m);
/* close the descriptors m carries */
void hib_close(struct hib_msg *m);

/* The lot, in the pool process: at most max sessions. */
void lot_init(size_t max);
/* keep m (its descriptors now belong to the lot): 0, or -1 when full */
int lot_add(const struct hib_msg *m);
size_t lot_max(void);
/* in a forked worker: close and free the pool's sessions, not its own */
void lot_forget(void);
size_t lot_count(void);
/* one pollfd per session, in the lot's order, into p[0..lot_count()) */
void lot_pollfds(struct pollfd *p);
/* milliseconds until the first deadline, -1 when none */
int lot_timeout(void);
/* Send each session whose pollfd (p[0..np), from lot_pollfds before any
 * lot_add since) shows input or a hang-up, or whose deadline passed, to
 * sock and drop it from the lot. Returns how many were sent; *blocked = 1
 * when sock was full (those not sent stay, to go at the next call). */
size_t lot_wake(const struct pollfd *p, size_t np, int sock, int *blocked);

#endif
