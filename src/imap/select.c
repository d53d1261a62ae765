/* select.c — the selected state: SELECT, EXAMINE, CLOSE, UNSELECT,
 * EXPUNGE, CHECK; the untagged updates (EXISTS, RECENT, EXPUNGE, FETCH
 * FLAGS) for changes made behind the session's back; flag lists. */
#include "imap.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const sysflags[] = { "\\Draft", "\\Flagged", "$Forwarded", "\\Answered",
                                        "\\Seen", "\\Deleted", "\\Recent" };

void flags_format(struct buf *b, const struct folder *f, const struct msg *m)
{
	size_t start = b->len;
	buf_addc(b, '(');
	/* the usual order: \Seen \Answered \Flagged \Deleted \Draft */
	static const int order[] = { 4, 3, 1, 5, 0, 6, 2 };
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		if (!(m->flags & (1u << order[i]))) continue;
		if (b->len > start + 1) buf_addc(b, ' ');
		buf_adds(b, sysflags[order[i]]);
	}
	for (size_t i = 0; i < f->nkw; i++) {
		if (!(m->kw & (1u << i))) continue;
		if (b->len > start + 1) buf_addc(b, ' ');
		buf_adds(b, f->kw[i]);
	}
	buf_addc(b, ')');
}

static int flag_bit(const char *s, size_t n)
{
	for (int i = 0; i < 6; i++)
		if (imap_word_is(s, n, sysflags[i])) return 1 << i;
	return 0;
}

/* one flag: a system flag, a keyword (atom), or an error */
static int one_flag(struct imap_parser *ps, struct folder *f, int add_kw, uint32_t *flags, uint32_t *kw,
                    char ***names, size_t *nnames)
{
	char *a;
	size_t n;
	if (ip_atom(ps, "\\", &a, &n) < 0) return -1;
	int bit = flag_bit(a, n);
	if (bit) { *flags |= (uint32_t)bit; return 0; }
	if (a[0] == '\\') return imap_word_is(a, n, "\\Recent") ? 0 : -1;
	for (size_t i = 1; i < n; i++)
		if (a[i] == '\\') return -1;
	if (names) {
		char **x = realloc(*names, (*nnames + 1) * sizeof *x);
		if (!x) return -1;
		*names = x;
		if (!(x[*nnames] = strndup(a, n))) return -1;
		(*nnames)++;
	}
	if (f) {
		int k = folder_keyword(f, a, n, add_kw);
		if (k >= 0) *kw |= 1u << k;
		else if (add_kw) return -2; /* no room for another keyword */
	}
	return 0;
}

int flags_parse(struct imap_parser *ps, struct folder *f, int add_kw, uint32_t *flags,
                uint32_t *kw, char ***names, size_t *nnames)
{
	*flags = *kw = 0;
	if (ip_peek(ps) != '(') return one_flag(ps, f, add_kw, flags, kw, names, nnames);
	ps->pos++;
	if (ip_char(ps, ')') == 0) return 0;
	for (;;) {
		int r = one_flag(ps, f, add_kw, flags, kw, names, nnames);
		if (r < 0) return r;
		if (ip_char(ps, ')') == 0) return 0;
		if (ip_sp(ps) < 0) return -1;
	}
}

static void flag_list(struct session *s, struct buf *b, int permanent)
{
	struct folder *f = s->sel;
	buf_adds(b, "(\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded");
	for (size_t i = 0; i < f->nkw; i++) {
		if (strcasecmp(f->kw[i], "$Forwarded") == 0) continue;
		buf_addc(b, ' ');
		buf_adds(b, f->kw[i]);
	}
	if (permanent && f->nkw < MAX_KEYWORDS) buf_adds(b, " \\*");
	buf_addc(b, ')');
}

static size_t count_recent(const struct folder *f)
{
	size_t r = 0;
	for (size_t i = 0; i < f->n; i++) r += (f->m[i].flags & FL_RECENT) != 0;
	return r;
}

void report_changes(struct session *s, int allow_expunge)
{
	struct folder *f = s->sel;
	if (!f) return;
	if (allow_expunge) {
		size_t w = 0;
		int any = 0;
		for (size_t i = f->n; i-- > 0;) {
			if (!f->m[i].gone) continue;
			if (i < s->sel->told_exists) {
				untagged(s, "%zu EXPUNGE", i + 1);
				s->sel->told_exists--;
			}
			free(f->m[i].name);
			f->m[i].name = NULL;
			any = 1;
		}
		if (any) {
			for (size_t i = 0; i < f->n; i++)
				if (f->m[i].name) f->m[w++] = f->m[i];
			f->n = w;
		}
	}
	if (f->n != f->told_exists) {
		untagged(s, "%zu EXISTS", f->n);
		f->told_exists = f->n;
	}
	size_t recent = count_recent(f);
	if (recent != f->told_recent) {
		untagged(s, "%zu RECENT", recent);
		f->told_recent = recent;
	}
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < f->n; i++) {
		if (!f->m[i].dirty || f->m[i].gone) continue;
		f->m[i].dirty = 0;
		buf_reset(&b);
		flags_format(&b, f, &f->m[i]);
		untagged(s, "%zu FETCH (UID %u FLAGS %s)", i + 1, f->m[i].uid, b.s);
	}
	buf_free(&b);
}

static void unselect(struct session *s)
{
	if (!s->sel) return;
	folder_close(s->sel);
	free(s->sel);
	s->sel = NULL;
}

static void do_select(struct session *s, struct imap_parser *ps, int readonly)
{
	char *name;
	size_t n;
	if (ip_sp(ps) < 0 || ip_astring(ps, &name, &n) < 0) return bad(s, "Missing mailbox name.");
	/* CONDSTORE/QRESYNC parameters are not supported */
	if (!ip_eol(ps)) return bad(s, "Unexpected arguments.");
	char nm[1024];
	if (n >= sizeof nm || memchr(name, 0, n)) return no(s, "Invalid mailbox name.");
	memcpy(nm, name, n);
	nm[n] = 0;
	unselect(s);
	struct folder *f = calloc(1, sizeof *f);
	if (!f) return no(s, "[SERVERBUG] Out of memory.");
	if (folder_open(f, nm, readonly, 1) < 0) {
		int err = errno;
		folder_close(f);
		free(f);
		if (err == ENOENT || err == EINVAL) return no(s, "[NONEXISTENT] Mailbox doesn't exist.");
		log_sys("user=<%s> cannot open %s", s->user, nm);
		return no(s, "[SERVERBUG] Cannot open the mailbox.");
	}
	s->sel = f;
	f->use_cache = 1;
	struct buf b = BUF_INIT;
	flag_list(s, &b, 0);
	untagged(s, "FLAGS %s", b.s);
	buf_reset(&b);
	flag_list(s, &b, 1);
	untagged(s, "OK [PERMANENTFLAGS %s] Flags permitted.", readonly ? "()" : b.s);
	buf_free(&b);
	f->told_exists = f->n;
	f->told_recent = count_recent(f);
	untagged(s, "%zu EXISTS", f->n);
	untagged(s, "%zu RECENT", f->told_recent);
	for (size_t i = 0; i < f->n; i++) {
		if (!(f->m[i].flags & FL_SEEN)) {
			untagged(s, "OK [UNSEEN %zu] First unseen.", i + 1);
			break;
		}
	}
	untagged(s, "OK [UIDVALIDITY %u] UIDs valid", f->uidvalidity);
	untagged(s, "OK [UIDNEXT %u] Predicted next UID", f->uidnext);
	tagged(s, "OK", "[%s] %s completed.", readonly ? "READ-ONLY" : "READ-WRITE",
	       readonly ? "EXAMINE" : "SELECT");
}

void cmd_select(struct session *s, struct imap_parser *ps) { do_select(s, ps, 0); }
void cmd_examine(struct session *s, struct imap_parser *ps) { do_select(s, ps, 1); }

void cmd_unselect(struct session *s, struct imap_parser *ps)
{
	if (!ip_eol(ps)) return bad(s, "Unexpected arguments.");
	unselect(s);
	tagged(s, "OK", "Unselect completed.");
}

void cmd_close(struct session *s, struct imap_parser *ps)
{
	if (!ip_eol(ps)) return bad(s, "Unexpected arguments.");
	if (!s->sel->readonly) folder_expunge(s->sel, NULL, NULL, NULL);
	unselect(s);
	tagged(s, "OK", "Close completed.");
}

static void report_expunge(void *arg, size_t seq)
{
	struct session *s = arg;
	untagged(s, "%zu EXPUNGE", seq);
	if (s->sel->told_exists) s->sel->told_exists--;
}

void expunge_uids(struct session *s, const struct seqset *uids)
{
	folder_expunge(s->sel, uids, report_expunge, s);
	report_changes(s, 1);
}

void cmd_expunge(struct session *s, struct imap_parser *ps)
{
	if (!ip_eol(ps)) return bad(s, "Unexpected arguments.");
	if (s->sel->readonly) return no(s, "[READ-ONLY] Mailbox is read-only.");
	expunge_uids(s, NULL);
	tagged(s, "OK", "Expunge completed.");
}

void cmd_check(struct session *s, struct imap_parser *ps)
{
	if (!ip_eol(ps)) return bad(s, "Unexpected arguments.");
	folder_sync(s->sel, 1);
	report_changes(s, 1);
	tagged(s, "OK", "Check completed.");
}
