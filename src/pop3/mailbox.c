/* mailbox.c — the Maildir as one POP3 session sees it. At login, new/
 * messages move to cur/ (gaining ":2,"); cur/ is listed and sorted by
 * name, i.e. by arrival; sizes come from ",W=" or the size cache, and are
 * counted (once) otherwise. Other clients (IMAP) may rename a
 * message to change its flags meanwhile: a message is found again by its
 * unique part. Deletions are applied only in the UPDATE state. */
#include "pop3.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static size_t uniq_len(const char *name, size_t n)
{
	size_t i = 0;
	while (i < n && name[i] != ',' && name[i] != ':') i++;
	return i;
}

const char *msg_name(const struct mbox *b, size_t i) { return b->names.s + b->m[i].name; }

static int add(struct mbox *b, const char *name, size_t n, unsigned long long size)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256, bytes;
		if (__builtin_mul_overflow(cap, sizeof *b->m, &bytes)) { errno = ENOMEM; return -1; }
		struct msg *m = realloc(b->m, bytes);
		if (!m) return -1;
		b->m = m;
		b->cap = cap;
	}
	struct msg *m = &b->m[b->n];
	m->name = b->names.len;
	if (buf_add(&b->names, name, n + 1) < 0) return -1;
	m->name_len = (unsigned short)n;
	m->uniq_len = (unsigned short)uniq_len(name, n);
	m->deleted = 0;
	m->size = size;
	if (__builtin_add_overflow(b->total, size, &b->total)) b->total = ~0ULL;
	b->n++;
	return 0;
}

static int size_of_path(const char *path, unsigned long long *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) return -1;
	int r = size_of_fd(fd, size);
	close(fd);
	return r;
}

/* new/NAME -> cur/NAME:2, (the name itself stays: other readers key on it) */
static void move_new(const char *name, size_t n)
{
	char from[300], to[300];
	int k = snprintf(from, sizeof from, "new/%s", name);
	int j = snprintf(to, sizeof to, "cur/%s%s", name, memchr(name, ':', n) ? "" : ":2,");
	if (k < 0 || (size_t)k >= sizeof from || j < 0 || (size_t)j >= sizeof to || (size_t)j - 4 > 255)
		return;
	if (rename(from, to) < 0 && errno != ENOENT)
		log_sys("cannot move %s to cur/", from);
}

static const char *sort_names;   /* qsort has no context argument */

static int by_name(const void *a, const void *b)
{
	return strcmp(sort_names + ((const struct msg *)a)->name, sort_names + ((const struct msg *)b)->name);
}

int mbox_scan(struct mbox *b)
{
	b->names.max = (size_t)1 << 30;
	DIR *d = opendir("new");
	if (!d) return -1;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') move_new(e->d_name, strlen(e->d_name));
	closedir(d);

	d = opendir("cur");
	if (!d) return -1;
	sizecache_load();
	char path[300];
	int counted = 0;
	while ((errno = 0, e = readdir(d))) {
		size_t n = strlen(e->d_name);
		unsigned long long size;
		if (e->d_name[0] == '.' || n > 255) continue;
		if (size_from_name(e->d_name, n, &size) < 0 &&
		    sizecache_find(e->d_name, uniq_len(e->d_name, n), &size) < 0) {
			int k = snprintf(path, sizeof path, "cur/%s", e->d_name);
			if (k < 0 || (size_t)k >= sizeof path || size_of_path(path, &size) < 0) continue;
			counted = 1;
		}
		if (add(b, e->d_name, n, size) < 0) { closedir(d); return -1; }
	}
	int err = errno;
	closedir(d);
	if (err) { errno = err; return -1; }
	if (counted) sizecache_save(b);
	sort_names = b->names.s;
	if (b->n > 1) qsort(b->m, b->n, sizeof *b->m, by_name);
	return 0;
}

/* find message i again in cur/ after another client renamed it */
static int relocate(struct mbox *b, size_t i)
{
	struct msg *m = &b->m[i];
	const char *old = msg_name(b, i);
	DIR *d = opendir("cur");
	if (!d) return -1;
	struct dirent *e;
	int found = -1;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n > 255 || uniq_len(e->d_name, n) != m->uniq_len ||
		    memcmp(e->d_name, old, m->uniq_len) != 0)
			continue;
		m->name = b->names.len;
		if (buf_add(&b->names, e->d_name, n + 1) < 0) break;
		m->name_len = (unsigned short)n;
		found = 0;
		break;
	}
	closedir(d);
	if (found < 0) errno = ENOENT;
	return found;
}

int msg_open(struct mbox *b, size_t i)
{
	char path[300];
	for (int attempt = 0; attempt < 2; attempt++) {
		int k = snprintf(path, sizeof path, "cur/%s", msg_name(b, i));
		if (k < 0 || (size_t)k >= sizeof path) { errno = ENAMETOOLONG; return -1; }
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 || errno != ENOENT) return fd;
		if (attempt == 0 && relocate(b, i) < 0) return -1;
	}
	return -1;
}

size_t mbox_expunge(struct mbox *b)
{
	char path[300];
	size_t failed = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (!b->m[i].deleted) continue;
		int gone = 0;
		for (int attempt = 0; attempt < 2 && !gone; attempt++) {
			int k = snprintf(path, sizeof path, "cur/%s", msg_name(b, i));
			if (k < 0 || (size_t)k >= sizeof path) break;
			if (unlink(path) == 0) gone = 1;
			else if (errno != ENOENT) { log_sys("cannot delete %s", path); break; }
			else if (attempt == 0 && relocate(b, i) < 0) gone = 1;  /* already gone */
		}
		if (!gone) failed++;
	}
	return failed;
}

/* 64-bit FNV-1a, for unique names that are no valid UIDL */
static unsigned long long fnv(const char *p, size_t n, unsigned long long h)
{
	for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return h;
}

void msg_uidl(const struct mbox *b, size_t i, char *out, size_t max)
{
	const char *name = msg_name(b, i);
	size_t n = b->m[i].uniq_len;
	int ok = n > 0 && n <= POP3_UIDL_MAX && n < max;
	for (size_t k = 0; ok && k < n; k++)
		if ((unsigned char)name[k] < 0x21 || (unsigned char)name[k] > 0x7e) ok = 0;
	if (ok) {
		memcpy(out, name, n);
		out[n] = 0;
		return;
	}
	snprintf(out, max, "H%016llx%016llx", fnv(name, n, 0xcbf29ce484222325ULL),
	         fnv(name, n, 0x84222325cbf29ce4ULL));
}
