/* search.c — SEARCH and UID SEARCH: every RFC 3501 key with AND (a list),
 * OR and NOT, parsed into a small tree and evaluated per message, reading
 * the message file only when a key needs its header or text. Strings
 * match as case-insensitive substrings (ASCII folding; UTF-8 bytes match
 * as they are); header values are unfolded before matching. */
#include "imap.h"
#include "search.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_DEPTH 64
#define MAX_NODES 4096

static int add_node(struct search *q, struct snode nd)
{
	if (q->n == MAX_NODES) return -1;
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		struct snode *x = realloc(q->nd, cap * sizeof *x);
		if (!x) return -1;
		q->nd = x;
		q->cap = cap;
	}
	q->nd[q->n] = nd;
	return (int)q->n++;
}

void search_free(struct search *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->nd[i].str);
		free(q->nd[i].field);
		seqset_free(&q->nd[i].set);
	}
	free(q->nd);
	q->nd = NULL;
	q->n = q->cap = 0;
}

/* "1-Feb-1994" (quoted or not) as days since the epoch */
static int parse_day(struct imap_parser *ps, long long *day)
{
	char *s;
	size_t n;
	if (ip_astring(ps, &s, &n) < 0) return -1;
	static const char mon[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	size_t i = 0;
	int d = 0, y = 0, m = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9' && i < 2) d = d * 10 + (s[i++] - '0');
	if (!d || d > 31 || i >= n || s[i++] != '-' || i + 4 > n) return -1;
	for (int k = 0; k < 12; k++)
		if (strncasecmp(s + i, mon + 3 * k, 3) == 0) m = k + 1;
	if (!m || s[i + 3] != '-') return -1;
	i += 4;
	size_t ys = i;
	while (i < n && s[i] >= '0' && s[i] <= '9' && i - ys < 4) y = y * 10 + (s[i++] - '0');
	if (i != n || i - ys != 4) return -1;
	struct tm tm = { 0 };
	tm.tm_mday = d;
	tm.tm_mon = m - 1;
	tm.tm_year = y - 1900;
	*day = (long long)(timegm(&tm) / 86400);
	return 0;
}

static int str_arg(struct imap_parser *ps, struct snode *nd)
{
	char *s;
	size_t n;
	if (ip_sp(ps) < 0 || ip_astring(ps, &s, &n) < 0) return -1;
	nd->str = strndup(s, n);
	nd->len = n;
	return nd->str ? 0 : -1;
}

static int parse_key(struct session *s, struct imap_parser *ps, struct search *q, int depth);

/* keys separated by spaces until ')' or the end: an AND node */
static int parse_list(struct session *s, struct imap_parser *ps, struct search *q, int depth, int paren)
{
	int and = add_node(q, (struct snode){ .op = K_AND, .a = -1, .b = -1 });
	if (and < 0) return -1;
	int last = -1;
	for (;;) {
		int k = parse_key(s, ps, q, depth + 1);
		if (k < 0) return -1;
		if (last < 0) q->nd[and].a = k;
		else q->nd[last].next = k;
		last = k;
		q->nd[k].next = -1;
		if (paren && ip_char(ps, ')') == 0) return and;
		if (ip_eol(ps)) return paren ? -1 : and;
		if (ip_sp(ps) < 0) return -1;
		if (!paren && ip_peek(ps) == ')') return -1;
	}
}

static int parse_key(struct session *s, struct imap_parser *ps, struct search *q, int depth)
{
	if (depth > MAX_DEPTH) return -1;
	struct snode nd = { .a = -1, .b = -1, .next = -1 };
	if (ip_char(ps, '(') == 0) return parse_list(s, ps, q, depth, 1);
	int c = ip_peek(ps);
	if ((c >= '0' && c <= '9') || c == '*' || c == '$') {
		nd.op = K_SEQ;
		if (c == '$') {
			ps->pos++;
			nd.op = K_SAVED;
			return add_node(q, nd);
		}
		(void)s;
		if (parse_set_arg(ps, &nd.set) < 0) { seqset_free(&nd.set); return -1; }
		int r = add_node(q, nd);
		if (r < 0) seqset_free(&nd.set);
		return r;
	}
	char *a;
	size_t n;
	if (ip_atom(ps, NULL, &a, &n) < 0) return -1;
	static const struct { const char *name; int op; uint32_t flag; int neg; } simple[] = {
		{ "ALL", K_ALL, 0, 0 }, { "ANSWERED", K_FLAG, FL_ANSWERED, 0 }, { "DELETED", K_FLAG, FL_DELETED, 0 },
		{ "DRAFT", K_FLAG, FL_DRAFT, 0 }, { "FLAGGED", K_FLAG, FL_FLAGGED, 0 }, { "SEEN", K_FLAG, FL_SEEN, 0 },
		{ "RECENT", K_FLAG, FL_RECENT, 0 }, { "UNANSWERED", K_FLAG, FL_ANSWERED, 1 },
		{ "UNDELETED", K_FLAG, FL_DELETED, 1 }, { "UNDRAFT", K_FLAG, FL_DRAFT, 1 },
		{ "UNFLAGGED", K_FLAG, FL_FLAGGED, 1 }, { "UNSEEN", K_FLAG, FL_SEEN, 1 },
		{ "OLD", K_FLAG, FL_RECENT, 1 }, { "NEW", K_NEW, 0, 0 },
	};
	for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
		if (!imap_word_is(a, n, simple[i].name)) continue;
		nd.op = simple[i].op;
		nd.flag = simple[i].flag;
		nd.neg = simple[i].neg;
		return add_node(q, nd);
	}
	static const struct { const char *name; const char *field; } hdr[] = {
		{ "FROM", "From" }, { "TO", "To" }, { "CC", "Cc" }, { "BCC", "Bcc" }, { "SUBJECT", "Subject" },
	};
	for (size_t i = 0; i < sizeof hdr / sizeof hdr[0]; i++) {
		if (!imap_word_is(a, n, hdr[i].name)) continue;
		nd.op = K_HEADER;
		nd.field = strdup(hdr[i].field);
		if (!nd.field || str_arg(ps, &nd) < 0) { free(nd.field); free(nd.str); return -1; }
		return add_node(q, nd);
	}
	if (imap_word_is(a, n, "HEADER")) {
		char *f;
		size_t fn;
		if (ip_sp(ps) < 0 || ip_astring(ps, &f, &fn) < 0) return -1;
		nd.op = K_HEADER;
		nd.field = strndup(f, fn);
		if (!nd.field || str_arg(ps, &nd) < 0) { free(nd.field); free(nd.str); return -1; }
		return add_node(q, nd);
	}
	if (imap_word_is(a, n, "BODY") || imap_word_is(a, n, "TEXT")) {
		nd.op = imap_word_is(a, n, "BODY") ? K_BODY : K_TEXT;
		if (str_arg(ps, &nd) < 0) { free(nd.str); return -1; }
		return add_node(q, nd);
	}
	if (imap_word_is(a, n, "KEYWORD") || imap_word_is(a, n, "UNKEYWORD")) {
		nd.op = K_KEYWORD;
		nd.neg = a[0] == 'U' || a[0] == 'u';
		char *k;
		size_t kn;
		if (ip_sp(ps) < 0 || ip_atom(ps, "\\", &k, &kn) < 0) return -1;
		nd.str = strndup(k, kn);
		nd.len = kn;
		return nd.str ? add_node(q, nd) : -1;
	}
	static const struct { const char *name; int op; int cmp; } dates[] = {
		{ "BEFORE", K_DATE, -1 }, { "ON", K_DATE, 0 }, { "SINCE", K_DATE, 1 },
		{ "SENTBEFORE", K_SENT, -1 }, { "SENTON", K_SENT, 0 }, { "SENTSINCE", K_SENT, 1 },
	};
	for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
		if (!imap_word_is(a, n, dates[i].name)) continue;
		nd.op = dates[i].op;
		nd.cmp = dates[i].cmp;
		if (ip_sp(ps) < 0 || parse_day(ps, &nd.num) < 0) return -1;
		return add_node(q, nd);
	}
	if (imap_word_is(a, n, "LARGER") || imap_word_is(a, n, "SMALLER")) {
		uint64_t v;
		nd.op = K_SIZE;
		nd.cmp = imap_word_is(a, n, "LARGER") ? 1 : -1;
		if (ip_sp(ps) < 0 || ip_number64(ps, &v) < 0) return -1;
		nd.num = (long long)v;
		return add_node(q, nd);
	}
	if (imap_word_is(a, n, "UID")) {
		nd.op = K_UID;
		if (ip_sp(ps) < 0) return -1;
		if (ip_char(ps, '$') == 0) { nd.op = K_SAVED; return add_node(q, nd); }
		if (parse_set_arg(ps, &nd.set) < 0) { seqset_free(&nd.set); return -1; }
		int r = add_node(q, nd);
		if (r < 0) seqset_free(&nd.set);
		return r;
	}
	if (imap_word_is(a, n, "NOT")) {
		if (ip_sp(ps) < 0) return -1;
		int k = parse_key(s, ps, q, depth + 1);
		if (k < 0) return -1;
		nd.op = K_NOT;
		nd.a = k;
		return add_node(q, nd);
	}
	if (imap_word_is(a, n, "OR")) {
		if (ip_sp(ps) < 0) return -1;
		int x = parse_key(s, ps, q, depth + 1);
		if (x < 0 || ip_sp(ps) < 0) return -1;
		int y = parse_key(s, ps, q, depth + 1);
		if (y < 0) return -1;
		nd.op = K_OR;
		nd.a = x;
		nd.b = y;
		return add_node(q, nd);
	}
	return -1;
}

int search_parse(struct session *s, struct imap_parser *ps, struct search *q)
{
	memset(q, 0, sizeof *q);
	/* CHARSET: UTF-8 and US-ASCII are byte-compatible for our matching */
	size_t save = ps->pos;
	char *a;
	size_t n;
	if (ip_atom(ps, NULL, &a, &n) == 0 && imap_word_is(a, n, "CHARSET")) {
		char *cs;
		size_t cn;
		if (ip_sp(ps) < 0 || ip_astring(ps, &cs, &cn) < 0 || ip_sp(ps) < 0) return -1;
		if (!imap_word_is(cs, cn, "UTF-8") && !imap_word_is(cs, cn, "US-ASCII")) return -2;
	} else {
		ps->pos = save;
	}
	q->root = parse_list(s, ps, q, 0, 0);
	return q->root < 0 ? -1 : 0;
}

/* ---- evaluation ---- */

struct ctx {
	struct session *s;
	struct folder *f;
	size_t i;
	struct message msg;
	int loaded;       /* 1 loaded, -1 could not */
	int have_head;
	const char *h;    /* the header (cached, or in msg) */
	size_t hlen;
	struct buf tmp;
};

static int load(struct ctx *c)
{
	if (!c->loaded) {
		c->loaded = message_load(c->f, &c->f->m[c->i], &c->msg) == 0 ? 1 : -1;
		if (c->loaded == 1) {
			c->h = c->msg.text.s ? c->msg.text.s : "";
			c->hlen = header_length(c->h, c->msg.text.len);
			c->have_head = 1;
		}
	}
	return c->loaded == 1;
}

/* the header alone: from the cache, else from the whole message */
static int head(struct ctx *c)
{
	if (c->have_head) return 1;
	if (message_head(c->f, &c->f->m[c->i], &c->h, &c->hlen) < 0) return 0;
	c->have_head = 1;
	return 1;
}

/* case-insensitive (ASCII) substring search */
static int contains(const char *h, size_t hn, const char *nd, size_t nn)
{
	if (nn == 0) return 1;
	if (nn > hn) return 0;
	unsigned char first = (unsigned char)nd[0];
	unsigned char lo = (first >= 'A' && first <= 'Z') ? first + 32 : first;
	unsigned char up = (first >= 'a' && first <= 'z') ? first - 32 : first;
	for (size_t i = 0; i + nn <= hn; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c != lo && c != up) continue;
		if (strncasecmp(h + i + 1, nd + 1, nn - 1) == 0) {
			/* strncasecmp stops at NUL: confirm byte by byte */
			size_t k = 1;
			for (; k < nn; k++) {
				unsigned char x = (unsigned char)h[i + k], y = (unsigned char)nd[k];
				if (x >= 'A' && x <= 'Z') x += 32;
				if (y >= 'A' && y <= 'Z') y += 32;
				if (x != y) break;
			}
			if (k == nn) return 1;
		}
	}
	return 0;
}

static int header_match(struct ctx *c, const char *field, const char *str, size_t sn)
{
	if (!head(c)) return 0;
	const char *h = c->h;
	size_t pos = 0, fl = strlen(field);
	struct mime_field f;
	while (mime_field_next(h, c->hlen, &pos, &f)) {
		if (f.name_len != fl || strncasecmp(h + f.name_off, field, fl) != 0) continue;
		if (sn == 0) return 1; /* HEADER x "": the field exists */
		if (mime_unfold(h + f.val_off, f.val_len, &c->tmp) < 0) continue;
		if (contains(c->tmp.s, c->tmp.len, str, sn)) return 1;
		if (search_decode_words(c->tmp.s, c->tmp.len, &c->tmp) == 0 && contains(c->tmp.s, c->tmp.len, str, sn))
			return 1;
	}
	return 0;
}

static long long local_day(time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	return (long long)((t + tm.tm_gmtoff) / 86400);
}

static int cmp_match(long long a, long long b, int cmp)
{
	return cmp < 0 ? a < b : cmp > 0 ? a >= b : a == b;
}

static int eval(struct ctx *c, const struct search *q, int k)
{
	const struct snode *nd = &q->nd[k];
	struct msg *m = &c->f->m[c->i];
	switch (nd->op) {
	case K_ALL: return 1;
	case K_AND:
		for (int x = nd->a; x >= 0; x = q->nd[x].next)
			if (!eval(c, q, x)) return 0;
		return 1;
	case K_OR: return eval(c, q, nd->a) || eval(c, q, nd->b);
	case K_NOT: return !eval(c, q, nd->a);
	case K_FLAG: return ((m->flags & nd->flag) != 0) != nd->neg;
	case K_NEW: return (m->flags & FL_RECENT) && !(m->flags & FL_SEEN);
	case K_KEYWORD: {
		int has = 0;
		if (imap_word_is(nd->str, nd->len, "$Forwarded")) has = (m->flags & FL_FORWARDED) != 0;
		else {
			int kw = folder_keyword(c->f, nd->str, nd->len, 0);
			has = kw >= 0 && (m->kw & (1u << kw));
		}
		return has != nd->neg;
	}
	case K_SEQ: return seqset_has(&nd->set, (uint32_t)(c->i + 1), (uint32_t)c->f->n);
	case K_UID: return seqset_has(&nd->set, m->uid, c->f->n ? c->f->m[c->f->n - 1].uid : 0);
	case K_SAVED: return c->s->saved && seqset_has(c->s->saved, m->uid, UINT32_MAX);
	case K_SIZE: {
		long long v = (long long)message_vsize(c->f, m);
		return nd->cmp > 0 ? v > nd->num : v < nd->num;
	}
	case K_DATE: {
		time_t t;
		if (message_internaldate(c->f, m, &t) < 0) return 0;
		return cmp_match(local_day(t), nd->num, nd->cmp);
	}
	case K_SENT: {
		if (!head(c)) return 0;
		const char *v;
		size_t vn;
		long long t;
		int zone;
		if (!mime_header_get(c->h, c->hlen, "Date", &v, &vn) || mime_date(v, vn, &t, &zone) < 0)
			return 0;
		long long day = (t + zone * 60LL);
		day = day >= 0 ? day / 86400 : (day - 86399) / 86400;
		return cmp_match(day, nd->num, nd->cmp);
	}
	case K_HEADER: return header_match(c, nd->field, nd->str, nd->len);
	case K_BODY:
		if (!load(c)) return 0;
		return contains(c->msg.text.s + c->hlen, c->msg.text.len - c->hlen, nd->str, nd->len) ||
		       search_body_decoded(&c->msg, nd->str, nd->len);
	case K_TEXT:
		if (!load(c)) return 0;
		if (contains(c->msg.text.s, c->msg.text.len, nd->str, nd->len)) return 1;
		return search_body_decoded(&c->msg, nd->str, nd->len);
	}
	return 0;
}

int search_run(struct session *s, const struct search *q, size_t **out, size_t *nout)
{
	struct folder *f = s->sel;
	size_t *res = malloc((f->n ? f->n : 1) * sizeof *res);
	if (!res) return -1;
	struct ctx c = { .s = s, .f = f };
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (f->m[i].gone) continue;
		c.i = i;
		c.loaded = 0;
		c.have_head = 0;
		if (eval(&c, q, q->root)) res[n++] = i;
		if (c.loaded) mime_free(&c.msg.mime);
	}
	message_free(&c.msg);
	buf_free(&c.tmp);
	*out = res;
	*nout = n;
	return 0;
}

void cmd_search(struct session *s, struct imap_parser *ps)
{
	struct search q;
	struct search_opts o;
	if (ip_sp(ps) < 0) return bad(s, "Missing search keys.");
	if (search_return_opts(ps, &o) < 0) return bad(s, "Invalid RETURN options.");
	int r = search_parse(s, ps, &q);
	if (r < 0 || !ip_eol(ps)) {
		search_free(&q);
		return r == -2 ? no(s, "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset.") : bad(s, "Invalid search keys.");
	}
	size_t *res, n;
	if (search_run(s, &q, &res, &n) < 0) {
		search_free(&q);
		return no(s, "[SERVERBUG] Out of memory.");
	}
	search_reply(s, &o, res, n);
	free(res);
	search_free(&q);
	tagged(s, "OK", "Search completed.");
}
