/* addr.c — fuzz target: mail addresses. RFC 5321 paths as MAIL FROM and
 * RCPT TO give them (addr_parse_path and the helpers smtpd and local
 * apply to the result) and RFC 5322 address lists as IMAP ENVELOPE reads
 * them (mime_addr_list). Beyond memory safety: a parsed path is
 * NUL-terminated, holds no CR/LF/NUL (it becomes a queue record and a
 * header), has a lower-case domain, and parses to itself again. */
#include "fuzz.h"
#include "addr.h"
#include "buf.h"
#include "mime.h"

#include <ctype.h>

static void check_path(const char *in, size_t n, int allow_empty)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	size_t used = 0;
	if (addr_parse_path(in, n, allow_empty, &a, &used) != ADDR_OK) { buf_free(&a); return; }
	FUZZ_ASSERT(used <= n);
	FUZZ_ASSERT(a.s != NULL && a.s[a.len] == 0 && strlen(a.s) == a.len);
	FUZZ_ASSERT(!strpbrk(a.s, "\r\n"));
	FUZZ_ASSERT(allow_empty || a.len > 0);
	const char *loc, *dom;
	size_t ll, dl;
	addr_split(a.s, &loc, &ll, &dom, &dl);
	FUZZ_ASSERT(ll + dl <= a.len);
	for (size_t i = 0; i < dl; i++) FUZZ_ASSERT(!isupper((unsigned char)dom[i]));
	(void)addr_domain(a.s);
	(void)addr_has_route_tricks(a.s);
	(void)addr_is_fqdn(a.s);
	(void)addr_starts_with_dash(a.s);
	if (addr_strip_extension(a.s, &b) == 1) FUZZ_ASSERT(b.len < a.len);
	buf_reset(&b);
	if (a.len) (void)addr_qualify(a.s, &b);
	/* idempotent: the canonical form reads back as itself */
	struct buf w = BUF_INIT, c = BUF_INIT;
	size_t u2;
	buf_addc(&w, '<');
	buf_add(&w, a.s, a.len);
	buf_addc(&w, '>');
	FUZZ_ASSERT(addr_parse_path(w.s, w.len, allow_empty, &c, &u2) == ADDR_OK);
	FUZZ_ASSERT(u2 == w.len && c.len == a.len && memcmp(c.s, a.s, a.len) == 0);
	buf_free(&w);
	buf_free(&c);
	buf_free(&a);
	buf_free(&b);
}

static int on_addr(const struct mime_addr *m, void *arg)
{
	const char *base = ((const char **)arg)[0], *end = ((const char **)arg)[1];
	(void)base; (void)end;
	/* touch every byte handed out: ASan tells when one lies outside */
	volatile unsigned sum = 0;
	const char *ps[] = { m->name, m->route, m->local, m->domain };
	size_t ns[] = { m->name_len, m->route_len, m->local_len, m->domain_len };
	for (int k = 0; k < 4; k++)
		for (size_t i = 0; ps[k] && i < ns[k]; i++) sum += (unsigned char)ps[k][i];
	(void)sum;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin f = { data, size };
	unsigned sel = fin_byte(&f);
	char *p = fuzz_dup(f.p, f.n, 0);
	switch (sel % 3) {
	case 0: check_path(p, f.n, 0); break;
	case 1: check_path(p, f.n, 1); break;
	default: {
		struct buf scratch = BUF_INIT;
		const char *range[2] = { p, p + f.n };
		(void)mime_addr_list(p, f.n, &scratch, on_addr, range);
		buf_free(&scratch);
	}
	}
	free(p);
	return 0;
}
