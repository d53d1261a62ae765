/* maildir.c — write one message into a Maildir exactly once (maildir.h).
 * The file is written anonymously (O_TMPFILE in tmp/), linked into new/
 * under its final name and fsynced: on ext4 and XFS that one fsync makes
 * the new name durable too (as for the queue, queue/README step 1); on
 * other filesystems, or for a tmp/ name private to this process (when
 * the filesystem or /proc cannot do O_TMPFILE), the file is fsynced
 * before the link and new/ after it. link() refusing with EEXIST is what
 * makes two attempts at one delivery leave one file.
 *
 * One fsync promises no order: a power loss before it ends may leave the
 * name in new/ without all of the bytes. The delivery was not reported,
 * so it is retried; the retry finds the name, compares the file with the
 * message, and replaces a torn one. */
#include "maildir.h"
#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* how far before arrival a change of cur/ still means "scan it": covers
 * clock steps and coarse file system timestamps */
#define CUR_MARGIN 120

int maildir_uniq(char *out, size_t max, long long arrival, const char *qid,
                 const char *rcpt, const char *host)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)rcpt; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	int n = snprintf(out, max, "%lld.Y%sR%016llx.", arrival, qid, (unsigned long long)h);
	if (n < 0 || (size_t)n >= max) goto toolong;
	size_t len = (size_t)n;
	for (const char *p = host; *p; p++) {
		const char *rep = *p == '/' ? "\\057" : *p == ':' ? "\\072" : NULL;
		size_t k = rep ? 4 : 1;
		if (len + k >= max) goto toolong;
		memcpy(out + len, rep ? rep : p, k);
		len += k;
	}
	out[len] = 0;
	return 0;
toolong:
	errno = ENAMETOOLONG;
	return -1;
}

/* fsync the directory holding path, so a new entry in it is durable */
static int fsync_parent(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 1;
	if (slash && n == 0) n = 1; /* "/x": the root */
	if (n >= sizeof dir) { errno = ENAMETOOLONG; return -1; }
	memcpy(dir, slash ? path : ".", n);
	dir[n] = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

/* mkdir 700; 1 made (and its parent fsynced: a crash must not lose the
 * Maildir a delivery went into), 0 existed, -1 error */
static int mkdir_durable(const char *path)
{
	if (mkdir(path, 0700) < 0) return errno == EEXIST ? 0 : -1;
	return fsync_parent(path) < 0 ? -1 : 1;
}

int maildir_create(const char *dir)
{
	char path[4096];
	size_t n = strlen(dir);
	if (n == 0 || n + 5 >= sizeof path) { errno = ENAMETOOLONG; return -1; }
	memcpy(path, dir, n + 1);
	while (n > 1 && path[n - 1] == '/') path[--n] = 0;
	/* parents first: each missing component is made 700 */
	for (size_t i = 1; i < n; i++) {
		if (path[i] != '/') continue;
		path[i] = 0;
		int r = mkdir_durable(path);
		path[i] = '/';
		if (r < 0 && errno != EACCES) return -1; /* EACCES: an existing parent we may not list */
	}
	if (mkdir_durable(path) < 0) return -1;
	static const char *const sub[] = { "/tmp", "/new", "/cur" };
	for (size_t i = 0; i < 3; i++) {
		memcpy(path + n, sub[i], 5);
		if (mkdir_durable(path) < 0) return -1;
		path[n] = 0;
	}
	return 0;
}

/* uniq is followed by ',' (",S=", ",W=") or ':' (":2,flags") in a name */
static int name_matches(const char *entry, const char *uniq, size_t ulen)
{
	return strncmp(entry, uniq, ulen) == 0 && (entry[ulen] == ',' || entry[ulen] == ':');
}

/* 1 found (its path under dir in found), 0 not, -1 error */
static int present_at(int dfd, const char *name, const char *uniq, long long arrival, char *found, size_t max)
{
	struct stat st;
	int n = snprintf(found, max, "new/%s", name);
	if (n < 0 || (size_t)n >= max) { errno = ENAMETOOLONG; return -1; }
	if (fstatat(dfd, found, &st, AT_SYMLINK_NOFOLLOW) == 0) return 1;
	if (errno != ENOENT) return -1;
	/* a reader can only have moved our file into cur/ after it arrived,
	 * and every rename into cur/ updates its mtime */
	if (fstatat(dfd, "cur", &st, 0) < 0) return errno == ENOENT ? 0 : -1;
	if ((long long)st.st_mtime < arrival - CUR_MARGIN) return 0;
	int cfd = openat(dfd, "cur", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0) return -1;
	DIR *d = fdopendir(cfd);
	if (!d) { close(cfd); return -1; }
	size_t ulen = strlen(uniq);
	int hit = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)))
		if (name_matches(de->d_name, uniq, ulen)) {
			n = snprintf(found, max, "cur/%s", de->d_name);
			hit = n > 0 && (size_t)n < max ? 1 : -1;
			break;
		}
	int err = hit < 0 ? ENAMETOOLONG : errno;
	closedir(d);
	if (hit <= 0 && err) { errno = err; return -1; }
	return hit;
}

/* n bytes of fd at off equal to p? 1 yes, 0 no, -1 error */
static int same_bytes(int fd, off_t off, const char *p, size_t n)
{
	char buf[8192];
	while (n) {
		size_t want = n < sizeof buf ? n : sizeof buf;
		ssize_t k = pread_full(fd, buf, want, off);
		if (k < 0) return -1;
		if ((size_t)k < want || memcmp(buf, p, want) != 0) return 0;
		off += (off_t)want;
		p += want;
		n -= want;
	}
	return 1;
}

/* Does the file at rel hold exactly the message src? 1 yes, 0 no (torn
 * by a system crash during the first attempt's fsync), -1 error. */
static int whole_at(int dfd, const char *rel, const struct maildir_src *src)
{
	int fd = openat(dfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) return -1;
	struct stat st;
	int r = fstat(fd, &st) < 0 ? -1 : st.st_size == (off_t)src->headlen + src->len;
	if (r == 1) r = same_bytes(fd, 0, src->head, src->headlen);
	static char buf[1 << 16];
	for (off_t done = 0; r == 1 && done < src->len;) {
		size_t want = src->len - done < (off_t)sizeof buf ? (size_t)(src->len - done) : sizeof buf;
		ssize_t k = pread_full(src->fd, buf, want, src->off + done);
		if (k < 0 || (size_t)k < want) { r = -1; if (k >= 0) errno = EIO; break; } /* source shorter than it said */
		r = same_bytes(fd, (off_t)src->headlen + done, buf, want);
		done += (off_t)want;
	}
	int err = errno;
	close(fd);
	errno = err;
	return r;
}

int maildir_present(const char *dir, const char *name, const char *uniq, long long arrival)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) return errno == ENOENT ? 0 : -1;
	char found[MAILDIR_NAME_MAX + 8];
	int r = present_at(dfd, name, uniq, arrival, found, sizeof found);
	int err = errno;
	close(dfd);
	errno = err;
	return r;
}

int copy_range(int in, off_t off, off_t len, int out)
{
	int fallback = 0;
	while (len > 0 && !fallback) {
		size_t chunk = len > (off_t)(1 << 30) ? (size_t)1 << 30 : (size_t)len;
		ssize_t k = copy_file_range(in, &off, out, NULL, chunk, 0);
		if (k < 0 && errno == EINTR) continue;
		if (k < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
		              errno == EOPNOTSUPP || errno == EBADF || errno == EPERM))
			fallback = 1;
		else if (k < 0) return -1;
		else if (k == 0) { errno = EIO; return -1; } /* the source is shorter than it said */
		else len -= k;
	}
	static char buf[1 << 16];
	while (len > 0) {
		size_t chunk = len > (off_t)sizeof buf ? sizeof buf : (size_t)len;
		ssize_t k = pread_full(in, buf, chunk, off);
		if (k < 0) return -1;
		if ((size_t)k < chunk) { errno = EIO; return -1; } /* the source is shorter than it said */
		if (write_all(out, buf, chunk) < 0) return -1;
		off += (off_t)chunk;
		len -= (off_t)chunk;
	}
	return 0;
}

static int write_msg(int fd, const struct maildir_src *src)
{
	if (write_all(fd, src->head, src->headlen) < 0) return -1;
	return copy_range(src->fd, src->off, src->len, fd);
}

/* Whether O_TMPFILE + linkat through /proc works here; decided once. */
static int anon_ok = -1;

int maildir_deliver(const char *dir, const char *uniq, long long arrival,
                    const struct maildir_src *src, char *name_out, size_t name_max)
{
	char name[MAILDIR_NAME_MAX], tmpname[MAILDIR_NAME_MAX + 40];
	long long size;
	if (__builtin_add_overflow((long long)src->headlen, (long long)src->len, &size)) {
		errno = EFBIG;
		return -1;
	}
	int n = snprintf(name, sizeof name, "%s,S=%lld", uniq, size);
	if (n < 0 || (size_t)n >= sizeof name) { errno = ENAMETOOLONG; return -1; }
	if (name_out) snprintf(name_out, name_max, "%s", name);

	int dfd = -1, newfd = -1, fd = -1, r = -1, named = 0, torn = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) newfd = openat(dfd, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (newfd >= 0 || errno != ENOENT || attempt) break;
		if (dfd >= 0) close(dfd);
		dfd = -1;
		if (maildir_create(dir) < 0) return -1;
	}
	if (newfd < 0) goto out;

	char found[MAILDIR_NAME_MAX + 8];
	int p = present_at(dfd, name, uniq, arrival, found, sizeof found);
	if (p > 0) {
		int whole = whole_at(dfd, found, src);
		if (whole != 0) { r = whole > 0 ? 0 : -1; goto out; }
		if (unlinkat(dfd, found, 0) < 0 && errno != ENOENT) goto out;
		torn = 1;
	} else if (p < 0) {
		goto out;
	}

	if (anon_ok != 0) {
		fd = openat(dfd, "tmp", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0 && errno == ENOENT && maildir_create(dir) == 0)
			fd = openat(dfd, "tmp", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) anon_ok = 0;
		else if (fd < 0) goto out;
	}
	if (fd < 0) {
		n = snprintf(tmpname, sizeof tmpname, "tmp/%s.P%ld", name, (long)getpid());
		if (n < 0 || (size_t)n >= sizeof tmpname) { errno = ENAMETOOLONG; goto out; }
		fd = openat(dfd, tmpname, O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) goto out;
		named = 1;
	}
	if (write_msg(fd, src) < 0) goto out;
	/* a private tmp/ name is a second name: the file's fsync might make
	 * that one durable instead of new/'s, so fsync before the link (for
	 * an O_TMPFILE file ext4 without a journal writes new/, its newest) */
	int one_fsync = !named && fsync_keeps_new_names(fd);
	if (!one_fsync && fsync(fd) < 0) goto out;

	int linked;
	if (named) {
		linked = linkat(dfd, tmpname, newfd, name, 0);
	} else {
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		linked = linkat(AT_FDCWD, proc, newfd, name, AT_SYMLINK_FOLLOW);
		if (linked < 0 && errno == ENOENT && anon_ok < 0) {
			/* no /proc: write it again under a name */
			anon_ok = 0;
			int again = maildir_deliver(dir, uniq, arrival, src, name_out, name_max);
			int err = errno;
			close(fd); close(newfd); close(dfd);
			errno = err;
			return again;
		}
	}
	if (linked < 0 && errno == EEXIST) { r = 0; goto out; } /* a parallel attempt won */
	if (linked < 0) goto out;
	if (!named) anon_ok = 1;
	if (one_fsync ? fsync(fd) < 0 : fsync(newfd) < 0) goto out;
	r = torn ? 2 : 1;
out:;
	int err = errno;
	if (named) unlinkat(dfd, tmpname, 0);
	if (fd >= 0) close(fd);
	if (newfd >= 0) close(newfd);
	if (dfd >= 0) close(dfd);
	errno = err;
	return r;
}
