/* yubin-queue — the only writer into the queue.
 *
 * Reads an envelope and a message on stdin (protocol in src/lib/qclient.h),
 * writes them to queue/tmp/, fsyncs the file, renames it into
 * queue/incoming/ID and fsyncs that directory; only then answers "ok ID".
 * Then it wakes yubin-qmgr and waits for the next message or EOF.
 * It reads no control files: starting fast is part of its job. */
#include "control.h"
#include "io.h"
#include "log.h"
#include "qfile.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define CHUNK_MAX (1u << 20)

static struct rbuf in;
static struct wbuf out;
static int tmpdir = -1, incomingdir = -1;
static char tmpname[64];
static int tmpfd = -1;

static void abandon(void)
{
	if (tmpfd >= 0) close(tmpfd);
	if (*tmpname) unlinkat(tmpdir, tmpname, 0);
	tmpfd = -1;
	*tmpname = 0;
}

/* Tell the caller why, undo the half-written file, and stop. */
static void __attribute__((noreturn)) fail(const char *dsn, const char *why)
{
	int err = errno;
	abandon();
	if (err == ENOSPC || err == EDQUOT) {
		dsn = "4.3.1";
		why = "Insufficient system storage";
	}
	log_msg("%s %s", dsn, why);
	wbuf_puts(&out, "defer ");
	wbuf_puts(&out, dsn);
	wbuf_puts(&out, " ");
	wbuf_puts(&out, why);
	wbuf_puts(&out, "\n");
	wbuf_flush(&out);
	_exit(EXIT_TEMP);
}

static int open_dir(const char *rel)
{
	char path[4096];
	if (root_path(path, sizeof path, rel) < 0) die(EXIT_TEMP, "%s: path too long", rel);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) die_sys(EXIT_TEMP, "cannot open %s (is the queue created? see queue/README)", path);
	return fd;
}

static int record_type_ok(char t)
{
	return strchr("SREN BACH", t) && t != ' ';
}

/* Read the caller's envelope into env (records as in qfile.h, R lines
 * given the ' ' state byte). Returns 0, or 1 on a clean EOF before any
 * record (the caller is done). */
static int read_envelope(struct wbuf *file, int *saw_sender, size_t *nrcpt)
{
	char line[QREC_MAX + 2];
	size_t len;
	*saw_sender = 0;
	*nrcpt = 0;
	for (int first = 1;; first = 0) {
		int r = rbuf_getline(&in, line, sizeof line, &len, NULL);
		if (r == IO_EOF && first && len == 0) return 1;
		if (r != IO_OK) fail("4.3.0", "envelope truncated or malformed");
		if (len == 0) break;
		if (!record_type_ok(line[0]) || !qrec_value_ok(line + 1, len - 1))
			fail("4.3.0", "bad envelope record");
		if (line[0] == 'S') {
			if (*saw_sender) fail("4.3.0", "two senders in envelope");
			*saw_sender = 1;
		}
		if (line[0] == 'R') {
			const char *t1 = memchr(line + 1, '\t', len - 1);
			const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(line + len - t1 - 1)) : NULL;
			if (!t2 || t1 == line + 1 || memchr(t2 + 1, '\t', (size_t)(line + len - t2 - 1)))
				fail("4.3.0", "bad recipient record");
			++*nrcpt;
			if (wbuf_put(file, "R ", 2) < 0 || wbuf_put(file, line + 1, len - 1) < 0) fail("4.3.0", "write error");
		} else if (wbuf_put(file, line, len) < 0) {
			fail("4.3.0", "write error");
		}
		if (wbuf_put(file, "\n", 1) < 0) fail("4.3.0", "write error");
	}
	if (!*saw_sender || !*nrcpt) fail("4.3.0", "envelope without sender or recipients");
	return 0;
}

/* Copy "<len>\n<bytes>" chunks to the file until "0\n". */
static void read_message(struct wbuf *file)
{
	char line[32], data[IO_BUFSIZE];
	size_t len;
	for (;;) {
		if (rbuf_getline(&in, line, sizeof line, &len, NULL) != IO_OK)
			fail("4.3.0", "message truncated");
		long long n;
		if (parse_int(line, len, &n) < 0 || n > CHUNK_MAX) fail("4.3.0", "bad chunk header");
		if (n == 0) return;
		size_t left = (size_t)n;
		while (left) {
			ssize_t k = rbuf_read(&in, data, left < sizeof data ? left : sizeof data);
			if (k <= 0) fail("4.3.0", "message truncated");
			if (wbuf_put(file, data, (size_t)k) < 0) fail("4.3.0", "write error");
			left -= (size_t)k;
		}
	}
}

/* One message: returns 0 when done, 1 at a clean EOF. */
static int queue_one(void)
{
	static unsigned serial;
	struct timeval tv;
	struct stat st;
	char id[QID_MAX], head[64];

	gettimeofday(&tv, NULL);
	snprintf(tmpname, sizeof tmpname, "%ld.%ld.%u", (long)getpid(), (long)tv.tv_usec, serial++);
	tmpfd = openat(tmpdir, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (tmpfd < 0) { *tmpname = 0; fail("4.3.0", "cannot create a file in queue/tmp"); }
	if (fstat(tmpfd, &st) < 0) fail("4.3.0", "fstat failed");
	/* time, microseconds and inode: unique while the file exists */
	snprintf(id, sizeof id, "%08llX%05lX%llX", (unsigned long long)tv.tv_sec, (long)tv.tv_usec,
	         (unsigned long long)st.st_ino);

	static struct wbuf file;
	wbuf_init(&file, tmpfd, 0);
	int n = snprintf(head, sizeof head, "V1\nT%lld\n", (long long)tv.tv_sec);
	wbuf_put(&file, head, (size_t)n);
	int saw_sender;
	size_t nrcpt;
	if (read_envelope(&file, &saw_sender, &nrcpt) == 1) {
		abandon();
		return 1;
	}
	if (wbuf_put(&file, "\n", 1) < 0) fail("4.3.0", "write error");
	wbuf_puts(&out, id);
	wbuf_puts(&out, "\n");
	if (wbuf_flush(&out) < 0) fail("4.3.0", "caller went away");

	read_message(&file);
	if (wbuf_flush(&file) < 0) fail("4.3.0", "write error");
	if (fdatasync(tmpfd) < 0) fail("4.3.0", "fsync failed");
	if (close(tmpfd) < 0) { tmpfd = -1; fail("4.3.0", "close failed"); }
	tmpfd = -1;
	if (renameat(tmpdir, tmpname, incomingdir, id) < 0) fail("4.3.0", "cannot rename into queue/incoming");
	*tmpname = 0;
	if (fsync(incomingdir) < 0) fail("4.3.0", "fsync of queue/incoming failed");

	wbuf_puts(&out, "ok ");
	wbuf_puts(&out, id);
	wbuf_puts(&out, "\n");
	wbuf_flush(&out);
	qtrigger("n");
	return 0;
}

int main(int argc, char **argv)
{
	(void)argc;
	log_init(argv[0]);
	umask(027); /* group: the queue user's group, which yubin-remote is in */
	tmpdir = open_dir(QDIR_TMP);
	incomingdir = open_dir(QDIR_INCOMING);
	/* Setuid (as qmail-queue is): YUBIN_ROOT comes from the caller, so
	 * write only into a queue that already belongs to us. */
	struct stat st;
	/* Run by root (sendmail as root, or while the setuid bit is being
	 * set up): become the queue's owner, so every queue file is its. */
	if (geteuid() == 0 && fstat(incomingdir, &st) == 0 && st.st_uid != 0 &&
	    (setgroups(0, NULL) < 0 || setgid(st.st_gid) < 0 || setuid(st.st_uid) < 0))
		die_sys(EXIT_TEMP, "cannot become the owner of %s/queue", yubin_root());
	if (getuid() != geteuid() && (fstat(incomingdir, &st) < 0 || st.st_uid != geteuid()))
		die(EXIT_TEMP, "%s/queue/incoming does not belong to the queue user; refusing", yubin_root());
	rbuf_init(&in, 0, 0);
	wbuf_init(&out, 1, 0);
	while (queue_one() == 0) ;
	return 0;
}
