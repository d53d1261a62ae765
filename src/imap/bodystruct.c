/* bodystruct.c — ENVELOPE, BODY and BODYSTRUCTURE from the MIME tree
 * (src/lib/mime.h). Header text goes out as it is in the message
 * (encoded-words stay encoded, as RFC 3501 wants); what cannot be quoted
 * goes out as a literal. */
#include "imap.h"

#include <string.h>

static int ieq(const char *s, size_t n, const char *w)
{
	return imap_word_is(s, n, w);
}

static void put_field(struct buf *b, const char *h, size_t hlen, const char *name)
{
	const char *v;
	size_t vn;
	if (!mime_header_get(h, hlen, name, &v, &vn)) { buf_adds(b, "NIL"); return; }
	struct buf t = BUF_INIT;
	if (mime_unfold(v, vn, &t) < 0) { buf_adds(b, "NIL"); buf_free(&t); return; }
	imap_put_string(b, t.s ? t.s : "", t.len);
	buf_free(&t);
}

static int put_addr(const struct mime_addr *a, void *arg)
{
	struct buf *b = arg;
	buf_addc(b, '(');
	imap_put_nstring(b, a->name, a->name_len);
	buf_addc(b, ' ');
	imap_put_nstring(b, a->route, a->route_len);
	buf_addc(b, ' ');
	imap_put_nstring(b, a->local, a->local_len);
	buf_addc(b, ' ');
	imap_put_nstring(b, a->domain, a->domain_len);
	return buf_addc(b, ')');
}

/* 1 when the field exists (even if it holds no address) */
static int put_addresses(struct buf *b, const char *h, size_t hlen, const char *name)
{
	const char *v;
	size_t vn;
	if (!mime_header_get(h, hlen, name, &v, &vn)) return 0;
	struct buf list = BUF_INIT, scratch = BUF_INIT;
	mime_addr_list(v, vn, &scratch, put_addr, &list);
	if (list.len) {
		buf_addc(b, '(');
		buf_add(b, list.s, list.len);
		buf_addc(b, ')');
	} else {
		buf_adds(b, "NIL");
	}
	buf_free(&list);
	buf_free(&scratch);
	return 1;
}

int put_envelope(struct buf *b, const char *msg, size_t hoff, size_t hlen)
{
	const char *h = msg + hoff;
	buf_addc(b, '(');
	put_field(b, h, hlen, "Date");
	buf_addc(b, ' ');
	put_field(b, h, hlen, "Subject");
	buf_addc(b, ' ');
	size_t from_at = b->len;
	if (!put_addresses(b, h, hlen, "From")) buf_adds(b, "NIL");
	struct buf from = BUF_INIT;
	buf_add(&from, b->s + from_at, b->len - from_at);
	/* Sender and Reply-To default to From */
	buf_addc(b, ' ');
	if (!put_addresses(b, h, hlen, "Sender")) buf_add(b, from.s, from.len);
	buf_addc(b, ' ');
	if (!put_addresses(b, h, hlen, "Reply-To")) buf_add(b, from.s, from.len);
	buf_free(&from);
	static const char *const rest[] = { "To", "Cc", "Bcc" };
	for (int i = 0; i < 3; i++) {
		buf_addc(b, ' ');
		if (!put_addresses(b, h, hlen, rest[i])) buf_adds(b, "NIL");
	}
	buf_addc(b, ' ');
	put_field(b, h, hlen, "In-Reply-To");
	buf_addc(b, ' ');
	put_field(b, h, hlen, "Message-ID");
	return buf_addc(b, ')');
}

/* ("attr" "value" ...) from the parameters of a header value, or NIL */
static void put_params(struct buf *b, const char *v, size_t vn, size_t at)
{
	struct buf attr = BUF_INIT, val = BUF_INIT;
	size_t pos = at, start = b->len;
	int any = 0;
	while (mime_param_next(v, vn, &pos, &attr, &val) == 1) {
		buf_addc(b, any ? ' ' : '(');
		imap_put_string(b, attr.s, attr.len);
		buf_addc(b, ' ');
		imap_put_string(b, val.s ? val.s : "", val.len);
		any = 1;
	}
	if (any) buf_addc(b, ')');
	else { b->len = start; buf_adds(b, "NIL"); }
	buf_free(&attr);
	buf_free(&val);
}

static void put_extension(struct buf *b, const char *h, size_t hlen)
{
	const char *v, *t, *sub;
	size_t vn, tn, sn, at;
	/* disposition */
	buf_addc(b, ' ');
	if (mime_header_get(h, hlen, "Content-Disposition", &v, &vn) &&
	    mime_ctype(v, vn, &t, &tn, &sub, &sn, &at) == 0) {
		buf_addc(b, '(');
		imap_put_string(b, t, tn);
		buf_addc(b, ' ');
		put_params(b, v, vn, at);
		buf_addc(b, ')');
	} else {
		buf_adds(b, "NIL");
	}
	/* language: one string or a list */
	buf_addc(b, ' ');
	if (mime_header_get(h, hlen, "Content-Language", &v, &vn)) {
		struct buf items = BUF_INIT;
		size_t count = 0, i = 0;
		while (i < vn) {
			while (i < vn && (v[i] == ',' || v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n')) i++;
			size_t s = i;
			while (i < vn && v[i] != ',' && v[i] != ' ' && v[i] != '\t' && v[i] != '\r' && v[i] != '\n') i++;
			if (i > s) {
				if (count) buf_addc(&items, ' ');
				imap_put_string(&items, v + s, i - s);
				count++;
			}
		}
		if (count == 0) buf_adds(b, "NIL");
		else if (count == 1) buf_add(b, items.s, items.len);
		else { buf_addc(b, '('); buf_add(b, items.s, items.len); buf_addc(b, ')'); }
		buf_free(&items);
	} else {
		buf_adds(b, "NIL");
	}
	buf_addc(b, ' ');
	put_field(b, h, hlen, "Content-Location");
}

static void put_part(struct buf *b, const struct mime *m, int idx, int ext)
{
	const struct mime_part *p = &m->parts[idx];
	const char *h = m->msg + p->off;
	size_t hlen = p->hdr_len;
	const char *v = NULL, *type = "text", *sub = "plain";
	size_t vn = 0, tn = 4, sn = 5, at = 0;
	int have_ct = !p->forced_octet && !p->digest_default &&
	              mime_header_get(h, hlen, "Content-Type", &v, &vn) &&
	              mime_ctype(v, vn, &type, &tn, &sub, &sn, &at) == 0;
	buf_addc(b, '(');
	if (p->kind == MIME_MULTIPART) {
		for (int c = p->child; c >= 0; c = m->parts[c].next) put_part(b, m, c, ext);
		buf_addc(b, ' ');
		imap_put_string(b, sub, sn);
		if (ext) {
			buf_addc(b, ' ');
			put_params(b, v, vn, at);
			put_extension(b, h, hlen);
		}
		buf_addc(b, ')');
		return;
	}
	if (p->forced_octet) { type = "application"; tn = 11; sub = "octet-stream"; sn = 12; }
	else if (p->digest_default) { type = "message"; tn = 7; sub = "rfc822"; sn = 6; }
	else if (!have_ct) { type = "text"; tn = 4; sub = "plain"; sn = 5; }
	else if (!sn) { sub = ieq(type, tn, "text") ? "plain" : "octet-stream"; sn = strlen(sub); }
	imap_put_string(b, type, tn);
	buf_addc(b, ' ');
	imap_put_string(b, sub, sn);
	buf_addc(b, ' ');
	if (have_ct) put_params(b, v, vn, at);
	else if (p->forced_octet || p->digest_default) buf_adds(b, "NIL");
	else buf_adds(b, "(\"charset\" \"us-ascii\")");
	buf_addc(b, ' ');
	put_field(b, h, hlen, "Content-ID");
	buf_addc(b, ' ');
	put_field(b, h, hlen, "Content-Description");
	buf_addc(b, ' ');
	const char *ce;
	size_t cen;
	if (mime_header_get(h, hlen, "Content-Transfer-Encoding", &ce, &cen)) {
		struct buf t = BUF_INIT;
		mime_unfold(ce, cen, &t);
		if (t.len) imap_put_string(b, t.s, t.len);
		else buf_adds(b, "\"7bit\"");
		buf_free(&t);
	} else {
		buf_adds(b, "\"7bit\"");
	}
	buf_addc(b, ' ');
	buf_addnum(b, p->body_len);
	if (p->kind == MIME_MESSAGE && p->child >= 0) {
		const struct mime_part *c = &m->parts[p->child];
		buf_addc(b, ' ');
		put_envelope(b, m->msg, c->off, c->hdr_len);
		buf_addc(b, ' ');
		put_part(b, m, p->child, ext);
		buf_addc(b, ' ');
		buf_addnum(b, p->body_lines);
	} else if (!p->forced_octet && ieq(type, tn, "text")) {
		buf_addc(b, ' ');
		buf_addnum(b, p->body_lines);
	}
	if (ext) {
		buf_addc(b, ' ');
		put_field(b, h, hlen, "Content-MD5");
		put_extension(b, h, hlen);
	}
	buf_addc(b, ')');
}

int put_bodystructure(struct buf *b, const struct mime *m, int idx, int extended)
{
	put_part(b, m, idx, extended);
	return 0;
}
