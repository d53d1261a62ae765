/* idle.c — IDLE (RFC 2177): wait for the client's DONE while inotify on
 * new/ and cur/ of the selected folder says when to look again; new mail,
 * flag changes and expunges go out as they happen. Without inotify (or
 * for events it misses) the folder is rechecked every few seconds. */
#include "imap.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define RECHECK_MS 5000
#define KEEPALIVE_S 120

static int watch(struct session *s)
{
	if (!s->sel) return -1;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0) return -1;
	static const char *const sub[] = { "new", "cur" };
	for (int i = 0; i < 2; i++) {
		char p[1200];
		snprintf(p, sizeof p, "%s/%s", s->sel->dir, sub[i]);
		if (inotify_add_watch(fd, p, IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO) < 0) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static void drain(int fd)
{
	char b[4096];
	while (read(fd, b, sizeof b) > 0) {}
}

static void look(struct session *s)
{
	if (!s->sel) return;
	if (folder_sync(s->sel, 1) < 0 && errno == ESTALE)
		bye_exit(s, "Mailbox UIDVALIDITY changed, please reconnect.");
	report_changes(s, 1);
	out_flush(s);
}

void cmd_idle(struct session *s, struct imap_parser *ps)
{
	if (!ip_eol(ps)) return bad(s, "Unexpected arguments.");
	int ifd = watch(s);
	out_puts(s, "+ idling\r\n");
	look(s);
	time_t start = time(NULL), last_out = start;
	char line[256];
	for (;;) {
		if (rbuf_pending(&s->in) == 0) {
			struct pollfd p[2] = { { .fd = s->in.fd, .events = POLLIN }, { .fd = ifd, .events = POLLIN } };
			int r = poll(p, ifd >= 0 ? 2 : 1, RECHECK_MS);
			if (r < 0 && errno != EINTR) break;
			time_t now = time(NULL);
			if (r > 0 && ifd >= 0 && (p[1].revents & POLLIN)) {
				drain(ifd);
				look(s);
			} else if (r == 0) {
				look(s);
			}
			if (now - start > s->timeout_s) {
				if (ifd >= 0) close(ifd);
				bye_exit(s, "Autologout; idle for too long");
			}
			if (now - last_out >= KEEPALIVE_S) {
				/* keeps NAT boxes from forgetting the connection */
				untagged(s, "OK Still here");
				out_flush(s);
				last_out = now;
			}
			if (r <= 0 || !(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
		}
		size_t n;
		int r = rbuf_getline(&s->in, line, sizeof line, &n, NULL);
		if (r == IO_LONG) continue;
		if (r != IO_OK) {
			if (ifd >= 0) close(ifd);
			log_msg("user=<%s> disconnected during IDLE", s->user);
			_exit(0);
		}
		if (ifd >= 0) close(ifd);
		if (imap_word_is(line, n, "DONE")) {
			report_changes(s, 1);
			return tagged(s, "OK", "Idle completed.");
		}
		return bad(s, "Expected DONE.");
	}
	if (ifd >= 0) close(ifd);
	_exit(0);
}
