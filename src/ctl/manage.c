/* manage.c — yubin-ctl commands that act on queued mail or on qmgr:
 * cat, delete, hold, release, requeue, flush, reload, status. Each is
 * safe while yubin-qmgr runs: moves are single renames, qmgr treats a
 * message that vanished under it as handled by the admin. */
#include "ctl.h"
#include "control.h"
#include "log.h"
#include "qfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int cat_fd(int fd)
{
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) return -1;
	return n < 0 ? -1 : 0;
}

int cmd_cat(int argc, char **argv)
{
	if (argc != 2) die(EXIT_PERM, "usage: yubin-ctl cat ID");
	const char *state = queue_find(argv[1]);
	char path[4096];
	if (!state || queue_file(path, sizeof path, state, argv[1]) < 0)
		die(EXIT_PERM, "%s: no such message in the queue (yubin-ctl queue lists them)", argv[1]);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) die_sys(EXIT_TEMP, "%s", path);
	struct qenv e;
	if (qenv_read(fd, &e) < 0) die(EXIT_TEMP, "%s: malformed queue file", path);
	printf("*** ENVELOPE RECORDS %s/%s ***\n", state, argv[1]);
	printf("arrival_time: %lld\nsender: %s\n", e.arrival, e.sender);
	for (size_t i = 0; i < e.nrcpt; i++)
		printf("%s: %s%s%s\n", e.rcpt[i].state == 'D' ? "done_recipient" : "recipient", e.rcpt[i].addr,
		       *e.rcpt[i].notify ? " NOTIFY=" : "", e.rcpt[i].notify);
	if (e.client) printf("client_address: %s\n", e.client);
	if (e.helo) printf("helo_name: %s\n", e.helo);
	if (e.auth) printf("sasl_username: %s\n", e.auth);
	printf("*** MESSAGE CONTENTS %s/%s ***\n", state, argv[1]);
	fflush(stdout);
	lseek(fd, e.msg_off, SEEK_SET);
	int r = cat_fd(fd);
	printf("*** END OF MESSAGE ***\n");
	qenv_free(&e);
	close(fd);
	return r < 0 ? EXIT_TEMP : 0;
}

static void remove_note(const char *id)
{
	char rel[128], path[4096];
	snprintf(rel, sizeof rel, "%s/%s", QDIR_DEFER, id);
	if (root_path(path, sizeof path, rel) == 0) unlink(path);
}

/* ---- bulk actions: fn(state, id) on one id, ALL, or a state ---- */

struct action {
	const char *only_state; /* NULL: any */
	int (*fn)(const char *state, const char *id);
	unsigned long done;
};

static int apply(const char *state, const char *id, void *arg)
{
	struct action *a = arg;
	if (a->only_state && strcmp(a->only_state, state) != 0) return 0;
	if (a->fn(state, id) == 0) a->done++;
	return 0;
}

static int run_action(int argc, char **argv, struct action *a, const char *verb, const char *what)
{
	if (argc != 2) die(EXIT_PERM, "usage: yubin-ctl %s ID|ALL%s", argv[0], strcmp(argv[0], "delete") == 0 ? "|deferred" : "");
	if (strcmp(argv[1], "ALL") == 0) {
		queue_each(apply, a);
	} else if (strcmp(argv[0], "delete") == 0 && strcmp(argv[1], "deferred") == 0) {
		a->only_state = "deferred";
		queue_each(apply, a);
	} else {
		const char *state = queue_find(argv[1]);
		if (!state) die(EXIT_PERM, "%s: no such message in the queue (yubin-ctl queue lists them)", argv[1]);
		apply(state, argv[1], a);
	}
	fprintf(stderr, "yubin-ctl: %s: %lu message%s\n", verb, a->done, a->done == 1 ? "" : "s");
	(void)what;
	return 0;
}

static int do_delete(const char *state, const char *id)
{
	char path[4096];
	if (queue_file(path, sizeof path, state, id) < 0 || unlink(path) < 0) return -1;
	remove_note(id);
	log_msg("%s: removed by the administrator", id);
	return 0;
}

static int move(const char *from, const char *id, const char *to)
{
	char a[4096], b[4096];
	if (queue_file(a, sizeof a, from, id) < 0 || queue_file(b, sizeof b, to, id) < 0) return -1;
	return rename(a, b);
}

static int do_hold(const char *state, const char *id)
{
	if (strcmp(state, "hold") == 0) return -1;
	if (move(state, id, "hold") < 0) return -1;
	log_msg("%s: placed on hold", id);
	return 0;
}

static int do_release(const char *state, const char *id)
{
	if (strcmp(state, "hold") != 0 || move(state, id, "incoming") < 0) return -1;
	log_msg("%s: released from hold", id);
	return 0;
}

static int do_requeue(const char *state, const char *id)
{
	if ((strcmp(state, "deferred") != 0 && strcmp(state, "hold") != 0) || move(state, id, "incoming") < 0)
		return -1;
	log_msg("%s: requeued", id);
	return 0;
}

int cmd_delete(int argc, char **argv)
{
	struct action a = { NULL, do_delete, 0 };
	return run_action(argc, argv, &a, "deleted", "");
}

int cmd_hold(int argc, char **argv)
{
	struct action a = { NULL, do_hold, 0 };
	return run_action(argc, argv, &a, "placed on hold", "");
}

int cmd_release(int argc, char **argv)
{
	struct action a = { "hold", do_release, 0 };
	int r = run_action(argc, argv, &a, "released", "");
	qtrigger("n");
	return r;
}

int cmd_requeue(int argc, char **argv)
{
	struct action a = { NULL, do_requeue, 0 };
	int r = run_action(argc, argv, &a, "requeued", "");
	qtrigger("n");
	return r;
}

/* 1 when a yubin-qmgr holds the queue lock; *pid from the lock file */
static int qmgr_running(long *pid)
{
	char path[4096];
	*pid = 0;
	if (root_path(path, sizeof path, QLOCK) < 0) return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 0;
	char buf[32] = "";
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n > 0) { buf[n] = 0; sscanf(buf, "%ld", pid); }
	int running = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return running;
}

int cmd_flush(int argc, char **argv)
{
	char cmd[300];
	if (argc > 2) die(EXIT_PERM, "usage: yubin-ctl flush [DOMAIN]");
	snprintf(cmd, sizeof cmd, "f%s", argc == 2 ? argv[1] : "");
	if (strchr(cmd, '\n')) die(EXIT_PERM, "bad domain");
	long pid;
	if (!qmgr_running(&pid)) die(EXIT_TEMP, "yubin-qmgr is not running under %s; start it first", yubin_root());
	qtrigger(cmd);
	return 0;
}

int cmd_reload(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	long pid;
	if (!qmgr_running(&pid)) die(EXIT_TEMP, "yubin-qmgr is not running under %s; nothing to reload", yubin_root());
	qtrigger("r");
	return 0;
}

static int count(const char *state, const char *id, void *arg)
{
	unsigned long *c = arg;
	(void)id;
	for (size_t s = 0; queue_states[s]; s++)
		if (strcmp(queue_states[s], state) == 0) c[s]++;
	return 0;
}

int cmd_status(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	long pid;
	unsigned long c[8] = { 0 };
	int running = qmgr_running(&pid);
	if (running) printf("yubin-qmgr: running (pid %ld)\n", pid);
	else printf("yubin-qmgr: not running\n");
	queue_each(count, c);
	for (size_t s = 0; queue_states[s]; s++) printf("%s: %lu\n", queue_states[s], c[s]);
	return running ? 0 : 1;
}
