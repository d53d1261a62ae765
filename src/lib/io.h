/* io.h — buffered reads and writes on file descriptors, with timeouts.
 * The reader hands out lines of bounded length: an overlong line is
 * reported (IO_LONG) and skipped up to its end, never grown without limit.
 * A timeout of 0 means wait forever. */
#ifndef YUBIN_IO_H
#define YUBIN_IO_H

#include <stddef.h>
#include <sys/types.h>

#define IO_BUFSIZE 16384

struct rbuf {
	int fd;
	int timeout_ms;
	size_t pos, len;
	char buf[IO_BUFSIZE];
};

struct wbuf {
	int fd;
	int timeout_ms;
	size_t len;
	int failed;
	char buf[IO_BUFSIZE];
};

enum io_status { IO_OK = 0, IO_EOF = -1, IO_ERR = -2, IO_TIMEOUT = -3, IO_LONG = -4 };

void rbuf_init(struct rbuf *r, int fd, int timeout_ms);
/* refill when empty; returns bytes available, or an io_status <= 0 */
ssize_t rbuf_fill(struct rbuf *r);
/* bytes already buffered and not yet consumed (pipelining look-ahead) */
size_t rbuf_pending(const struct rbuf *r);
/* read up to n bytes (at least 1 unless EOF/error) */
ssize_t rbuf_read(struct rbuf *r, void *p, size_t n);
/* One line ending in LF (the LF and a CR before it are stripped; *had_cr
 * tells whether it ended in CRLF). Copies at most max-1 bytes plus NUL into
 * line; *len is the length (NULs inside are kept). IO_LONG: the line was
 * longer than max-1 and has been consumed; IO_EOF with *len > 0 means a
 * final line without LF. */
int rbuf_getline(struct rbuf *r, char *line, size_t max, size_t *len, int *had_cr);

void wbuf_init(struct wbuf *w, int fd, int timeout_ms);
int wbuf_put(struct wbuf *w, const void *p, size_t n);
int wbuf_puts(struct wbuf *w, const char *s);
int wbuf_flush(struct wbuf *w);

/* write all of p, retrying on EINTR and short writes; -1 on error */
int write_all(int fd, const void *p, size_t n);
/* read n bytes of fd at off, retrying on EINTR and short reads; the
 * count read (less than n only at end of file), or -1 */
ssize_t pread_full(int fd, void *p, size_t n, off_t off);
/* 1 when an fsync of a file on fd's filesystem also makes durable the
 * name a rename or link just gave it, so its directory needs no fsync of
 * its own: ext4 (with a journal the name commits with the file; without
 * one, fsync writes the directory of the inode's newest entry when it got
 * one since its last fsync) and XFS (the log is forced past the change,
 * which logged the inode). 0 elsewhere. queue/README step 1. */
int fsync_keeps_new_names(int fd);
/* wait until fd is readable; 1 ready, 0 timeout, -1 error */
int wait_readable(int fd, int timeout_ms);

/* now on CLOCK_MONOTONIC, in milliseconds: for deadlines, also across
 * processes of one machine */
long long now_ms(void);

#endif
