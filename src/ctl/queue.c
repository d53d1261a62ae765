/* queue.c — `yubin-ctl queue` (= mailq, sendmail -bp): one block per
 * message in the style of postqueue -p: id (with '*' when active, '!' when
 * held), size, arrival time, sender, then each recipient still to do with
 * its last reason from queue/defer/ID. */
#include "ctl.h"
#include "control.h"
#include "qfile.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct totals {
	unsigned long long bytes;
	unsigned long count;
};

/* the reason line recorded for addr in queue/defer/ID, if any:
 * lines are "addr\tdsn\treason" */
static void print_reason(const char *id, const char *addr)
{
	char rel[128], path[4096], line[1200];
	snprintf(rel, sizeof rel, "%s/%s", QDIR_DEFER, id);
	if (root_path(path, sizeof path, rel) < 0) return;
	FILE *f = fopen(path, "r");
	if (!f) return;
	size_t alen = strlen(addr);
	char last[1200] = "";
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, addr, alen) == 0 && line[alen] == '\t') {
			line[strcspn(line, "\n")] = 0;
			const char *reason = strchr(line + alen + 1, '\t');
			snprintf(last, sizeof last, "%s", reason ? reason + 1 : line + alen + 1);
		}
	}
	fclose(f);
	if (*last) printf("%42s(%s)\n", "", last);
}

static int show(const char *state, const char *id, void *arg)
{
	struct totals *t = arg;
	char path[4096];
	if (queue_file(path, sizeof path, state, id) < 0) return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 0; /* delivered meanwhile */
	struct qenv e;
	struct stat st;
	if (fstat(fd, &st) < 0 || qenv_read(fd, &e) < 0) {
		close(fd);
		printf("%-20s (unreadable queue file %s)\n", id, path);
		return 0;
	}
	close(fd);
	if (!t->count) printf("%-21s %8s %-20s %s\n", "-Queue ID-", "--Size--", "----Arrival Time----", "-Sender/Recipient-------");
	unsigned long long size = (unsigned long long)(st.st_size - e.msg_off);
	char when[64];
	time_t at = (time_t)e.arrival;
	struct tm tm;
	localtime_r(&at, &tm);
	strftime(when, sizeof when, "%a %b %d %H:%M:%S", &tm);
	char mark = strcmp(state, "hold") == 0 ? '!' : strcmp(state, "active") == 0 ? '*' : ' ';
	printf("%s%c %*llu %-20s %s\n", id, mark, (int)(20 - strlen(id)) + 8, size, when,
	       *e.sender ? e.sender : "MAILER-DAEMON");
	for (size_t i = 0; i < e.nrcpt; i++) {
		if (e.rcpt[i].state != ' ') continue;
		print_reason(id, e.rcpt[i].addr);
		printf("%42s%s\n", "", e.rcpt[i].addr);
	}
	printf("\n");
	t->bytes += size;
	t->count++;
	qenv_free(&e);
	return 0;
}

int cmd_queue(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct totals t = { 0, 0 };
	queue_each(show, &t);
	if (!t.count) printf("Mail queue is empty\n");
	else printf("-- %llu Kbytes in %lu Request%s.\n", (t.bytes + 1023) / 1024, t.count, t.count == 1 ? "" : "s");
	return 0;
}
