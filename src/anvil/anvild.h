/* anvild.h — yubin-anvil's parts: the table of clients with their counts
 * and rate windows (clients.c), the statistics log (status.c) and the
 * socket loop (main.c). One process, one thread: every request is a few
 * hash lookups, so one core serves many thousands of events a second. */
#ifndef YUBIN_ANVIL_DAEMON_H
#define YUBIN_ANVIL_DAEMON_H

#include "anvil.h"

#include <stddef.h>
#include <time.h>

/* the kinds of rate anvil keeps per client */
enum rate_kind { RATE_CONN, RATE_MAIL, RATE_RCPT, RATE_AUTH, RATE_FAIL, NRATES };

struct client {
	char ident[ANVIL_IDENT_MAX];
	unsigned hash;
	struct client *chain;          /* next in the hash bucket */
	struct client *newer, *older;  /* the age list: newest event first */
	unsigned long count;           /* connections open now */
	time_t start;                  /* start of the current rate window */
	time_t last;                   /* last event */
	unsigned long rate[NRATES];
};

/* the most clients kept; beyond it the oldest idle one is forgotten */
#define CLIENTS_MAX 65536

void clients_init(void);
/* the client for ident, made when missing; NULL when the table is full of
 * connected clients (then the event is not counted) */
struct client *clients_get(const char *ident, time_t now);
/* count one event; a new window starts when the old one is over */
unsigned long clients_event(struct client *c, enum rate_kind k, time_t now, long long unit);
/* the current window's count without counting */
unsigned long clients_peek(const struct client *c, enum rate_kind k, time_t now, long long unit);
/* forget clients with no connection and no event for a time unit */
void clients_expire(time_t now, long long unit);
size_t clients_size(void);
/* every client, for the statistics */
struct client *clients_first(void);

/* status.c: note a new value for the maxima; log and reset them */
void status_note(enum rate_kind k, const struct client *c, unsigned long value, time_t now);
void status_note_count(const struct client *c, time_t now);
void status_log(time_t now, long long unit);

#endif
