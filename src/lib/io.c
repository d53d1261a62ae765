/* io.c — buffered fd I/O with timeouts (see io.h). */
#include "io.h"

#include <errno.h>
#include <linux/magic.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	for (;;) {
		int n = poll(&p, 1, timeout_ms > 0 ? timeout_ms : -1);
		if (n < 0 && errno == EINTR) continue;
		return n < 0 ? -1 : n > 0;
	}
}

static int wait_writable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	for (;;) {
		int n = poll(&p, 1, timeout_ms > 0 ? timeout_ms : -1);
		if (n < 0 && errno == EINTR) continue;
		return n < 0 ? -1 : n > 0;
	}
}

void rbuf_init(struct rbuf *r, int fd, int timeout_ms)
{
	r->fd = fd;
	r->timeout_ms = timeout_ms;
	r->pos = r->len = 0;
}

size_t rbuf_pending(const struct rbuf *r) { return r->len - r->pos; }

ssize_t rbuf_fill(struct rbuf *r)
{
	if (r->pos < r->len) return (ssize_t)(r->len - r->pos);
	r->pos = r->len = 0;
	for (;;) {
		if (r->timeout_ms > 0) {
			int w = wait_readable(r->fd, r->timeout_ms);
			if (w < 0) return IO_ERR;
			if (w == 0) return IO_TIMEOUT;
		}
		ssize_t n = read(r->fd, r->buf, sizeof r->buf);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) return IO_ERR;
		if (n == 0) return IO_EOF;
		r->len = (size_t)n;
		return n;
	}
}

ssize_t rbuf_read(struct rbuf *r, void *p, size_t n)
{
	ssize_t got = rbuf_fill(r);
	if (got <= 0) return got;
	size_t k = (size_t)got < n ? (size_t)got : n;
	memcpy(p, r->buf + r->pos, k);
	r->pos += k;
	return (ssize_t)k;
}

int rbuf_getline(struct rbuf *r, char *line, size_t max, size_t *len, int *had_cr)
{
	size_t n = 0;
	int overlong = 0;
	*len = 0;
	if (had_cr) *had_cr = 0;
	for (;;) {
		ssize_t got = rbuf_fill(r);
		if (got <= 0) {
			if (n && got == IO_EOF) { line[n] = 0; *len = n; }
			return (int)got;
		}
		char *start = r->buf + r->pos;
		char *nl = memchr(start, '\n', (size_t)got);
		size_t take = nl ? (size_t)(nl - start) : (size_t)got;
		if (!overlong) {
			if (take > max - 1 - n) {
				overlong = 1;
			} else {
				memcpy(line + n, start, take);
				n += take;
			}
		}
		r->pos += take;
		if (nl) {
			r->pos += 1;
			if (overlong) return IO_LONG;
			if (n && line[n - 1] == '\r') {
				n--;
				if (had_cr) *had_cr = 1;
			}
			line[n] = 0;
			*len = n;
			return IO_OK;
		}
	}
}

void wbuf_init(struct wbuf *w, int fd, int timeout_ms)
{
	w->fd = fd;
	w->timeout_ms = timeout_ms;
	w->len = 0;
	w->failed = 0;
}

/* With a timeout, a socket is first tried without blocking (MSG_DONTWAIT
 * leaves the fd's own flags alone) and polled only when its send buffer is
 * full: a reply costs one system call, not two. Pipes are polled first. */
static int write_timed(int fd, const char *p, size_t n, int timeout_ms)
{
	int socket_ok = timeout_ms > 0;
	while (n) {
		ssize_t k;
		if (socket_ok) {
			k = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (k < 0 && errno == ENOTSOCK) { socket_ok = 0; continue; }
			if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				int ok = wait_writable(fd, timeout_ms);
				if (ok <= 0) { if (ok == 0) errno = ETIMEDOUT; return -1; }
				continue;
			}
		} else {
			if (timeout_ms > 0) {
				int ok = wait_writable(fd, timeout_ms);
				if (ok <= 0) { if (ok == 0) errno = ETIMEDOUT; return -1; }
			}
			k = write(fd, p, n);
		}
		if (k < 0 && errno == EINTR) continue;
		if (k < 0 && errno == EAGAIN) continue;
		if (k <= 0) return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int write_all(int fd, const void *p, size_t n) { return write_timed(fd, p, n, 0); }

int fsync_keeps_new_names(int fd)
{
	struct statfs fs;
	return fstatfs(fd, &fs) == 0 && (fs.f_type == EXT4_SUPER_MAGIC || fs.f_type == XFS_SUPER_MAGIC);
}

ssize_t pread_full(int fd, void *p, size_t n, off_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, (char *)p + got, n - got, off + (off_t)got);
		if (k < 0 && errno == EINTR) continue;
		if (k < 0) return -1;
		if (k == 0) break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

int wbuf_flush(struct wbuf *w)
{
	if (w->failed) return -1;
	if (w->len && write_timed(w->fd, w->buf, w->len, w->timeout_ms) < 0) {
		w->failed = 1;
		return -1;
	}
	w->len = 0;
	return 0;
}

int wbuf_put(struct wbuf *w, const void *p, size_t n)
{
	if (w->failed) return -1;
	if (!n) return 0; /* p may be NULL then (an empty buffer's data) */
	if (n > sizeof w->buf - w->len) {
		if (wbuf_flush(w) < 0) return -1;
		if (n > sizeof w->buf) {
			if (write_timed(w->fd, p, n, w->timeout_ms) < 0) { w->failed = 1; return -1; }
			return 0;
		}
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

int wbuf_puts(struct wbuf *w, const char *s) { return wbuf_put(w, s, strlen(s)); }
