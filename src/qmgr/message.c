/* message.c — one active message: its open queue file, its envelope and
 * what happened to each recipient in the current pass. A pass gives every
 * recipient still marked ' ' to a route (an agent, or an immediate
 * result); when the last result is in, msg_finish() bounces the failures
 * (the report is queued before their marks are set: queue/README step 4),
 * then removes the message or fsyncs its marks and defers it with its
 * next attempt time as mtime (step 5). */
#include "control.h"
#include "log.h"
#include "qmgr.h"
#include "route.h"
#include "spawner.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

size_t active_count;
static struct msg *active_list;

static void unlink_list(struct msg *m)
{
	if (m->prev) m->prev->next = m->next;
	else active_list = m->next;
	if (m->next) m->next->prev = m->prev;
}

static void drop(struct msg *m)
{
	unlink_list(m);
	if (m->fd >= 0) close(m->fd);
	for (size_t i = 0; m->res && i < m->env.nrcpt; i++) free(m->res[i].text);
	free(m->res);
	qenv_free(&m->env);
	free(m);
	active_count--;
}

/* Put a file we cannot work on aside until the next retry. */
static void defer_file(const char *name)
{
	struct timespec ts[2];
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) + conf.min_backoff;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	utimensat(qdir_fd(QDIR_ACTIVE), name, ts, 0);
	if (renameat(qdir_fd(QDIR_ACTIVE), name, qdir_fd(QDIR_DEFERRED), name) < 0 && errno != ENOENT)
		log_sys("%s: cannot move to deferred", name);
}

static long long delay_of(const struct msg *m)
{
	long long d = (long long)time(NULL) - m->env.arrival;
	return d < 0 ? 0 : d;
}

const char *msg_sender_class(const struct msg *m)
{
	const char *s = m->env.sender;
	if (!*s) return "bounce";
	const char *dbs = double_bounce_sender();
	if (strcasecmp(s, dbs) == 0) return "double";
	return "normal";
}

long long msg_lifetime(const struct msg *m)
{
	return strcmp(msg_sender_class(m), "normal") == 0 ? conf.max_lifetime : conf.bounce_lifetime;
}

/* qmgr's own verdicts get the log line an agent would have written */
static void log_verdict(const struct msg *m, size_t i, const char *dsn, const char *status,
                        const char *text)
{
	log_msg("%s: to=<%s>, relay=none, delay=%lld, dsn=%s, status=%s (%s)", m->id,
	        m->env.rcpt[i].addr, delay_of(m), dsn, status, text);
}

static void msg_unref(struct msg *m);

void msg_result(struct msg *m, size_t i, char code, const char *dsn, const char *text)
{
	struct result *r = &m->res[i];
	r->code = code;
	size_t n = strlen(dsn);
	if (n >= sizeof r->dsn) n = sizeof r->dsn - 1;
	memcpy(r->dsn, dsn, n);
	r->dsn[n] = 0;
	free(r->text);
	r->text = strdup(text);
	if (!r->text) die_nomem();
	if (code == 'K' && qenv_mark(m->fd, &m->env, i, 'D', 0) < 0)
		log_sys("%s: warning: cannot mark recipient %zu done (it will be retried)", m->id, i);
	msg_unref(m);
}

/* Route recipient i: to an agent's queue, or an immediate result. */
static void route_one(struct msg *m, size_t i)
{
	const char *addr = m->env.rcpt[i].addr;
	struct route r;
	route_resolve(addr, &r);
	switch (r.kind) {
	case ROUTE_LOCAL: {
		/* as Postfix: mail for a virtual mailbox domain goes at most
		 * virtual_destination_concurrency_limit at a time per domain
		 * (its virtual(8) transport), other local mail at most
		 * local_destination_concurrency_limit per recipient (local(8)) */
		char key[QREC_MAX + 10];
		const char *at = strrchr(addr, '@');
		int virtual = at && control_list_has("virtual_mailbox_domains", at + 1);
		const char *what = virtual ? at + 1 : addr;
		const char *prefix = virtual ? "virtual:" : "local:";
		size_t p = strlen(prefix), n = strlen(what);
		if (n >= sizeof key - p) n = sizeof key - p - 1;
		memcpy(key, prefix, p);
		for (size_t k = 0; k < n; k++) key[p + k] = (char)tolower((unsigned char)what[k]);
		key[p + n] = 0;
		sched_add(m, i, AGENT_LOCAL, key);
		return;
	}
	case ROUTE_SMTP:
		/* transport routing happens in route_resolve(); r.dest groups
		 * recipients per next hop for the concurrency limits */
		if (agent_available(AGENT_REMOTE)) {
			sched_add(m, i, AGENT_REMOTE, r.dest);
			return;
		}
		log_verdict(m, i, "4.4.0", "deferred", "remote delivery is not available yet");
		msg_result(m, i, 'Z', "4.4.0", "remote delivery is not available yet");
		return;
	case ROUTE_ERROR: {
		const char *dsn = r.status[0] ? r.status : "5.0.0";
		int perm = dsn[0] == '5';
		log_verdict(m, i, dsn, perm ? "bounced" : "deferred", r.text);
		msg_result(m, i, perm ? 'D' : 'Z', dsn, r.text);
		return;
	}
	case ROUTE_DISCARD:
		log_verdict(m, i, "2.0.0", "sent", "discarded");
		msg_result(m, i, 'K', "2.0.0", "discarded");
		return;
	}
}

void msg_activate(const char *name)
{
	int fd = openat(qdir_fd(QDIR_ACTIVE), name, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && spawner_own(name) == 0)
		fd = openat(qdir_fd(QDIR_ACTIVE), name, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) return;
		log_sys("%s: cannot open queue file; retrying later", name);
		defer_file(name);
		return;
	}
	struct msg *m = calloc(1, sizeof *m);
	if (!m) die_nomem();
	memcpy(m->id, name, strlen(name) + 1);
	m->fd = fd;
	if (qenv_read(fd, &m->env) < 0) {
		if (errno == EINVAL) {
			/* never retried blindly: the admin looks at it in hold/ */
			log_msg("%s: warning: malformed queue file; moved to hold", name);
			renameat(qdir_fd(QDIR_ACTIVE), name, qdir_fd(QDIR_HOLD), name);
		} else {
			log_sys("%s: cannot read queue file; retrying later", name);
			defer_file(name);
		}
		close(fd);
		free(m);
		return;
	}
	struct stat st;
	m->size = fstat(fd, &st) == 0 ? (long long)st.st_size - (long long)m->env.msg_off : 0;
	m->res = calloc(m->env.nrcpt, sizeof *m->res);
	if (!m->res) die_nomem();
	m->next = active_list;
	if (active_list) active_list->prev = m;
	active_list = m;
	active_count++;
	log_msg("%s: from=<%s>, size=%lld, nrcpt=%zu (queue active)", m->id, m->env.sender, m->size,
	        m->env.nrcpt);
	if (conf.delay_warning > 0) m->warned = defer_warned(m->id);

	/* one extra reference so that immediate results cannot finish the
	 * message while we are still routing its recipients */
	m->jobs_left = 1;
	for (size_t i = 0; i < m->env.nrcpt; i++)
		if (m->env.rcpt[i].state == ' ') m->jobs_left++;
	for (size_t i = 0; i < m->env.nrcpt; i++)
		if (m->env.rcpt[i].state == ' ') route_one(m, i);
	msg_unref(m);
}

/* NOTIFY=NEVER, or a NOTIFY list without the word: no report */
static int notify_wants(const struct qrcpt *r, const char *what)
{
	if (!*r->notify) return 1;
	const char *p = r->notify;
	size_t n = strlen(what);
	while (*p) {
		size_t len = strcspn(p, ",");
		if (len == n && strncasecmp(p, what, n) == 0) return 1;
		p += len;
		if (*p == ',') p++;
	}
	return 0;
}

/* Report the failed recipients idx[0..n) and mark them done. A report
 * that cannot be queued turns them back into retries. */
static void bounce_failures(struct msg *m, size_t *idx, size_t n)
{
	if (!n) return;
	const char *class = msg_sender_class(m);
	size_t *rep = malloc(n * sizeof *rep);
	if (!rep) die_nomem();
	size_t nrep = 0;
	for (size_t k = 0; k < n; k++) {
		size_t i = idx[k];
		if (strcmp(class, "double") == 0)
			log_msg("%s: to=<%s>: undeliverable postmaster notice discarded", m->id, m->env.rcpt[i].addr);
		else if (strcmp(class, "normal") == 0 && !notify_wants(&m->env.rcpt[i], "FAILURE"))
			log_msg("%s: to=<%s>: no bounce (NOTIFY=%s)", m->id, m->env.rcpt[i].addr, m->env.rcpt[i].notify);
		else
			rep[nrep++] = i;
	}
	if (nrep) {
		char newid[QID_MAX];
		int dbl = strcmp(class, "bounce") == 0;
		if (report_send(m, rep, nrep, dbl ? REPORT_DOUBLE : REPORT_FAILED, newid, sizeof newid) == 0) {
			log_msg("%s: %s non-delivery notification: %s", m->id, dbl ? "postmaster" : "sender", newid);
		} else {
			log_msg("%s: cannot queue the non-delivery notification; will try again", m->id);
			for (size_t k = 0; k < nrep; k++) {
				struct result *r = &m->res[rep[k]];
				r->code = 'Z';
				memcpy(r->dsn, "4.3.0", 6);
			}
		}
	}
	free(rep);
	for (size_t k = 0; k < n; k++)
		if (m->res[idx[k]].code == 'D' && qenv_mark(m->fd, &m->env, idx[k], 'D', 0) < 0)
			log_sys("%s: warning: cannot mark recipient %zu done", m->id, idx[k]);
}

static void maybe_warn(struct msg *m)
{
	if (conf.delay_warning <= 0 || m->warned || strcmp(msg_sender_class(m), "normal") != 0) return;
	if ((long long)time(NULL) < m->env.arrival + conf.delay_warning) return;
	size_t *idx = malloc(m->env.nrcpt * sizeof *idx);
	if (!idx) die_nomem();
	size_t n = 0;
	for (size_t i = 0; i < m->env.nrcpt; i++)
		if (m->res[i].code == 'Z' && notify_wants(&m->env.rcpt[i], "DELAY")) idx[n++] = i;
	char newid[QID_MAX];
	if (!n) m->warned = 1;
	else if (report_send(m, idx, n, REPORT_DELAY, newid, sizeof newid) == 0) {
		m->warned = 1;
		log_msg("%s: sender delay notification: %s", m->id, newid);
	}
	free(idx);
}

static void defer_msg(struct msg *m)
{
	time_t now = time(NULL);
	maybe_warn(m);
	defer_write(m);
	/* recipients done in this pass must not be retried: step 3 */
	if (fdatasync(m->fd) < 0) log_sys("%s: warning: fsync", m->id);
	/* Postfix's backoff: the time since arrival, within the bounds, so
	 * the delay doubles from one attempt to the next */
	long long delay = (long long)now - m->env.arrival;
	if (delay < conf.min_backoff) delay = conf.min_backoff;
	if (delay > conf.max_backoff) delay = conf.max_backoff;
	struct timespec ts[2] = { { now, 0 }, { (time_t)(now + delay), 0 } };
	if (futimens(m->fd, ts) < 0) log_sys("%s: warning: cannot set the retry time", m->id);
	if (renameat(qdir_fd(QDIR_ACTIVE), m->id, qdir_fd(QDIR_DEFERRED), m->id) < 0) {
		if (errno == ENOENT) log_msg("%s: moved away by yubin-ctl while active", m->id);
		else log_sys("%s: cannot move to deferred", m->id);
	}
}

/* A finished message leaves the queue: its file becomes a spare that
 * yubin-queue writes its next message into (qfile.h), unless the
 * SPARE_TRIES names tried are taken, the file is large or the filesystem
 * cannot rename without replacing; then it is removed. The names tried
 * go round, since yubin-queue takes spares in any order. */
#define SPARE_TRIES 4
static void retire_file(const struct msg *m)
{
	static unsigned next;
	if (m->size <= QSPARE_SIZE_MAX) {
		for (unsigned i = 0; i < SPARE_TRIES; i++) {
			char spare[16];
			snprintf(spare, sizeof spare, QSPARE_PREFIX "%u", (next + i) % QSPARE_SLOTS);
			if (renameat2(qdir_fd(QDIR_ACTIVE), m->id, qdir_fd(QDIR_TMP), spare, RENAME_NOREPLACE) == 0) {
				next += i + 1;
				return;
			}
			if (errno != EEXIST) break;
		}
		next += SPARE_TRIES;
	}
	if (unlinkat(qdir_fd(QDIR_ACTIVE), m->id, 0) < 0 && errno != ENOENT)
		log_sys("%s: cannot remove", m->id);
}

static void msg_finish(struct msg *m)
{
	struct stat st;
	if (fstat(m->fd, &st) == 0 && st.st_nlink == 0) {
		log_msg("%s: removed (deleted from the queue while active)", m->id);
		drop(m);
		return;
	}
	size_t n = m->env.nrcpt, nfail = 0, nleft = 0;
	size_t *fail = malloc((n ? n : 1) * sizeof *fail);
	if (!fail) die_nomem();
	int expired = (long long)time(NULL) >= m->env.arrival + msg_lifetime(m);
	for (size_t i = 0; i < n; i++) {
		struct result *r = &m->res[i];
		if (r->code == 'Z' && expired) {
			struct buf b = BUF_INIT;
			if (buf_addf(&b, "delivery time expired; last error: %s %s", r->dsn,
			             r->text ? r->text : "") < 0)
				die_nomem();
			log_verdict(m, i, "5.4.7", "bounced", b.s);
			free(r->text);
			r->text = b.s;
			r->code = 'D';
			memcpy(r->dsn, "5.4.7", 6);
		}
		if (r->code == 'D') fail[nfail++] = i;
	}
	bounce_failures(m, fail, nfail);
	free(fail);
	for (size_t i = 0; i < n; i++)
		if (m->env.rcpt[i].state == ' ') nleft++;
	if (nleft) {
		defer_msg(m);
	} else {
		retire_file(m);
		defer_remove(m->id);
		log_msg("%s: removed", m->id);
	}
	drop(m);
}

static void msg_unref(struct msg *m)
{
	if (--m->jobs_left == 0) msg_finish(m);
}
