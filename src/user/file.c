/* file.c — yubin-user's file handling: read a control file whole, replace
 * it atomically (temp file in the same directory, fsync, rename, fsync the
 * directory), and read a password from stdin (echo off on a terminal).
 * A replaced file keeps the old file's mode and owner; a new one gets the
 * mode given and, when run as root, the group of the directory. */
#include "user.h"
#include "buf.h"
#include "io.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define FILE_MAX ((size_t)256 << 20)

int file_read(const char *path, struct buf *out)
{
	buf_reset(out);
	out->max = FILE_MAX;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return errno == ENOENT ? 0 : -1;
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0 || (n > 0 && buf_add(out, tmp, (size_t)n) < 0)) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0) break;
	}
	close(fd);
	return buf_add(out, "", 0);
}

static int dir_of(const char *path, char *dir, size_t max)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 1;
	if (n + 1 > max) { errno = ENAMETOOLONG; return -1; }
	if (slash) memcpy(dir, path, n);
	else dir[0] = '.';
	if (n == 0) dir[n++] = '/';
	dir[n] = 0;
	return 0;
}

int file_replace(const char *path, const char *data, size_t len, mode_t new_mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	size_t n = strlen(path);
	if (n + sizeof ".tmpXXXXXX" > sizeof tmp || dir_of(path, dir, sizeof dir) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, n);
	memcpy(tmp + n, ".tmpXXXXXX", sizeof ".tmpXXXXXX");
	struct stat old, d;
	int have_old = stat(path, &old) == 0;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) return -1;
	int ok = 1;
	if (have_old) {
		ok = fchmod(fd, old.st_mode & 07777) == 0 &&
		     (geteuid() != 0 || fchown(fd, old.st_uid, old.st_gid) == 0);
	} else {
		ok = fchmod(fd, new_mode) == 0 &&
		     (geteuid() != 0 || (stat(dir, &d) == 0 && fchown(fd, 0, d.st_gid) == 0));
	}
	ok = ok && write_all(fd, data, len) == 0 && fsync(fd) == 0;
	int e = errno;
	if (close(fd) < 0 && ok) { e = errno; ok = 0; }
	if (ok && rename(tmp, path) < 0) { e = errno; ok = 0; }
	if (!ok) {
		unlink(tmp);
		errno = e;
		return -1;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) return -1;
	int r = fsync(dfd);
	close(dfd);
	return r;
}

int read_password(char *pw, size_t max)
{
	struct termios saved, quiet;
	int tty = isatty(0) && tcgetattr(0, &saved) == 0;
	if (tty) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &quiet);
		fputs("Password: ", stderr);
	}
	size_t len = 0;
	int r = 0;
	for (;;) {
		char c;
		ssize_t n = read(0, &c, 1); /* byte by byte: leave the rest of stdin alone */
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) { r = -1; break; }
		if (n == 0 || c == '\n') break;
		if (len + 1 >= max) { r = -2; break; }
		pw[len++] = c;
	}
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &saved);
		fputs("\n", stderr);
	}
	if (len && pw[len - 1] == '\r') len--;
	pw[len] = 0;
	if (r == 0 && memchr(pw, 0, len)) r = -3;
	return r < 0 ? r : (int)len;
}
