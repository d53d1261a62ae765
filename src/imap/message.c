/* message.c — one message file as IMAP sees it: read whole, bare LF turned
 * into CRLF (IMAP sizes and offsets count CRLF), its RFC822.SIZE (from a
 * ",W=" in the name when a writer left one, else counted once and kept)
 * and its INTERNALDATE (the file's mtime). */
#include "imap.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MESSAGE_MAX ((size_t)1 << 30)

/* LF -> CRLF in place at the end of b: src/n are the raw bytes */
static int to_crlf(struct buf *b, const char *src, size_t n)
{
	size_t extra = 0;
	const char *p = src, *e = src + n;
	while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		if (p == src || p[-1] != '\r') extra++;
		p++;
	}
	if (buf_ready(b, n + extra) < 0) return -1;
	char *w = b->s + b->len;
	p = src;
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t k = nl ? (size_t)(nl - p) : (size_t)(e - p);
		memcpy(w, p, k);
		w += k;
		if (!nl) break;
		if (!(nl > src && nl[-1] == '\r')) *w++ = '\r';
		*w++ = '\n';
		p = nl + 1;
	}
	b->len = (size_t)(w - b->s);
	b->s[b->len] = 0;
	return 0;
}

int message_load(struct folder *f, struct msg *m, struct message *msg)
{
	char path[1200];
	buf_reset(&msg->text);
	msg->text.max = MESSAGE_MAX * 2;
	msg->have_mime = 0;
	if (m->gone || folder_path(f, m, path, sizeof path) < 0) { errno = ENOENT; return -1; }
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* renamed by another session: find its new name */
		folder_sync(f, 1);
		if (m->gone || folder_path(f, m, path, sizeof path) < 0) return -1;
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size > MESSAGE_MAX) { close(fd); errno = EFBIG; return -1; }
	msg->mtime = st.st_mtim.tv_sec;
	static char *raw;
	static size_t rawcap;
	size_t want = (size_t)st.st_size;
	if (want + 1 > rawcap) {
		char *r = realloc(raw, want + 1);
		if (!r) { close(fd); return -1; }
		raw = r;
		rawcap = want + 1;
	}
	size_t got = 0;
	/* the size fstat gave is all we take: a file still growing is not
	 * a Maildir message, and one read saves a syscall per message */
	while (got < want) {
		ssize_t k = read(fd, raw + got, want - got);
		if (k < 0 && errno == EINTR) continue;
		if (k < 0) { close(fd); return -1; }
		if (k == 0) break;
		got += (size_t)k;
	}
	close(fd);
	if (to_crlf(&msg->text, raw, got) < 0) return -1;
	m->vsize = msg->text.len;
	if (f->use_cache && !cache_get(f, m, NULL, NULL, NULL, NULL))
		cache_put(f, m, msg->text.s, header_length(msg->text.s, msg->text.len), m->vsize, msg->mtime);
	return 0;
}

size_t header_length(const char *s, size_t n)
{
	if (n >= 2 && s[0] == '\r' && s[1] == '\n') return 2;
	if (n >= 1 && s[0] == '\n') return 1;
	for (const char *p = s, *e = s + n; p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++) {
		size_t i = (size_t)(p - s);
		if (i + 1 < n && s[i + 1] == '\n') return i + 2;
		if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') return i + 3;
	}
	return n;
}

int message_head(struct folder *f, struct msg *m, const char **h, size_t *hlen)
{
	static struct message msg;
	if (cache_get(f, m, h, hlen, NULL, NULL)) return 0;
	if (message_load(f, m, &msg) < 0) return -1;
	*h = msg.text.s ? msg.text.s : "";
	*hlen = header_length(*h, msg.text.len);
	return 0;
}

void message_free(struct message *msg)
{
	buf_free(&msg->text);
	mime_free(&msg->mime);
	msg->have_mime = 0;
}

/* ",W=<n>" in the unique part is the CRLF size (Dovecot's convention) */
static int name_vsize(const struct msg *m, uint64_t *v)
{
	const char *base = m->name + 4;
	for (size_t i = 0; i + 3 < m->baselen; i++) {
		if (base[i] == ',' && base[i + 1] == 'W' && base[i + 2] == '=') {
			uint64_t x = 0;
			size_t j = i + 3;
			while (j < m->baselen && base[j] >= '0' && base[j] <= '9') x = x * 10 + (uint64_t)(base[j++] - '0');
			if (j > i + 3) { *v = x; return 1; }
		}
	}
	return 0;
}

uint64_t message_vsize(struct folder *f, struct msg *m)
{
	if (m->vsize) return m->vsize;
	if (name_vsize(m, &m->vsize)) return m->vsize;
	if (cache_get(f, m, NULL, NULL, &m->vsize, NULL) && m->vsize) return m->vsize;
	struct message msg = { BUF_INIT, 0, 0, { 0 } };
	if (message_load(f, m, &msg) == 0) m->vsize = msg.text.len;
	message_free(&msg);
	return m->vsize;
}

int message_internaldate(struct folder *f, struct msg *m, time_t *t)
{
	char path[1200];
	struct stat st;
	if (cache_get(f, m, NULL, NULL, NULL, t)) return 0;
	if (folder_path(f, m, path, sizeof path) < 0) return -1;
	if (stat(path, &st) < 0) {
		if (errno != ENOENT) return -1;
		folder_sync(f, 1);
		if (m->gone || folder_path(f, m, path, sizeof path) < 0 || stat(path, &st) < 0) return -1;
	}
	*t = st.st_mtim.tv_sec;
	return 0;
}

/* "17-Jul-1996 02:44:25 -0700" in local time */
void put_date(struct buf *b, time_t t)
{
	static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm;
	localtime_r(&t, &tm);
	long off = tm.tm_gmtoff / 60;
	char sign = off < 0 ? '-' : '+';
	if (off < 0) off = -off;
	buf_addf(b, "\"%02d-%.3s-%04d %02d:%02d:%02d %c%02ld%02ld\"", tm.tm_mday, mon + 3 * tm.tm_mon,
	         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 60, off % 60);
}
