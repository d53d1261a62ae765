/* sort.c — SORT and THREAD (RFC 5256): the search runs first, then each
 * hit gets its sort keys (base subject, sent date, first address, size,
 * arrival) read from its header. THREAD=ORDEREDSUBJECT groups by base
 * subject; THREAD=REFERENCES links Message-ID/References/In-Reply-To into
 * trees (JWZ's algorithm as RFC 5256 tells it), prunes empty containers,
 * merges roots of the same base subject and orders siblings by date. */
#include "search.h"
#include "log.h"
#include "uidlist.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct item {
	size_t idx;            /* message index */
	char *subj;            /* base subject, lower-cased */
	int is_reply;          /* the subject had Re:/Fwd: or a [fwd: ] wrapper */
	long long date;        /* sent date, else arrival */
	long long arrival;
	uint64_t size;
	char *addr[3];         /* first mailbox of From, To, Cc */
	char *msgid;
	char **refs;
	size_t nrefs;
};

/* ---- base subject (RFC 5256 2.1) ---- */

static int ws(char c) { return c == ' ' || c == '\t'; }

static char *base_subject(const char *v, size_t n, int *reply)
{
	struct buf b = BUF_INIT, t = BUF_INIT;
	mime_unfold(v, n, &b);
	if (search_decode_words(b.s ? b.s : "", b.len, &t) == 0) buf_set(&b, t.s, t.len);
	buf_free(&t);
	/* white space runs become one space; fold ASCII case */
	size_t w = 0;
	for (size_t i = 0; i < b.len; i++) {
		char c = b.s[i] == '\t' ? ' ' : b.s[i];
		if (c == ' ' && (w == 0 || b.s[w - 1] == ' ')) continue;
		b.s[w++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	while (w && b.s[w - 1] == ' ') w--;
	char *s = b.s ? b.s : "";
	size_t start = 0, end = w;
	*reply = 0;
	for (int changed = 1; changed;) {
		changed = 0;
		/* trailer: "(fwd)" */
		while (end >= start + 5 && strncmp(s + end - 5, "(fwd)", 5) == 0) {
			end -= 5;
			while (end > start && ws(s[end - 1])) end--;
			*reply = changed = 1;
		}
		/* leaders: "re:", "fw:", "fwd:" with optional [blob], and [blobs] */
		for (;;) {
			size_t i = start;
			while (i < end && ws(s[i])) i++;
			size_t k = i;
			if (end - k >= 2 && strncmp(s + k, "re", 2) == 0) k += 2;
			else if (end - k >= 3 && strncmp(s + k, "fwd", 3) == 0) k += 3;
			else if (end - k >= 2 && strncmp(s + k, "fw", 2) == 0) k += 2;
			if (k > i) {
				while (k < end && ws(s[k])) k++;
				if (k < end && s[k] == '[') {
					size_t c = k;
					while (c < end && s[c] != ']' && s[c] != '[') c++;
					if (c < end && s[c] == ']') k = c + 1;
				}
				while (k < end && ws(s[k])) k++;
				if (k < end && s[k] == ':') {
					start = k + 1;
					*reply = changed = 1;
					continue;
				}
			}
			if (i < end && s[i] == '[') {
				size_t c = i + 1;
				while (c < end && s[c] != ']' && s[c] != '[') c++;
				if (c < end && s[c] == ']') {
					size_t after = c + 1;
					while (after < end && ws(s[after])) after++;
					if (after < end) { /* a blob is kept when nothing follows it */
						start = after;
						changed = 1;
						continue;
					}
				}
			}
			break;
		}
		while (start < end && ws(s[start])) start++;
		/* "[fwd: ... ]" wrapper */
		if (end - start >= 6 && strncmp(s + start, "[fwd:", 5) == 0 && s[end - 1] == ']') {
			start += 5;
			end--;
			while (start < end && ws(s[start])) start++;
			while (end > start && ws(s[end - 1])) end--;
			*reply = changed = 1;
		}
	}
	char *out = strndup(s + start, end - start);
	buf_free(&b);
	return out;
}

/* ---- keys ---- */

struct first { char *mailbox; };

static int first_addr(const struct mime_addr *a, void *arg)
{
	struct first *f = arg;
	if (!f->mailbox && a->local && a->domain) {
		f->mailbox = strndup(a->local, a->local_len);
		for (char *p = f->mailbox; p && *p; p++)
			if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
	}
	return 0;
}

/* message-ids "<...>" in order from v */
static size_t msgids(const char *v, size_t n, char ***out, size_t max)
{
	size_t count = 0;
	for (size_t i = 0; i < n && count < max;) {
		const char *lt = memchr(v + i, '<', n - i);
		if (!lt) break;
		size_t a = (size_t)(lt - v);
		const char *gt = memchr(v + a, '>', n - a);
		if (!gt) break;
		size_t b = (size_t)(gt - v) + 1;
		char **x = realloc(*out, (count + 1) * sizeof *x);
		if (!x) break;
		*out = x;
		x[count] = strndup(v + a, b - a);
		if (!x[count]) break;
		count++;
		i = b;
	}
	return count;
}

static int load_keys(struct session *s, struct item *it, int need_text, int want_refs)
{
	struct folder *f = s->sel;
	struct msg *m = &f->m[it->idx];
	time_t t = 0;
	message_internaldate(f, m, &t);
	it->arrival = it->date = t;
	it->size = message_vsize(f, m);
	if (!need_text) return 0;
	const char *h;
	size_t hl;
	if (message_head(f, m, &h, &hl) < 0) return 0;
	const char *v;
	size_t vn;
	long long d;
	int zone;
	if (mime_header_get(h, hl, "Date", &v, &vn) && mime_date(v, vn, &d, &zone) == 0) it->date = d;
	it->subj = mime_header_get(h, hl, "Subject", &v, &vn) ? base_subject(v, vn, &it->is_reply) : strdup("");
	static const char *const fields[3] = { "From", "To", "Cc" };
	struct buf scratch = BUF_INIT;
	for (int k = 0; k < 3; k++) {
		struct first fa = { NULL };
		if (mime_header_get(h, hl, fields[k], &v, &vn)) mime_addr_list(v, vn, &scratch, first_addr, &fa);
		it->addr[k] = fa.mailbox;
	}
	buf_free(&scratch);
	if (want_refs) {
		char **ids = NULL;
		if (mime_header_get(h, hl, "Message-ID", &v, &vn) && msgids(v, vn, &ids, 1) == 1) it->msgid = ids[0];
		free(ids);
		if (mime_header_get(h, hl, "References", &v, &vn)) it->nrefs = msgids(v, vn, &it->refs, 256);
		if (!it->nrefs && mime_header_get(h, hl, "In-Reply-To", &v, &vn)) it->nrefs = msgids(v, vn, &it->refs, 1);
	}
	return 0;
}

static void items_free(struct item *it, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(it[i].subj);
		for (int k = 0; k < 3; k++) free(it[i].addr[k]);
		free(it[i].msgid);
		for (size_t r = 0; r < it[i].nrefs; r++) free(it[i].refs[r]);
		free(it[i].refs);
	}
	free(it);
}

/* ---- SORT ---- */

enum { SK_ARRIVAL, SK_CC, SK_DATE, SK_FROM, SK_SIZE, SK_SUBJECT, SK_TO };
struct crit { int key, reverse; };
static struct crit crits[16];
static size_t ncrits;

static int cmp_str(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : ""); }
static int cmp_num(long long a, long long b) { return a < b ? -1 : a > b; }

static int cmp_items(const void *x, const void *y)
{
	const struct item *a = x, *b = y;
	for (size_t i = 0; i < ncrits; i++) {
		int c = 0;
		switch (crits[i].key) {
		case SK_ARRIVAL: c = cmp_num(a->arrival, b->arrival); break;
		case SK_DATE: c = cmp_num(a->date, b->date); break;
		case SK_SIZE: c = cmp_num((long long)a->size, (long long)b->size); break;
		case SK_SUBJECT: c = cmp_str(a->subj, b->subj); break;
		case SK_FROM: c = cmp_str(a->addr[0], b->addr[0]); break;
		case SK_TO: c = cmp_str(a->addr[1], b->addr[1]); break;
		case SK_CC: c = cmp_str(a->addr[2], b->addr[2]); break;
		}
		if (c) return crits[i].reverse ? -c : c;
	}
	return cmp_num((long long)a->idx, (long long)b->idx);
}

static int charset_and_search(struct session *s, struct imap_parser *ps, struct search *q)
{
	char *cs;
	size_t cn;
	memset(q, 0, sizeof *q);
	if (ip_sp(ps) < 0 || ip_astring(ps, &cs, &cn) < 0 || ip_sp(ps) < 0) return -1;
	if (!imap_word_is(cs, cn, "UTF-8") && !imap_word_is(cs, cn, "US-ASCII")) return -2;
	int r = search_parse(s, ps, q);
	if (r < 0 || !ip_eol(ps)) return r == -2 ? -2 : -1;
	return 0;
}

static struct item *prepare(struct session *s, struct search *q, size_t *n, int text, int refs)
{
	size_t *res, count;
	if (search_run(s, q, &res, &count) < 0) return NULL;
	struct item *it = calloc(count ? count : 1, sizeof *it);
	if (!it) { free(res); return NULL; }
	for (size_t i = 0; i < count; i++) {
		it[i].idx = res[i];
		load_keys(s, &it[i], text, refs);
	}
	free(res);
	*n = count;
	return it;
}

static uint32_t num(struct session *s, size_t idx)
{
	return s->uid ? s->sel->m[idx].uid : (uint32_t)(idx + 1);
}

void cmd_sort(struct session *s, struct imap_parser *ps)
{
	if (!s->sel) return bad(s, "No mailbox selected.");
	if (ip_sp(ps) < 0 || ip_char(ps, '(') < 0) return bad(s, "Missing sort criteria.");
	ncrits = 0;
	int reverse = 0, text = 0;
	for (;;) {
		char *a;
		size_t n;
		if (ip_atom(ps, NULL, &a, &n) < 0) return bad(s, "Invalid sort criteria.");
		static const struct { const char *name; int key; } keys[] = {
			{ "ARRIVAL", SK_ARRIVAL }, { "CC", SK_CC }, { "DATE", SK_DATE }, { "FROM", SK_FROM },
			{ "SIZE", SK_SIZE }, { "SUBJECT", SK_SUBJECT }, { "TO", SK_TO },
		};
		if (imap_word_is(a, n, "REVERSE")) {
			reverse = 1;
		} else {
			size_t k = 0;
			while (k < sizeof keys / sizeof keys[0] && !imap_word_is(a, n, keys[k].name)) k++;
			if (k == sizeof keys / sizeof keys[0] || ncrits == 16) return bad(s, "Invalid sort criteria.");
			crits[ncrits++] = (struct crit){ keys[k].key, reverse };
			text |= keys[k].key != SK_ARRIVAL && keys[k].key != SK_SIZE;
			reverse = 0;
		}
		if (ip_char(ps, ')') == 0) break;
		if (ip_sp(ps) < 0) return bad(s, "Invalid sort criteria.");
	}
	if (reverse || !ncrits) return bad(s, "Invalid sort criteria.");
	struct search q;
	int r = charset_and_search(s, ps, &q);
	if (r < 0) {
		search_free(&q);
		return r == -2 ? no(s, "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset.") : bad(s, "Invalid search keys.");
	}
	size_t n = 0;
	struct item *it = prepare(s, &q, &n, text, 0);
	search_free(&q);
	if (!it) return no(s, "[SERVERBUG] Out of memory.");
	if (n > 1) qsort(it, n, sizeof *it, cmp_items);
	struct buf b = BUF_INIT;
	buf_adds(&b, "* SORT");
	for (size_t i = 0; i < n; i++) {
		buf_addc(&b, ' ');
		buf_addnum(&b, num(s, it[i].idx));
	}
	buf_add(&b, "\r\n", 2);
	out_buf(s, &b);
	buf_free(&b);
	items_free(it, n);
	tagged(s, "OK", "Sort completed.");
}

/* ---- THREAD ---- */

struct node {
	long msg;              /* item index, -1 for a dummy */
	int parent, child, next;
	long long date;
};

struct tree {
	struct node *nd;
	size_t n, cap;
};

static int node_new(struct tree *t, long msg)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct node *x = realloc(t->nd, cap * sizeof *x);
		if (!x) return -1;
		t->nd = x;
		t->cap = cap;
	}
	t->nd[t->n] = (struct node){ msg, -1, -1, -1, 0 };
	return (int)t->n++;
}

static int is_ancestor(const struct tree *t, int a, int b)
{
	for (int p = b; p >= 0; p = t->nd[p].parent)
		if (p == a) return 1;
	return 0;
}

static void unlink_node(struct tree *t, int c)
{
	int p = t->nd[c].parent;
	if (p < 0) return;
	int *link = &t->nd[p].child;
	while (*link >= 0 && *link != c) link = &t->nd[*link].next;
	if (*link == c) *link = t->nd[c].next;
	t->nd[c].parent = -1;
	t->nd[c].next = -1;
}

static void link_node(struct tree *t, int p, int c)
{
	unlink_node(t, c);
	t->nd[c].parent = p;
	t->nd[c].next = t->nd[p].child;
	t->nd[p].child = c;
}

/* id -> node, linear probing over a small table */
struct idmap { char **key; int *val; size_t mask; };

static int *idmap_slot(struct idmap *m, const char *id)
{
	size_t h = name_hash(id, strlen(id)) & m->mask;
	while (m->key[h] && strcmp(m->key[h], id) != 0) h = (h + 1) & m->mask;
	if (!m->key[h]) { m->key[h] = (char *)id; m->val[h] = -1; }
	return &m->val[h];
}

static const struct item *sort_items;

static long long node_date(const struct tree *t, int i)
{
	return t->nd[i].date;
}

/* sort each sibling list by date (a dummy takes its first child's date) */
static int sort_children(struct tree *t, int p)
{
	int count = 0;
	for (int c = t->nd[p].child; c >= 0; c = t->nd[c].next) {
		sort_children(t, c);
		count++;
	}
	if (t->nd[p].msg >= 0) t->nd[p].date = sort_items[t->nd[p].msg].date;
	if (count > 1) {
		int *v = malloc((size_t)count * sizeof *v);
		if (!v) return -1;
		int k = 0;
		for (int c = t->nd[p].child; c >= 0; c = t->nd[c].next) v[k++] = c;
		/* insertion sort: sibling lists are short */
		for (int i = 1; i < count; i++) {
			int x = v[i], j = i;
			while (j > 0 && (node_date(t, v[j - 1]) > node_date(t, x) ||
			                 (node_date(t, v[j - 1]) == node_date(t, x) && t->nd[v[j - 1]].msg > t->nd[x].msg)))
				v[j] = v[j - 1], j--;
			v[j] = x;
		}
		t->nd[p].child = v[0];
		for (int i = 0; i < count; i++) t->nd[v[i]].next = i + 1 < count ? v[i + 1] : -1;
		free(v);
	}
	if (t->nd[p].msg < 0 && t->nd[p].child >= 0) t->nd[p].date = t->nd[t->nd[p].child].date;
	return 0;
}

static void put_thread(struct session *s, struct buf *b, const struct tree *t, int i, const struct item *it)
{
	const struct node *n = &t->nd[i];
	int nchild = 0;
	for (int c = n->child; c >= 0; c = t->nd[c].next) nchild++;
	if (n->msg >= 0) buf_addnum(b, num(s, it[n->msg].idx));
	if (nchild == 1 && n->msg >= 0) {
		buf_addc(b, ' ');
		put_thread(s, b, t, n->child, it);
	} else if (nchild) {
		if (n->msg >= 0) buf_addc(b, ' ');
		for (int c = n->child; c >= 0; c = t->nd[c].next) {
			buf_addc(b, '(');
			put_thread(s, b, t, c, it);
			buf_addc(b, ')');
		}
	}
}

static void thread_orderedsubject(struct tree *t, struct item *it, size_t n, int root)
{
	/* by subject, then date: each run of one subject is a thread whose
	 * first message is the parent of the rest */
	size_t *ord = malloc((n ? n : 1) * sizeof *ord);
	if (!ord) return;
	for (size_t i = 0; i < n; i++) ord[i] = i;
	for (size_t i = 1; i < n; i++) {
		size_t x = ord[i], j = i;
		while (j > 0) {
			const struct item *a = &it[ord[j - 1]], *b = &it[x];
			int c = strcmp(a->subj ? a->subj : "", b->subj ? b->subj : "");
			if (c < 0 || (c == 0 && (a->date < b->date || (a->date == b->date && a->idx < b->idx)))) break;
			ord[j] = ord[j - 1];
			j--;
		}
		ord[j] = x;
	}
	int head = -1, last = -1;
	for (size_t i = 0; i < n; i++) {
		int nd = node_new(t, (long)ord[i]);
		if (nd < 0) break;
		if (head >= 0 && strcmp(it[ord[i]].subj ? it[ord[i]].subj : "",
		                        it[t->nd[head].msg].subj ? it[t->nd[head].msg].subj : "") == 0) {
			if (last < 0) t->nd[head].child = nd;
			else t->nd[last].next = nd;
			t->nd[nd].parent = head;
			last = nd;
		} else {
			head = nd;
			last = -1;
			link_node(t, root, nd);
		}
	}
	free(ord);
}

static void thread_references(struct tree *t, struct item *it, size_t n, int root)
{
	/* every id (messages and references) fits with room to spare */
	size_t ids = n, size = 64;
	for (size_t i = 0; i < n; i++) ids += it[i].nrefs;
	while (size < ids * 2) size *= 2;
	struct idmap map = { calloc(size, sizeof(char *)), calloc(size, sizeof(int)), size - 1 };
	if (!map.key || !map.val) { free(map.key); free(map.val); return; }
	for (size_t i = 0; i < n; i++) {
		/* a missing or repeated Message-ID gets a container of its own */
		int *slot = it[i].msgid ? idmap_slot(&map, it[i].msgid) : NULL;
		int c;
		if (slot && *slot >= 0 && t->nd[*slot].msg < 0) {
			c = *slot;
			t->nd[c].msg = (long)i;
		} else {
			c = node_new(t, (long)i);
			if (c < 0) break;
			if (slot && *slot < 0) *slot = c;
		}
		int prev = -1;
		for (size_t r = 0; r < it[i].nrefs; r++) {
			int *rs = idmap_slot(&map, it[i].refs[r]);
			if (*rs < 0 && (*rs = node_new(t, -1)) < 0) break;
			int cur = *rs;
			if (prev >= 0 && t->nd[cur].parent < 0 && !is_ancestor(t, cur, prev) && cur != prev)
				link_node(t, prev, cur);
			prev = cur;
		}
		/* the last reference is the parent, overriding what others said */
		if (prev >= 0 && prev != c && !is_ancestor(t, c, prev)) link_node(t, prev, c);
		else if (t->nd[c].parent >= 0 && it[i].nrefs == 0) unlink_node(t, c);
	}
	/* the root set */
	for (size_t i = 0; i < t->n; i++)
		if ((int)i != root && t->nd[i].parent < 0) link_node(t, root, (int)i);
	/* prune empty containers, promoting their children */
	for (int again = 1; again;) {
		again = 0;
		for (size_t i = 0; i < t->n; i++) {
			int c = (int)i;
			if (c == root || t->nd[c].msg >= 0 || t->nd[c].parent < 0) continue;
			int p = t->nd[c].parent;
			int nkids = 0;
			for (int k = t->nd[c].child; k >= 0; k = t->nd[k].next) nkids++;
			if (nkids == 0) { unlink_node(t, c); again = 1; continue; }
			if (p == root && nkids > 1) continue; /* a dummy root holding siblings stays */
			while (t->nd[c].child >= 0) link_node(t, p, t->nd[c].child);
			unlink_node(t, c);
			again = 1;
		}
	}
	/* roots with the same base subject come together */
	size_t nr = 0;
	for (int c = t->nd[root].child; c >= 0; c = t->nd[c].next) nr++;
	int *roots = malloc((nr ? nr : 1) * sizeof *roots);
	if (roots) {
		size_t k = 0;
		for (int c = t->nd[root].child; c >= 0; c = t->nd[c].next) roots[k++] = c;
		for (size_t i = 0; i < nr; i++) {
			int a = roots[i];
			if (a < 0 || t->nd[a].parent != root) continue;
			int am = t->nd[a].msg >= 0 ? (int)t->nd[a].msg : (t->nd[a].child >= 0 ? (int)t->nd[t->nd[a].child].msg : -1);
			if (am < 0 || !it[am].subj || !*it[am].subj) continue;
			for (size_t j = i + 1; j < nr; j++) {
				int b = roots[j];
				if (b < 0 || t->nd[b].parent != root) continue;
				int bm = t->nd[b].msg >= 0 ? (int)t->nd[b].msg : (t->nd[b].child >= 0 ? (int)t->nd[t->nd[b].child].msg : -1);
				if (bm < 0 || !it[bm].subj || strcmp(it[am].subj, it[bm].subj) != 0) continue;
				/* a reply joins the original; two originals share a dummy */
				if (t->nd[b].msg >= 0 && it[bm].is_reply && !(t->nd[a].msg >= 0 && it[am].is_reply)) {
					link_node(t, a, b);
				} else if (t->nd[a].msg >= 0 && it[am].is_reply && t->nd[b].msg >= 0 && !it[bm].is_reply) {
					link_node(t, b, a);
					roots[i] = b;
					roots[j] = -1;
					a = b;
					am = bm;
					continue;
				} else if (t->nd[a].msg < 0) {
					link_node(t, a, b);
				} else {
					int d = node_new(t, -1);
					if (d < 0) break;
					link_node(t, root, d);
					link_node(t, d, a);
					link_node(t, d, b);
					roots[i] = a = d;
				}
				roots[j] = -1;
			}
		}
		free(roots);
	}
}

void cmd_thread(struct session *s, struct imap_parser *ps)
{
	if (!s->sel) return bad(s, "No mailbox selected.");
	char *a;
	size_t an;
	if (ip_sp(ps) < 0 || ip_atom(ps, NULL, &a, &an) < 0) return bad(s, "Missing thread algorithm.");
	int refs = imap_word_is(a, an, "REFERENCES");
	if (!refs && !imap_word_is(a, an, "ORDEREDSUBJECT")) return bad(s, "Unknown thread algorithm.");
	struct search q;
	int r = charset_and_search(s, ps, &q);
	if (r < 0) {
		search_free(&q);
		return r == -2 ? no(s, "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset.") : bad(s, "Invalid search keys.");
	}
	size_t n = 0;
	struct item *it = prepare(s, &q, &n, 1, refs);
	search_free(&q);
	if (!it) return no(s, "[SERVERBUG] Out of memory.");
	struct tree t = { 0 };
	int root = node_new(&t, -1);
	if (root >= 0) {
		if (refs) thread_references(&t, it, n, root);
		else thread_orderedsubject(&t, it, n, root);
		sort_items = it;
		sort_children(&t, root);
	}
	struct buf b = BUF_INIT;
	buf_adds(&b, "* THREAD ");
	for (int c = root >= 0 ? t.nd[root].child : -1; c >= 0; c = t.nd[c].next) {
		buf_addc(&b, '(');
		put_thread(s, &b, &t, c, it);
		buf_addc(&b, ')');
	}
	buf_add(&b, "\r\n", 2);
	out_buf(s, &b);
	buf_free(&b);
	free(t.nd);
	items_free(it, n);
	tagged(s, "OK", "Thread completed.");
}
