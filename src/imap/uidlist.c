/* uidlist.c — read, look up and atomically rewrite a folder's UID index
 * (format in uidlist.h). The reader tolerates damage: a bad line is
 * skipped, a bad header makes the list empty (new UIDVALIDITY). */
#include "uidlist.h"
#include "buf.h"
#include "io.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define UIDLIST "yubin-uidlist"

static void reset(struct uidlist *u)
{
	for (size_t i = 0; i < u->nkw; i++) free(u->kw[i]);
	free(u->text);
	free(u->slot);
	u->text = NULL;
	u->slot = NULL;
	u->mask = 0;
	u->nkw = u->n = 0;
	u->uidvalidity = u->recent = 0;
	u->uidnext = 1;
}

void uidlist_free(struct uidlist *u)
{
	reset(u);
	free(u->e);
	u->e = NULL;
	u->cap = 0;
	u->loaded = 0;
}

static int build_hash(struct uidlist *u)
{
	size_t size = 64;
	while (size < u->n * 2) size *= 2;
	u->slot = calloc(size, sizeof *u->slot);
	if (!u->slot) return -1;
	u->mask = size - 1;
	for (size_t i = 0; i < u->n; i++) {
		size_t h = name_hash(u->e[i].base, u->e[i].len) & u->mask;
		while (u->slot[h]) h = (h + 1) & u->mask;
		u->slot[h] = (uint32_t)i + 1;
	}
	return 0;
}

long uidlist_find(const struct uidlist *u, const char *base, size_t len)
{
	if (!u->slot) return -1;
	size_t h = name_hash(base, len) & u->mask;
	while (u->slot[h]) {
		const struct uident *e = &u->e[u->slot[h] - 1];
		if (e->len == len && memcmp(e->base, base, len) == 0) return (long)(u->slot[h] - 1);
		h = (h + 1) & u->mask;
	}
	return -1;
}

static int parse(struct uidlist *u, char *t, size_t len)
{
	char *end = t + len, *nl = memchr(t, '\n', len);
	unsigned long v, nx, r;
	if (!nl || sscanf(t, "yubin-uidlist 1 V%lu N%lu R%lu", &v, &nx, &r) != 3 || !v ||
	    v > UINT32_MAX || nx > UINT32_MAX || r > UINT32_MAX)
		return 0; /* damaged: start over */
	u->uidvalidity = (uint32_t)v;
	u->uidnext = nx ? (uint32_t)nx : 1;
	u->recent = (uint32_t)r;
	uint32_t last = 0;
	for (char *p = nl + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) break;
		if (*p == 'K' && nl - p > 3 && p[2] == ' ' && p[1] >= 'a' && p[1] <= 'z') {
			size_t k = (size_t)(p[1] - 'a');
			/* keywords are written in letter order with no gaps */
			if (k == u->nkw && k < 26) {
				u->kw[k] = strndup(p + 3, (size_t)(nl - p - 3));
				if (!u->kw[k]) return -1;
				u->nkw++;
			}
			continue;
		}
		uint32_t uid = 0;
		char *q = p;
		while (q < nl && *q >= '0' && *q <= '9' && uid < 429496729u) uid = uid * 10 + (uint32_t)(*q++ - '0');
		if (q == p || q >= nl || *q != ' ' || uid <= last || uid >= u->uidnext) continue;
		size_t blen = (size_t)(nl - q - 1);
		if (!blen || blen > 255) continue;
		if (u->n == u->cap) {
			size_t cap = u->cap ? u->cap * 2 : 256;
			struct uident *e = realloc(u->e, cap * sizeof *e);
			if (!e) return -1;
			u->e = e;
			u->cap = cap;
		}
		u->e[u->n++] = (struct uident){ uid, (uint16_t)blen, q + 1 };
		last = uid;
	}
	return 0;
}

int uidlist_load(const char *dir, struct uidlist *u)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/" UIDLIST, dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		if (errno != ENOENT) return -1;
		if (u->loaded && u->ino == 0) return 0;
		reset(u);
		u->loaded = 1;
		u->ino = 0;
		return 1;
	}
	if (fstat(fd, &st) < 0) { close(fd); return -1; }
	if (u->loaded && st.st_ino == u->ino && st.st_size == u->size &&
	    st.st_mtim.tv_sec == u->mtime.tv_sec && st.st_mtim.tv_nsec == u->mtime.tv_nsec) {
		close(fd);
		return 0;
	}
	if (st.st_size > (off_t)256 << 20) { close(fd); errno = EFBIG; return -1; }
	char *t = malloc((size_t)st.st_size + 1);
	if (!t) { close(fd); return -1; }
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, t + got, (size_t)st.st_size - got);
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0) break;
		got += (size_t)k;
	}
	close(fd);
	t[got] = 0;
	reset(u);
	u->text = t;
	if (parse(u, t, got) < 0 || build_hash(u) < 0) return -1;
	u->ino = st.st_ino;
	u->size = st.st_size;
	u->mtime = st.st_mtim;
	u->loaded = 1;
	return 1;
}

int uidlist_write(const char *dir, uint32_t uidvalidity, uint32_t uidnext, uint32_t recent,
                  char *const *kw, size_t nkw, const struct uident *e, size_t n)
{
	struct buf b = BUF_INIT;
	b.max = (size_t)256 << 20;
	int bad = buf_addf(&b, "yubin-uidlist 1 V%u N%u R%u\n", uidvalidity, uidnext, recent) < 0;
	for (size_t i = 0; !bad && i < nkw; i++)
		bad = buf_addf(&b, "K%c %s\n", (char)('a' + i), kw[i]) < 0;
	if (!bad) bad = buf_ready(&b, n * 40) < 0;
	for (size_t i = 0; !bad && i < n; i++)
		bad = buf_addnum(&b, e[i].uid) < 0 || buf_addc(&b, ' ') < 0 ||
		      buf_add(&b, e[i].base, e[i].len) < 0 || buf_addc(&b, '\n') < 0;
	char path[4096], tmp[4200];
	snprintf(path, sizeof path, "%s/" UIDLIST, dir);
	snprintf(tmp, sizeof tmp, "%s/" UIDLIST ".%ld.tmp", dir, (long)getpid());
	int fd = bad ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, b.s, b.len) < 0 || close(fd) < 0) {
		int err = errno;
		if (fd >= 0) unlink(tmp);
		buf_free(&b);
		errno = err;
		log_sys("cannot write %s", path);
		return -1;
	}
	buf_free(&b);
	if (rename(tmp, path) < 0) {
		log_sys("cannot rename %s", tmp);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int uidlist_lock(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/" UIDLIST ".lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) { log_sys("cannot open %s", path); return -1; }
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) { log_sys("cannot lock %s", path); close(fd); return -1; }
	}
	return fd;
}

void uidlist_unlock(int fd)
{
	if (fd >= 0) close(fd);
}

uint32_t uidlist_new_validity(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	uint32_t v = (uint32_t)tv.tv_sec;
	return v ? v : 1;
}
