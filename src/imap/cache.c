/* cache.c — "yubin-cache" in a folder: for each UID its RFC822.SIZE, its
 * INTERNALDATE and its header (CRLF form), so ENVELOPE, header fetches,
 * SEARCH on header fields, SORT and THREAD need not open message files.
 * A message's header never changes under its UID, so records are only
 * ever appended (O_APPEND, one write per batch); a torn or foreign file is
 * rewritten (temp + rename) with the good records, and dead records
 * (expunged UIDs) are dropped the same way once they outnumber the live.
 *
 *   yubin-cache 1 V<uidvalidity>
 *   R <uid> <vsize> <mtime> <header length>\n<header bytes>\n            */
#include "imap.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE "yubin-cache"
#define CACHE_MAX ((off_t)512 << 20)
#define HEADER_MAX 65536

struct rec {
	uint32_t uid;
	uint32_t hlen;
	uint64_t vsize;
	long long mtime;
	const char *hdr;
	int owned;           /* hdr is malloc'ed (not yet in the file) */
};

struct hcache {
	uint32_t validity;
	char *text;
	struct rec *r;
	size_t n, cap;
	uint32_t *slot;      /* uid hash -> record index + 1 */
	size_t mask;
	struct buf pending;  /* records to append */
	int rewrite;         /* the file needs rewriting, not appending */
	int loaded;
};

static size_t hash_uid(uint32_t u, size_t mask) { return (size_t)(u * 2654435761u) & mask; }

static int rehash(struct hcache *c)
{
	size_t size = 64;
	while (size < c->n * 2 + 2) size *= 2;
	uint32_t *s = calloc(size, sizeof *s);
	if (!s) return -1;
	free(c->slot);
	c->slot = s;
	c->mask = size - 1;
	for (size_t i = 0; i < c->n; i++) {
		size_t h = hash_uid(c->r[i].uid, c->mask);
		while (s[h]) h = (h + 1) & c->mask;
		s[h] = (uint32_t)i + 1;
	}
	return 0;
}

static struct rec *find(struct hcache *c, uint32_t uid)
{
	if (!c->slot) return NULL;
	size_t h = hash_uid(uid, c->mask);
	while (c->slot[h]) {
		struct rec *r = &c->r[c->slot[h] - 1];
		if (r->uid == uid) return r;
		h = (h + 1) & c->mask;
	}
	return NULL;
}

static int add(struct hcache *c, const struct rec *x)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct rec *r = realloc(c->r, cap * sizeof *r);
		if (!r) return -1;
		c->r = r;
		c->cap = cap;
	}
	c->r[c->n++] = *x;
	if (c->n * 2 + 2 > c->mask + 1) return rehash(c);
	size_t h = hash_uid(x->uid, c->mask);
	while (c->slot[h]) h = (h + 1) & c->mask;
	c->slot[h] = (uint32_t)c->n;
	return 0;
}

static void load(struct folder *f, struct hcache *c)
{
	c->loaded = 1;
	c->validity = f->uidvalidity;
	if (rehash(c) < 0) return;
	char path[1200];
	snprintf(path, sizeof path, "%s/" CACHE, f->dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size > CACHE_MAX || !(c->text = malloc((size_t)st.st_size + 1))) {
		close(fd);
		c->rewrite = 1;
		return;
	}
	size_t len = 0;
	while (len < (size_t)st.st_size) {
		ssize_t k = read(fd, c->text + len, (size_t)st.st_size - len);
		if (k <= 0) break;
		len += (size_t)k;
	}
	close(fd);
	c->text[len] = 0;
	char *p = c->text, *end = c->text + len, *nl = memchr(p, '\n', len);
	unsigned long v;
	if (!nl || sscanf(p, "yubin-cache 1 V%lu", &v) != 1 || v != f->uidvalidity) {
		c->rewrite = 1; /* another UIDVALIDITY or not ours: start over */
		return;
	}
	size_t live = 0;
	for (p = nl + 1; p < end;) {
		nl = memchr(p, '\n', (size_t)(end - p));
		unsigned long uid, hlen;
		unsigned long long vsize;
		long long mtime;
		if (!nl || sscanf(p, "R %lu %llu %lld %lu", &uid, &vsize, &mtime, &hlen) != 4 || hlen > HEADER_MAX ||
		    uid > UINT32_MAX || (size_t)(end - nl - 1) < hlen + 1 || nl[1 + hlen] != '\n') {
			c->rewrite = 1; /* torn tail: keep what came before */
			break;
		}
		struct rec r = { (uint32_t)uid, (uint32_t)hlen, vsize, mtime, nl + 1, 0 };
		if (!find(c, r.uid) && add(c, &r) < 0) break;
		p = nl + 2 + hlen;
	}
	for (size_t i = 0; i < f->n; i++) live += find(c, f->m[i].uid) != NULL;
	if (c->n > 1000 && c->n > 2 * live) c->rewrite = 1;
}

static struct hcache *get(struct folder *f)
{
	if (!f->cache) {
		f->cache = calloc(1, sizeof *f->cache);
		if (!f->cache) return NULL;
	}
	if (!f->cache->loaded) load(f, f->cache);
	return f->cache;
}

int cache_get(struct folder *f, struct msg *m, const char **hdr, size_t *hlen, uint64_t *vsize, time_t *mtime)
{
	struct hcache *c = get(f);
	struct rec *r = c ? find(c, m->uid) : NULL;
	if (!r) return 0;
	if (hdr) *hdr = r->hdr;
	if (hlen) *hlen = r->hlen;
	if (vsize) *vsize = r->vsize;
	if (mtime) *mtime = (time_t)r->mtime;
	return 1;
}

void cache_put(struct folder *f, struct msg *m, const char *hdr, size_t hlen, uint64_t vsize, time_t mtime)
{
	struct hcache *c = get(f);
	if (!c || hlen > HEADER_MAX || find(c, m->uid)) return;
	char *copy = malloc(hlen + 1);
	if (!copy) return;
	memcpy(copy, hdr, hlen);
	copy[hlen] = 0;
	struct rec r = { m->uid, (uint32_t)hlen, vsize, (long long)mtime, copy, 1 };
	if (add(c, &r) < 0) { free(copy); return; }
	if (buf_addf(&c->pending, "R %u %llu %lld %zu\n", m->uid, (unsigned long long)vsize, (long long)mtime, hlen) < 0 ||
	    buf_add(&c->pending, hdr, hlen) < 0 || buf_addc(&c->pending, '\n') < 0)
		c->rewrite = 1;
	if (c->pending.len > (1 << 20)) cache_flush(f);
}

/* the whole cache, live records only, through a temp file */
static int rewrite(struct folder *f, struct hcache *c)
{
	struct buf b = BUF_INIT;
	b.max = (size_t)CACHE_MAX;
	int bad = buf_addf(&b, "yubin-cache 1 V%u\n", f->uidvalidity) < 0;
	for (size_t i = 0; i < f->n && !bad; i++) {
		struct rec *r = find(c, f->m[i].uid);
		if (!r) continue;
		bad = buf_addf(&b, "R %u %llu %lld %u\n", r->uid, (unsigned long long)r->vsize, r->mtime, r->hlen) < 0 ||
		      buf_add(&b, r->hdr, r->hlen) < 0 || buf_addc(&b, '\n') < 0;
	}
	char path[1200], tmp[1300];
	snprintf(path, sizeof path, "%s/" CACHE, f->dir);
	snprintf(tmp, sizeof tmp, "%s/" CACHE ".%ld.tmp", f->dir, (long)getpid());
	int fd = bad ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, b.s, b.len) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		if (fd >= 0) unlink(tmp);
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	return 0;
}

void cache_flush(struct folder *f)
{
	struct hcache *c = f->cache;
	if (!c || (!c->pending.len && !c->rewrite)) {
		if (c) buf_reset(&c->pending);
		return;
	}
	if (c->rewrite) {
		if (rewrite(f, c) == 0) c->rewrite = 0;
		buf_reset(&c->pending);
		return;
	}
	char path[1200];
	snprintf(path, sizeof path, "%s/" CACHE, f->dir);
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* first records: the file starts with its header line */
		if (rewrite(f, c) == 0) buf_reset(&c->pending);
		return;
	}
	if (fd >= 0) {
		if (write_all(fd, c->pending.s, c->pending.len) < 0) log_sys("%s: cannot append", path);
		close(fd);
	}
	buf_reset(&c->pending);
}

void cache_free(struct folder *f)
{
	struct hcache *c = f->cache;
	if (!c) return;
	for (size_t i = 0; i < c->n; i++)
		if (c->r[i].owned) free((char *)c->r[i].hdr);
	free(c->r);
	free(c->slot);
	free(c->text);
	buf_free(&c->pending);
	free(c);
	f->cache = NULL;
}
