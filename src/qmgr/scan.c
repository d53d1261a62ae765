/* scan.c — taking messages from the queue directories into active/.
 * incoming/ is scanned qmgr_gather_time after an "n" trigger (and at
 * least every queue_run_delay as a safety net); deferred/ every queue_run_delay,
 * taking the files whose mtime (the next attempt time) has come. A scan
 * keeps its directory open between loop turns, so a big backlog is worked
 * off in slices without rereading the directory from the start, and stops
 * while qmgr_message_active_limit messages are active. */
#include "control.h"
#include "log.h"
#include "qmgr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SLICE 500          /* messages taken per loop turn */
#define TMP_MAX_AGE 3600   /* seconds before a tmp/ file is a crashed writer's */

struct scanner {
	const char *rel;
	int due_only;      /* deferred/: only files whose time has come */
	DIR *d;
	int requested;     /* a pass is wanted */
	int again;         /* asked for again while a pass was running */
};

static struct scanner incoming = { QDIR_INCOMING, 0, NULL, 0, 0 };
static struct scanner deferred = { QDIR_DEFERRED, 1, NULL, 0, 0 };
static long long next_timed_ms, next_cleanup_ms;
static long long gather_until_ms; /* a triggered scan of incoming/ waits until then */

static const char *const dirs[] = { QDIR_TMP, QDIR_INCOMING, QDIR_ACTIVE, QDIR_DEFERRED,
                                    QDIR_HOLD, QDIR_DEFER };
static int dirfds[sizeof dirs / sizeof dirs[0]];
static int dirfds_open;

int qdir_fd(const char *rel)
{
	if (!dirfds_open) {
		for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
			char path[4096];
			if (root_path(path, sizeof path, dirs[i]) < 0) die(EXIT_TEMP, "queue path too long");
			dirfds[i] = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dirfds[i] < 0) die_sys(EXIT_TEMP, "cannot open %s (is the queue created?)", path);
		}
		dirfds_open = 1;
	}
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (strcmp(dirs[i], rel) == 0) return dirfds[i];
	die(EXIT_TEMP, "internal error: unknown queue directory %s", rel);
}

DIR *qdir_open(const char *rel)
{
	int fd = openat(qdir_fd(rel), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) { log_sys("cannot open %s", rel); return NULL; }
	DIR *d = fdopendir(fd);
	if (!d) { log_sys("cannot read %s", rel); close(fd); }
	return d;
}

static void request(struct scanner *s)
{
	if (s->d) s->again = 1;
	else s->requested = 1;
}

/* New mail is gathered before it is taken: one pass then hands the
 * delivery agents every message that came meanwhile, so the processes
 * that deliver wake once per batch instead of once per message and keep
 * off the CPU that the next SMTP session is using. Measured with one
 * SMTP session (bench/RESULTS.md): accepting is about a quarter faster
 * with 10-50 ms than with none; a message waits at most that long. */
void scan_request_incoming(void)
{
	if (!incoming.requested && !incoming.d) gather_until_ms = now_ms() + conf.gather_ms;
	request(&incoming);
}

int scan_gathering(void) { return incoming.requested && !incoming.d && now_ms() < gather_until_ms; }
void scan_request_deferred(void) { request(&deferred); }

/* Move FROM/name to active/ and start work on it. */
static void take(const char *from, const char *name)
{
	if (renameat(qdir_fd(from), name, qdir_fd(QDIR_ACTIVE), name) < 0) {
		/* ENOENT: yubin-ctl moved or deleted it meanwhile */
		if (errno != ENOENT) log_sys("%s: cannot move from %s to active", name, from);
		return;
	}
	msg_activate(name);
}

/* One slice of a scanner's pass; returns the number of messages taken. */
static size_t scan_slice(struct scanner *s, size_t budget)
{
	size_t taken = 0;
	time_t now = time(NULL);
	if (!s->requested) return 0;
	if (!s->d && !(s->d = qdir_open(s->rel))) { s->requested = 0; return 0; }
	while (taken < budget && active_count < conf.active_limit) {
		errno = 0;
		struct dirent *e = readdir(s->d);
		if (!e) {
			closedir(s->d);
			s->d = NULL;
			s->requested = s->again;
			s->again = 0;
			break;
		}
		if (!qid_valid(e->d_name)) continue;
		if (s->due_only) {
			struct stat st;
			if (fstatat(qdir_fd(s->rel), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
			if (st.st_mtime > now) continue;
		}
		take(s->rel, e->d_name);
		taken++;
	}
	return taken;
}

void scan_run(void)
{
	/* new mail first, then due retries, a slice at a time */
	size_t t = scan_gathering() ? 0 : scan_slice(&incoming, SLICE);
	if (t < SLICE) scan_slice(&deferred, SLICE - t);
}

static int room(void) { return active_count < conf.active_limit; }

long long scan_next_ms(void)
{
	if (room() && deferred.requested) return now_ms();
	if (room() && incoming.requested) return scan_gathering() ? gather_until_ms : now_ms();
	return next_timed_ms < next_cleanup_ms ? next_timed_ms : next_cleanup_ms;
}

void scan_tick(void)
{
	long long now = now_ms();
	if (now >= next_timed_ms) {
		request(&incoming);
		request(&deferred);
		next_timed_ms = now + conf.queue_run_delay * 1000;
	}
	if (now >= next_cleanup_ms) {
		scan_cleanup();
		next_cleanup_ms = now + TMP_MAX_AGE * 1000LL;
	}
}

void scan_reschedule(void)
{
	long long next = now_ms() + conf.queue_run_delay * 1000;
	if (next < next_timed_ms) next_timed_ms = next;
}

/* 1 when the message has a pending recipient in domain */
static int wants_domain(const char *name, const char *domain)
{
	int fd = openat(qdir_fd(QDIR_DEFERRED), name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 0;
	struct qenv e;
	int hit = 0;
	if (qenv_read(fd, &e) == 0) {
		for (size_t i = 0; i < e.nrcpt && !hit; i++) {
			const char *at = strrchr(e.rcpt[i].addr, '@');
			hit = e.rcpt[i].state == ' ' && at && strcasecmp(at + 1, domain) == 0;
		}
		qenv_free(&e);
	}
	close(fd);
	return hit;
}

/* Make deferred mail due now (its mtime is its next attempt time), then
 * scan: messages that do not fit in active/ yet stay due. */
void scan_flush(const char *domain)
{
	DIR *d = qdir_open(QDIR_DEFERRED);
	if (!d) return;
	struct dirent *e;
	size_t n = 0;
	while ((e = readdir(d))) {
		if (!qid_valid(e->d_name)) continue;
		if (domain && !wants_domain(e->d_name, domain)) continue;
		if (utimensat(qdir_fd(QDIR_DEFERRED), e->d_name, NULL, 0) == 0) n++;
	}
	closedir(d);
	log_msg("flush: %zu deferred message%s due now", n, n == 1 ? "" : "s");
	request(&deferred);
	request(&incoming);
}

/* Remove NAME from DIR when it is older than max_age seconds; quietly
 * for a spare queue file (qfile.h), which only was not needed. */
static void remove_old(const char *rel, const char *name, time_t max_age)
{
	struct stat st;
	if (fstatat(qdir_fd(rel), name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) return;
	if (st.st_mtime + max_age > time(NULL)) return;
	if (unlinkat(qdir_fd(rel), name, 0) == 0 && strncmp(name, QSPARE_PREFIX, strlen(QSPARE_PREFIX)) != 0)
		log_msg("removed stale %s/%s", rel, name);
}

static int queued_anywhere(const char *id)
{
	static const char *const where[] = { QDIR_ACTIVE, QDIR_DEFERRED, QDIR_INCOMING, QDIR_HOLD };
	struct stat st;
	for (size_t i = 0; i < sizeof where / sizeof where[0]; i++)
		if (fstatat(qdir_fd(where[i]), id, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) return 1;
	return 0;
}

/* tmp/ files of writers that crashed and spares unused for an hour, and
 * defer/ notes whose message is gone (qmgr died between unlinking a
 * message and its note). */
void scan_cleanup(void)
{
	DIR *d = qdir_open(QDIR_TMP);
	struct dirent *e;
	if (d) {
		while ((e = readdir(d)))
			if (e->d_name[0] != '.') remove_old(QDIR_TMP, e->d_name, TMP_MAX_AGE);
		closedir(d);
	}
	if ((d = qdir_open(QDIR_DEFER))) {
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.' && e->d_name[1] && strcmp(e->d_name, "..") != 0)
				remove_old(QDIR_DEFER, e->d_name, TMP_MAX_AGE);
			else if (qid_valid(e->d_name) && !queued_anywhere(e->d_name))
				unlinkat(qdir_fd(QDIR_DEFER), e->d_name, 0);
		}
		closedir(d);
	}
}

/* At start (after the check for a system crash) every message in active/
 * belongs to no running qmgr: put it back in incoming/, where the normal
 * scan takes it within the limits. */
void scan_startup(void)
{
	crash_check();
	DIR *d = qdir_open(QDIR_ACTIVE);
	struct dirent *e;
	size_t n = 0;
	if (!d) die(EXIT_TEMP, "cannot read %s", QDIR_ACTIVE);
	while ((e = readdir(d))) {
		if (!qid_valid(e->d_name)) continue;
		if (renameat(qdir_fd(QDIR_ACTIVE), e->d_name, qdir_fd(QDIR_INCOMING), e->d_name) == 0) n++;
		else log_sys("%s: cannot move from active to incoming", e->d_name);
	}
	closedir(d);
	if (n) log_msg("%zu message%s left active by the last run taken again", n, n == 1 ? "" : "s");
	scan_cleanup();
	next_cleanup_ms = now_ms() + TMP_MAX_AGE * 1000LL;
	next_timed_ms = 0; /* first tick requests both scans */
}
