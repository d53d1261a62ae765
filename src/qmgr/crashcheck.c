/* crashcheck.c — after the system went down, drop the queue files that
 * reached the disk torn. yubin-queue answers "ok" only after one fsync
 * of the renamed file (queue/README, step 1); a file whose fsync had not
 * ended when the power went may be on disk with its name but not all of
 * its bytes, and its sender was never told it was queued. Its seal
 * (qseal.h) tells. Only a crash of the whole system can tear a file, so
 * the check runs once per boot: lock/boot holds the boot id last checked. */
#include "control.h"
#include "log.h"
#include "qfile.h"
#include "qmgr.h"
#include "qseal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BOOT_ID "/proc/sys/kernel/random/boot_id"
#define BOOT_ID_MAX 64

/* the first line of path into out; 0, or -1 */
static int read_line(int dirfd, const char *path, char *out, size_t max)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	ssize_t n = read(fd, out, max - 1);
	close(fd);
	if (n <= 0) return -1;
	out[n] = 0;
	out[strcspn(out, "\n")] = 0;
	return 0;
}

static size_t check_dir(const char *rel)
{
	int dfd = qdir_fd(rel);
	DIR *d = qdir_open(rel);
	if (!d) return 0;
	size_t dropped = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!qid_valid(e->d_name)) continue;
		int mfd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (mfd < 0) continue;
		int whole = qseal_check(mfd, e->d_name);
		close(mfd);
		if (whole < 0) log_sys("%s: cannot read %s/%s to check it", e->d_name, rel, e->d_name);
		if (whole != 0) continue;
		if (unlinkat(dfd, e->d_name, 0) < 0) {
			log_sys("%s: cannot remove the torn file %s/%s", e->d_name, rel, e->d_name);
			continue;
		}
		log_msg("%s: removed from %s: torn by a system crash before it was queued "
		        "(its sender was never told it was; it will send it again)", e->d_name, rel);
		dropped++;
	}
	closedir(d);
	return dropped;
}

void crash_check(void)
{
	char now[BOOT_ID_MAX], last[BOOT_ID_MAX], path[4096];
	int known = read_line(AT_FDCWD, BOOT_ID, now, sizeof now) == 0;
	if (root_path(path, sizeof path, QBOOT) < 0) die(EXIT_TEMP, "queue path too long");
	if (known && read_line(AT_FDCWD, path, last, sizeof last) == 0 && strcmp(now, last) == 0) return;

	/* active/ goes back to incoming/ next; deferred/ files had their
	 * bytes fsynced before they were moved there */
	size_t n = check_dir(QDIR_INCOMING) + check_dir(QDIR_ACTIVE) + check_dir(QDIR_HOLD);
	log_msg("queue checked for files torn by a system crash: %zu removed", n);
	if (!known) return; /* no boot id: check at every start */

	/* not fsynced: losing it only means checking again */
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.new", path);
	FILE *f = fopen(tmp, "we");
	if (!f) { log_sys("cannot write %s", tmp); return; }
	fprintf(f, "%s\n", now);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		log_sys("cannot write %s", path);
		unlink(tmp);
	}
}
