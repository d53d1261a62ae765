/* sizecache.c — sizes already counted, in the Maildir file
 * "yubin-pop3.sizes": one "<size> <unique name>" line per message whose
 * file name carries no ",W=" field, sorted by name. File names are left
 * alone (IMAP and other readers key on them), so this is where a count
 * made in one session is kept for the next. It is only a cache: a bad or
 * missing file means counting again. Written (tmp + rename) only when a
 * session counted something, under the session lock. */
#include "pop3.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define CACHE_FILE "yubin-pop3.sizes"
#define CACHE_MAX ((size_t)256 << 20)

struct centry { const char *name; size_t len; unsigned long long size; };

static struct buf data;
static struct centry *ent;
static size_t nent;

static int cmp_key(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

static int by_key(const void *x, const void *y)
{
	const struct centry *a = x, *b = y;
	return cmp_key(a->name, a->len, b->name, b->len);
}

/* one line: digits, one space, a name without '/' or ':' or ',' */
static int parse_line(const char *p, size_t n, struct centry *e)
{
	unsigned long long v = 0;
	size_t i = 0;
	if (n == 0 || p[0] < '0' || p[0] > '9') return -1;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (unsigned)(p[i] - '0'), &v))
			return -1;
	if (i >= n || p[i] != ' ' || i + 1 == n || n - i - 1 > 255) return -1;
	e->name = p + i + 1;
	e->len = n - i - 1;
	e->size = v;
	return memchr(e->name, '/', e->len) || memchr(e->name, ':', e->len) ||
	       memchr(e->name, ',', e->len) ? -1 : 0;
}

void sizecache_load(void)
{
	int fd = open(CACHE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) return;
	struct stat st;
	data.max = CACHE_MAX;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size >= CACHE_MAX ||
	    buf_ready(&data, (size_t)st.st_size + 1) < 0) {
		close(fd);
		return;
	}
	for (;;) {
		if (buf_ready(&data, 65536) < 0) break;
		ssize_t n = read(fd, data.s + data.len, data.cap - data.len - 1);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) break;
		data.len += (size_t)n;
	}
	close(fd);
	size_t lines = 0;
	for (size_t i = 0; i < data.len; i++) lines += data.s[i] == '\n';
	ent = lines ? calloc(lines, sizeof *ent) : NULL;
	if (!ent) return;
	int sorted = 1;
	for (const char *p = data.s, *end = data.s + data.len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) break;   /* a torn last line is ignored */
		if (parse_line(p, (size_t)(nl - p), &ent[nent]) == 0) {
			if (nent && by_key(&ent[nent - 1], &ent[nent]) > 0) sorted = 0;
			nent++;
		}
		p = nl + 1;
	}
	if (!sorted) qsort(ent, nent, sizeof *ent, by_key);
}

int sizecache_find(const char *name, size_t len, unsigned long long *size)
{
	struct centry key = { name, len, 0 };
	const struct centry *e = nent ? bsearch(&key, ent, nent, sizeof *ent, by_key) : NULL;
	if (!e) return -1;
	*size = e->size;
	return 0;
}

static const struct mbox *sort_box;

static int by_uniq(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	return cmp_key(msg_name(sort_box, a), sort_box->m[a].uniq_len,
	               msg_name(sort_box, b), sort_box->m[b].uniq_len);
}

/* rewrite the cache with the sizes of the messages present now */
void sizecache_save(const struct mbox *b)
{
	size_t *order = b->n ? calloc(b->n, sizeof *order) : NULL, k = 0;
	if (b->n && !order) return;
	for (size_t i = 0; i < b->n; i++) {
		unsigned long long w;
		const char *name = msg_name(b, i);
		if (size_from_name(name, b->m[i].name_len, &w) < 0 && b->m[i].uniq_len &&
		    !memchr(name, '\n', b->m[i].uniq_len))
			order[k++] = i;
	}
	sort_box = b;
	if (k > 1) qsort(order, k, sizeof *order, by_uniq);
	struct buf out = BUF_INIT;
	out.max = CACHE_MAX;
	int bad = 0;
	for (size_t j = 0; j < k && !bad; j++) {
		size_t i = order[j];
		bad = buf_addnum(&out, b->m[i].size) < 0 || buf_addc(&out, ' ') < 0 ||
		      buf_add(&out, msg_name(b, i), b->m[i].uniq_len) < 0 || buf_addc(&out, '\n') < 0;
	}
	free(order);
	int fd = bad ? -1 : open(CACHE_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		bad = write_all(fd, out.s ? out.s : "", out.len) < 0;
		if (close(fd) < 0) bad = 1;
		if (bad || rename(CACHE_FILE ".tmp", CACHE_FILE) < 0) {
			log_sys("cannot write %s", CACHE_FILE);
			unlink(CACHE_FILE ".tmp");
		}
	}
	buf_free(&out);
}
