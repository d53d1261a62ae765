/* qfile.c — unit tests for the queue file parser (src/lib/qfile.c). */
#include "tap.h"
#include "qfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static int parse(const char *s, struct qenv *e) { return qenv_parse(s, strlen(s), e); }

int main(void)
{
	struct qenv e;
	const char *good = "V1\nT1700000000\nSa@b.test\nR c@d.test\t\t\nRDe@f.test\tNEVER\trfc822;e@f.test\nC192.0.2.1\n\nbody\n";
	ok(parse(good, &e) == 0, "well-formed envelope parses");
	ok(e.arrival == 1700000000, "arrival time");
	is_str(e.sender, "a@b.test", "sender");
	ok(e.nrcpt == 2, "two recipients");
	is_str(e.rcpt[0].addr, "c@d.test", "first recipient");
	ok(e.rcpt[0].state == ' ' && e.rcpt[1].state == 'D', "state bytes");
	is_str(e.rcpt[1].notify, "NEVER", "notify");
	is_str(e.rcpt[1].orcpt, "rfc822;e@f.test", "orcpt");
	is_str(e.client, "192.0.2.1", "client");
	ok(good[e.msg_off] == 'b', "message offset after the blank line");
	ok(good[e.rcpt[0].state_off] == ' ', "state offset points at the state byte");
	qenv_free(&e);

	ok(parse("V1\nS\nR x@y\t\t\n\n", &e) == 0 && !*e.sender, "null sender");
	qenv_free(&e);
	ok(parse("V1\nSa@b\nUSMTPUTF8\nR x@y\t\t\n\n", &e) == 0 && e.smtputf8, "U record: SMTPUTF8 mail");
	qenv_free(&e);
	ok(parse("V1\nSa@b\nR x@y\t\t\n\n", &e) == 0 && !e.smtputf8, "no U record (older files): not SMTPUTF8");
	qenv_free(&e);
	ok(parse("V1\nSa@b\n\n", &e) < 0, "no recipient refused");
	ok(parse("V1\nR x@y\t\t\n\n", &e) < 0, "no sender refused");
	ok(parse("V1\nSa@b\nR x@y\t\t\n", &e) < 0, "truncated (no blank line) refused");
	ok(parse("V2\nSa@b\nR x@y\t\t\n\n", &e) < 0, "unknown version refused");
	ok(parse("V1\nSa@b\nRXx@y\t\t\n\n", &e) < 0, "bad state byte refused");
	ok(parse("V1\nSa@b\nR x@y\t\n\n", &e) < 0, "recipient without all fields refused");
	ok(parse("V1\nSa@b\nZzz\nR x@y\t\t\n\n", &e) < 0, "unknown record refused");
	ok(parse("V1\nSa@b\nTabc\nR x@y\t\t\n\n", &e) < 0, "bad time refused");
	ok(qenv_parse("V1\nSa\0b\nR x@y\t\t\n\n", 16, &e) < 0, "NUL inside a record refused");
	ok(parse("V1\nSa\r@b\nR x@y\t\t\n\n", &e) < 0, "CR inside a record refused");
	ok(parse("", &e) < 0, "empty refused");

	ok(qid_valid("6B0376DD59EFBA72112"), "queue id valid");
	ok(!qid_valid("../etc"), "path in id refused");
	ok(!qid_valid("abc"), "short id refused");
	ok(!qid_valid("6b0376dd59efba72112"), "lower case refused");
	ok(qrec_value_ok("abc", 3) && !qrec_value_ok("a\nb", 3), "record values");

	char path[] = "/tmp/yubin-qfile-XXXXXX";
	int fd = mkstemp(path);
	ok(write(fd, good, strlen(good)) == (ssize_t)strlen(good), "write a queue file");
	ok(qenv_read(fd, &e) == 0 && e.nrcpt == 2, "qenv_read from a file");
	ok(qenv_mark(fd, &e, 0, 'D', 1) == 0 && e.rcpt[0].state == 'D', "mark recipient done");
	qenv_free(&e);
	ok(qenv_read(fd, &e) == 0 && e.rcpt[0].state == 'D', "mark persisted in place");
	ok(qenv_mark(fd, &e, 9, 'D', 0) < 0, "mark out of range refused");
	qenv_free(&e);
	/* a big envelope spanning several reads */
	int wr = ftruncate(fd, 0) == 0;
	lseek(fd, 0, SEEK_SET);
	wr &= write(fd, "V1\nSa@b\n", 8) == 8;
	for (int i = 0; i < 3000; i++) {
		char line[64];
		int n = snprintf(line, sizeof line, "R user%d@example.test\t\t\n", i);
		wr &= write(fd, line, (size_t)n) == n;
	}
	wr &= write(fd, "\nmsg\n", 5) == 5;
	ok(wr, "wrote a big envelope");
	ok(qenv_read(fd, &e) == 0 && e.nrcpt == 3000, "3000 recipients across reads");
	qenv_free(&e);
	close(fd);
	unlink(path);
	return done_testing();
}
