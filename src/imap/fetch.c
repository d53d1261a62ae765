/* fetch.c — FETCH and UID FETCH: the attribute list (macros, BODY[section]
 * <partial>, BODY.PEEK, RFC822*), then one untagged FETCH per message in
 * request order. A message file is read only when an item needs its
 * text; a non-PEEK body fetch sets \Seen and reports the new FLAGS. */
#include "imap.h"
#include "log.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PART_DEPTH 32
#define MAX_ITEMS 64
#define FETCH_BATCH (256 * 1024)

enum item { I_FLAGS, I_UID, I_DATE, I_SIZE, I_ENVELOPE, I_BODY, I_BODYSTRUCTURE, I_SECTION };
enum sect { S_ALL, S_HEADER, S_FIELDS, S_FIELDS_NOT, S_TEXT, S_MIME };

struct fitem {
	enum item kind;
	int peek;
	char label[256];          /* name in the response, "BODY[1.TEXT]" */
	uint32_t part[MAX_PART_DEPTH];
	int nparts;
	enum sect sect;
	char *fields;             /* HEADER.FIELDS names, NUL-separated */
	size_t nfields;
	int partial;
	uint32_t origin, count;
};

struct fetch {
	size_t n;
	int need_head, need_text, need_mime, sets_seen, has_flags, has_uid;
	struct fitem it[MAX_ITEMS]; /* last: only it[0..n) is ever set (add() clears each) */
};

static void fetch_free(struct fetch *fx)
{
	for (size_t i = 0; i < fx->n; i++) free(fx->it[i].fields);
}

static struct fitem *add(struct fetch *fx, enum item kind, const char *label)
{
	if (fx->n == MAX_ITEMS) return NULL;
	struct fitem *it = &fx->it[fx->n++];
	memset(it, 0, sizeof *it);
	it->kind = kind;
	snprintf(it->label, sizeof it->label, "%s", label);
	switch (kind) {
	case I_FLAGS: fx->has_flags = 1; break;
	case I_UID: fx->has_uid = 1; break;
	case I_ENVELOPE: fx->need_head = 1; break;
	case I_BODY: case I_BODYSTRUCTURE: fx->need_text = fx->need_mime = 1; break;
	default: break;
	}
	return it;
}

/* "[section]<partial>" after BODY or BODY.PEEK */
static int parse_section(struct imap_parser *ps, struct fitem *it, struct fetch *fx)
{
	size_t start = ps->pos;
	if (ip_char(ps, '[') < 0) return -1;
	/* part numbers */
	while (ps->pos < ps->len && ps->p[ps->pos] >= '1' && ps->p[ps->pos] <= '9') {
		uint32_t v;
		if (ip_number(ps, &v) < 0 || it->nparts == MAX_PART_DEPTH) return -1;
		it->part[it->nparts++] = v;
		if (ip_char(ps, '.') < 0) break;
	}
	char *kw = ps->p + ps->pos;
	size_t kn = 0;
	while (ps->pos < ps->len && (ps->p[ps->pos] == '.' || (ps->p[ps->pos] >= 'A' && ps->p[ps->pos] <= 'Z') ||
	                             (ps->p[ps->pos] >= 'a' && ps->p[ps->pos] <= 'z'))) {
		ps->pos++;
		kn++;
	}
	if (kn == 0) {
		if (it->nparts && ps->p[ps->pos - 1] == '.') return -1;
		it->sect = S_ALL;
	} else if (imap_word_is(kw, kn, "HEADER")) {
		it->sect = S_HEADER;
	} else if (imap_word_is(kw, kn, "TEXT")) {
		it->sect = S_TEXT;
	} else if (imap_word_is(kw, kn, "MIME") && it->nparts) {
		it->sect = S_MIME;
	} else if (imap_word_is(kw, kn, "HEADER.FIELDS") || imap_word_is(kw, kn, "HEADER.FIELDS.NOT")) {
		it->sect = kn == 13 ? S_FIELDS : S_FIELDS_NOT;
		if (ip_sp(ps) < 0 || ip_char(ps, '(') < 0) return -1;
		struct buf names = BUF_INIT;
		for (;;) {
			char *a;
			size_t n;
			if (ip_astring(ps, &a, &n) < 0 || memchr(a, 0, n) || buf_add(&names, a, n) < 0 ||
			    buf_addc(&names, 0) < 0) {
				buf_free(&names);
				return -1;
			}
			it->nfields++;
			if (ip_char(ps, ')') == 0) break;
			if (ip_sp(ps) < 0) { buf_free(&names); return -1; }
		}
		it->fields = names.s;
	} else {
		return -1;
	}
	if (ip_char(ps, ']') < 0) return -1;
	size_t end = ps->pos;
	/* the label repeats the section as the client wrote it */
	size_t k = strlen(it->label), sl = end - start;
	if (k + sl + 1 > sizeof it->label) return -1;
	memcpy(it->label + k, ps->p + start, sl);
	it->label[k + sl] = 0;
	if (ip_peek(ps) == '<') {
		ps->pos++;
		if (ip_number(ps, &it->origin) < 0 || ip_char(ps, '.') < 0 || ip_number(ps, &it->count) < 0 ||
		    it->count == 0 || ip_char(ps, '>') < 0)
			return -1;
		it->partial = 1;
		char o[16];
		snprintf(o, sizeof o, "<%u>", it->origin);
		if (k + sl + strlen(o) + 1 > sizeof it->label) return -1;
		memcpy(it->label + k + sl, o, strlen(o) + 1);
	}
	/* the top-level header alone can come from the cache */
	if (!it->nparts && (it->sect == S_HEADER || it->sect == S_FIELDS || it->sect == S_FIELDS_NOT)) fx->need_head = 1;
	else fx->need_text = 1;
	if (it->nparts || it->sect == S_MIME) fx->need_mime = 1;
	if (!it->peek) fx->sets_seen = 1;
	return 0;
}

static int parse_att(struct imap_parser *ps, struct fetch *fx)
{
	char *a = ps->p + ps->pos;
	size_t n = 0;
	while (ps->pos < ps->len && (ps->p[ps->pos] == '.' || (ps->p[ps->pos] >= 'A' && ps->p[ps->pos] <= 'Z') ||
	                             (ps->p[ps->pos] >= 'a' && ps->p[ps->pos] <= 'z') ||
	                             (ps->p[ps->pos] >= '0' && ps->p[ps->pos] <= '9'))) {
		ps->pos++;
		n++;
	}
	if (!n) return -1;
	struct fitem *it;
	if (imap_word_is(a, n, "FLAGS")) return add(fx, I_FLAGS, "FLAGS") ? 0 : -1;
	if (imap_word_is(a, n, "UID")) return add(fx, I_UID, "UID") ? 0 : -1;
	if (imap_word_is(a, n, "INTERNALDATE")) return add(fx, I_DATE, "INTERNALDATE") ? 0 : -1;
	if (imap_word_is(a, n, "RFC822.SIZE")) return add(fx, I_SIZE, "RFC822.SIZE") ? 0 : -1;
	if (imap_word_is(a, n, "ENVELOPE")) return add(fx, I_ENVELOPE, "ENVELOPE") ? 0 : -1;
	if (imap_word_is(a, n, "BODYSTRUCTURE")) return add(fx, I_BODYSTRUCTURE, "BODYSTRUCTURE") ? 0 : -1;
	if (imap_word_is(a, n, "RFC822") || imap_word_is(a, n, "RFC822.HEADER") || imap_word_is(a, n, "RFC822.TEXT")) {
		char label[16];
		snprintf(label, sizeof label, "%.*s", (int)n, a);
		for (char *p = label; *p; p++)
			if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 32);
		if (!(it = add(fx, I_SECTION, label))) return -1;
		it->sect = n == 6 ? S_ALL : n == 13 ? S_HEADER : S_TEXT;
		it->peek = it->sect == S_HEADER;
		if (it->sect == S_HEADER) fx->need_head = 1;
		else fx->need_text = 1;
		if (!it->peek) fx->sets_seen = 1;
		return 0;
	}
	int peek = imap_word_is(a, n, "BODY.PEEK");
	if (imap_word_is(a, n, "BODY") || peek) {
		if (ip_peek(ps) != '[') {
			if (peek) return -1;
			return add(fx, I_BODY, "BODY") ? 0 : -1;
		}
		if (!(it = add(fx, I_SECTION, "BODY"))) return -1;
		it->peek = peek;
		return parse_section(ps, it, fx);
	}
	return -1;
}

static int parse_atts(struct imap_parser *ps, struct fetch *fx)
{
	char *a;
	size_t n;
	size_t save = ps->pos;
	if (ip_atom(ps, NULL, &a, &n) == 0) {
		const char *macro = imap_word_is(a, n, "ALL") ? "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE"
		                  : imap_word_is(a, n, "FAST") ? "FLAGS INTERNALDATE RFC822.SIZE"
		                  : imap_word_is(a, n, "FULL") ? "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY"
		                  : NULL;
		if (macro) {
			char tmp[64];
			snprintf(tmp, sizeof tmp, "%s", macro);
			struct imap_parser mp;
			ip_init(&mp, tmp, strlen(tmp));
			for (;;) {
				if (parse_att(&mp, fx) < 0) return -1;
				if (ip_eol(&mp)) return 0;
				ip_sp(&mp);
			}
		}
		ps->pos = save;
	}
	if (ip_char(ps, '(') < 0) return parse_att(ps, fx);
	for (;;) {
		if (parse_att(ps, fx) < 0) return -1;
		if (ip_char(ps, ')') == 0) return 0;
		if (ip_sp(ps) < 0) return -1;
	}
}

/* ---- sections ---- */

static int field_listed(const struct fitem *it, const char *name, size_t n)
{
	const char *f = it->fields;
	for (size_t i = 0; i < it->nfields; i++) {
		size_t k = strlen(f);
		if (k == n && strncasecmp(f, name, n) == 0) return 1;
		f += k + 1;
	}
	return 0;
}

/* Resolve a section to its bytes (*p, *n); tmp holds bytes made up. */
static int section_data(const struct fitem *it, const char *t, size_t tlen, const struct mime *mm,
                        struct buf *tmp, const char **p, size_t *n)
{
	size_t hoff = 0, hlen, boff, blen;
	if (it->nparts) {
		const struct mime *m = mm;
		int cur = 0;
		for (int i = 0; i < it->nparts; i++) {
			if (m->parts[cur].kind == MIME_MESSAGE && m->parts[cur].child >= 0 && (i > 0 || cur != 0))
				cur = m->parts[cur].child;
			if (m->parts[cur].kind == MIME_MULTIPART) {
				int c = m->parts[cur].child;
				for (uint32_t k = 1; c >= 0 && k < it->part[i]; k++) c = m->parts[c].next;
				if (c < 0) { *p = ""; *n = 0; return 0; }
				cur = c;
			} else if (it->part[i] != 1) {
				*p = "";
				*n = 0;
				return 0;
			}
		}
		const struct mime_part *pt = &m->parts[cur];
		if (it->sect == S_MIME) { *p = t + pt->off; *n = pt->hdr_len; return 0; }
		if (it->sect == S_ALL) { *p = t + pt->body_off; *n = pt->body_len; return 0; }
		/* HEADER/TEXT of a part mean its embedded message */
		if (pt->kind != MIME_MESSAGE || pt->child < 0) { *p = ""; *n = 0; return 0; }
		pt = &m->parts[pt->child];
		hoff = pt->off;
		hlen = pt->hdr_len;
		boff = pt->body_off;
		blen = pt->body_len;
	} else {
		if (it->sect == S_ALL) { *p = t; *n = tlen; return 0; }
		hlen = header_length(t, tlen);
		boff = hlen;
		blen = tlen - hlen;
	}
	switch (it->sect) {
	case S_HEADER: *p = t + hoff; *n = hlen; return 0;
	case S_TEXT: *p = t + boff; *n = blen; return 0;
	case S_FIELDS:
	case S_FIELDS_NOT: {
		size_t pos = 0;
		struct mime_field fl;
		buf_reset(tmp);
		while (mime_field_next(t + hoff, hlen, &pos, &fl)) {
			if (!fl.name_len) continue;
			int listed = field_listed(it, t + hoff + fl.name_off, fl.name_len);
			if (listed == (it->sect == S_FIELDS) && buf_add(tmp, t + hoff + fl.off, fl.len) < 0) return -1;
		}
		if (buf_add(tmp, "\r\n", 2) < 0) return -1;
		*p = tmp->s;
		*n = tmp->len;
		return 0;
	}
	default: *p = ""; *n = 0; return 0;
	}
}

static void put_literal(struct buf *resp, const char *p, size_t n)
{
	buf_addc(resp, '{');
	buf_addnum(resp, n);
	buf_add(resp, "}\r\n", 3);
	buf_add(resp, p, n);
}

/* one message's FETCH response; 0 ok, -1 when its file is gone */
static int fetch_one(struct session *s, struct fetch *fx, size_t i, struct message *msg, struct buf *resp,
                     struct buf *tmp)
{
	struct folder *f = s->sel;
	struct msg *m = &f->m[i];
	int loaded = 0, flags_changed = 0;
	const char *t = "";
	size_t tlen = 0;
	if (fx->need_text) {
		if (message_load(f, m, msg) < 0) return -1;
		loaded = 1;
		t = msg->text.s ? msg->text.s : "";
		tlen = msg->text.len;
		if (fx->need_mime && mime_parse(&msg->mime, t, tlen) < 0) return -1;
	} else if (fx->need_head) {
		/* header-only items: the text seen is the header */
		if (message_head(f, m, &t, &tlen) < 0) return -1;
	}
	if (fx->sets_seen && !f->readonly && !(m->flags & FL_SEEN)) {
		if (folder_set_flags(f, m, m->flags | FL_SEEN, m->kw) == 0) flags_changed = 1;
	}
	buf_addf(resp, "* %zu FETCH (", i + 1);
	size_t first = resp->len;
	int uid_done = 0;
	for (size_t k = 0; k < fx->n; k++) {
		struct fitem *it = &fx->it[k];
		if (resp->len > first) buf_addc(resp, ' ');
		switch (it->kind) {
		case I_FLAGS:
			buf_adds(resp, "FLAGS ");
			flags_format(resp, f, m);
			break;
		case I_UID:
			buf_addf(resp, "UID %u", m->uid);
			uid_done = 1;
			break;
		case I_DATE: {
			time_t when = msg->mtime;
			if (!loaded && message_internaldate(f, m, &when) < 0) return -1;
			buf_adds(resp, "INTERNALDATE ");
			put_date(resp, when);
			break;
		}
		case I_SIZE:
			buf_adds(resp, "RFC822.SIZE ");
			buf_addnum(resp, loaded ? msg->text.len : message_vsize(f, m));
			break;
		case I_ENVELOPE:
			buf_adds(resp, "ENVELOPE ");
			put_envelope(resp, t, 0, header_length(t, tlen));
			break;
		case I_BODY:
		case I_BODYSTRUCTURE:
			buf_adds(resp, it->kind == I_BODY ? "BODY " : "BODYSTRUCTURE ");
			put_bodystructure(resp, &msg->mime, 0, it->kind == I_BODYSTRUCTURE);
			break;
		case I_SECTION: {
			const char *p;
			size_t n;
			if (section_data(it, t, tlen, &msg->mime, tmp, &p, &n) < 0) return -1;
			if (it->partial) {
				if (it->origin >= n) { p = ""; n = 0; }
				else {
					p += it->origin;
					n -= it->origin;
					if (n > it->count) n = it->count;
				}
			}
			buf_adds(resp, it->label);
			buf_addc(resp, ' ');
			if (n == 0 && it->partial) buf_adds(resp, "\"\"");
			else put_literal(resp, p, n);
			break;
		}
		}
	}
	if (s->uid && !uid_done) {
		if (resp->len > first) buf_addc(resp, ' ');
		buf_addf(resp, "UID %u", m->uid);
	}
	if (flags_changed && !fx->has_flags) {
		buf_adds(resp, " FLAGS ");
		flags_format(resp, f, m);
	}
	buf_add(resp, ")\r\n", 3);
	m->dirty = 0;
	return 0;
}

void cmd_fetch(struct session *s, struct imap_parser *ps)
{
	struct seqset set = { 0 };
	/* clearing all MAX_ITEMS items was half of a one-message FETCH's work */
	struct fetch *fx = malloc(sizeof *fx);
	if (!fx) return no(s, "[SERVERBUG] Out of memory.");
	memset(fx, 0, offsetof(struct fetch, it));
	if (ip_sp(ps) < 0 || parse_set_arg(ps, &set) < 0) {
		free(fx);
		seqset_free(&set);
		return bad(s, "Invalid sequence set.");
	}
	if (ip_sp(ps) < 0 || parse_atts(ps, fx) < 0 || !ip_eol(ps)) {
		fetch_free(fx);
		free(fx);
		seqset_free(&set);
		return bad(s, "Invalid fetch attributes.");
	}
	size_t *idx, n;
	int r = seqset_select(s, &set, s->uid, &idx, &n);
	seqset_free(&set);
	if (r < 0) {
		fetch_free(fx);
		free(fx);
		return r == -2 ? bad(s, "Invalid sequence number.") : no(s, "[SERVERBUG] Out of memory.");
	}
	struct message msg = { BUF_INIT, 0, 0, { 0 } };
	struct buf resp = BUF_INIT, tmp = BUF_INIT;
	int missing = 0;
	resp.max = (size_t)3 << 30;
	for (size_t k = 0; k < n; k++) {
		size_t before = resp.len;
		if (fetch_one(s, fx, idx[k], &msg, &resp, &tmp) < 0) {
			resp.len = before; /* drop the half-made response */
			missing++;
		}
		mime_free(&msg.mime);
		/* responses go out in big writes, not one per message */
		if (resp.len >= FETCH_BATCH) {
			out_flush(s);
			out_buf(s, &resp);
			buf_reset(&resp);
		}
	}
	out_buf(s, &resp);
	message_free(&msg);
	buf_free(&resp);
	buf_free(&tmp);
	free(idx);
	fetch_free(fx);
	free(fx);
	if (missing) return no(s, "[EXPUNGEISSUED] Some messages could not be read.");
	tagged(s, "OK", "Fetch completed.");
}
