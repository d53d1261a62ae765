/* trigger.c — queue/trigger, the FIFO through which yubin-queue and
 * yubin-ctl wake yubin-qmgr. Opened read-only non-blocking, with a write
 * end kept open too so the reader never sees EOF when writers come and
 * go. One command per line: "n" new mail, "f" flush every deferred
 * message, "fDOMAIN" flush one domain (ETRN), "r" reload control files. */
#include "trigger.h"
#include "control.h"
#include "log.h"
#include "qmgr.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int rfd = -1, wfd = -1;
static char line[300];
static size_t linelen;
static int overlong;

void trigger_open(void)
{
	char path[4096];
	struct stat st;
	if (root_path(path, sizeof path, QTRIGGER) < 0) die(EXIT_TEMP, "queue path too long");
	if (lstat(path, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		/* queue/create-queue makes it; recreate a missing or broken one */
		unlink(path);
		if (mkfifo(path, 0622) < 0) die_sys(EXIT_TEMP, "cannot create %s", path);
		chmod(path, 0622);
	}
	rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0) die_sys(EXIT_TEMP, "cannot open %s", path);
	wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (wfd < 0) die_sys(EXIT_TEMP, "cannot open %s for writing", path);
}

int trigger_fd(void) { return rfd; }

static void command(const char *s, size_t n)
{
	if (n == 0) return;
	switch (s[0]) {
	case 'n':
		scan_request_incoming();
		break;
	case 'f':
		if (n > 1) {
			char dom[256];
			if (n - 1 >= sizeof dom) { log_msg("warning: trigger: flush domain too long"); return; }
			memcpy(dom, s + 1, n - 1);
			dom[n - 1] = 0;
			log_msg("flush requested for %s", dom);
			scan_flush(dom);
		} else {
			log_msg("flush requested");
			scan_flush(NULL);
		}
		break;
	case 'r':
		qmgr_reload();
		break;
	default:
		/* old qmail-style wake-ups: any byte means "look at the queue" */
		scan_request_incoming();
		break;
	}
}

void trigger_read(void)
{
	char b[4096];
	for (;;) {
		ssize_t k = read(rfd, b, sizeof b);
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0) return;
		for (ssize_t i = 0; i < k; i++) {
			if (b[i] == '\n') {
				if (!overlong) command(line, linelen);
				linelen = 0;
				overlong = 0;
			} else if (linelen < sizeof line - 1) {
				line[linelen++] = b[i];
			} else {
				overlong = 1;
			}
		}
	}
}
