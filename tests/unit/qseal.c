/* qseal.c — unit tests for the queue file's seal (src/lib/qseal.c): the
 * hash does not depend on how the bytes were split, and qseal_check
 * tells a whole file from torn, truncated, extended, unsealed and
 * garbage ones and from another file's bytes under its name, reading R
 * state bytes as the writer wrote them. */
#include "tap.h"
#include "qseal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char path[] = "/tmp/qseal-test.XXXXXX";

#define ID "6B04217CBDD4FBDA003"

/* a file sealed under id: head, then the K line for body, then body */
static size_t sealed_as(const char *id, char *out, size_t max, const char *body, size_t n)
{
	struct qseal q;
	char line[QSEAL_LINE];
	qseal_init(&q, id);
	qseal_add(&q, body, n);
	qseal_line(&q, line);
	const char *head = "V1\nT1700000000\n";
	size_t h = strlen(head);
	if (h + QSEAL_LINE + n > max) abort();
	memcpy(out, head, h);
	memcpy(out + h, line, QSEAL_LINE);
	memcpy(out + h + QSEAL_LINE, body, n);
	return h + QSEAL_LINE + n;
}

static size_t sealed(char *out, size_t max, const char *body, size_t n)
{
	return sealed_as(ID, out, max, body, n);
}

/* qseal_check of p as the file named id */
static int check_as(const char *id, const char *p, size_t n)
{
	int fd = open(path, O_RDWR | O_TRUNC);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n) abort();
	int r = qseal_check(fd, id);
	close(fd);
	return r;
}

static int check(const char *p, size_t n) { return check_as(ID, p, n); }

int main(void)
{
	int fd = mkstemp(path);
	if (fd < 0) abort();
	close(fd);

	/* the hash of a split stream is the hash of the whole */
	static char big[200000];
	for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7 + i / 13);
	struct qseal a, b;
	char la[QSEAL_LINE], lb[QSEAL_LINE];
	qseal_init(&a, ID);
	qseal_add(&a, big, sizeof big);
	qseal_line(&a, la);
	int same = 1;
	for (size_t step = 1; step < 20; step += 3) {
		qseal_init(&b, ID);
		for (size_t i = 0; i < sizeof big; i += step)
			qseal_add(&b, big + i, i + step > sizeof big ? sizeof big - i : step);
		qseal_line(&b, lb);
		same &= memcmp(la, lb, QSEAL_LINE) == 0;
	}
	ok(same, "hash independent of the split into pieces");
	ok(la[0] == 'K' && la[QSEAL_LINE - 1] == '\n', "K line shape");
	ok(memcmp(la + 1, "0000000000030D40", 16) == 0, "length field: 200000 in hex");
	big[99999] ^= 1;
	qseal_init(&b, ID);
	qseal_add(&b, big, sizeof big);
	qseal_line(&b, lb);
	ok(memcmp(la, lb, QSEAL_LINE) != 0, "one flipped bit changes the hash");
	char zero[QSEAL_LINE];
	qseal_line(NULL, zero);
	ok(zero[0] == 'K' && zero[1] == '0' && zero[32] == '0', "placeholder is zeros");

	static char file[300000];
	const char *env = "Sa@b.test\nR c@d.test\t\t\nR e@f.test\t\t\n\nSubject: x\n\nR not a record\n";
	size_t n = sealed(file, sizeof file, env, strlen(env));
	ok(check(file, n) == 1, "whole sealed file");
	ok(check_as("6B04217CBDD4FBDA004", file, n) == 0, "the same bytes under another name (a reused file's old bytes): torn");
	size_t m = sealed_as(NULL, file, sizeof file, env, strlen(env));
	ok(check(file, m) == 1, "a seal from before ids were sealed still passes");
	file[m - 2] ^= 1;
	ok(check(file, m) == 0, "and such a file torn does not");
	n = sealed(file, sizeof file, env, strlen(env));
	char *st = strstr(file, "R c@d") + 1;
	*st = 'D';
	ok(check(file, n) == 1, "a recipient marked done still matches");
	*st = ' ';
	char *body = strstr(file, "R not") + 1;
	*body = 'X';
	ok(check(file, n) == 0, "a changed byte after the envelope: torn");
	*body = ' ';
	ok(check(file, n - 1) == 0, "truncated: torn");
	file[n] = 'x';
	ok(check(file, n + 1) == 0, "a byte too many: torn");
	memcpy(strchr(file, 'K'), zero, QSEAL_LINE);
	ok(check(file, n) == 0, "placeholder left: torn");
	n = sealed(file, sizeof file, env, strlen(env));
	memset(file + 16 + QSEAL_LINE + 4, 0, 8); /* stale blocks: inside the envelope */
	ok(check(file, n) == 0, "zeros where the bytes should be: torn");
	memset(file, 0, n);
	ok(check(file, n) == 0, "a file of zeros: torn");
	ok(check("", 0) == 0, "an empty file: torn");
	ok(check("V1\nT1\nK12", 9) == 0, "cut inside the K line: torn");
	const char *old = "V1\nT1700000000\nSa@b\nR x@y\t\t\n\nbody\n";
	ok(check(old, strlen(old)) == 1, "a file from before seals is whole");
	ok(check("garbage\n", 8) == 0, "garbage: torn");

	static char msg[sizeof big + 64];
	size_t e = strlen(env) - strlen("Subject: x\n\nR not a record\n");
	memcpy(msg, env, e);
	memcpy(msg + e, big, sizeof big);
	n = sealed(file, sizeof file, msg, e + sizeof big);
	ok(check(file, n) == 1, "a 200 KB message, read in pieces, matches");

	unlink(path);
	return done_testing();
}
