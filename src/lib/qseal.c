/* qseal.c — the seal of a queue file (qseal.h). The hash only has to
 * tell bytes that reached the disk from zeros, stale blocks or a torn
 * tail, so it is a plain 64-bit multiply-rotate over little-endian words
 * with a final avalanche, not a cryptographic one. */
#include "qseal.h"
#include "io.h"

#include <string.h>

#define HEAD_MAX 128 /* "V1", "T<secs>" and the K line fit in this */

static uint64_t mix(uint64_t h, uint64_t w)
{
	h ^= w * 0x9E3779B97F4A7C15ULL;
	h = (h << 29) | (h >> 35);
	return h * 0xBF58476D1CE4E5B9ULL + 0x94D049BB133111EBULL;
}

static uint64_t word(const unsigned char *p)
{
	uint64_t w = 0;
	for (int i = 7; i >= 0; i--) w = (w << 8) | p[i];
	return w;
}

void qseal_init(struct qseal *q, const char *id)
{
	memset(q, 0, sizeof *q);
	/* the id seeds the hash without counting in the length */
	for (; id && *id; id++) q->h = mix(q->h ^ 0xA5, (unsigned char)*id);
}

void qseal_add(struct qseal *q, const void *data, size_t n)
{
	const unsigned char *p = data;
	q->len += n;
	while (n && q->ntail) {
		q->tail[q->ntail++] = *p++;
		n--;
		if (q->ntail == 8) {
			q->h = mix(q->h, word(q->tail));
			q->ntail = 0;
		}
	}
	for (; n >= 8; p += 8, n -= 8) q->h = mix(q->h, word(p));
	memcpy(q->tail, p, n);
	q->ntail += (unsigned)n;
}

static uint64_t finish(const struct qseal *q)
{
	unsigned char last[8] = { 0 };
	memcpy(last, q->tail, q->ntail);
	uint64_t h = mix(mix(q->h, word(last)), q->len);
	h ^= h >> 31;
	h *= 0xD6E8FEB86659FD93ULL;
	return h ^ (h >> 32);
}

static void hex16(char *out, uint64_t v)
{
	static const char digits[] = "0123456789ABCDEF";
	for (int i = 15; i >= 0; i--, v >>= 4) out[i] = digits[v & 15];
}

void qseal_line(const struct qseal *q, char out[QSEAL_LINE])
{
	out[0] = 'K';
	if (q) {
		hex16(out + 1, q->len);
		hex16(out + 17, finish(q));
	} else {
		memset(out + 1, '0', 32);
	}
	out[QSEAL_LINE - 1] = '\n';
}

/* Where the K line starts: it is the third line; -1 when there is none
 * (a file from before seals), -2 when the file does not start as a queue
 * file does. */
static ssize_t seal_at(const char *head, size_t n)
{
	if (n < 3 || memcmp(head, "V1\n", 3) != 0) return -2;
	const char *t = memchr(head + 3, '\n', n - 3);
	if (!t || head[3] != 'T') return -2;
	size_t k = (size_t)(t + 1 - head);
	return k < n && head[k] == 'K' ? (ssize_t)k : -1;
}

int qseal_check(int fd, const char *id)
{
	char head[HEAD_MAX], want[QSEAL_LINE], buf[65536];
	ssize_t n = pread_full(fd, head, sizeof head, 0);
	if (n < 0) return -1;
	ssize_t at = seal_at(head, (size_t)n);
	if (at == -1) return 1;
	if (at < 0 || (size_t)at + QSEAL_LINE > (size_t)n) return 0;

	/* hash what follows, with every envelope R record's state byte read
	 * as ' ', the byte the writer wrote (qmgr marks it 'D' later); and
	 * again without the id, for the seals written before it was sealed */
	struct qseal q, legacy;
	qseal_init(&q, id);
	qseal_init(&legacy, NULL);
	off_t off = at + QSEAL_LINE;
	int in_envelope = 1, line_start = 1, state_next = 0;
	for (;;) {
		ssize_t k = pread_full(fd, buf, sizeof buf, off);
		if (k < 0) return -1;
		if (k == 0) break;
		for (ssize_t i = 0; i < k && in_envelope; i++) {
			if (state_next) buf[i] = ' ';
			state_next = line_start && buf[i] == 'R';
			if (line_start && buf[i] == '\n') in_envelope = 0; /* the blank line */
			line_start = buf[i] == '\n';
		}
		qseal_add(&q, buf, (size_t)k);
		qseal_add(&legacy, buf, (size_t)k);
		off += k;
	}
	qseal_line(&q, want);
	if (memcmp(head + at, want, QSEAL_LINE) == 0) return 1;
	qseal_line(&legacy, want);
	return memcmp(head + at, want, QSEAL_LINE) == 0;
}
