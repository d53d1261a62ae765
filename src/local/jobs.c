/* jobs.c — yubin-local's main process: jobs from qmgr on stdin
 * ("<job> <qid> <index>", deliver.h), one open queue file per message
 * shared by its jobs, each job's recipient resolved into targets, each
 * target handed to an idle mailbox worker or a forked child, one log
 * line per target, and one result line per job on stdout as soon as its
 * last target is done (so results return in any order). */
#include "local.h"
#include "control.h"
#include "io.h"
#include "log.h"
#include "qfile.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_POLL 512

struct qf {                 /* an open queue file and its envelope */
	struct qf *next;
	char qid[QID_MAX];
	int fd;
	struct qenv env;
	off_t size;
	int refs;
};

struct job {
	struct job *next;
	char id[24];
	struct qf *qf;
	struct message m;
	struct tlist tl;
	size_t done;
	struct result pre;      /* a member that bounced during resolution */
	int have_pre;
};

struct kid {                /* a forked delivery child */
	pid_t pid;
	int fd;
	struct job *job;
	size_t ti;
	size_t len;
	char buf[DELIVER_LINE_MAX];
};

static struct qf *files;
static struct job *jobs, **jobs_tail = &jobs;
static struct kid *kids;
static size_t nkids, maxkids;
static struct { struct job *job; size_t ti; } *wown;
static char out[65536];
static size_t outlen;

static void out_flush(void)
{
	if (outlen && write_all(1, out, outlen) < 0) die_sys(EXIT_TEMP, "cannot write results to qmgr");
	outlen = 0;
}

static void answer(const char *id, const struct result *r)
{
	char line[DELIVER_LINE_MAX];
	int n = snprintf(line, sizeof line, "%s %c %s %.*s\n", id, r->status, r->code, DELIVER_TEXT_MAX, r->text);
	if (n < 0) return;
	if ((size_t)n >= sizeof line) {
		n = (int)sizeof line - 1;
		line[n - 1] = '\n';
	}
	if (outlen + (size_t)n > sizeof out) out_flush();
	memcpy(out + outlen, line, (size_t)n);
	outlen += (size_t)n;
}

static double since(long long arrival)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	double d = (double)(ts.tv_sec - arrival) + ts.tv_nsec / 1e9;
	return d < 0 ? 0 : d;
}

static void log_result(const struct message *m, const char *to, const struct result *r)
{
	const char *status = r->status == 'K' ? "sent" : r->status == 'Z' ? "deferred" : "bounced";
	if (strcmp(to, m->rcpt) != 0)
		log_msg("%s: to=<%s>, orig_to=<%s>, relay=local, delay=%.2f, dsn=%s, status=%s (%s)", m->qid, to,
		        m->rcpt, since(m->arrival), r->code, status, r->text);
	else
		log_msg("%s: to=<%s>, relay=local, delay=%.2f, dsn=%s, status=%s (%s)", m->qid, to,
		        since(m->arrival), r->code, status, r->text);
}

/* queue files ---------------------------------------------------------- */

static struct qf *qf_get(const char *qid, struct result *r)
{
	for (struct qf *f = files; f; f = f->next)
		if (strcmp(f->qid, qid) == 0) { f->refs++; return f; }
	char rel[64 + QID_MAX], path[4096];
	snprintf(rel, sizeof rel, "%s/%s", QDIR_ACTIVE, qid);
	struct qf *f = calloc(1, sizeof *f);
	if (!f) { result_set(r, 'Z', "4.3.0", "out of memory"); return NULL; }
	struct stat st;
	f->fd = root_path(path, sizeof path, rel) < 0 ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0 || fstat(f->fd, &st) < 0 || qenv_read(f->fd, &f->env) < 0) {
		result_errno(r, errno, "cannot read queue file %s", rel);
		if (f->fd >= 0) close(f->fd);
		free(f);
		return NULL;
	}
	snprintf(f->qid, sizeof f->qid, "%s", qid);
	f->size = st.st_size;
	f->refs = 1;
	f->next = files;
	files = f;
	return f;
}

static void qf_put(struct qf *f)
{
	if (--f->refs > 0) return;
	for (struct qf **p = &files; *p; p = &(*p)->next)
		if (*p == f) { *p = f->next; break; }
	close(f->fd);
	qenv_free(&f->env);
	free(f);
}

/* jobs ----------------------------------------------------------------- */

static void job_finish(struct job *j)
{
	struct result all;
	int have = 0;
	if (j->have_pre) result_merge(&all, &j->pre, &have);
	for (size_t i = 0; i < j->tl.n; i++) result_merge(&all, &j->tl.t[i].res, &have);
	if (!have) result_set(&all, 'K', "2.0.0", "delivered to /dev/null");
	answer(j->id, &all);
	for (struct job **p = &jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			if (jobs_tail == &j->next) jobs_tail = p;
			break;
		}
	tlist_free(&j->tl);
	qf_put(j->qf);
	free(j);
}

static void target_done(struct job *j, size_t ti, const struct result *r)
{
	struct target *t = &j->tl.t[ti];
	t->state = 2;
	t->res = *r;
	log_result(&j->m, t->addr, r);
	if (++j->done == j->tl.n) job_finish(j);
}

static int digits(const char *s, size_t n)
{
	if (!n || n > 18) return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9') return 0;
	return 1;
}

static void job_new(char *line, size_t n)
{
	struct result r;
	char *f[3];
	size_t k = 0;
	for (char *p = line, *save = NULL; k < 3 && (p = strtok_r(k ? NULL : line, " ", &save)); k++) f[k] = p;
	(void)n;
	if (k < 1 || !digits(f[0], strlen(f[0]))) {
		log_msg("warning: ignoring a malformed job line from qmgr");
		return;
	}
	if (k < 3 || !qid_valid(f[1]) || !digits(f[2], strlen(f[2]))) {
		result_set(&r, 'Z', "4.3.0", "malformed job");
		answer(f[0], &r);
		return;
	}
	/* settings apply at the next delivery (tables are rechecked by table.c) */
	config_load();
	struct qf *qf = qf_get(f[1], &r);
	if (!qf) {
		log_msg("%s: %s", f[1], r.text);
		answer(f[0], &r);
		return;
	}
	size_t index = (size_t)strtoull(f[2], NULL, 10);
	if (index >= qf->env.nrcpt || qf->env.msg_off > qf->size) {
		result_set(&r, 'Z', "4.3.0", "queue file %s has no recipient %zu", f[1], index);
		answer(f[0], &r);
		qf_put(qf);
		return;
	}
	struct job *j = calloc(1, sizeof *j);
	if (!j) die_nomem();
	snprintf(j->id, sizeof j->id, "%s", f[0]);
	j->qf = qf;
	j->m = (struct message){ qf->qid, qf->env.sender, qf->env.rcpt[index].addr, qf->env.arrival, qf->fd,
	                         qf->env.msg_off, qf->size - qf->env.msg_off };
	if (resolve(j->m.rcpt, &j->tl, &r) < 0) {
		log_result(&j->m, j->m.rcpt, &r);
		answer(j->id, &r);
		qf_put(qf);
		free(j);
		return;
	}
	if (r.status == 'D') { /* some members bounced, the others are delivered */
		log_result(&j->m, j->m.rcpt, &r);
		j->pre = r;
		j->have_pre = 1;
	}
	*jobs_tail = j;
	jobs_tail = &j->next;
	if (j->tl.n == 0) {
		result_set(&r, 'K', "2.0.0", "delivered to /dev/null");
		log_result(&j->m, j->m.rcpt, &r);
		job_finish(j);
	}
}

/* dispatch ------------------------------------------------------------- */

static void dispatch(void)
{
	struct result r;
	for (struct job *j = jobs, *next; j; j = next) {
		next = j->next; /* j may finish below */
		for (size_t i = 0; i < j->tl.n; i++) {
			struct target *t = &j->tl.t[i];
			if (t->state != 0) continue;
			if (t->kind == T_MAILDIR) {
				if (cfg.root && !cfg.vuser_ok) {
					result_set(&r, 'Z', "4.3.5", "control/virtual_user: account %s does not exist "
					           "(create it, or name the account that owns %s/mail)", cfg.vuser, yubin_root());
					t->state = 1;
					target_done(j, i, &r);
					break; /* j may be gone */
				}
				int w = worker_idle();
				if (w < 0) continue;
				if (worker_send(w, &j->m, t->addr, t->arg) < 0) {
					if (errno != E2BIG) continue;
					result_set(&r, 'Z', "4.3.0", "delivery request too long");
					t->state = 1;
					target_done(j, i, &r);
					break;
				}
				wown[w].job = j;
				wown[w].ti = i;
				t->state = 1;
				continue;
			}
			if (nkids >= maxkids) continue;
			int fd;
			pid_t pid = child_start(&j->m, t, &fd);
			if (pid < 0) {
				result_errno(&r, errno, "cannot fork a delivery process");
				t->state = 1;
				target_done(j, i, &r);
				break;
			}
			kids[nkids] = (struct kid){ pid, fd, j, i, 0, { 0 } };
			nkids++;
			t->state = 1;
		}
	}
}

static void kid_read(size_t k)
{
	struct kid *c = &kids[k];
	ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
	if (n < 0 && errno == EINTR) return;
	if (n > 0) {
		c->len += (size_t)n;
		if (c->len < sizeof c->buf - 1) return;
	}
	/* EOF (or a full line): the child is done */
	struct result r;
	int status = 0;
	close(c->fd);
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR) ;
	if (child_parse(c->buf, c->len, &r) < 0) {
		if (WIFSIGNALED(status))
			result_set(&r, 'Z', "4.3.0", "delivery process killed by signal %d", WTERMSIG(status));
		else
			result_set(&r, 'Z', "4.3.0", "delivery process failed (exit %d)", WEXITSTATUS(status));
	}
	struct job *j = c->job;
	size_t ti = c->ti;
	kids[k] = kids[--nkids];
	target_done(j, ti, &r);
}

/* stdin ---------------------------------------------------------------- */

static int read_jobs(void)
{
	static char in[16384];
	static size_t have;
	static int skipping;
	ssize_t n = read(0, in + have, sizeof in - have);
	if (n < 0) return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0) return -1;
	have += (size_t)n;
	size_t start = 0;
	for (;;) {
		char *nl = memchr(in + start, '\n', have - start);
		if (!nl) break;
		*nl = 0;
		size_t len = (size_t)(nl - (in + start));
		if (!skipping && len < DELIVER_LINE_MAX) job_new(in + start, len);
		skipping = 0;
		start += len + 1;
	}
	memmove(in, in + start, have - start);
	have -= start;
	if (have == sizeof in) { /* an endless line: drop it */
		have = 0;
		skipping = 1;
	}
	return 0;
}

void jobs_run(int nworkers)
{
	int input = 1;
	time_t ticked = 0;
	maxkids = nworkers < 8 ? 8 : (size_t)nworkers * 2;
	kids = calloc(maxkids, sizeof *kids);
	wown = calloc((size_t)nworkers, sizeof *wown);
	if (!kids || !wown) die_nomem();
	for (;;) {
		dispatch();
		out_flush();
		if (!input && !jobs) break;
		struct pollfd p[MAX_POLL];
		int widx[MAX_POLL];
		size_t np = 0;
		if (input) p[np++] = (struct pollfd){ 0, POLLIN, 0 };
		size_t w0 = np;
		np += workers_pollfds(p + np, MAX_POLL - np - maxkids, widx + np);
		size_t k0 = np;
		for (size_t k = 0; k < nkids; k++) p[np++] = (struct pollfd){ kids[k].fd, POLLIN, 0 };
		int r = poll(p, np, 1000);
		if (r < 0 && errno != EINTR) die_sys(EXIT_TEMP, "poll");
		time_t now = time(NULL);
		if (now != ticked) { workers_reconfigure(); ticked = now; } /* restarts dead workers */
		if (r <= 0) continue;
		for (size_t i = np; i-- > k0;) /* backwards: kid_read moves the last kid */
			if (p[i].revents) kid_read(i - k0);
		for (size_t i = w0; i < k0; i++) {
			if (!p[i].revents) continue;
			struct result res;
			int w = widx[i];
			if (worker_recv(w, &res) > 0 && wown[w].job) {
				struct job *j = wown[w].job;
				wown[w].job = NULL;
				target_done(j, wown[w].ti, &res);
			}
		}
		if (input && p[0].revents && read_jobs() < 0) input = 0;
	}
}
