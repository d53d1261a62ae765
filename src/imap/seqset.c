/* seqset.c — IMAP sequence sets ("1,4:7,9:*") as ranges, and their
 * resolution to message indices of the selected folder, by sequence
 * number or by UID. '*' is stored as 0 and stands for the largest value. */
#include "imap.h"

#include <stdlib.h>
#include <string.h>

static int add_range(struct seqset *set, uint32_t a, uint32_t b)
{
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 8;
		if (cap > 1000000) return -1;
		uint32_t (*r)[2] = realloc(set->r, cap * sizeof *r);
		if (!r) return -1;
		set->r = r;
		set->cap = cap;
	}
	set->r[set->n][0] = a;
	set->r[set->n][1] = b;
	set->n++;
	return 0;
}

static int number(const char *s, size_t n, size_t *i, uint32_t *v)
{
	if (*i < n && s[*i] == '*') {
		(*i)++;
		*v = 0;
		return 0;
	}
	uint64_t x = 0;
	size_t start = *i;
	while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
		x = x * 10 + (uint64_t)(s[*i] - '0');
		if (x > UINT32_MAX) return -1;
		(*i)++;
	}
	if (*i == start || x == 0) return -1;
	*v = (uint32_t)x;
	return 0;
}

int seqset_parse(const char *s, size_t n, struct seqset *set)
{
	size_t i = 0;
	set->n = 0;
	set->has_star = 0;
	for (;;) {
		uint32_t a, b;
		if (number(s, n, &i, &a) < 0) return -1;
		b = a;
		if (i < n && s[i] == ':') {
			i++;
			if (number(s, n, &i, &b) < 0) return -1;
		}
		if (!a || !b) set->has_star = 1;
		if (add_range(set, a, b) < 0) return -1;
		if (i == n) return 0;
		if (s[i] != ',') return -1;
		i++;
	}
}

int seqset_has(const struct seqset *set, uint32_t v, uint32_t star)
{
	for (size_t i = 0; i < set->n; i++) {
		uint32_t a = set->r[i][0] ? set->r[i][0] : star;
		uint32_t b = set->r[i][1] ? set->r[i][1] : star;
		if (a > b) { uint32_t t = a; a = b; b = t; }
		if (v >= a && v <= b) return 1;
	}
	return 0;
}

void seqset_free(struct seqset *set)
{
	free(set->r);
	set->r = NULL;
	set->n = set->cap = 0;
}

static int by_start(const void *x, const void *y)
{
	const uint32_t *a = x, *b = y;
	return a[0] < b[0] ? -1 : a[0] > b[0];
}

int seqset_select(struct session *s, const struct seqset *set, int by_uid, size_t **out, size_t *nout)
{
	struct folder *f = s->sel;
	static const struct seqset empty = { 0 };
	if (set->saved) {
		/* SEARCHRES keeps UIDs, whatever the command counts in */
		set = s->saved ? s->saved : &empty;
		by_uid = 1;
	}
	uint32_t star = by_uid ? (f->n ? f->m[f->n - 1].uid : 0) : (uint32_t)f->n;
	uint32_t (*r)[2] = malloc((set->n ? set->n : 1) * sizeof *r);
	size_t *idx = malloc((f->n ? f->n : 1) * sizeof *idx);
	if (!r || !idx) { free(r); free(idx); return -1; }
	for (size_t i = 0; i < set->n; i++) {
		uint32_t a = set->r[i][0] ? set->r[i][0] : star;
		uint32_t b = set->r[i][1] ? set->r[i][1] : star;
		if (a > b) { uint32_t t = a; a = b; b = t; }
		/* sequence numbers past the end are an error, unless '*' on
		 * an empty folder made them so */
		if (!by_uid && b > f->n && !(f->n == 0 && set->has_star)) {
			free(r);
			free(idx);
			return -2;
		}
		r[i][0] = a;
		r[i][1] = b;
	}
	if (set->n > 1) qsort(r, set->n, sizeof *r, by_start);
	size_t n = 0, k = 0;
	for (size_t i = 0; i < f->n; i++) {
		uint32_t v = by_uid ? f->m[i].uid : (uint32_t)(i + 1);
		while (k < set->n && r[k][1] < v) k++;
		if (k == set->n) break;
		/* ranges overlap after sorting by start: check the next few */
		for (size_t j = k; j < set->n && r[j][0] <= v; j++)
			if (v <= r[j][1]) { idx[n++] = i; break; }
	}
	free(r);
	*out = idx;
	*nout = n;
	return 0;
}

int parse_set_arg(struct imap_parser *ps, struct seqset *set)
{
	char *t;
	size_t n;
	if (ip_peek(ps) == '$') {
		ps->pos++;
		set->n = 0;
		set->saved = 1;
		return ip_eol(ps) || ip_peek(ps) == ' ' ? 0 : -1;
	}
	if (ip_atom(ps, "*", &t, &n) < 0) return -1;
	return seqset_parse(t, n, set);
}
