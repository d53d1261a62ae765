/* mime.c — fuzz target: messages as yubin-imap shows them. mime_parse
 * builds the part tree; ENVELOPE and BODYSTRUCTURE (src/imap/bodystruct.c)
 * are produced for every part; header fields, Content-Type parameters and
 * dates are walked. Beyond memory safety: every part's offsets lie inside
 * the message and its links are valid, and what the server would send is
 * well-formed IMAP — balanced parentheses, quoted strings and literals
 * that imapparse reads back — so a hostile message cannot break a
 * client's parse of the response or smuggle a reply line into it. */
#include "fuzz.h"
#include "buf.h"
#include "imap.h"
#include "imapparse.h"
#include "mime.h"

/* one IMAP response value: ( ... ), NIL, number, "quoted", {n}CRLF literal */
static void well_formed(struct buf *b)
{
	if (!b->len) return;
	struct imap_parser ps;
	ip_init(&ps, b->s, b->len);
	int depth = 0;
	while (!ip_eol(&ps)) {
		int c = ip_peek(&ps);
		char *s;
		size_t n;
		uint64_t v;
		if (c == '(') { depth++; ps.pos++; continue; }
		if (c == ')') { FUZZ_ASSERT(depth > 0); depth--; ps.pos++; continue; }
		if (c == ' ') { ps.pos++; continue; }
		if (c >= '0' && c <= '9') { FUZZ_ASSERT(ip_number64(&ps, &v) == 0); continue; }
		if (c == '"' || c == '{') { FUZZ_ASSERT(ip_string(&ps, &s, &n) == 0); continue; }
		FUZZ_ASSERT(ip_atom(&ps, NULL, &s, &n) == 0); /* NIL and body type atoms */
		FUZZ_ASSERT(imap_word_is(s, n, "NIL"));
	}
	FUZZ_ASSERT(depth == 0);
}

static void fields(const char *h, size_t hlen)
{
	size_t pos = 0;
	struct mime_field fl;
	int k = 0;
	struct buf t = BUF_INIT, attr = BUF_INIT, val = BUF_INIT;
	while (mime_field_next(h, hlen, &pos, &fl) == 1 && k++ < 200) {
		FUZZ_ASSERT(fl.off + fl.len <= hlen && fl.val_off + fl.val_len <= hlen);
		const char *v = h + fl.val_off;
		buf_reset(&t);
		(void)mime_unfold(v, fl.val_len, &t);
		long long when;
		int zone;
		if (mime_date(v, fl.val_len, &when, &zone) == 0) FUZZ_ASSERT(zone >= -(99 * 60 + 99) && zone <= 99 * 60 + 99); /* what +HHMM can say */
		const char *ty, *sub;
		size_t tn, sn, at;
		if (mime_ctype(v, fl.val_len, &ty, &tn, &sub, &sn, &at) == 0) {
			size_t p = at;
			int j = 0;
			FUZZ_ASSERT(at <= fl.val_len);
			while (mime_param_next(v, fl.val_len, &p, &attr, &val) == 1 && j++ < 100) FUZZ_ASSERT(p <= fl.val_len);
		}
	}
	buf_free(&t);
	buf_free(&attr);
	buf_free(&val);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *msg = fuzz_dup(data, size, 0);
	struct mime m;
	memset(&m, 0, sizeof m);
	if (mime_parse(&m, msg, size) == 0) {
		FUZZ_ASSERT(m.nparts >= 1 && m.nparts <= MIME_MAX_PARTS + 1);
		for (size_t i = 0; i < m.nparts; i++) {
			const struct mime_part *p = &m.parts[i];
			FUZZ_ASSERT(p->off <= size && p->hdr_len <= size - p->off);
			FUZZ_ASSERT(p->body_off <= size && p->body_len <= size - p->body_off);
			FUZZ_ASSERT(p->parent < (int)m.nparts && p->child < (int)m.nparts && p->next < (int)m.nparts);
			FUZZ_ASSERT(p->depth <= MIME_MAX_DEPTH + 1);
		}
		size_t limit = m.nparts < 64 ? m.nparts : 64;
		for (size_t i = 0; i < limit; i++) {
			struct buf b = BUF_INIT;
			if (put_bodystructure(&b, &m, (int)i, (int)(i & 1)) == 0) well_formed(&b);
			buf_free(&b);
			const struct mime_part *p = &m.parts[i];
			if (i == 0 || p->kind == MIME_MESSAGE) {
				size_t off = i == 0 ? p->off : p->body_off;
				const struct mime_part *e = i == 0 ? p : (p->child >= 0 ? &m.parts[p->child] : NULL);
				if (e) {
					if (put_envelope(&b, msg, off, e->hdr_len) == 0) well_formed(&b);
					buf_free(&b);
				}
			}
			fields(msg + p->off, p->hdr_len);
		}
	}
	mime_free(&m);
	free(msg);
	return 0;
}
