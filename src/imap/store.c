/* store.c — commands that change messages: STORE, COPY, MOVE, UID
 * EXPUNGE, and the UID prefix that turns sequence numbers into UIDs.
 * COPY links the file into the target folder (a copy when linking is
 * refused), MOVE renames it; both answer with COPYUID (UIDPLUS). */
#include "imap.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cmd_store(struct session *s, struct imap_parser *ps)
{
	struct folder *f = s->sel;
	struct seqset set = { 0 };
	char *op;
	size_t on;
	if (ip_sp(ps) < 0 || parse_set_arg(ps, &set) < 0 || ip_sp(ps) < 0 || ip_atom(ps, NULL, &op, &on) < 0 ||
	    ip_sp(ps) < 0) {
		seqset_free(&set);
		return bad(s, "Invalid arguments.");
	}
	int mode = 0; /* 0 replace, 1 add, -1 remove */
	if (*op == '+' || *op == '-') {
		mode = *op == '+' ? 1 : -1;
		op++;
		on--;
	}
	int silent = imap_word_is(op, on, "FLAGS.SILENT");
	if (!silent && !imap_word_is(op, on, "FLAGS")) {
		seqset_free(&set);
		return bad(s, "Invalid STORE item.");
	}
	if (f->readonly) {
		seqset_free(&set);
		return no(s, "[READ-ONLY] Mailbox is read-only.");
	}
	/* flags: a list, or flags separated by spaces */
	uint32_t fl = 0, kw = 0;
	int r;
	if (ip_peek(ps) == '(') {
		r = flags_parse(ps, f, mode >= 0, &fl, &kw, NULL, NULL);
	} else {
		r = 0;
		while (r == 0) {
			uint32_t a, b;
			r = flags_parse(ps, f, mode >= 0, &a, &b, NULL, NULL);
			fl |= a;
			kw |= b;
			if (ip_eol(ps) || ip_sp(ps) < 0) break;
		}
	}
	if (r < 0 || !ip_eol(ps)) {
		seqset_free(&set);
		return r == -2 ? no(s, "[LIMIT] Too many keywords.") : bad(s, "Invalid flags.");
	}
	size_t *idx, n;
	r = seqset_select(s, &set, s->uid, &idx, &n);
	seqset_free(&set);
	if (r < 0) return r == -2 ? bad(s, "Invalid sequence number.") : no(s, "[SERVERBUG] Out of memory.");
	struct buf b = BUF_INIT;
	int failed = 0;
	for (size_t k = 0; k < n; k++) {
		struct msg *m = &f->m[idx[k]];
		uint32_t nf = mode > 0 ? m->flags | fl : mode < 0 ? m->flags & ~fl : fl | (m->flags & FL_RECENT);
		uint32_t nk = mode > 0 ? m->kw | kw : mode < 0 ? m->kw & ~kw : kw;
		if (m->gone || folder_set_flags(f, m, nf, nk) < 0) { failed = 1; continue; }
		m->dirty = 0;
		if (silent) continue;
		buf_reset(&b);
		flags_format(&b, f, m);
		if (s->uid) untagged(s, "%zu FETCH (UID %u FLAGS %s)", idx[k] + 1, m->uid, b.s);
		else untagged(s, "%zu FETCH (FLAGS %s)", idx[k] + 1, b.s);
	}
	buf_free(&b);
	free(idx);
	if (failed) return no(s, "[EXPUNGEISSUED] Some messages could not be changed.");
	tagged(s, "OK", "Store completed.");
}

/* "1:3,7" from an ascending list of UIDs */
static void uid_ranges(struct buf *b, const uint32_t *u, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && u[j + 1] == u[j] + 1) j++;
		if (i) buf_addc(b, ',');
		buf_addnum(b, u[i]);
		if (j > i) { buf_addc(b, ':'); buf_addnum(b, u[j]); }
		i = j + 1;
	}
}

static void copy_or_move(struct session *s, struct imap_parser *ps, int move)
{
	struct folder *f = s->sel;
	struct seqset set = { 0 };
	char *name;
	size_t nn;
	if (ip_sp(ps) < 0 || parse_set_arg(ps, &set) < 0 || ip_sp(ps) < 0 || ip_astring(ps, &name, &nn) < 0 ||
	    !ip_eol(ps)) {
		seqset_free(&set);
		return bad(s, "Invalid arguments.");
	}
	char dir[1100], nm[1024];
	if (nn >= sizeof nm || folder_dir(name, nn, dir, sizeof dir) < 0) {
		seqset_free(&set);
		return no(s, "Invalid mailbox name.");
	}
	memcpy(nm, name, nn);
	nm[nn] = 0;
	if (!folder_exists(nm)) {
		seqset_free(&set);
		return no(s, "[TRYCREATE] Mailbox doesn't exist.");
	}
	if (move && f->readonly) {
		seqset_free(&set);
		return no(s, "[READ-ONLY] Mailbox is read-only.");
	}
	size_t *idx, n;
	int r = seqset_select(s, &set, s->uid, &idx, &n);
	seqset_free(&set);
	if (r < 0) return r == -2 ? bad(s, "Invalid sequence number.") : no(s, "[SERVERBUG] Out of memory.");
	if (n == 0) {
		free(idx);
		return tagged(s, "OK", "No messages.");
	}
	struct newmsg *nmsg = calloc(n, sizeof *nmsg);
	char (*paths)[1200] = calloc(n, sizeof *paths);
	char **kwn = calloc(n * MAX_KEYWORDS + 1, sizeof *kwn);
	uint32_t *src = calloc(n, sizeof *src), *dst = calloc(n, sizeof *dst);
	if (!nmsg || !paths || !kwn || !src || !dst) {
		free(nmsg); free(paths); free(kwn); free(src); free(dst); free(idx);
		return no(s, "[SERVERBUG] Out of memory.");
	}
	size_t count = 0;
	for (size_t k = 0; k < n; k++) {
		struct msg *m = &f->m[idx[k]];
		if (m->gone || folder_path(f, m, paths[count], sizeof paths[count]) < 0) continue;
		struct newmsg *x = &nmsg[count];
		time_t t = 0;
		message_internaldate(f, m, &t);
		x->link_from = paths[count];
		x->move = move;
		x->flags = m->flags & ~FL_RECENT;
		x->mtime = t;
		x->kwnames = kwn + count * MAX_KEYWORDS;
		for (size_t i = 0; i < f->nkw; i++)
			if (m->kw & (1u << i)) x->kwnames[x->nkw++] = f->kw[i];
		src[count] = m->uid;
		idx[count] = idx[k];
		count++;
	}
	uint32_t validity = 0;
	int rc = folder_add(dir, nmsg, count, &validity);
	size_t done = 0;
	for (size_t k = 0; k < count; k++) {
		if (!nmsg[k].uid) continue;
		src[done] = src[k];
		dst[done] = nmsg[k].uid;
		done++;
		if (move) f->m[idx[k]].gone = 1;
	}
	struct buf code = BUF_INIT;
	if (done) {
		buf_addf(&code, "[COPYUID %u ", validity);
		uid_ranges(&code, src, done);
		buf_addc(&code, ' ');
		uid_ranges(&code, dst, done);
		buf_addc(&code, ']');
	}
	if (move) {
		if (done) untagged(s, "OK %s Moved UIDs.", code.s);
		/* the moved messages are gone here: report them now */
		report_changes(s, 1);
	}
	if (rc < 0) no(s, move ? "[SERVERBUG] Move failed." : "[SERVERBUG] Copy failed.");
	else if (move) tagged(s, "OK", "Move completed.");
	else tagged(s, "OK", "%s Copy completed.", code.len ? code.s : "");
	buf_free(&code);
	free(nmsg); free(paths); free(kwn); free(src); free(dst); free(idx);
}

void cmd_copy(struct session *s, struct imap_parser *ps) { copy_or_move(s, ps, 0); }
void cmd_move(struct session *s, struct imap_parser *ps) { copy_or_move(s, ps, 1); }

static void uid_expunge(struct session *s, struct imap_parser *ps)
{
	struct seqset set = { 0 };
	if (ip_sp(ps) < 0 || parse_set_arg(ps, &set) < 0 || !ip_eol(ps)) {
		seqset_free(&set);
		return bad(s, "Invalid arguments.");
	}
	if (s->sel->readonly) {
		seqset_free(&set);
		return no(s, "[READ-ONLY] Mailbox is read-only.");
	}
	expunge_uids(s, &set);
	seqset_free(&set);
	tagged(s, "OK", "Expunge completed.");
}

void cmd_uid(struct session *s, struct imap_parser *ps)
{
	char *a;
	size_t n;
	if (ip_sp(ps) < 0 || ip_atom(ps, NULL, &a, &n) < 0) return bad(s, "Missing UID command.");
	s->uid = 1;
	if (imap_word_is(a, n, "FETCH")) return cmd_fetch(s, ps);
	if (imap_word_is(a, n, "STORE")) return cmd_store(s, ps);
	if (imap_word_is(a, n, "SEARCH")) return cmd_search(s, ps);
	if (imap_word_is(a, n, "COPY")) return cmd_copy(s, ps);
	if (imap_word_is(a, n, "MOVE")) return cmd_move(s, ps);
	if (imap_word_is(a, n, "EXPUNGE")) return uid_expunge(s, ps);
	if (imap_word_is(a, n, "SORT")) return cmd_sort(s, ps);
	if (imap_word_is(a, n, "THREAD")) return cmd_thread(s, ps);
	bad(s, "Unknown UID command.");
}
