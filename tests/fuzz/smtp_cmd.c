/* smtp_cmd.c — fuzz target: SMTP command lines as yubin-smtpd reads
 * them. The input is a client's byte stream: rbuf_getline (the bounded
 * line reader every protocol program uses, POP3's included) cuts it into
 * lines; each line is split into verb and argument as smtpd's dispatch
 * does, and MAIL/RCPT arguments go through the path parser and every
 * ESMTP parameter parser (SIZE, NOTIFY, ORCPT, xtext). Beyond memory
 * safety: a parsed SIZE is never negative, xtext decode/encode round-trip,
 * decoded values hold no control byte (they become queue records), and
 * the reader never hands out more than its limit. */
#include "fuzz.h"
#include "addr.h"
#include "buf.h"
#include "esmtp.h"
#include "io.h"
#include "qfile.h"

#include <strings.h>
#include <sys/mman.h>

static void no_controls(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++) FUZZ_ASSERT((unsigned char)b->s[i] >= 32 && b->s[i] != 127);
}

static void param(const struct esmtp_param *p)
{
	FUZZ_ASSERT(p->klen > 0);
	if (!p->val) return;
	struct buf a = BUF_INIT, b = BUF_INIT, c = BUF_INIT;
	long long size;
	if (esmtp_size_parse(p->val, p->vlen, &size) == 0) FUZZ_ASSERT(size >= 0);
	char notify[64];
	if (esmtp_notify_parse(p->val, p->vlen, notify, sizeof notify) == 0)
		FUZZ_ASSERT(strnlen(notify, sizeof notify) < sizeof notify);
	if (esmtp_orcpt_parse(p->val, p->vlen, &a) == 0) {
		no_controls(&a);
		FUZZ_ASSERT(qrec_value_ok(a.s, a.len) || a.len >= QREC_MAX);
	}
	if (xtext_decode(p->val, p->vlen, &b) == 0) {
		no_controls(&b);
		FUZZ_ASSERT(xtext_encode(b.s ? b.s : "", b.len, &c) == 0);
		struct buf d = BUF_INIT;
		FUZZ_ASSERT(xtext_decode(c.s ? c.s : "", c.len, &d) == 0);
		FUZZ_ASSERT(d.len == b.len && (b.len == 0 || memcmp(d.s, b.s, b.len) == 0));
		buf_free(&d);
	}
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
}

/* mail.c's order: keyword, path, then parameters */
static void mail_or_rcpt(const char *arg, size_t len, const char *kw, int allow_empty)
{
	size_t k = strlen(kw);
	if (len < k || strncasecmp(arg, kw, k) != 0) return;
	arg += k;
	len -= k;
	while (len && *arg == ' ') { arg++; len--; }
	struct buf a = BUF_INIT;
	size_t used = 0;
	if (addr_parse_path(arg, len, allow_empty, &a, &used) == ADDR_OK) {
		FUZZ_ASSERT(used <= len);
		struct esmtp_param p;
		int r, count = 0;
		size_t last = used;
		while ((r = esmtp_param_next(arg, len, &used, &p)) == 1 && count++ < 64) {
			FUZZ_ASSERT(used > last && used <= len);
			FUZZ_ASSERT(p.key >= arg && p.key + p.klen <= arg + len);
			FUZZ_ASSERT(!p.val || (p.val >= arg && p.val + p.vlen <= arg + len));
			last = used;
			param(&p);
			(void)esmtp_key_is(&p, "SIZE");
		}
		FUZZ_ASSERT(r == 0 || r == -1 || count > 64);
	}
	buf_free(&a);
}

static void dispatch(char *line, size_t len)
{
	size_t v = 0;
	while (v < len && line[v] != ' ') v++;
	while (len > v && (line[len - 1] == ' ' || line[len - 1] == '\t')) len--;
	char *arg = line + v;
	size_t alen = len - v;
	while (alen && *arg == ' ') { arg++; alen--; }
	char *a = fuzz_dup((const uint8_t *)arg, alen, 1); /* smtpd NUL-terminates the argument */
	if (v == 4 && strncasecmp(line, "MAIL", 4) == 0) mail_or_rcpt(a, alen, "FROM:", 1);
	if (v == 4 && strncasecmp(line, "RCPT", 4) == 0) mail_or_rcpt(a, alen, "TO:", 0);
	if (v == 4 && strncasecmp(line, "VRFY", 4) == 0) {
		struct buf b = BUF_INIT;
		size_t used;
		(void)addr_parse_path(a, alen, 0, &b, &used);
		buf_free(&b);
	}
	free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin f = { data, size };
	size_t max = 16 + fin_byte(&f) * 4; /* line limits from tiny to 1036 */
	int fd = memfd_create("smtp", MFD_CLOEXEC);
	if (fd < 0) abort();
	if (f.n && write(fd, f.p, f.n) != (ssize_t)f.n) abort();
	lseek(fd, 0, SEEK_SET);
	static struct rbuf r;
	rbuf_init(&r, fd, 0);
	char *line = malloc(max);
	for (int lines = 0; lines < 10000; lines++) {
		size_t len = 0;
		int cr = 0;
		int st = rbuf_getline(&r, line, max, &len, &cr);
		if (st == IO_LONG) continue;
		if (st != IO_OK) break;
		FUZZ_ASSERT(len < max && line[len] == 0);
		if (memchr(line, 0, len)) continue; /* smtpd refuses NUL in commands */
		dispatch(line, len);
	}
	free(line);
	close(fd);
	return 0;
}
