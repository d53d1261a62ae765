/* jobs.c — the master's intake: job lines "<job> <qid> <index>" from
 * yubin-qmgr, each routed (route.h) and grouped with the other jobs of
 * the same message and destination that arrived in the same read, up to
 * default_destination_recipient_limit per group, so one SMTP transaction
 * carries them all. Jobs that need no SMTP (a route that changed to an
 * error, discard or local since qmgr looked) are answered here. */
#include "remote.h"
#include "buf.h"
#include "control.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IN_MAX 65536
#define GROUPS_MAX 64

struct group {
	char qid[QID_MAX];
	struct route route;
	size_t n;
	unsigned long job[BATCH_MAX];
	size_t index[BATCH_MAX];
};

static char inb[IN_MAX];
static size_t inlen;
static struct group *groups;
static size_t ngroups;

/* the envelope of the message whose jobs are arriving */
static char env_qid[QID_MAX];
static struct qenv env;
static int env_ok;

static void answer(unsigned long job, char code, const char *status, const char *text)
{
	char line[DELIVER_LINE_MAX];
	int n = snprintf(line, sizeof line, "%lu %c %s %s\n", job, code, status, text);
	if (n > 0) master_result(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static int load_env(const char *qid)
{
	char rel[QID_MAX + 32], path[4096];
	if (strcmp(qid, env_qid) == 0) return env_ok;
	if (env_ok) qenv_free(&env);
	memset(&env, 0, sizeof env);
	snprintf(env_qid, sizeof env_qid, "%s", qid);
	env_ok = 0;
	snprintf(rel, sizeof rel, "%s/%s", QDIR_ACTIVE, qid);
	int fd = root_path(path, sizeof path, rel) == 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0 && qenv_read(fd, &env) == 0) env_ok = 1;
	else log_sys("%s: cannot read the queue file", qid);
	if (fd >= 0) close(fd);
	return env_ok;
}

static void flush_group(size_t g)
{
	struct group *gr = &groups[g];
	struct buf line = BUF_INIT;
	int r = buf_addf(&line, "B %s %d %u %s ", gr->qid, gr->route.mx, (unsigned)gr->route.port, gr->route.nexthop);
	for (size_t i = 0; i < gr->n; i++) r |= buf_addf(&line, "%s%lu:%zu", i ? "," : "", gr->job[i], gr->index[i]);
	r |= buf_addc(&line, '\n');
	if (r < 0) die_nomem();
	pool_submit(gr->route.dest, line.s, line.len, gr->job, gr->n);
	buf_free(&line);
	gr->n = 0;
}

void jobs_dispatch(void)
{
	for (size_t g = 0; g < ngroups; g++)
		if (groups[g].n) flush_group(g);
	ngroups = 0;
}

static void add_job(unsigned long job, const char *qid, size_t index)
{
	struct route r;
	if (!load_env(qid)) { answer(job, 'Z', "4.3.0", "cannot read the queue file"); return; }
	if (index >= env.nrcpt) { answer(job, 'Z', "4.3.0", "no such recipient"); return; }
	route_resolve(env.rcpt[index].addr, &r);
	switch (r.kind) {
	case ROUTE_SMTP:
		break;
	case ROUTE_ERROR:
		log_msg("%s: to=<%s>, relay=none, dsn=%s, status=%s (%s)", qid, env.rcpt[index].addr, r.status,
		        r.status[0] == '5' ? "bounced" : "deferred", r.text);
		answer(job, r.status[0] == '5' ? 'D' : 'Z', r.status, r.text);
		return;
	case ROUTE_DISCARD:
		log_msg("%s: to=<%s>, relay=none, dsn=2.0.0, status=sent (discarded: %s)", qid, env.rcpt[index].addr, r.text);
		answer(job, 'K', "2.0.0", "discarded");
		return;
	case ROUTE_LOCAL:
		answer(job, 'Z', "4.3.5", "the route changed to local delivery; try again");
		return;
	}
	long long lim = control_int("default_destination_recipient_limit");
	size_t limit = lim > 0 && lim <= BATCH_MAX ? (size_t)lim : 50;
	size_t g;
	for (g = 0; g < ngroups; g++)
		if (strcmp(groups[g].qid, qid) == 0 && strcmp(groups[g].route.dest, r.dest) == 0 && groups[g].n < limit) break;
	if (g == ngroups) {
		if (ngroups == GROUPS_MAX) jobs_dispatch();
		g = ngroups++;
		snprintf(groups[g].qid, sizeof groups[g].qid, "%s", qid);
		groups[g].route = r;
		groups[g].n = 0;
	}
	groups[g].job[groups[g].n] = job;
	groups[g].index[groups[g].n] = index;
	if (++groups[g].n >= limit) flush_group(g);
}

/* "<job> <qid> <index>" */
static void job_line(char *s, size_t n)
{
	char *sp1 = memchr(s, ' ', n), *sp2;
	unsigned long job = 0;
	size_t index = 0;
	if (!sp1 || sp1 == s) goto bad;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s));
	if (!sp2 || sp2 == sp1 + 1 || sp2 + 1 == s + n) goto bad;
	for (char *p = s; p < sp1; p++) {
		if (!isdigit((unsigned char)*p) || job > 1000000000000UL) goto bad;
		job = job * 10 + (unsigned long)(*p - '0');
	}
	for (char *p = sp2 + 1; p < s + n; p++) {
		if (!isdigit((unsigned char)*p) || index > 100000000) goto bad;
		index = index * 10 + (size_t)(*p - '0');
	}
	*sp2 = 0;
	if (!qid_valid(sp1 + 1)) goto bad;
	add_job(job, sp1 + 1, index);
	return;
bad:
	log_msg("warning: malformed job line from yubin-qmgr ignored");
}

int jobs_read(int fd)
{
	if (!groups && !(groups = calloc(GROUPS_MAX, sizeof *groups))) die_nomem();
	control_refresh();
	for (;;) {
		ssize_t got = read(fd, inb + inlen, sizeof inb - inlen);
		if (got < 0 && errno == EINTR) continue;
		if (got < 0 && errno == EAGAIN) break;
		if (got <= 0) return -1;
		inlen += (size_t)got;
		size_t start = 0;
		for (size_t e = 0; e < inlen; e++) {
			if (inb[e] != '\n') continue;
			job_line(inb + start, e - start);
			start = e + 1;
		}
		memmove(inb, inb + start, inlen - start);
		inlen -= start;
		if (inlen == sizeof inb) { log_msg("warning: overlong line from yubin-qmgr dropped"); inlen = 0; }
	}
	/* the envelope may change state on disk between messages; keep it
	 * only while its jobs are arriving */
	if (env_ok) qenv_free(&env);
	env_ok = 0;
	env_qid[0] = 0;
	return 0;
}
