/* status.c — anvil's periodic statistics (every anvil_status_update_time
 * and at exit), in Postfix's words: the highest connection count and
 * rates since the last report with the client and the time they peaked,
 * the peak table size, and one line naming the busiest clients of the
 * current windows. Nothing is logged for a quiet period. */
#include "anvild.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

#define BUSIEST 5

struct peak {
	unsigned long value;
	char ident[ANVIL_IDENT_MAX];
	time_t when;
};

static struct peak rate_peak[NRATES], count_peak;
static size_t size_peak;
static time_t size_when;

static const char *const rate_name[NRATES] = { "connection", "message", "recipient", "auth", "login failure" };

static void note(struct peak *p, const struct client *c, unsigned long value, time_t now)
{
	if (value <= p->value) return;
	p->value = value;
	memcpy(p->ident, c->ident, sizeof p->ident);
	p->when = now;
}

void status_note(enum rate_kind k, const struct client *c, unsigned long value, time_t now)
{
	note(&rate_peak[k], c, value, now);
	if (clients_size() > size_peak) {
		size_peak = clients_size();
		size_when = now;
	}
}

void status_note_count(const struct client *c, time_t now)
{
	note(&count_peak, c, c->count, now);
}

static const char *stamp(time_t t, char *out, size_t max)
{
	struct tm tm;
	localtime_r(&t, &tm);
	if (!strftime(out, max, "%b %e %H:%M:%S", &tm)) out[0] = 0;
	return out;
}

static unsigned long activity(const struct client *c, time_t now, long long unit)
{
	unsigned long sum = c->count;
	if (now - c->start < unit)
		for (int k = 0; k < NRATES; k++) sum += c->rate[k];
	return sum;
}

/* the few clients with the most events in their current windows */
static void log_busiest(time_t now, long long unit)
{
	const struct client *top[BUSIEST];
	unsigned long score[BUSIEST];
	size_t n = 0;
	for (const struct client *c = clients_first(); c; c = c->older) {
		unsigned long a = activity(c, now, unit);
		if (!a) continue;
		size_t i = n < BUSIEST ? n++ : BUSIEST;
		if (i == BUSIEST) {
			if (a <= score[BUSIEST - 1]) continue;
			i = BUSIEST - 1;
		}
		while (i > 0 && score[i - 1] < a) {
			top[i] = top[i - 1];
			score[i] = score[i - 1];
			i--;
		}
		top[i] = c;
		score[i] = a;
	}
	if (!n) return;
	char line[1500];
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		const struct client *c = top[i];
		int live = now - c->start < unit;
		int k = snprintf(line + len, sizeof line - len,
		                 "%s%s count=%lu conn=%lu mail=%lu rcpt=%lu auth=%lu fail=%lu", i ? ", " : "", c->ident,
		                 c->count, live ? c->rate[RATE_CONN] : 0, live ? c->rate[RATE_MAIL] : 0,
		                 live ? c->rate[RATE_RCPT] : 0, live ? c->rate[RATE_AUTH] : 0,
		                 live ? c->rate[RATE_FAIL] : 0);
		if (k < 0 || (size_t)k >= sizeof line - len) break;
		len += (size_t)k;
	}
	log_msg("statistics: busiest clients per %llds: %s", unit, line);
}

void status_log(time_t now, long long unit)
{
	char t[64];
	for (int k = 0; k < NRATES; k++) { /* Postfix's order: connection rate, count, the others */
		struct peak *p = &rate_peak[k];
		if (p->value)
			log_msg("statistics: max %s rate %lu/%llds for (%s) at %s", rate_name[k], p->value, unit, p->ident,
			        stamp(p->when, t, sizeof t));
		if (k == RATE_CONN && count_peak.value)
			log_msg("statistics: max connection count %lu for (%s) at %s", count_peak.value, count_peak.ident,
			        stamp(count_peak.when, t, sizeof t));
	}
	if (size_peak) log_msg("statistics: max cache size %zu at %s", size_peak, stamp(size_when, t, sizeof t));
	log_busiest(now, unit);
	memset(rate_peak, 0, sizeof rate_peak);
	memset(&count_peak, 0, sizeof count_peak);
	size_peak = 0;
}
