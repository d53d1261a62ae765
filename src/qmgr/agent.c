/* agent.c — the delivery agents, yubin-local and yubin-remote, as
 * long-running children on two pipes (protocol in deliver.h). Job lines
 * go out through a non-blocking buffer; result lines come back in any
 * order. An agent that dies is respawned with a growing delay; its jobs in
 * flight go back to the front of their queues (not a deferral), except a
 * job that was in flight through MAX_CRASHES deaths, which is deferred so
 * one poisonous message cannot crash the agent forever. spawner.c starts
 * them (with the right identity when qmgr runs as root); they die with
 * qmgr (PR_SET_PDEATHSIG), so a restarted qmgr never races an old agent
 * delivering the same recipient. */
#include "log.h"
#include "qclient.h"
#include "qmgr.h"
#include "spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CRASHES 3
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
#define STABLE_MS 10000        /* an agent alive this long resets the backoff */
#define CHECK_MS 5000          /* how often to look whether the program exists */
#define STOP_GRACE_MS 5000

struct agent {
	const char *prog;
	pid_t pid;                 /* > 0 until reaped */
	int to, from;              /* -1 when closed */
	struct buf out;
	size_t out_off;
	char in[DELIVER_LINE_MAX + 1];
	size_t inlen;
	int overlong;
	long long inflight;
	long long started_ms, respawn_ms, backoff_ms;
	int available;
};

static struct agent agents[AGENT_COUNT] = {
	{ .prog = "yubin-local", .to = -1, .from = -1 },
	{ .prog = "yubin-remote", .to = -1, .from = -1 },
};
static long long next_check_ms, stop_deadline_ms;

static void check_available(void)
{
	for (int k = 0; k < AGENT_COUNT; k++) {
		char path[4096];
		agents[k].available = prog_path(path, sizeof path, agents[k].prog) == 0 &&
		                      access(path, X_OK) == 0;
	}
	next_check_ms = now_ms() + CHECK_MS;
}

int agent_available(enum agent_kind kind) { return agents[kind].available || agents[kind].pid > 0; }

static int running(const struct agent *a) { return a->to >= 0 && a->from >= 0; }

int agent_room(enum agent_kind kind)
{
	const struct agent *a = &agents[kind];
	return !stopping && running(a) && a->inflight < conf.process_limit;
}

static void spawn(struct agent *a)
{
	int to, from;
	a->started_ms = now_ms();
	pid_t pid = spawner_start((enum agent_kind)(a - agents), &to, &from);
	if (pid < 0) {
		log_sys("cannot start %s", a->prog);
		a->respawn_ms = now_ms() + a->backoff_ms;
		return;
	}
	fcntl(to, F_SETFL, O_NONBLOCK);
	fcntl(from, F_SETFL, O_NONBLOCK);
	a->pid = pid;
	a->to = to;
	a->from = from;
	a->inlen = 0;
	a->overlong = 0;
	a->inflight = 0;
	buf_reset(&a->out);
	a->out_off = 0;
	log_msg("started %s (pid %ld)", a->prog, (long)pid);
}

void agents_init(void)
{
	check_available();
	for (int k = 0; k < AGENT_COUNT; k++) {
		agents[k].backoff_ms = BACKOFF_MIN_MS;
		if (agents[k].available) spawn(&agents[k]);
	}
}

static void flush_out(struct agent *a)
{
	while (a->to >= 0 && a->out_off < a->out.len) {
		ssize_t w = write(a->to, a->out.s + a->out_off, a->out.len - a->out_off);
		if (w < 0 && errno == EINTR) continue;
		if (w < 0) {
			/* EAGAIN: wait for POLLOUT; EPIPE: the read side sees EOF */
			if (errno != EAGAIN) a->out_off = a->out.len;
			break;
		}
		a->out_off += (size_t)w;
	}
	if (a->out_off == a->out.len) {
		buf_reset(&a->out);
		a->out_off = 0;
	}
}

void agent_send(enum agent_kind kind, const struct job *j)
{
	struct agent *a = &agents[kind];
	if (buf_addf(&a->out, "%llu %s %zu\n", j->no, j->m->id, j->rcpt) < 0) die_nomem();
	a->inflight++;
	flush_out(a);
}

static void requeue_or_defer(struct job *j)
{
	if (++j->crashes < MAX_CRASHES) {
		sched_requeue(j);
		return;
	}
	struct msg *m = j->m;
	size_t i = j->rcpt;
	sched_job_done(j);
	log_msg("%s: to=<%s>, relay=none, dsn=4.3.0, status=deferred (delivery agent crashed %d times)",
	        m->id, m->env.rcpt[i].addr, MAX_CRASHES);
	msg_result(m, i, 'Z', "4.3.0", "delivery agent crashed during delivery");
}

/* The agent's pipes are gone (it died or misbehaved): its jobs in flight
 * are not done. It is respawned once reaped. */
static void lost(struct agent *a, const char *why)
{
	enum agent_kind kind = (enum agent_kind)(a - agents);
	if (a->to >= 0) close(a->to);
	if (a->from >= 0) close(a->from);
	a->to = a->from = -1;
	buf_reset(&a->out);
	a->out_off = 0;
	if (a->pid > 0) spawner_kill(a->pid, SIGKILL); /* never two agents on one job */
	if (!stopping || a->inflight)
		log_msg("%s %s; %lld job%s in flight will be retried", a->prog, why, a->inflight,
		        a->inflight == 1 ? "" : "s");
	a->inflight = 0;
	long long now = now_ms();
	if (now - a->started_ms >= STABLE_MS) a->backoff_ms = BACKOFF_MIN_MS;
	a->respawn_ms = now + a->backoff_ms;
	a->backoff_ms = a->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : a->backoff_ms * 2;
	sched_drain_flight(kind, requeue_or_defer);
}

static int parse_num(const char **p, const char *end, unsigned long long *out)
{
	unsigned long long v = 0;
	const char *s = *p;
	if (s == end || *s < '0' || *s > '9') return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++)
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (unsigned)(*s - '0'), &v))
			return -1;
	*p = s;
	*out = v;
	return 0;
}

static int dsn_ok(const char *s, size_t n)
{
	/* x.y.z: class digit, then 1-3 digits, then 1-3 digits */
	if (n < 5 || n > 9 || s[1] != '.') return 0;
	int dots = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') dots++;
		else if (s[i] < '0' || s[i] > '9') return 0;
	}
	return dots == 2 && s[n - 1] != '.' && s[2] != '.';
}

/* "<job> <K|Z|D> <x.y.z> <text>" */
static int result_line(struct agent *a, const char *s, size_t n)
{
	enum agent_kind kind = (enum agent_kind)(a - agents);
	const char *p = s, *end = s + n;
	unsigned long long no;
	if (parse_num(&p, end, &no) < 0 || end - p < 3 || p[0] != ' ' || p[2] != ' ' ||
	    !strchr("KZD", p[1]))
		return -1;
	char code = p[1];
	p += 3;
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	const char *dsn_end = sp ? sp : end;
	char dsn[12], text[DELIVER_TEXT_MAX + 1];
	if (dsn_ok(p, (size_t)(dsn_end - p))) {
		memcpy(dsn, p, (size_t)(dsn_end - p));
		dsn[dsn_end - p] = 0;
	} else {
		snprintf(dsn, sizeof dsn, "%s", code == 'K' ? "2.0.0" : code == 'Z' ? "4.0.0" : "5.0.0");
	}
	size_t tn = sp ? (size_t)(end - sp - 1) : 0;
	if (tn > DELIVER_TEXT_MAX) tn = DELIVER_TEXT_MAX;
	if (tn) memcpy(text, sp + 1, tn);
	text[tn] = 0;
	if (memchr(text, 0, tn)) return -1;

	struct job *j = sched_take_flight(no, kind);
	if (!j) {
		log_msg("warning: %s answered unknown job %llu", a->prog, no);
		return 0;
	}
	a->inflight--;
	struct msg *m = j->m;
	size_t i = j->rcpt;
	sched_job_done(j);
	msg_result(m, i, code, dsn, text);
	return 0;
}

/* Read what the agent has written; 1 at EOF. */
static int read_results(struct agent *a)
{
	char b[16384];
	for (;;) {
		if (a->from < 0) return 0;
		ssize_t k = read(a->from, b, sizeof b);
		if (k < 0 && errno == EINTR) continue;
		if (k < 0) return errno == EAGAIN ? 0 : 1;
		if (k == 0) return 1;
		for (ssize_t i = 0; i < k; i++) {
			if (b[i] != '\n') {
				if (a->inlen < DELIVER_LINE_MAX) a->in[a->inlen++] = b[i];
				else a->overlong = 1;
				continue;
			}
			int bad = a->overlong || result_line(a, a->in, a->inlen) < 0;
			a->inlen = 0;
			a->overlong = 0;
			if (bad) {
				log_msg("%s broke the job protocol; restarting it", a->prog);
				lost(a, "killed");
				return 0;
			}
		}
	}
}

size_t agents_pollfds(struct pollfd *fds, size_t max)
{
	size_t n = 0;
	for (int k = 0; k < AGENT_COUNT && n + 2 <= max; k++) {
		struct agent *a = &agents[k];
		fds[n++] = (struct pollfd){ .fd = a->from, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = a->out_off < a->out.len ? a->to : -1, .events = POLLOUT };
	}
	return n;
}

void agents_events(const struct pollfd *fds, size_t n)
{
	for (int k = 0; k < AGENT_COUNT && (size_t)k * 2 + 1 < n; k++) {
		struct agent *a = &agents[k];
		if (fds[2 * k + 1].revents) flush_out(a);
		if (fds[2 * k].revents && read_results(a)) lost(a, "closed its pipe");
	}
}

/* An agent has exited (reaped by us or by the root helper). */
static void agent_exited(pid_t pid, int st)
{
	for (int k = 0; k < AGENT_COUNT; k++) {
		struct agent *a = &agents[k];
		if (a->pid != pid) continue;
		/* everything it wrote before dying is in the pipe: take it */
		int eof = read_results(a);
		if (WIFSIGNALED(st)) log_msg("%s (pid %ld) killed by signal %d", a->prog, (long)pid, WTERMSIG(st));
		else if (!stopping || WEXITSTATUS(st)) log_msg("%s (pid %ld) exited with status %d", a->prog, (long)pid, WEXITSTATUS(st));
		a->pid = 0;
		if (running(a) || eof) lost(a, "died");
	}
}

void agents_reap(void)
{
	pid_t pids[AGENT_COUNT];
	for (int k = 0; k < AGENT_COUNT; k++) pids[k] = agents[k].pid;
	spawner_reap(pids, AGENT_COUNT);
}

void agents_spawner_init(void) { spawner_init(agent_exited); }

void agents_tick(void)
{
	long long now = now_ms();
	if (stopping) {
		if (now >= stop_deadline_ms)
			for (int k = 0; k < AGENT_COUNT; k++)
				if (agents[k].pid > 0) spawner_kill(agents[k].pid, SIGKILL);
		return;
	}
	if (now >= next_check_ms) check_available();
	for (int k = 0; k < AGENT_COUNT; k++) {
		struct agent *a = &agents[k];
		if (a->pid == 0 && a->available && now >= a->respawn_ms) spawn(a);
	}
}

long long agents_next_ms(void)
{
	long long next = next_check_ms;
	if (stopping) return stop_deadline_ms;
	for (int k = 0; k < AGENT_COUNT; k++)
		if (agents[k].pid == 0 && agents[k].available && agents[k].respawn_ms < next)
			next = agents[k].respawn_ms;
	return next;
}

/* Close their job pipes (they finish what they hold and exit), and
 * SIGKILL whatever still runs after the grace time. */
void agents_stop(void)
{
	for (int k = 0; k < AGENT_COUNT; k++) {
		struct agent *a = &agents[k];
		if (a->to >= 0) close(a->to);
		a->to = -1;
		if (a->pid > 0) spawner_kill(a->pid, SIGTERM);
	}
	stop_deadline_ms = now_ms() + STOP_GRACE_MS;
}

int agents_running(void)
{
	for (int k = 0; k < AGENT_COUNT; k++)
		if (agents[k].pid > 0) return 1;
	return 0;
}
