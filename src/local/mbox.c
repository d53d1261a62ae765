/* mbox.c — append one message to an mbox file (a system user's mailbox
 * in mail_spool_directory or ~/, or an alias's /file). Locks like Dovecot
 * and Postfix: a dotlock (FILE.lock) when the directory lets us make one,
 * and an fcntl write lock. Writes the "From sender date" line, our
 * Return-Path and Delivered-To, the message with "From " lines quoted as
 * ">From ", and a blank line; fsyncs; on any failure cuts the file back
 * to where it was, so a half-written message never stays. */
#include "local.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_WAIT_TENTHS 100   /* 10 s for each lock */
#define DOTLOCK_STALE 300      /* a dotlock older than this is left over */

static void pause_tenth(void)
{
	struct timespec ts = { 0, 100000000 };
	nanosleep(&ts, NULL);
}

/* 1 locked, 0 no dotlock possible here (directory not ours: rely on
 * fcntl, as Dovecot's dotlock_try does), -1 busy (EAGAIN) or error */
static int dotlock(const char *lock)
{
	for (int i = 0; i < LOCK_WAIT_TENTHS; i++) {
		int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) { close(fd); return 1; }
		if (errno == EACCES || errno == EPERM || errno == EROFS) return 0;
		if (errno != EEXIST) return -1;
		struct stat st;
		if (lstat(lock, &st) == 0 && time(NULL) - st.st_mtime > DOTLOCK_STALE) {
			unlink(lock);
			continue;
		}
		pause_tenth();
	}
	errno = EAGAIN;
	return -1;
}

static int fcntl_lock(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	for (int i = 0; i < LOCK_WAIT_TENTHS; i++) {
		if (fcntl(fd, F_SETLK, &fl) == 0) return 0;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR) return -1;
		pause_tenth();
	}
	errno = EAGAIN;
	return -1;
}

struct out {
	int fd;
	size_t len;
	char buf[65536];
};

static int out_flush(struct out *o)
{
	for (size_t w = 0; w < o->len;) {
		ssize_t k = write(o->fd, o->buf + w, o->len - w);
		if (k < 0 && errno == EINTR) continue;
		if (k < 0) return -1;
		w += (size_t)k;
	}
	o->len = 0;
	return 0;
}

static int out_put(struct out *o, const char *p, size_t n)
{
	while (n) {
		if (o->len == sizeof o->buf && out_flush(o) < 0) return -1;
		size_t k = sizeof o->buf - o->len;
		if (k > n) k = n;
		memcpy(o->buf + o->len, p, k);
		o->len += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* the message with "From " at a line start quoted; ends with "\n\n" */
static int copy_quoted(struct out *o, const struct message *m)
{
	static char in[65536];
	size_t have = 0, i = 0;
	off_t pos = 0;
	int bol = 1;
	char last = '\n';
	for (;;) {
		if (i == have || (bol && have - i < 5 && pos < m->len)) {
			memmove(in, in + i, have - i);
			have -= i;
			i = 0;
			if (pos < m->len) {
				size_t want = sizeof in - have;
				if ((off_t)want > m->len - pos) want = (size_t)(m->len - pos);
				ssize_t k = pread(m->fd, in + have, want, m->off + pos);
				if (k < 0 && errno == EINTR) continue;
				if (k < 0) return -1;
				if (k == 0) { errno = EIO; return -1; }
				have += (size_t)k;
				pos += k;
			}
			if (have == 0) break;
		}
		if (bol && have - i >= 5 && memcmp(in + i, "From ", 5) == 0 && out_put(o, ">", 1) < 0) return -1;
		const char *nl = memchr(in + i, '\n', have - i);
		size_t n = nl ? (size_t)(nl - (in + i)) + 1 : have - i;
		if (out_put(o, in + i, n) < 0) return -1;
		last = in[i + n - 1];
		bol = nl != NULL;
		i += n;
	}
	if (last != '\n' && out_put(o, "\n", 1) < 0) return -1;
	return out_put(o, "\n", 1);
}

void deliver_mbox(const struct message *m, const char *addr, const char *path, struct result *r)
{
	static struct out o;
	char lock[4200], line[2048];
	int loop = msg_loop_check(m, addr);
	if (loop < 0) { result_errno(r, errno, "cannot read queue file %s", m->qid); return; }
	if (loop) { result_set(r, 'D', "5.4.6", "mail forwarding loop for %s", addr); return; }
	if (snprintf(lock, sizeof lock, "%s.lock", path) >= (int)sizeof lock) {
		result_set(r, 'D', "5.3.5", "mailbox path too long");
		return;
	}
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0) { result_errno(r, errno, "cannot open mailbox %s", path); return; }
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		result_set(r, 'Z', "4.2.0", "mailbox %s is not a regular file with one link; refusing it", path);
		return;
	}
	int dl = dotlock(lock);
	if (dl < 0) {
		int err = errno;
		close(fd);
		if (err == EAGAIN) result_set(r, 'Z', "4.2.0", "mailbox %s is locked (%s exists)", path, lock);
		else result_errno(r, err, "cannot lock mailbox %s", path);
		return;
	}
	off_t start = -1;
	if (fcntl_lock(fd) < 0) {
		if (errno == EAGAIN) result_set(r, 'Z', "4.2.0", "mailbox %s is locked by another program", path);
		else result_errno(r, errno, "cannot lock mailbox %s", path);
		goto done;
	}
	start = lseek(fd, 0, SEEK_END);
	if (start < 0) { result_errno(r, errno, "cannot seek in mailbox %s", path); goto done; }

	time_t now = time(NULL);
	struct tm tm;
	char date[64];
	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
	int n = snprintf(line, sizeof line, "From %s %s\n", *m->sender ? m->sender : "MAILER-DAEMON", date);
	if (n < 0 || (size_t)n >= sizeof line) n = snprintf(line, sizeof line, "From MAILER-DAEMON %s\n", date);
	char head[2 * 4096 + 64];
	int hl = msg_head(head, sizeof head, m, addr, 1);
	o.fd = fd;
	o.len = 0;
	if (hl < 0 || out_put(&o, line, (size_t)n) < 0 || out_put(&o, head, (size_t)hl) < 0 ||
	    copy_quoted(&o, m) < 0 || out_flush(&o) < 0 || fsync(fd) < 0) {
		int err = errno;
		if (ftruncate(fd, start) < 0) log_sys("%s: cannot undo a partial write to %s", m->qid, path);
		result_errno(r, err, "cannot write mailbox %s", path);
		goto done;
	}
	result_set(r, 'K', "2.0.0", "delivered to mailbox");
done:
	close(fd); /* drops the fcntl lock */
	if (dl > 0) unlink(lock);
}
