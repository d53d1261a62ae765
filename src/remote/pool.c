/* pool.c — the master's workers: forked on demand up to
 * default_process_limit, each fed one batch at a time. A batch goes to an
 * idle worker whose cached connection serves its destination, else to an
 * idle worker without one, else to a new worker, else to the idle worker
 * whose connection has waited longest, else it waits. Workers' results
 * are passed on to qmgr as they come; if a worker dies, its unanswered
 * jobs are deferred so none hangs. Idle workers without a connection are
 * retired after a while. */
#include "remote.h"
#include "control.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKER_IN_MAX 16384
#define RETIRE_AFTER 60          /* seconds idle without a connection */

struct worker {
	pid_t pid;
	int to, from;
	int busy, retiring;
	char key[KEY_MAX];           /* destination of its cached connection, "" none */
	unsigned long *jobs;         /* unanswered jobs of its batch */
	size_t njobs;
	time_t idle_since;
	size_t inlen;
	char in[WORKER_IN_MAX];
};

struct waiting {
	char key[KEY_MAX];
	char *line;
	size_t n;
	unsigned long *jobs;
	size_t njobs;
	struct waiting *next;
};

static struct worker **workers;
static size_t nworkers, maxworkers;
static struct waiting *wq_head, *wq_tail;
static struct wbuf out;

void master_result(const char *line, size_t n)
{
	wbuf_put(&out, line, n);
}

void master_flush(void)
{
	if (wbuf_flush(&out) < 0) die(EXIT_TEMP, "lost the connection to yubin-qmgr");
}

void pool_init(void)
{
	wbuf_init(&out, 1, 0);
	long long lim = control_int("default_process_limit");
	maxworkers = lim > 0 && lim < 10000 ? (size_t)lim : 100;
	workers = calloc(maxworkers, sizeof *workers);
	if (!workers) die_nomem();
}

static void defer_jobs(const unsigned long *jobs, size_t n, const char *why)
{
	char line[256];
	for (size_t i = 0; i < n; i++) {
		int l = snprintf(line, sizeof line, "%lu Z 4.3.0 %s\n", jobs[i], why);
		master_result(line, (size_t)l);
	}
}

static struct worker *spawn(void)
{
	int down[2], up[2];
	if (pipe2(down, O_CLOEXEC) < 0) return NULL;
	if (pipe2(up, O_CLOEXEC) < 0) { close(down[0]); close(down[1]); return NULL; }
	struct worker *w = calloc(1, sizeof *w);
	if (!w) goto fail;
	pid_t pid = fork();
	if (pid < 0) { free(w); goto fail; }
	if (pid == 0) {
		/* the child must not hold the other workers' pipes or qmgr's,
		 * or their ends would never see EOF */
		for (size_t i = 0; i < nworkers; i++) { close(workers[i]->to); close(workers[i]->from); }
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) { dup2(null, 0); dup2(null, 1); if (null > 2) close(null); }
		close(down[1]);
		close(up[0]);
		worker_main(down[0], up[1]);
	}
	close(down[0]);
	close(up[1]);
	w->pid = pid;
	w->to = down[1];
	w->from = up[0];
	w->idle_since = time(NULL);
	workers[nworkers++] = w;
	return w;
fail:
	close(down[0]); close(down[1]); close(up[0]); close(up[1]);
	log_sys("warning: cannot start a delivery worker");
	return NULL;
}

static void give(struct worker *w, const char *line, size_t n, const unsigned long *jobs, size_t njobs)
{
	unsigned long *copy = malloc((njobs ? njobs : 1) * sizeof *copy);
	if (!copy) die_nomem();
	memcpy(copy, jobs, njobs * sizeof *copy);
	free(w->jobs);
	w->jobs = copy;
	w->njobs = njobs;
	w->busy = 1;
	if (write_all(w->to, line, n) < 0) {
		/* its death shows up as EOF on w->from, which defers these jobs */
		log_sys("warning: cannot write to delivery worker %d", (int)w->pid);
	}
}

static void serve_waiting(void);

static struct worker *pick(const char *key)
{
	struct worker *none = NULL, *other = NULL;
	for (size_t i = 0; i < nworkers; i++) {
		struct worker *w = workers[i];
		if (w->busy || w->retiring) continue;
		if (strcmp(w->key, key) == 0) return w;
		if (!w->key[0]) { if (!none) none = w; }
		else if (!other || w->idle_since < other->idle_since) other = w;
	}
	if (none) return none;
	/* a new worker rather than one whose cached connection may serve
	 * the next batch for its own destination */
	if (nworkers < maxworkers) {
		struct worker *w = spawn();
		if (w) return w;
	}
	return other;
}

void pool_submit(const char *key, const char *line, size_t n, const unsigned long *jobs, size_t njobs)
{
	struct worker *w = wq_head ? NULL : pick(key);
	if (w) { give(w, line, n, jobs, njobs); return; }
	struct waiting *q = calloc(1, sizeof *q);
	if (!q || !(q->line = malloc(n)) || !(q->jobs = malloc((njobs ? njobs : 1) * sizeof *jobs))) die_nomem();
	snprintf(q->key, sizeof q->key, "%s", key);
	memcpy(q->line, line, n);
	q->n = n;
	memcpy(q->jobs, jobs, njobs * sizeof *jobs);
	q->njobs = njobs;
	if (wq_tail) wq_tail->next = q;
	else wq_head = q;
	wq_tail = q;
	serve_waiting();
}

/* an idle worker takes the oldest waiting batch for its destination, or
 * the oldest of all */
static void serve_waiting(void)
{
	while (wq_head) {
		struct worker *w = NULL;
		struct waiting **pp = &wq_head, *q = NULL;
		for (struct waiting **p = &wq_head; *p && !w; p = &(*p)->next)
			for (size_t i = 0; i < nworkers; i++)
				if (!workers[i]->busy && !workers[i]->retiring && workers[i]->key[0] &&
				    strcmp(workers[i]->key, (*p)->key) == 0) { w = workers[i]; pp = p; break; }
		if (!w) { pp = &wq_head; w = pick(wq_head->key); }
		if (!w) return;
		q = *pp;
		*pp = q->next;
		if (wq_tail == q) {
			wq_tail = NULL;
			for (struct waiting *t = wq_head; t; t = t->next) wq_tail = t;
		}
		give(w, q->line, q->n, q->jobs, q->njobs);
		free(q->line);
		free(q->jobs);
		free(q);
	}
}

static void forget_job(struct worker *w, unsigned long job)
{
	for (size_t i = 0; i < w->njobs; i++)
		if (w->jobs[i] == job) { w->jobs[i] = w->jobs[--w->njobs]; return; }
}

static void worker_line(struct worker *w, char *line, size_t n)
{
	if (n > 2 && line[0] == 'R' && line[1] == ' ') {
		forget_job(w, strtoul(line + 2, NULL, 10));
		line[n] = '\n';
		master_result(line + 2, n - 1);
	} else if (n >= 1 && line[0] == 'I') {
		w->busy = 0;
		w->njobs = 0;
		w->idle_since = time(NULL);
		snprintf(w->key, sizeof w->key, "%s", n > 2 && strcmp(line + 2, "-") != 0 ? line + 2 : "");
	} else if (n >= 1 && line[0] == 'C') {
		if (!w->busy) w->key[0] = 0;
	}
}

static void remove_worker(size_t i)
{
	struct worker *w = workers[i];
	if (w->njobs) {
		log_msg("warning: delivery worker %d ended with %zu jobs unanswered; they are deferred", (int)w->pid,
		        w->njobs);
		defer_jobs(w->jobs, w->njobs, "delivery worker ended unexpectedly");
	}
	close(w->to);
	close(w->from);
	free(w->jobs);
	free(w);
	workers[i] = workers[--nworkers];
}

size_t pool_pollfds(struct pollfd *fds, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < nworkers && n < max; i++) fds[n++] = (struct pollfd){ .fd = workers[i]->from, .events = POLLIN };
	return n;
}

void pool_events(struct pollfd *fds, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (!fds[k].revents) continue;
		size_t i;
		for (i = 0; i < nworkers && workers[i]->from != fds[k].fd; i++) {}
		if (i == nworkers) continue;
		struct worker *w = workers[i];
		ssize_t got = read(w->from, w->in + w->inlen, sizeof w->in - 1 - w->inlen);
		if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
		if (got <= 0) { remove_worker(i); continue; }
		w->inlen += (size_t)got;
		size_t start = 0;
		for (size_t e = 0; e < w->inlen; e++) {
			if (w->in[e] != '\n') continue;
			w->in[e] = 0;
			worker_line(w, w->in + start, e - start);
			start = e + 1;
		}
		memmove(w->in, w->in + start, w->inlen - start);
		w->inlen -= start;
		if (w->inlen == sizeof w->in - 1) {
			log_msg("warning: delivery worker %d sent an overlong line; stopping it", (int)w->pid);
			kill(w->pid, SIGKILL);
			w->inlen = 0;
		}
	}
	serve_waiting();
}

void pool_reap(void)
{
	int status;
	while (waitpid(-1, &status, WNOHANG) > 0) {}
	time_t t = time(NULL);
	for (size_t i = 0; i < nworkers; i++) {
		struct worker *w = workers[i];
		if (!w->busy && !w->retiring && !w->key[0] && t - w->idle_since > RETIRE_AFTER) {
			w->retiring = 1;
			if (write_all(w->to, "Q\n", 2) < 0) {}
		}
	}
	serve_waiting();
}

void pool_shutdown(void)
{
	/* closing their input ends each worker after its current batch */
	while (nworkers) remove_worker(nworkers - 1);
	for (struct waiting *q = wq_head; q; q = q->next) defer_jobs(q->jobs, q->njobs, "yubin-remote is stopping");
}
