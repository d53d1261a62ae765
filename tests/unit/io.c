/* io.c — unit tests for buffered reads (src/lib/io.c) and bounded
 * strings (src/lib/buf.c). */
#include "tap.h"
#include "buf.h"
#include "io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static struct rbuf r;

static void feed(const char *data, size_t n)
{
	int p[2];
	if (pipe(p) < 0) return;
	if (write(p[1], data, n) != (ssize_t)n) return;
	close(p[1]);
	rbuf_init(&r, p[0], 0);
}

int main(void)
{
	char line[16];
	size_t len;
	int cr;

	feed("HELO x\r\nNOOP\nab\0c\r\n", 19);
	ok(rbuf_getline(&r, line, sizeof line, &len, &cr) == IO_OK && len == 6 && cr && !memcmp(line, "HELO x", 6), "CRLF line");
	ok(rbuf_getline(&r, line, sizeof line, &len, &cr) == IO_OK && len == 4 && !cr, "bare LF line reported without CR");
	ok(rbuf_getline(&r, line, sizeof line, &len, &cr) == IO_OK && len == 4 && line[2] == 0, "NUL kept inside, length is the truth");
	ok(rbuf_getline(&r, line, sizeof line, &len, &cr) == IO_EOF && len == 0, "EOF");
	close(r.fd);

	feed("0123456789abcdefXYZ\nnext\n", 25);
	ok(rbuf_getline(&r, line, sizeof line, &len, &cr) == IO_LONG, "overlong line reported");
	ok(rbuf_getline(&r, line, sizeof line, &len, &cr) == IO_OK && !strcmp(line, "next"), "overlong line skipped to its end");
	close(r.fd);

	feed("partial", 7);
	ok(rbuf_getline(&r, line, sizeof line, &len, &cr) == IO_EOF && len == 7, "truncated last line returned with EOF");
	close(r.fd);

	int p[2];
	ok(pipe(p) == 0, "pipe");
	rbuf_init(&r, p[0], 50);
	ok(rbuf_getline(&r, line, sizeof line, &len, &cr) == IO_TIMEOUT, "read timeout");
	close(p[0]);
	close(p[1]);

	struct buf b = BUF_INIT;
	b.max = 8;
	ok(buf_adds(&b, "12345678") == 0 && b.len == 8, "fill to the cap");
	errno = 0;
	ok(buf_addc(&b, 'x') < 0 && errno == E2BIG && b.len == 8, "cap enforced");
	ok(buf_ready(&b, (size_t)-1) < 0, "overflowing size refused");
	buf_reset(&b);
	ok(buf_addnum(&b, 18446744073709551615ULL) < 0, "20 digits exceed an 8-byte cap");
	b.max = 0;
	ok(buf_addnum(&b, 18446744073709551615ULL) == 0 && !strcmp(b.s, "18446744073709551615"), "addnum");
	buf_free(&b);
	/* pread_full: all of a range, or what is there up to end of file */
	char tpath[] = "/tmp/io-pread.XXXXXX";
	int tf = mkstemp(tpath);
	ok(tf >= 0 && write(tf, "0123456789", 10) == 10, "pread_full: file written");
	char got[16] = { 0 };
	ok(pread_full(tf, got, 4, 3) == 4 && memcmp(got, "3456", 4) == 0, "pread_full reads the range");
	ok(pread_full(tf, got, 8, 6) == 4 && memcmp(got, "6789", 4) == 0, "pread_full stops at end of file");
	ok(pread_full(-1, got, 1, 0) == -1, "pread_full: -1 on a bad fd");
	close(tf);
	unlink(tpath);
	return done_testing();
}
