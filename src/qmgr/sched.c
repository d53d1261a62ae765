/* sched.c — delivery jobs waiting per destination, and who goes next.
 * A destination is a recipient for yubin-local (Postfix's per-user local
 * concurrency) or a route.dest next hop for yubin-remote. Destinations
 * with waiting jobs sit on a ring per agent; dispatch walks the ring
 * round-robin, one job per destination per turn, skipping destinations at
 * their concurrency limit, so one slow or dead domain only ever holds its
 * own share of the agent's process limit. */
#include "log.h"
#include "qmgr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct dest {
	char *key;
	enum agent_kind kind;
	long long inflight;
	size_t npending;
	struct job *head, *tail;
	struct dest *hnext;          /* hash chain */
	struct dest *rnext, *rprev;  /* ring of destinations with waiting jobs */
	int in_ring;
};

#define DEST_BUCKETS 4096
#define JOB_BUCKETS 4096

static struct dest *dests[DEST_BUCKETS];
static struct dest *ring[AGENT_COUNT];
static size_t pending[AGENT_COUNT];
static struct job *flight[JOB_BUCKETS];
static unsigned long long next_no = 1;

static size_t hash(const char *s, enum agent_kind kind)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)kind;
	for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)(h % DEST_BUCKETS);
}

static long long dest_limit(const struct dest *d)
{
	if (d->kind != AGENT_LOCAL) return conf.dest_limit;
	return strncmp(d->key, "virtual:", 8) == 0 ? conf.virtual_dest_limit : conf.local_dest_limit;
}

static struct dest *dest_get(enum agent_kind kind, const char *key)
{
	size_t h = hash(key, kind);
	for (struct dest *d = dests[h]; d; d = d->hnext)
		if (d->kind == kind && strcmp(d->key, key) == 0) return d;
	struct dest *d = calloc(1, sizeof *d);
	if (!d || !(d->key = strdup(key))) die_nomem();
	d->kind = kind;
	d->hnext = dests[h];
	dests[h] = d;
	return d;
}

static void ring_add(struct dest *d)
{
	if (d->in_ring) return;
	struct dest **r = &ring[d->kind];
	if (!*r) {
		d->rnext = d->rprev = d;
		*r = d;
	} else {
		/* just behind the cursor: its first turn comes after everyone's */
		d->rnext = *r;
		d->rprev = (*r)->rprev;
		d->rprev->rnext = d;
		(*r)->rprev = d;
	}
	d->in_ring = 1;
}

static void ring_del(struct dest *d)
{
	if (!d->in_ring) return;
	struct dest **r = &ring[d->kind];
	if (d->rnext == d) {
		*r = NULL;
	} else {
		d->rprev->rnext = d->rnext;
		d->rnext->rprev = d->rprev;
		if (*r == d) *r = d->rnext;
	}
	d->in_ring = 0;
}

static void dest_release(struct dest *d)
{
	if (d->inflight || d->npending) return;
	ring_del(d);
	struct dest **p = &dests[hash(d->key, d->kind)];
	while (*p != d) p = &(*p)->hnext;
	*p = d->hnext;
	free(d->key);
	free(d);
}

void sched_add(struct msg *m, size_t i, enum agent_kind kind, const char *destkey)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j) die_nomem();
	j->m = m;
	j->rcpt = i;
	j->d = dest_get(kind, destkey);
	if (j->d->tail) j->d->tail->next = j;
	else j->d->head = j;
	j->d->tail = j;
	j->d->npending++;
	pending[kind]++;
	ring_add(j->d);
}

void sched_requeue(struct job *j)
{
	struct dest *d = j->d;
	j->next = d->head;
	d->head = j;
	if (!d->tail) d->tail = j;
	d->npending++;
	pending[d->kind]++;
	ring_add(d);
}

static struct job *pop(struct dest *d)
{
	struct job *j = d->head;
	d->head = j->next;
	if (!d->head) d->tail = NULL;
	j->next = NULL;
	d->npending--;
	pending[d->kind]--;
	if (!d->npending) ring_del(d);
	return j;
}

void sched_dispatch(void)
{
	for (int k = 0; k < AGENT_COUNT; k++) {
		enum agent_kind kind = (enum agent_kind)k;
		if (!pending[kind]) continue;
		if (!agent_available(kind)) {
			sched_fail_pending(kind, "4.3.0", "the delivery agent is not available");
			continue;
		}
		while (ring[kind] && agent_room(kind)) {
			struct dest *start = ring[kind], *d = start, *found = NULL;
			do {
				if (d->inflight < dest_limit(d)) { found = d; break; }
				d = d->rnext;
			} while (d != start);
			if (!found) break;
			ring[kind] = found->rnext; /* the next turn is the next destination's */
			struct job *j = pop(found);
			found->inflight++;
			j->no = next_no++;
			size_t h = (size_t)(j->no % JOB_BUCKETS);
			j->hnext = flight[h];
			flight[h] = j;
			agent_send(kind, j);
		}
	}
}

struct job *sched_take_flight(unsigned long long no, enum agent_kind kind)
{
	struct job **p = &flight[no % JOB_BUCKETS];
	for (; *p; p = &(*p)->hnext) {
		struct job *j = *p;
		if (j->no == no && j->d->kind == kind) {
			*p = j->hnext;
			j->hnext = NULL;
			j->d->inflight--;
			return j;
		}
	}
	return NULL;
}

void sched_job_done(struct job *j)
{
	struct dest *d = j->d;
	free(j);
	dest_release(d);
}

void sched_drain_flight(enum agent_kind kind, void (*fn)(struct job *))
{
	for (size_t h = 0; h < JOB_BUCKETS; h++) {
		struct job **p = &flight[h];
		while (*p) {
			struct job *j = *p;
			if (j->d->kind != kind) { p = &j->hnext; continue; }
			*p = j->hnext;
			j->hnext = NULL;
			j->d->inflight--;
			fn(j);
		}
	}
}

void sched_fail_pending(enum agent_kind kind, const char *dsn, const char *text)
{
	while (ring[kind]) {
		struct dest *d = ring[kind];
		struct job *j = pop(d);
		struct msg *m = j->m;
		size_t i = j->rcpt;
		sched_job_done(j);
		log_msg("%s: to=<%s>, relay=none, dsn=%s, status=deferred (%s)", m->id, m->env.rcpt[i].addr,
		        dsn, text);
		msg_result(m, i, 'Z', dsn, text);
	}
}
