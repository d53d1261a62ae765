/* worker.c — a delivery worker: takes one batch at a time from the
 * master, delivers it over its cached connection when that goes to the
 * same destination (else over a new one), answers every job, logs one
 * maillog line per recipient, and keeps the connection for the next batch
 * until smtp_connection_cache_time_limit passes without one. */
#include "remote.h"
#include "control.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct conn conn = { .fd = -1, .rfd = -1, .wfd = -1 };
static struct batch batch;
static int out_fd;

long long timeout_of(const char *setting)
{
	long long t = control_time(setting);
	if (t <= 0) t = 1;
	if (t > 86400) t = 86400;
	return t;
}

void job_result(struct job *j, char code, const char *status, const char *fmt, ...)
{
	va_list ap;
	j->code = code;
	snprintf(j->status, sizeof j->status, "%s", status);
	va_start(ap, fmt);
	vsnprintf(j->text, sizeof j->text, fmt, ap);
	va_end(ap);
	for (char *p = j->text; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) *p = ' ';
}

void batch_fail(struct batch *b, char code, const char *status, const char *fmt, ...)
{
	char text[DELIVER_TEXT_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < b->n; i++)
		if (!b->job[i].code) job_result(&b->job[i], code, status, "%s", text);
}

/* "B <qid> <mx> <port> <nexthop> <job>:<index>,..." */
static int parse_batch(char *line, struct batch *b)
{
	char *save = NULL, *qid, *mx, *port, *hop, *jobs;
	if (strncmp(line, "B ", 2) != 0) return -1;
	qid = strtok_r(line + 2, " ", &save);
	mx = strtok_r(NULL, " ", &save);
	port = strtok_r(NULL, " ", &save);
	hop = strtok_r(NULL, " ", &save);
	jobs = strtok_r(NULL, " ", &save);
	if (!jobs || !qid_valid(qid) || strlen(hop) >= sizeof b->route.nexthop) return -1;
	memset(&b->route, 0, sizeof b->route);
	snprintf(b->qid, sizeof b->qid, "%s", qid);
	b->route.kind = ROUTE_SMTP;
	b->route.mx = mx[0] == '1';
	b->route.port = (unsigned short)strtoul(port, NULL, 10);
	snprintf(b->route.nexthop, sizeof b->route.nexthop, "%s", hop);
	snprintf(b->route.dest, sizeof b->route.dest, b->route.mx ? "smtp:%s:%u" : "smtp:[%s]:%u", hop,
	         (unsigned)b->route.port);
	b->n = 0;
	for (char *tok = strtok_r(jobs, ",", &save); tok && b->n < BATCH_MAX; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		if (!colon) return -1;
		struct job *j = &b->job[b->n++];
		memset(j, 0, sizeof *j);
		j->id = strtoul(tok, NULL, 10);
		j->index = strtoul(colon + 1, NULL, 10);
	}
	return b->n ? 0 : -1;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void report(struct batch *b, const struct qenv *e)
{
	char line[DELIVER_LINE_MAX + 64];
	double delay = e && e->arrival ? now() - (double)e->arrival : 0;
	if (delay < 0) delay = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct job *j = &b->job[i];
		if (!j->code) job_result(j, 'Z', "4.3.0", "internal error: no result");
		const char *addr = e && j->index < e->nrcpt ? e->rcpt[j->index].addr : "?";
		const char *what = j->code == 'K' ? "sent" : j->code == 'D' ? "bounced" : "deferred";
		char use[32] = "";
		if (b->conn_use > 1) snprintf(use, sizeof use, ", conn_use=%u", b->conn_use);
		log_msg("%s: to=<%s>, relay=%s%s, delay=%.1f, dsn=%s, status=%s (%s)", b->qid, addr, b->relay, use, delay,
		        j->status, what, j->text);
		int n = snprintf(line, sizeof line, "R %lu %c %s %s\n", j->id, j->code, j->status, j->text);
		if (n > 0 && write_all(out_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0)
			exit(EXIT_TEMP);
	}
}

static void deliver(struct batch *b)
{
	char rel[QID_MAX + 32], path[4096];
	struct qenv e;
	memset(&e, 0, sizeof e);
	snprintf(rel, sizeof rel, "%s/%s", QDIR_ACTIVE, b->qid);
	textf(b->relay, sizeof b->relay, "none");
	b->conn_use = 0;
	int fd = root_path(path, sizeof path, rel) == 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0 || qenv_read(fd, &e) < 0) {
		batch_fail(b, 'Z', "4.3.0", "cannot read queue file %s", b->qid);
		if (fd >= 0) close(fd);
		report(b, NULL);
		return;
	}
	for (size_t i = 0; i < b->n; i++)
		if (b->job[i].index >= e.nrcpt) job_result(&b->job[i], 'Z', "4.3.0", "no such recipient in %s", b->qid);
	b->sts = mtasts_applies(b, &e);

	int done = 0;
	char policy[sizeof conn.policy];
	conn_policy(policy, sizeof policy);
	if (conn.fd >= 0 && strcmp(conn.key, b->route.dest) == 0 && !conn.broken && strcmp(conn.policy, policy) == 0) {
		done = transaction(&conn, b, &e, fd, 1) == 0;
		if (!done) conn_close(&conn, 0);
	} else if (conn.fd >= 0) {
		conn_close(&conn, 1);
	}
	if (!done && conn_open(&conn, b) == 0) transaction(&conn, b, &e, fd, 0);
	if (conn.broken) conn_close(&conn, 0);
	report(b, &e);
	qenv_free(&e);
	close(fd);
}

/* wait for the next master line; closes an idle cached connection in time */
static int next_line(struct rbuf *in, char *line, size_t max)
{
	for (;;) {
		if (rbuf_pending(in) == 0) {
			int t = conn.fd >= 0 ? (int)timeout_of("smtp_connection_cache_time_limit") * 1000 : -1;
			struct pollfd p[2] = { { .fd = in->fd, .events = POLLIN }, { .fd = conn.rfd, .events = POLLIN } };
			int r = poll(p, conn.fd >= 0 ? 2 : 1, t);
			if (r < 0 && errno == EINTR) continue;
			if (r == 0 || (r > 0 && conn.fd >= 0 && p[1].revents && !p[0].revents)) {
				/* idle too long, or the server spoke/closed on its own */
				conn_close(&conn, r == 0);
				if (write_all(out_fd, "C\n", 2) < 0) exit(0);
				continue;
			}
		}
		size_t len;
		int st = rbuf_getline(in, line, max, &len, NULL);
		if (st == IO_OK) return 0;
		if (st != IO_LONG) return -1;
	}
}

void worker_main(int in_fd, int o_fd)
{
	static struct rbuf in;
	static char line[BATCH_MAX * 48 + 600];
	out_fd = o_fd;
	rbuf_init(&in, in_fd, 0);
	while (next_line(&in, line, sizeof line) == 0) {
		if (line[0] == 'Q') break;
		control_refresh();   /* changed settings apply from this delivery on */
		if (parse_batch(line, &batch) < 0) {
			log_msg("warning: bad batch line from the master");
			continue;
		}
		deliver(&batch);
		char idle[KEY_MAX + 8];
		int n = snprintf(idle, sizeof idle, "I %s\n", conn.fd >= 0 ? conn.key : "-");
		if (write_all(out_fd, idle, (size_t)n) < 0) break;
	}
	conn_close(&conn, 1);
	exit(0);
}
