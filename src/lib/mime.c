/* mime.c — MIME structure, header fields, Content-Type parameters,
 * address lists and dates, all bounded and tolerant (see mime.h). */
#include "mime.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- header fields ---- */

static size_t line_end(const char *s, size_t pos, size_t end)
{
	const char *nl = memchr(s + pos, '\n', end - pos);
	return nl ? (size_t)(nl - s) + 1 : end;
}

static int is_blank_line(const char *s, size_t pos, size_t end)
{
	return (pos < end && s[pos] == '\n') ||
	       (pos + 1 < end && s[pos] == '\r' && s[pos + 1] == '\n');
}

int mime_field_next(const char *h, size_t hlen, size_t *pos, struct mime_field *f)
{
	size_t p = *pos;
	if (p >= hlen || is_blank_line(h, p, hlen)) return 0;
	f->off = p;
	size_t e = line_end(h, p, hlen);
	while (e < hlen && (h[e] == ' ' || h[e] == '\t')) e = line_end(h, e, hlen);
	f->len = e - p;
	/* the name: up to ':' on the first line; none for a continuation
	 * line at the start or a line without a colon */
	size_t first = line_end(h, p, hlen);
	const char *colon = (h[p] == ' ' || h[p] == '\t') ? NULL : memchr(h + p, ':', first - p);
	size_t vend = e;
	if (vend > p && h[vend - 1] == '\n') vend--;
	if (vend > p && h[vend - 1] == '\r') vend--;
	f->name_off = p;
	if (colon) {
		size_t nlen = (size_t)(colon - (h + p));
		while (nlen && (h[p + nlen - 1] == ' ' || h[p + nlen - 1] == '\t')) nlen--;
		f->name_len = nlen;
		f->val_off = (size_t)(colon - h) + 1;
	} else {
		f->name_len = 0;
		f->val_off = p;
	}
	f->val_len = vend > f->val_off ? vend - f->val_off : 0;
	*pos = e;
	return 1;
}

int mime_header_get(const char *h, size_t hlen, const char *name, const char **v, size_t *vn)
{
	size_t pos = 0, k = strlen(name);
	struct mime_field f;
	while (mime_field_next(h, hlen, &pos, &f)) {
		if (f.name_len == k && strncasecmp(h + f.name_off, name, k) == 0) {
			*v = h + f.val_off;
			*vn = f.val_len;
			return 1;
		}
	}
	return 0;
}

int mime_unfold(const char *v, size_t n, struct buf *out)
{
	buf_reset(out);
	if (buf_ready(out, n) < 0) return -1;
	for (size_t i = 0; i < n; i++)
		if (v[i] != '\r' && v[i] != '\n') out->s[out->len++] = v[i];
	size_t a = 0;
	while (a < out->len && (out->s[a] == ' ' || out->s[a] == '\t')) a++;
	while (out->len > a && (out->s[out->len - 1] == ' ' || out->s[out->len - 1] == '\t')) out->len--;
	if (a) memmove(out->s, out->s + a, out->len - a);
	out->len -= a;
	out->s[out->len] = 0;
	return 0;
}

/* ---- Content-Type and parameters ---- */

static size_t skip_cfws(const char *v, size_t n, size_t i)
{
	for (;;) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n')) i++;
		if (i >= n || v[i] != '(') return i;
		int depth = 0;
		while (i < n) {
			if (v[i] == '\\' && i + 1 < n) { i += 2; continue; }
			if (v[i] == '(') depth++;
			else if (v[i] == ')' && --depth == 0) { i++; break; }
			i++;
		}
	}
}

static int is_tspecial_end(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '(' ||
	       c == '/' || c == '=' || c == '"';
}

int mime_ctype(const char *v, size_t n, const char **type, size_t *tn,
               const char **sub, size_t *sn, size_t *params_at)
{
	size_t i = skip_cfws(v, n, 0), s = i;
	while (i < n && !is_tspecial_end(v[i])) i++;
	*type = v + s;
	*tn = i - s;
	*sub = v + i;
	*sn = 0;
	i = skip_cfws(v, n, i);
	if (i < n && v[i] == '/') {
		i = skip_cfws(v, n, i + 1);
		s = i;
		while (i < n && !is_tspecial_end(v[i])) i++;
		*sub = v + s;
		*sn = i - s;
	}
	while (i < n && v[i] != ';') i++;
	*params_at = i;
	return *tn ? 0 : -1;
}

int mime_param_next(const char *v, size_t n, size_t *pos, struct buf *attr, struct buf *val)
{
	size_t i = *pos;
	for (;;) {
		/* find the next ';' outside quotes */
		int inq = 0;
		while (i < n && (inq || v[i] != ';')) {
			if (v[i] == '\\' && inq && i + 1 < n) i++;
			else if (v[i] == '"') inq = !inq;
			i++;
		}
		if (i >= n) { *pos = n; return 0; }
		i = skip_cfws(v, n, i + 1);
		size_t s = i;
		while (i < n && !is_tspecial_end(v[i])) i++;
		size_t alen = i - s;
		i = skip_cfws(v, n, i);
		if (!alen || i >= n || v[i] != '=') continue;
		buf_set(attr, v + s, alen);
		buf_reset(val);
		i = skip_cfws(v, n, i + 1);
		if (i < n && v[i] == '"') {
			i++;
			while (i < n && v[i] != '"') {
				if (v[i] == '\\' && i + 1 < n) i++;
				if (v[i] != '\r' && v[i] != '\n' && buf_addc(val, v[i]) < 0) return -1;
				i++;
			}
			if (i < n) i++;
		} else {
			s = i;
			while (i < n && v[i] != ';' && v[i] != ' ' && v[i] != '\t' && v[i] != '\r' &&
			       v[i] != '\n' && v[i] != '(')
				i++;
			if (buf_add(val, v + s, i - s) < 0) return -1;
		}
		*pos = i;
		return 1;
	}
}

/* ---- structure ---- */

static int new_part(struct mime *m)
{
	if (m->nparts == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct mime_part *p = realloc(m->parts, cap * sizeof *p);
		if (!p) return -1;
		m->parts = p;
		m->cap = cap;
	}
	struct mime_part *p = &m->parts[m->nparts];
	memset(p, 0, sizeof *p);
	p->parent = p->child = p->next = -1;
	return (int)m->nparts++;
}

static int word_is(const char *s, size_t n, const char *w)
{
	size_t k = strlen(w);
	return n == k && strncasecmp(s, w, k) == 0;
}

/* Does the line at pos ("--boundary[--]  EOL") delimit? 1 part, 2 close. */
static int delimiter(const char *s, size_t pos, size_t next, const char *b, size_t bn)
{
	size_t len = next - pos;
	if (len < 2 + bn || s[pos] != '-' || s[pos + 1] != '-' || memcmp(s + pos + 2, b, bn) != 0)
		return 0;
	size_t i = pos + 2 + bn;
	int close = 0;
	if (i + 1 < next && s[i] == '-' && s[i + 1] == '-') { close = 1; i += 2; }
	while (i < next && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
	if (i != next) return 0;
	return close ? 2 : 1;
}

static int parse_part(struct mime *m, size_t off, size_t end, int depth, int parent, int digest);

static int add_child(struct mime *m, int parent, int *last, size_t off, size_t end, int depth, int digest)
{
	int c = parse_part(m, off, end, depth, parent, digest);
	if (c < 0) return -1;
	if (*last < 0) m->parts[parent].child = c;
	else m->parts[*last].next = c;
	*last = c;
	return 0;
}

static int split_multipart(struct mime *m, int idx, const char *b, size_t bn, int digest)
{
	const char *s = m->msg;
	size_t pos = m->parts[idx].body_off, end = pos + m->parts[idx].body_len;
	size_t start = 0;
	int open = 0, last = -1, depth = m->parts[idx].depth + 1;
	while (pos < end) {
		size_t next = line_end(s, pos, end);
		int d = s[pos] == '-' ? delimiter(s, pos, next, b, bn) : 0;
		if (d) {
			if (open) {
				size_t e = pos;
				if (e > start && s[e - 1] == '\n') e--;
				if (e > start && s[e - 1] == '\r') e--;
				if (m->nparts < MIME_MAX_PARTS && add_child(m, idx, &last, start, e, depth, digest) < 0)
					return -1;
			}
			open = d == 1;
			start = next;
			if (d == 2) break;
		}
		pos = next;
	}
	if (open && m->nparts < MIME_MAX_PARTS && add_child(m, idx, &last, start, end, depth, digest) < 0)
		return -1;
	if (last < 0) {
		/* no boundary at all: the body as one headerless text part */
		int c = new_part(m);
		if (c < 0) return -1;
		struct mime_part *p = &m->parts[c];
		p->off = p->body_off = m->parts[idx].body_off;
		p->body_len = m->parts[idx].body_len;
		p->body_lines = m->parts[idx].body_lines;
		p->depth = depth;
		p->parent = idx;
		m->parts[idx].child = c;
	}
	return 0;
}

static size_t count_lines(const char *s, size_t n)
{
	size_t lines = 0;
	const char *p = s, *e = s + n;
	while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) { lines++; p++; }
	if (n && s[n - 1] != '\n') lines++;
	return lines;
}

static int parse_part(struct mime *m, size_t off, size_t end, int depth, int parent, int digest)
{
	int idx = new_part(m);
	if (idx < 0) return -1;
	const char *s = m->msg;
	/* the header ends at the first empty line */
	size_t pos = off;
	while (pos < end && !is_blank_line(s, pos, end)) pos = line_end(s, pos, end);
	if (pos < end) pos = line_end(s, pos, end);
	struct mime_part *p = &m->parts[idx];
	p->off = off;
	p->hdr_len = pos - off;
	p->body_off = pos;
	p->body_len = end - pos;
	p->body_lines = count_lines(s + pos, end - pos);
	p->depth = depth;
	p->parent = parent;

	const char *v, *type, *sub;
	size_t vn, tn, sn, params;
	int multipart = 0, message = 0;
	if (mime_header_get(s + off, p->hdr_len, "Content-Type", &v, &vn) &&
	    mime_ctype(v, vn, &type, &tn, &sub, &sn, &params) == 0) {
		multipart = word_is(type, tn, "multipart");
		message = word_is(type, tn, "message") && (word_is(sub, sn, "rfc822") || word_is(sub, sn, "global"));
	} else if (digest) {
		p->digest_default = 1;
		message = 1;
		v = NULL;
		vn = params = 0;
	}
	if (!multipart && !message) return idx;
	if (depth >= MIME_MAX_DEPTH || m->nparts >= MIME_MAX_PARTS) {
		p->forced_octet = 1;
		return idx;
	}
	if (message) {
		const char *ce;
		size_t cen;
		if (mime_header_get(s + off, p->hdr_len, "Content-Transfer-Encoding", &ce, &cen)) {
			struct buf t = BUF_INIT;
			int plain = mime_unfold(ce, cen, &t) == 0 &&
			            (word_is(t.s, t.len, "7bit") || word_is(t.s, t.len, "8bit") ||
			             word_is(t.s, t.len, "binary"));
			buf_free(&t);
			if (!plain) { p->forced_octet = 1; return idx; }
		}
		m->parts[idx].kind = MIME_MESSAGE;
		size_t boff = m->parts[idx].body_off;
		int c = parse_part(m, boff, end, depth + 1, idx, 0);
		if (c < 0) return -1;
		m->parts[idx].child = c;
		return idx;
	}
	/* multipart: find the boundary */
	struct buf attr = BUF_INIT, val = BUF_INIT;
	size_t ppos = params;
	int found = 0, r;
	while ((r = mime_param_next(v, vn, &ppos, &attr, &val)) == 1)
		if (word_is(attr.s, attr.len, "boundary") && val.len > 0 && val.len <= 200) { found = 1; break; }
	buf_free(&attr);
	m->parts[idx].kind = MIME_MULTIPART;
	int isdigest = word_is(sub, sn, "digest");
	if (r < 0) { buf_free(&val); return -1; }
	int rc = split_multipart(m, idx, found ? val.s : "", found ? val.len : 0, isdigest);
	buf_free(&val);
	return rc < 0 ? -1 : idx;
}

int mime_parse(struct mime *m, const char *msg, size_t len)
{
	m->msg = msg;
	m->len = len;
	m->nparts = 0;
	return parse_part(m, 0, len, 0, -1, 0) < 0 ? -1 : 0;
}

void mime_free(struct mime *m)
{
	free(m->parts);
	m->parts = NULL;
	m->nparts = m->cap = 0;
}

/* ---- addresses ---- */

enum { TK_END, TK_ATOM, TK_QUOTED, TK_SPECIAL };
struct tok { int type; size_t off, len; };

static int addr_special(char c)
{
	return strchr("()<>:;@,.[]\\\"", c) != NULL;
}

static struct tok next_tok(const char *v, size_t n, size_t *pos)
{
	struct tok t = { TK_END, 0, 0 };
	size_t i = skip_cfws(v, n, *pos);
	if (i >= n) { *pos = n; return t; }
	t.off = i;
	if (v[i] == '"') {
		i++;
		while (i < n && v[i] != '"') i += (v[i] == '\\' && i + 1 < n) ? 2 : 1;
		if (i < n) i++;
		t.type = TK_QUOTED;
	} else if (v[i] == '[') {
		while (i < n && v[i] != ']') i++;
		if (i < n) i++;
		t.type = TK_ATOM;
	} else if (addr_special(v[i])) {
		i++;
		t.type = TK_SPECIAL;
	} else {
		while (i < n && !addr_special(v[i]) && v[i] != ' ' && v[i] != '\t' && v[i] != '\r' && v[i] != '\n') i++;
		t.type = TK_ATOM;
	}
	t.len = i - t.off;
	*pos = i;
	return t;
}

#define MAXTOK 128

/* display name: words joined by one space, quoted strings unquoted */
static int add_phrase(struct buf *b, const char *v, const struct tok *t, size_t nt)
{
	for (size_t i = 0; i < nt; i++) {
		if (t[i].type == TK_SPECIAL && v[t[i].off] == '.') {
			if (buf_addc(b, '.') < 0) return -1;
			continue;
		}
		if (i && !(t[i - 1].type == TK_SPECIAL && v[t[i - 1].off] == '.') && buf_addc(b, ' ') < 0)
			return -1;
		if (t[i].type == TK_QUOTED) {
			for (size_t k = t[i].off + 1; k < t[i].off + t[i].len; k++) {
				if (v[k] == '"' && k == t[i].off + t[i].len - 1) break;
				if (v[k] == '\\' && k + 1 < t[i].off + t[i].len) k++;
				if (v[k] != '\r' && v[k] != '\n' && buf_addc(b, v[k]) < 0) return -1;
			}
		} else if (buf_add(b, v + t[i].off, t[i].len) < 0) {
			return -1;
		}
	}
	return 0;
}

static int add_raw(struct buf *b, const char *v, const struct tok *t, size_t nt)
{
	for (size_t i = 0; i < nt; i++)
		if (buf_add(b, v + t[i].off, t[i].len) < 0) return -1;
	return 0;
}

struct span { size_t off, len; int set; };

static int emit(struct buf *sc, const struct span *sp, int (*fn)(const struct mime_addr *, void *), void *arg)
{
	struct mime_addr a;
	const char **ptr[4] = { &a.name, &a.route, &a.local, &a.domain };
	size_t *len[4] = { &a.name_len, &a.route_len, &a.local_len, &a.domain_len };
	for (int i = 0; i < 4; i++) {
		*ptr[i] = !sp[i].set ? NULL : sc->s ? sc->s + sp[i].off : ""; /* set but empty scratch: "" */
		*len[i] = sp[i].set ? sp[i].len : 0;
	}
	return fn(&a, arg);
}

static int mark(struct buf *sc, struct span *sp, int which, size_t start)
{
	sp[which].off = start;
	sp[which].len = sc->len - start;
	sp[which].set = 1;
	return 0;
}

/* addr-spec from tokens: local '@' domain (last '@' splits) */
static int addr_spec(struct buf *sc, struct span *sp, const char *v, const struct tok *t, size_t nt)
{
	size_t at = nt;
	for (size_t i = 0; i < nt; i++)
		if (t[i].type == TK_SPECIAL && v[t[i].off] == '@') at = i;
	size_t s = sc->len;
	if (add_raw(sc, v, t, at) < 0) return -1;
	mark(sc, sp, 2, s);
	s = sc->len;
	if (at < nt) {
		if (add_raw(sc, v, t + at + 1, nt - at - 1) < 0) return -1;
	} else if (buf_adds(sc, "MISSING_DOMAIN") < 0) {
		return -1;
	}
	mark(sc, sp, 3, s);
	return 0;
}

int mime_addr_list(const char *v, size_t n, struct buf *sc,
                   int (*fn)(const struct mime_addr *a, void *arg), void *arg)
{
	size_t pos = 0;
	int in_group = 0;
	struct tok t[MAXTOK];
	for (;;) {
		size_t nt = 0;
		struct tok k;
		for (;;) {
			k = next_tok(v, n, &pos);
			if (k.type == TK_END) break;
			if (k.type == TK_SPECIAL && strchr("<:;,", v[k.off])) break;
			if (nt < MAXTOK) t[nt++] = k;
		}
		char c = k.type == TK_END ? 0 : v[k.off];
		struct span sp[4];
		memset(sp, 0, sizeof sp);
		buf_reset(sc);
		if (c == '<') {
			size_t s = sc->len;
			if (nt) {
				if (add_phrase(sc, v, t, nt) < 0) return -1;
				mark(sc, sp, 0, s);
			}
			/* inside the angle brackets: [@route,@route:] addr-spec */
			nt = 0;
			size_t route_end = 0;
			for (;;) {
				k = next_tok(v, n, &pos);
				if (k.type == TK_END || (k.type == TK_SPECIAL && v[k.off] == '>')) break;
				if (k.type == TK_SPECIAL && v[k.off] == ':' && nt && v[t[0].off] == '@') {
					route_end = nt;
					continue;
				}
				if (nt < MAXTOK) t[nt++] = k;
			}
			if (route_end) {
				s = sc->len;
				for (size_t i = 0; i < route_end; i++)
					if (buf_add(sc, v + t[i].off, t[i].len) < 0) return -1;
				mark(sc, sp, 1, s);
			}
			if (nt > route_end) {
				if (addr_spec(sc, sp, v, t + route_end, nt - route_end) < 0) return -1;
				if (emit(sc, sp, fn, arg) < 0) return -1;
			}
			/* skip anything up to the next ',' or ';' */
			size_t save;
			for (;;) {
				save = pos;
				k = next_tok(v, n, &pos);
				if (k.type == TK_END) break;
				if (k.type == TK_SPECIAL && (v[k.off] == ',' || v[k.off] == ';')) { pos = save; break; }
			}
			continue;
		}
		if (c == ':' && !in_group) {
			size_t s = sc->len;
			if (add_phrase(sc, v, t, nt) < 0) return -1;
			mark(sc, sp, 2, s);
			if (emit(sc, sp, fn, arg) < 0) return -1;
			in_group = 1;
			continue;
		}
		if (nt) {
			if (addr_spec(sc, sp, v, t, nt) < 0) return -1;
			if (emit(sc, sp, fn, arg) < 0) return -1;
		}
		if (c == ';' && in_group) {
			memset(sp, 0, sizeof sp);
			if (emit(sc, sp, fn, arg) < 0) return -1;
			in_group = 0;
		}
		if (c == 0) break;
	}
	if (in_group) {
		struct span sp[4];
		memset(sp, 0, sizeof sp);
		if (emit(sc, sp, fn, arg) < 0) return -1;
	}
	return 0;
}

/* ---- dates ---- */

static long long days_from_civil(long long y, int mo, int d)
{
	y -= mo <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int num(const char *v, size_t n, size_t *i, int maxdig, long long *out)
{
	size_t s = *i;
	long long x = 0;
	while (*i < n && v[*i] >= '0' && v[*i] <= '9' && (int)(*i - s) < maxdig) x = x * 10 + (v[(*i)++] - '0');
	if (*i == s) return -1;
	*out = x;
	return 0;
}

int mime_date(const char *v, size_t n, long long *t, int *zone_min)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	size_t i = skip_cfws(v, n, 0);
	/* optional day name */
	if (i < n && ((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z'))) {
		while (i < n && v[i] != ',' && v[i] != ' ') i++;
		if (i < n && v[i] == ',') i++;
		i = skip_cfws(v, n, i);
	}
	long long d, y, hh, mm, ss = 0;
	if (num(v, n, &i, 2, &d) < 0) return -1;
	i = skip_cfws(v, n, i);
	if (i + 3 > n) return -1;
	int mo = 0;
	for (int k = 0; k < 12; k++)
		if (strncasecmp(v + i, months + 3 * k, 3) == 0) mo = k + 1;
	if (!mo) return -1;
	while (i < n && v[i] != ' ' && v[i] != '\t' && v[i] != '-') i++;
	if (i < n && v[i] == '-') i++;
	i = skip_cfws(v, n, i);
	size_t ys = i;
	if (num(v, n, &i, 4, &y) < 0) return -1;
	if (i - ys <= 2) y += y < 50 ? 2000 : 1900;
	else if (i - ys == 3) y += 1900;
	i = skip_cfws(v, n, i);
	if (num(v, n, &i, 2, &hh) < 0 || i >= n || v[i] != ':') return -1;
	i++;
	if (num(v, n, &i, 2, &mm) < 0) return -1;
	if (i < n && v[i] == ':') { i++; if (num(v, n, &i, 2, &ss) < 0) return -1; }
	if (d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60) return -1;
	i = skip_cfws(v, n, i);
	int zone = 0;
	if (i < n && (v[i] == '+' || v[i] == '-')) {
		int sign = v[i] == '-' ? -1 : 1;
		i++;
		long long z;
		size_t zs = i;
		if (num(v, n, &i, 4, &z) == 0 && i - zs == 4) zone = sign * (int)((z / 100) * 60 + z % 100);
	} else if (i < n) {
		static const struct { const char *n; int z; } zones[] = {
			{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
			{ "MST", -420 }, { "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
		};
		for (size_t k = 0; k < sizeof zones / sizeof zones[0]; k++)
			if (n - i >= 3 && strncasecmp(v + i, zones[k].n, 3) == 0) zone = zones[k].z;
	}
	*t = days_from_civil(y, mo, (int)d) * 86400 + hh * 3600 + mm * 60 + ss - (long long)zone * 60;
	*zone_min = zone;
	return 0;
}
