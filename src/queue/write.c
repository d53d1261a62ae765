/* write.c — write one caller's messages into the queue (protocol in
 * src/lib/qclient.h): envelope and message into queue/tmp/ (a spare file
 * when qmgr left one, qfile.h), the seal
 * (qseal.h) over its placeholder, rename into queue/incoming/ID, fsync;
 * only then "ok ID". Every failure removes the half-written file and
 * answers "defer". queue/README says why one fsync is enough. */
#include "queue.h"
#include "control.h"
#include "log.h"
#include "qfile.h"
#include "qseal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define CHUNK_MAX (1u << 20)

int tmpdir = -1, incomingdir = -1;
static int holddir = -1; /* for messages a HOLD action sent to queue/hold */
static int dir_fsync_needed; /* see fsync_keeps_new_names (io.h) */

static int open_dir(const char *rel)
{
	char path[4096];
	if (root_path(path, sizeof path, rel) < 0) die(EXIT_TEMP, "%s: path too long", rel);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) die_sys(EXIT_TEMP, "cannot open %s (is the queue created? see queue/README)", path);
	return fd;
}

void queue_open_dirs(void)
{
	tmpdir = open_dir(QDIR_TMP);
	incomingdir = open_dir(QDIR_INCOMING);
	holddir = open_dir(QDIR_HOLD);
	dir_fsync_needed = !fsync_keeps_new_names(incomingdir);
}

/* The spares (qfile.h) seen in tmp/ and not yet taken, shared by the
 * injector's threads so that no two of them go for the same one; listed
 * again when used up (tmp/ holds only them and the files being written). */
static pthread_mutex_t spares_lock = PTHREAD_MUTEX_INITIALIZER;
static char spares[QSPARE_SLOTS][16];
static size_t nspares;

static void list_spares(void)
{
	int fd = openat(tmpdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0) close(fd);
		return;
	}
	struct dirent *e;
	size_t prefix = strlen(QSPARE_PREFIX);
	while (nspares < QSPARE_SLOTS && (e = readdir(d)))
		if (strncmp(e->d_name, QSPARE_PREFIX, prefix) == 0 && strlen(e->d_name) < sizeof spares[0])
			memcpy(spares[nspares++], e->d_name, strlen(e->d_name) + 1);
	closedir(d);
}

/* Take a spare as tmp/name: its descriptor, or -1 when there is none.
 * The rename makes it ours even against another yubin-queue process. Its
 * mtime becomes now, so the hourly cleanup of tmp/ never takes it for a
 * crashed writer's file. */
static int take_spare(const char *name)
{
	int listed = 0;
	for (;;) {
		char spare[16];
		pthread_mutex_lock(&spares_lock);
		if (!nspares && !listed) {
			list_spares();
			listed = 1;
		}
		int have = nspares > 0;
		if (have) memcpy(spare, spares[--nspares], sizeof spare);
		pthread_mutex_unlock(&spares_lock);
		if (!have) return -1;
		if (renameat(tmpdir, spare, tmpdir, name) == 0) break; /* else taken or removed meanwhile */
	}
	int fd = openat(tmpdir, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && futimens(fd, NULL) == 0) return fd;
	if (fd >= 0) close(fd);
	unlinkat(tmpdir, name, 0);
	return -1;
}

static int failed(struct session *s, const char *dsn, const char *why)
{
	s->err = errno;
	s->dsn = dsn;
	s->why = why;
	return -1;
}

static void abandon(struct session *s)
{
	if (s->tmpfd >= 0) close(s->tmpfd);
	if (*s->tmpname) unlinkat(tmpdir, s->tmpname, 0);
	s->tmpfd = -1;
	*s->tmpname = 0;
}

/* bytes after the seal's line: into the file and its hash */
static int put(struct session *s, const void *p, size_t n)
{
	qseal_add(&s->seal, p, n);
	return wbuf_put(&s->file, p, n);
}

static int record_type_ok(char t) { return t && strchr("SRENBACHUQ", t); }

/* The caller's envelope into the file (R lines get the ' ' state byte).
 * 0 done, 1 a clean EOF before any record, -1 failure. */
static int read_envelope(struct session *s)
{
	char line[QREC_MAX + 2];
	size_t len, nrcpt = 0;
	int saw_sender = 0;
	for (int first = 1;; first = 0) {
		int r = rbuf_getline(&s->in, line, sizeof line, &len, NULL);
		if (r == IO_EOF && first && len == 0) return 1;
		if (r != IO_OK) return failed(s, "4.3.0", "envelope truncated or malformed");
		if (len == 0) break;
		if (!record_type_ok(line[0]) || !qrec_value_ok(line + 1, len - 1))
			return failed(s, "4.3.0", "bad envelope record");
		if (line[0] == 'S' && saw_sender++) return failed(s, "4.3.0", "two senders in envelope");
		if (line[0] == 'Q') { /* hold: where the file goes, not a record of it */
			s->hold = 1;
			continue;
		}
		if (line[0] == 'R') {
			const char *t1 = memchr(line + 1, '\t', len - 1);
			const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(line + len - t1 - 1)) : NULL;
			if (!t2 || t1 == line + 1 || memchr(t2 + 1, '\t', (size_t)(line + len - t2 - 1)))
				return failed(s, "4.3.0", "bad recipient record");
			nrcpt++;
			if (put(s, "R ", 2) < 0 || put(s, line + 1, len - 1) < 0)
				return failed(s, "4.3.0", "write error");
		} else if (put(s, line, len) < 0) {
			return failed(s, "4.3.0", "write error");
		}
		if (put(s, "\n", 1) < 0) return failed(s, "4.3.0", "write error");
	}
	if (!saw_sender || !nrcpt) return failed(s, "4.3.0", "envelope without sender or recipients");
	return 0;
}

/* "<len>\n<bytes>" chunks into the file until "0\n" */
static int read_message(struct session *s)
{
	char line[32], data[IO_BUFSIZE];
	size_t len;
	for (;;) {
		if (rbuf_getline(&s->in, line, sizeof line, &len, NULL) != IO_OK)
			return failed(s, "4.3.0", "message truncated");
		if (len == 1 && line[0] == 'Q') { /* a HOLD found while the message streamed */
			s->hold = 1;
			continue;
		}
		long long n;
		if (parse_int(line, len, &n) < 0 || n > CHUNK_MAX) return failed(s, "4.3.0", "bad chunk header");
		if (n == 0) return 0;
		for (size_t left = (size_t)n; left;) {
			ssize_t k = rbuf_read(&s->in, data, left < sizeof data ? left : sizeof data);
			if (k <= 0) return failed(s, "4.3.0", "message truncated");
			if (put(s, data, (size_t)k) < 0) return failed(s, "4.3.0", "write error");
			left -= (size_t)k;
		}
	}
}

static int reply(struct session *s, const char *a, const char *b)
{
	wbuf_puts(&s->out, a);
	wbuf_puts(&s->out, b);
	wbuf_puts(&s->out, "\n");
	return wbuf_flush(&s->out);
}

/* One message: 0 queued, 1 clean EOF, -1 failure. */
static int queue_one(struct session *s)
{
	static unsigned serial;
	struct timeval tv;
	struct stat st;
	char id[QID_MAX], head[64];

	s->hold = 0;
	/* the file is made once an envelope begins: a caller that keeps its
	 * connection between messages (a yubin-smtpd worker) holds nothing
	 * in queue/tmp meanwhile */
	ssize_t got = rbuf_fill(&s->in);
	if (got == IO_EOF) return 1;
	if (got < 0) return failed(s, "4.3.0", "envelope truncated or malformed");
	gettimeofday(&tv, NULL);
	snprintf(s->tmpname, sizeof s->tmpname, "%ld.%ld.%u", (long)getpid(), (long)tv.tv_usec,
	         __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED));
	s->tmpfd = take_spare(s->tmpname);
	if (s->tmpfd < 0) s->tmpfd = openat(tmpdir, s->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (s->tmpfd < 0) {
		*s->tmpname = 0;
		return failed(s, "4.3.0", "cannot create a file in queue/tmp");
	}
	if (fstat(s->tmpfd, &st) < 0) return failed(s, "4.3.0", "fstat failed");
	if (!S_ISREG(st.st_mode)) return failed(s, "4.3.0", "queue/tmp holds something other than a file");
	off_t spare_size = st.st_size; /* a spare's old bytes beyond ours are cut off */
	/* time, microseconds and inode: unique while the file exists */
	snprintf(id, sizeof id, "%08llX%05lX%llX", (unsigned long long)tv.tv_sec, (long)tv.tv_usec,
	         (unsigned long long)st.st_ino);

	wbuf_init(&s->file, s->tmpfd, 0);
	qseal_init(&s->seal, id);
	char seal[QSEAL_LINE];
	qseal_line(NULL, seal);
	int n = snprintf(head, sizeof head, "V1\nT%lld\n", (long long)tv.tv_sec);
	off_t seal_off = n;
	wbuf_put(&s->file, head, (size_t)n);
	wbuf_put(&s->file, seal, sizeof seal);
	int r = read_envelope(s);
	if (r) return r;
	if (put(s, "\n", 1) < 0) return failed(s, "4.3.0", "write error");
	if (reply(s, id, "") < 0) return failed(s, "4.3.0", "caller went away");

	if (read_message(s) < 0) return -1;
	if (wbuf_flush(&s->file) < 0) return failed(s, "4.3.0", "write error");
	off_t end = lseek(s->tmpfd, 0, SEEK_CUR);
	if (end < 0 || (spare_size > end && ftruncate(s->tmpfd, end) < 0))
		return failed(s, "4.3.0", "cannot cut a reused queue file to length");
	qseal_line(&s->seal, seal);
	if (pwrite(s->tmpfd, seal, sizeof seal, seal_off) != (ssize_t)sizeof seal)
		return failed(s, "4.3.0", "write error");
	int dir = s->hold ? holddir : incomingdir;
	if (renameat(tmpdir, s->tmpname, dir, id) < 0)
		return failed(s, "4.3.0", s->hold ? "cannot rename into queue/hold" : "cannot rename into queue/incoming");
	*s->tmpname = 0;
	/* one fsync: the bytes, and the name just given (fsync_keeps_new_names) */
	int c = fsync(s->tmpfd);
	if (c == 0 && dir_fsync_needed) c = fsync(dir);
	int err = errno;
	if (close(s->tmpfd) < 0 && c == 0) { c = -1; err = errno; }
	s->tmpfd = -1;
	if (c < 0) {
		errno = err;
		failed(s, "4.3.0", "fsync failed");
		/* not acknowledged, so not to be delivered; qmgr may have taken
		 * it already (then its sender, told to retry, gets it twice):
		 * only a failing disk gets here, delayed allocation reports a
		 * full one at write() */
		unlinkat(dir, id, 0);
		return -1;
	}

	reply(s, "ok ", id);
	if (!s->hold) qtrigger("n");
	return 0;
}

int session_run(struct session *s, int in, int out)
{
	s->tmpfd = -1;
	*s->tmpname = 0;
	rbuf_init(&s->in, in, 0);
	wbuf_init(&s->out, out, 0);
	for (;;) {
		int r = queue_one(s);
		if (r == 0) continue;
		abandon(s);
		if (r == 1) return 0;
		if (s->err == ENOSPC || s->err == EDQUOT) {
			s->dsn = "4.3.1";
			s->why = "Insufficient system storage";
		}
		log_msg("%s %s", s->dsn, s->why);
		wbuf_puts(&s->out, "defer ");
		wbuf_puts(&s->out, s->dsn);
		wbuf_puts(&s->out, " ");
		reply(s, s->why, "");
		return -1;
	}
}
