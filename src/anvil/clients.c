/* clients.c — the clients anvil knows: a hash table of idents, and an age
 * list (newest event first) that makes expiry and eviction cheap: expiry
 * walks from the old end and stops at the first client that is still
 * young. Memory is bounded by CLIENTS_MAX entries; when the table is full
 * the oldest client without an open connection is forgotten (its rate
 * window starts again if it comes back: a limiter may forget, never
 * invent). Rates use Postfix's fixed windows: the counts start at zero
 * with a client's first event and again once a time unit has passed. */
#include "anvild.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS (CLIENTS_MAX * 2)
#define EVICT_SCAN 64

static struct client **bucket;
static struct client *newest, *oldest;
static size_t nclients;

void clients_init(void)
{
	bucket = calloc(BUCKETS, sizeof *bucket);
	if (!bucket) die_nomem();
}

static unsigned hash_of(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void unlink_age(struct client *c)
{
	if (c->newer) c->newer->older = c->older;
	else newest = c->older;
	if (c->older) c->older->newer = c->newer;
	else oldest = c->newer;
	c->newer = c->older = NULL;
}

static void push_newest(struct client *c)
{
	c->older = newest;
	c->newer = NULL;
	if (newest) newest->newer = c;
	newest = c;
	if (!oldest) oldest = c;
}

static void forget(struct client *c)
{
	struct client **p = &bucket[c->hash % BUCKETS];
	while (*p && *p != c) p = &(*p)->chain;
	if (*p) *p = c->chain;
	unlink_age(c);
	free(c);
	nclients--;
}

void clients_expire(time_t now, long long unit)
{
	size_t walked = 0, n = nclients;
	while (oldest && walked++ < n && now - oldest->last >= unit) {
		struct client *c = oldest;
		if (c->count == 0) {
			forget(c);
		} else {
			/* a long connection: keep it, look at it again a unit later */
			c->last = now;
			unlink_age(c);
			push_newest(c);
		}
	}
}

/* full table: forget the oldest idle client, if one is near the old end */
static int evict(void)
{
	struct client *c = oldest;
	for (int i = 0; c && i < EVICT_SCAN; i++, c = c->newer)
		if (c->count == 0) {
			forget(c);
			return 0;
		}
	return -1;
}

struct client *clients_get(const char *ident, time_t now)
{
	unsigned h = hash_of(ident);
	for (struct client *c = bucket[h % BUCKETS]; c; c = c->chain)
		if (c->hash == h && strcmp(c->ident, ident) == 0) {
			c->last = now;
			unlink_age(c);
			push_newest(c);
			return c;
		}
	if (nclients >= CLIENTS_MAX && evict() < 0) return NULL;
	size_t len = strlen(ident);
	if (len >= ANVIL_IDENT_MAX) return NULL;
	struct client *c = calloc(1, sizeof *c);
	if (!c) return NULL;
	memcpy(c->ident, ident, len + 1);
	c->hash = h;
	c->start = c->last = now;
	c->chain = bucket[h % BUCKETS];
	bucket[h % BUCKETS] = c;
	push_newest(c);
	nclients++;
	return c;
}

static void window(struct client *c, time_t now, long long unit)
{
	if (now - c->start >= unit || now < c->start) {
		memset(c->rate, 0, sizeof c->rate);
		c->start = now;
	}
}

unsigned long clients_event(struct client *c, enum rate_kind k, time_t now, long long unit)
{
	window(c, now, unit);
	return ++c->rate[k];
}

unsigned long clients_peek(const struct client *c, enum rate_kind k, time_t now, long long unit)
{
	if (now - c->start >= unit || now < c->start) return 0;
	return c->rate[k];
}

size_t clients_size(void) { return nclients; }

struct client *clients_first(void) { return newest; }
