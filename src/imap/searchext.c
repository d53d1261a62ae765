/* searchext.c — around SEARCH: ESEARCH result options (MIN MAX ALL COUNT
 * SAVE), the SEARCH/ESEARCH replies, the saved result "$", and decoding
 * header words and body parts so a search finds text that was encoded. */
#include "search.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int search_return_opts(struct imap_parser *ps, struct search_opts *o)
{
	memset(o, 0, sizeof *o);
	size_t save = ps->pos;
	char *a;
	size_t n;
	if (ip_atom(ps, NULL, &a, &n) < 0 || !imap_word_is(a, n, "RETURN")) {
		ps->pos = save;
		return 0;
	}
	if (ip_sp(ps) < 0 || ip_char(ps, '(') < 0) return -1;
	o->esearch = 1;
	while (ip_char(ps, ')') < 0) {
		if (ip_atom(ps, NULL, &a, &n) < 0) return -1;
		if (imap_word_is(a, n, "MIN")) o->what |= SR_MIN;
		else if (imap_word_is(a, n, "MAX")) o->what |= SR_MAX;
		else if (imap_word_is(a, n, "ALL")) o->what |= SR_ALL;
		else if (imap_word_is(a, n, "COUNT")) o->what |= SR_COUNT;
		else if (imap_word_is(a, n, "SAVE")) o->what |= SR_SAVE;
		else return -1;
		ip_sp(ps);
	}
	if (!(o->what & ~SR_SAVE) && !(o->what & SR_SAVE)) o->what = SR_ALL;
	return ip_sp(ps);
}

static uint32_t val(struct session *s, size_t i)
{
	return s->uid ? s->sel->m[i].uid : (uint32_t)(i + 1);
}

/* a compact set "1:4,7" of the values of idx (ascending) */
static void put_set(struct session *s, struct buf *b, const size_t *idx, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && val(s, idx[j + 1]) == val(s, idx[j]) + 1) j++;
		if (i) buf_addc(b, ',');
		buf_addnum(b, val(s, idx[i]));
		if (j > i) { buf_addc(b, ':'); buf_addnum(b, val(s, idx[j])); }
		i = j + 1;
	}
}

void search_reply(struct session *s, const struct search_opts *o, const size_t *idx, size_t n)
{
	if (o->what & SR_SAVE) {
		/* the saved result is kept as UIDs: it survives expunges */
		if (!s->saved) s->saved = calloc(1, sizeof *s->saved);
		if (s->saved) {
			s->saved->n = 0;
			for (size_t i = 0; i < n; i++) {
				if (s->saved->n == s->saved->cap) {
					size_t cap = s->saved->cap ? s->saved->cap * 2 : 16;
					uint32_t (*r)[2] = realloc(s->saved->r, cap * sizeof *r);
					if (!r) break;
					s->saved->r = r;
					s->saved->cap = cap;
				}
				uint32_t u = s->sel->m[idx[i]].uid;
				s->saved->r[s->saved->n][0] = s->saved->r[s->saved->n][1] = u;
				s->saved->n++;
			}
		}
	}
	struct buf b = BUF_INIT;
	if (!o->esearch) {
		buf_adds(&b, "* SEARCH");
		for (size_t i = 0; i < n; i++) {
			buf_addc(&b, ' ');
			buf_addnum(&b, val(s, idx[i]));
		}
	} else {
		if (o->what == SR_SAVE) { buf_free(&b); return; }
		buf_adds(&b, "* ESEARCH (TAG ");
		imap_put_string(&b, s->tag, s->taglen);
		buf_addc(&b, ')');
		if (s->uid) buf_adds(&b, " UID");
		if ((o->what & SR_MIN) && n) { buf_adds(&b, " MIN "); buf_addnum(&b, val(s, idx[0])); }
		if ((o->what & SR_MAX) && n) { buf_adds(&b, " MAX "); buf_addnum(&b, val(s, idx[n - 1])); }
		if ((o->what & SR_ALL) && n) { buf_adds(&b, " ALL "); put_set(s, &b, idx, n); }
		if (o->what & SR_COUNT) { buf_adds(&b, " COUNT "); buf_addnum(&b, n); }
	}
	buf_add(&b, "\r\n", 2);
	out_buf(s, &b);
	buf_free(&b);
}

/* ---- decoding ---- */

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

static void b64_decode(const char *s, size_t n, struct buf *out)
{
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val(s[i]);
		if (v < 0) continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addc(out, (char)((acc >> bits) & 0xff));
		}
	}
}

static void qp_decode(const char *s, size_t n, struct buf *out, int underscore)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			buf_addc(out, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 2;
		} else if (s[i] == '=' && i + 1 < n && (s[i + 1] == '\r' || s[i + 1] == '\n')) {
			i += s[i + 1] == '\r' && i + 2 < n && s[i + 2] == '\n' ? 2 : 1; /* soft break */
		} else if (underscore && s[i] == '_') {
			buf_addc(out, ' ');
		} else {
			buf_addc(out, s[i]);
		}
	}
}

/* Latin-1 bytes appended as UTF-8 */
static void latin1(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) buf_addc(out, (char)c);
		else { buf_addc(out, (char)(0xc0 | (c >> 6))); buf_addc(out, (char)(0x80 | (c & 0x3f))); }
	}
}

int search_decode_words(const char *in, size_t n, struct buf *out)
{
	struct buf res = BUF_INIT, word = BUF_INIT;
	int any = 0;
	size_t i = 0, pending_ws = 0, ws_at = 0;
	while (i < n) {
		if (in[i] == '=' && i + 1 < n && in[i + 1] == '?') {
			/* =?charset?E?text?= */
			size_t c = i + 2, q1, q2, end;
			while (c < n && in[c] != '?') c++;
			q1 = c;
			if (q1 + 2 < n && in[q1 + 2] == '?') {
				q2 = q1 + 2;
				end = q2 + 1;
				while (end + 1 < n && !(in[end] == '?' && in[end + 1] == '=')) end++;
				if (end + 1 < n) {
					char enc = in[q1 + 1];
					buf_reset(&word);
					if (enc == 'B' || enc == 'b') b64_decode(in + q2 + 1, end - q2 - 1, &word);
					else if (enc == 'Q' || enc == 'q') qp_decode(in + q2 + 1, end - q2 - 1, &word, 1);
					else goto plain;
					/* white space between two encoded words disappears */
					if (!any || ws_at != res.len) {
						if (pending_ws) buf_add(&res, in + i - pending_ws, pending_ws);
					}
					pending_ws = 0;
					size_t cl = q1 - (i + 2);
					const char *cs = in + i + 2;
					if ((cl == 10 && strncasecmp(cs, "iso-8859-1", 10) == 0) ||
					    (cl == 12 && strncasecmp(cs, "windows-1252", 12) == 0))
						latin1(word.s ? word.s : "", word.len, &res);
					else
						buf_add(&res, word.s ? word.s : "", word.len);
					ws_at = res.len;
					any = 1;
					i = end + 2;
					continue;
				}
			}
		}
	plain:
		if (in[i] == ' ' || in[i] == '\t') {
			size_t s = i;
			while (i < n && (in[i] == ' ' || in[i] == '\t')) i++;
			pending_ws = i - s;
			if (i == n) buf_add(&res, in + s, pending_ws);
			continue;
		}
		if (pending_ws) { buf_add(&res, in + i - pending_ws, pending_ws); pending_ws = 0; }
		buf_addc(&res, in[i]);
		i++;
	}
	buf_free(&word);
	if (!any) { buf_free(&res); return -1; }
	buf_set(out, res.s ? res.s : "", res.len);
	buf_free(&res);
	return 0;
}

static int contains_ci(const char *h, size_t hn, const char *nd, size_t nn)
{
	if (nn == 0) return 1;
	for (size_t i = 0; i + nn <= hn; i++) {
		size_t k = 0;
		for (; k < nn; k++) {
			unsigned char x = (unsigned char)h[i + k], y = (unsigned char)nd[k];
			if (x >= 'A' && x <= 'Z') x += 32;
			if (y >= 'A' && y <= 'Z') y += 32;
			if (x != y) break;
		}
		if (k == nn) return 1;
	}
	return 0;
}

int search_body_decoded(struct message *msg, const char *str, size_t n)
{
	if (!msg->have_mime) {
		if (mime_parse(&msg->mime, msg->text.s ? msg->text.s : "", msg->text.len) < 0) return 0;
		msg->have_mime = 1;
	}
	const struct mime *m = &msg->mime;
	struct buf dec = BUF_INIT, t = BUF_INIT;
	int found = 0;
	for (size_t i = 0; i < m->nparts && !found; i++) {
		const struct mime_part *p = &m->parts[i];
		if (p->kind != MIME_LEAF) continue;
		const char *v;
		size_t vn;
		if (!mime_header_get(m->msg + p->off, p->hdr_len, "Content-Transfer-Encoding", &v, &vn)) continue;
		mime_unfold(v, vn, &t);
		int b64 = imap_word_is(t.s, t.len, "base64"), qp = imap_word_is(t.s, t.len, "quoted-printable");
		if (!b64 && !qp) continue;
		buf_reset(&dec);
		if (b64) b64_decode(m->msg + p->body_off, p->body_len, &dec);
		else qp_decode(m->msg + p->body_off, p->body_len, &dec, 0);
		found = contains_ci(dec.s ? dec.s : "", dec.len, str, n);
	}
	buf_free(&dec);
	buf_free(&t);
	return found;
}
