/* mailboxes.c — the folder tree: LIST (with LIST-EXTENDED selection and
 * return options, CHILDREN, SPECIAL-USE, LIST-STATUS), LSUB, CREATE,
 * DELETE, RENAME (INBOX moves its messages), SUBSCRIBE, UNSUBSCRIBE,
 * STATUS. Maildir++ layout: INBOX is the Maildir, folder "a.b" is the
 * directory ".a.b" with "." as the hierarchy delimiter; subscriptions are
 * lines in "subscriptions", as Dovecot keeps them. */
#include "imap.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct names {
	char **v;
	size_t n, cap;
};

static int names_add(struct names *l, const char *s, size_t n)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == n && memcmp(l->v[i], s, n) == 0) return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		char **v = realloc(l->v, cap * sizeof *v);
		if (!v) return -1;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strndup(s, n))) return -1;
	l->n++;
	return 0;
}

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++) free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int names_has(const struct names *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0) return 1;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* every folder that exists on disk, INBOX first, the rest sorted */
static int folders_list(struct names *l)
{
	if (names_add(l, "INBOX", 5) < 0) return -1;
	DIR *d = opendir(".");
	if (!d) return -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (n[0] != '.' || n[1] == 0 || n[1] == '.' || n[1] == '#') continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) continue;
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;
			if (stat(n, &st) < 0 || !S_ISDIR(st.st_mode)) continue;
		}
		if (names_add(l, n + 1, strlen(n + 1)) < 0) { closedir(d); return -1; }
	}
	closedir(d);
	if (l->n > 2) qsort(l->v + 1, l->n - 1, sizeof *l->v, by_name);
	return 0;
}

/* ---- subscriptions ---- */

static int subs_load(struct names *l)
{
	int fd = open("subscriptions", O_RDONLY | O_CLOEXEC);
	if (fd < 0) return errno == ENOENT ? 0 : -1;
	struct buf b = BUF_INIT;
	char tmp[4096];
	ssize_t k;
	while ((k = read(fd, tmp, sizeof tmp)) > 0)
		if (buf_add(&b, tmp, (size_t)k) < 0) break;
	close(fd);
	size_t i = 0;
	while (i < b.len) {
		char *nl = memchr(b.s + i, '\n', b.len - i);
		size_t e = nl ? (size_t)(nl - b.s) : b.len;
		if (e > i) names_add(l, b.s + i, e - i);
		i = e + 1;
	}
	buf_free(&b);
	return 0;
}

static int subs_save(const struct names *l)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < l->n; i++) {
		buf_adds(&b, l->v[i]);
		buf_addc(&b, '\n');
	}
	char tmp[64];
	snprintf(tmp, sizeof tmp, "subscriptions.%ld.tmp", (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int bad = fd < 0 || write_all(fd, b.s ? b.s : "", b.len) < 0;
	if (fd >= 0 && close(fd) < 0) bad = 1;
	buf_free(&b);
	if (bad || rename(tmp, "subscriptions") < 0) {
		log_sys("cannot write subscriptions");
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int subs_change(const char *name, int add)
{
	struct names l = { 0 };
	if (subs_load(&l) < 0) return -1;
	int r = 0;
	if (add && !names_has(&l, name)) {
		r = names_add(&l, name, strlen(name));
		if (r == 0) r = subs_save(&l);
	} else if (!add) {
		size_t w = 0;
		for (size_t i = 0; i < l.n; i++) {
			if (strcmp(l.v[i], name) == 0) free(l.v[i]);
			else l.v[w++] = l.v[i];
		}
		if (w != l.n) { l.n = w; r = subs_save(&l); }
	}
	names_free(&l);
	return r;
}

/* ---- creating and removing folders ---- */

static int make_folder(const char *dir)
{
	char p[1200];
	if (mkdir(dir, 0700) < 0) return -1;
	static const char *const sub[] = { "cur", "new", "tmp" };
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, sub[i]);
		if (mkdir(p, 0700) < 0 && errno != EEXIST) return -1;
	}
	/* Maildir++ marks folders with an empty "maildirfolder" file */
	snprintf(p, sizeof p, "%s/maildirfolder", dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) close(fd);
	return 0;
}

static const struct { const char *name, *use; } special[] = {
	{ "Sent", "\\Sent" }, { "Drafts", "\\Drafts" }, { "Trash", "\\Trash" }, { "Junk", "\\Junk" },
	{ "Archive", "\\Archive" },
};

void folders_init(void)
{
	if (access("yubin-folders", F_OK) == 0) return;
	for (int i = 0; i < 4; i++) {
		char dir[64];
		snprintf(dir, sizeof dir, ".%s", special[i].name);
		if (make_folder(dir) == 0 || errno == EEXIST) subs_change(special[i].name, 1);
	}
	/* once only: a folder the user deletes later stays deleted */
	int fd = open("yubin-folders", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) close(fd);
}

static int remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) return -1;
	struct dirent *de;
	char p[1400];
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p);
		else unlink(p);
	}
	closedir(d);
	return rmdir(dir);
}

/* ---- commands ---- */

static int mailbox_arg(struct session *s, struct imap_parser *ps, char *out, size_t max)
{
	char *n;
	size_t len;
	if (ip_sp(ps) < 0 || ip_astring(ps, &n, &len) < 0) { bad(s, "Missing mailbox name."); return -1; }
	if (len >= max || memchr(n, 0, len)) { no(s, "Invalid mailbox name."); return -1; }
	memcpy(out, n, len);
	out[len] = 0;
	if (strcasecmp(out, "INBOX") == 0) memcpy(out, "INBOX", 5);
	return 0;
}

static int is_inbox(const char *n) { return strcmp(n, "INBOX") == 0; }

void cmd_create(struct session *s, struct imap_parser *ps)
{
	char name[1024], dir[1100];
	if (mailbox_arg(s, ps, name, sizeof name) < 0) return;
	/* a trailing delimiter only says "will have children" */
	size_t n = strlen(name);
	if (n > 1 && name[n - 1] == '.') name[--n] = 0;
	if (!ip_eol(ps)) return bad(s, "Unexpected arguments.");
	if (is_inbox(name) || folder_exists(name)) return no(s, "[ALREADYEXISTS] Mailbox already exists.");
	if (folder_dir(name, n, dir, sizeof dir) < 0) return no(s, "[CANNOT] Invalid mailbox name.");
	if (make_folder(dir) < 0) {
		if (errno == EEXIST) return no(s, "[ALREADYEXISTS] Mailbox already exists.");
		log_sys("user=<%s> cannot create %s", s->user, dir);
		return no(s, "[SERVERBUG] Cannot create the mailbox.");
	}
	tagged(s, "OK", "Create completed.");
}

void cmd_delete(struct session *s, struct imap_parser *ps)
{
	char name[1024], dir[1100], tmp[1200];
	if (mailbox_arg(s, ps, name, sizeof name) < 0) return;
	if (!ip_eol(ps)) return bad(s, "Unexpected arguments.");
	if (is_inbox(name)) return no(s, "[CANNOT] INBOX cannot be deleted.");
	if (folder_dir(name, strlen(name), dir, sizeof dir) < 0 || !folder_exists(name))
		return no(s, "[NONEXISTENT] Mailbox doesn't exist.");
	if (s->sel && strcmp(s->sel->dir, dir) == 0) {
		folder_close(s->sel);
		free(s->sel);
		s->sel = NULL;
	}
	/* out of sight first (one rename), then emptied */
	snprintf(tmp, sizeof tmp, ".#deleted.%ld.%s", (long)getpid(), dir + 1);
	if (rename(dir, tmp) < 0) {
		log_sys("user=<%s> cannot delete %s", s->user, dir);
		return no(s, "[SERVERBUG] Cannot delete the mailbox.");
	}
	remove_tree(tmp);
	tagged(s, "OK", "Delete completed.");
}

void cmd_rename(struct session *s, struct imap_parser *ps)
{
	char from[1024], to[1024], fdir[1100], tdir[1100];
	if (mailbox_arg(s, ps, from, sizeof from) < 0 || mailbox_arg(s, ps, to, sizeof to) < 0) return;
	if (!ip_eol(ps)) return bad(s, "Unexpected arguments.");
	if (folder_dir(from, strlen(from), fdir, sizeof fdir) < 0 || !folder_exists(from))
		return no(s, "[NONEXISTENT] Mailbox doesn't exist.");
	if (is_inbox(to) || folder_exists(to)) return no(s, "[ALREADYEXISTS] Target mailbox already exists.");
	if (folder_dir(to, strlen(to), tdir, sizeof tdir) < 0) return no(s, "[CANNOT] Invalid mailbox name.");
	if (is_inbox(from)) {
		/* RFC 3501: renaming INBOX moves its messages, INBOX stays */
		if (make_folder(tdir) < 0) return no(s, "[SERVERBUG] Cannot create the mailbox.");
		static const char *const sub[] = { "new", "cur" };
		for (int i = 0; i < 2; i++) {
			DIR *d = opendir(sub[i]);
			if (!d) continue;
			struct dirent *de;
			while ((de = readdir(d)) != NULL) {
				if (de->d_name[0] == '.') continue;
				char a[1400], b[1400];
				snprintf(a, sizeof a, "%s/%s", sub[i], de->d_name);
				snprintf(b, sizeof b, "%s/%s/%s", tdir, sub[i], de->d_name);
				if (rename(a, b) < 0) log_sys("cannot move %s", a);
			}
			closedir(d);
		}
		return tagged(s, "OK", "Rename completed.");
	}
	size_t fl = strlen(fdir), tl = strlen(tdir);
	if (tl > fl && strncmp(tdir, fdir, fl) == 0 && tdir[fl] == '.')
		return no(s, "[CANNOT] Cannot move a mailbox into itself.");
	struct names all = { 0 };
	folders_list(&all);
	if (s->sel && strcmp(s->sel->dir, fdir) == 0) {
		folder_close(s->sel);
		free(s->sel);
		s->sel = NULL;
	}
	if (rename(fdir, tdir) < 0) {
		names_free(&all);
		log_sys("user=<%s> cannot rename %s", s->user, fdir);
		return no(s, "[SERVERBUG] Cannot rename the mailbox.");
	}
	/* a subscription follows the folder */
	struct names subs = { 0 };
	if (subs_load(&subs) == 0 && names_has(&subs, from)) {
		subs_change(from, 0);
		subs_change(to, 1);
	}
	names_free(&subs);
	/* the children come along: ".a.x" -> ".b.x" */
	size_t fn = strlen(from);
	for (size_t i = 0; i < all.n; i++) {
		if (strncmp(all.v[i], from, fn) != 0 || all.v[i][fn] != '.') continue;
		char a[1200], b[1200];
		snprintf(a, sizeof a, ".%s", all.v[i]);
		snprintf(b, sizeof b, ".%s%s", to, all.v[i] + fn);
		if (rename(a, b) < 0) log_sys("cannot rename %s", a);
	}
	names_free(&all);
	tagged(s, "OK", "Rename completed.");
}

static void subscribe(struct session *s, struct imap_parser *ps, int add)
{
	char name[1024];
	if (mailbox_arg(s, ps, name, sizeof name) < 0) return;
	if (!ip_eol(ps)) return bad(s, "Unexpected arguments.");
	if (subs_change(name, add) < 0) return no(s, "[SERVERBUG] Cannot change subscriptions.");
	tagged(s, "OK", "%s completed.", add ? "Subscribe" : "Unsubscribe");
}

void cmd_subscribe(struct session *s, struct imap_parser *ps) { subscribe(s, ps, 1); }
void cmd_unsubscribe(struct session *s, struct imap_parser *ps) { subscribe(s, ps, 0); }

/* ---- LIST ---- */

/* '*' matches anything, '%' anything but the delimiter; dynamic
 * programming keeps hostile patterns linear in their length */
static int pattern_match(const char *pat, const char *name)
{
	size_t pn = strlen(pat), nn = strlen(name);
	if (pn > 1024 || nn > 1024) return 0;
	unsigned char *prev = calloc(nn + 1, 1), *cur = calloc(nn + 1, 1);
	if (!prev || !cur) { free(prev); free(cur); return 0; }
	prev[0] = 1;
	for (size_t j = 1; j <= nn; j++) prev[j] = 0;
	for (size_t i = 1; i <= pn; i++) {
		char c = pat[i - 1];
		cur[0] = prev[0] && (c == '*' || c == '%');
		for (size_t j = 1; j <= nn; j++) {
			if (c == '*') cur[j] = prev[j] || cur[j - 1];
			else if (c == '%') cur[j] = prev[j] || (cur[j - 1] && name[j - 1] != '.');
			else cur[j] = prev[j - 1] && c == name[j - 1];
		}
		unsigned char *t = prev;
		prev = cur;
		cur = t;
	}
	int r = prev[nn];
	free(prev);
	free(cur);
	return r;
}

/* INBOX matches case-insensitively, at the start of a pattern too */
static int list_match(const char *pat, const char *name)
{
	if (strncasecmp(pat, "INBOX", 5) == 0 && (pat[5] == 0 || pat[5] == '.') && strncmp(name, "INBOX", 5) == 0) {
		char p[2300];
		snprintf(p, sizeof p, "INBOX%s", pat + 5);
		return pattern_match(p, name);
	}
	return pattern_match(pat, name);
}

static const char *special_use(const char *name)
{
	for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
		if (strcmp(name, special[i].name) == 0) return special[i].use;
	return NULL;
}

enum { SEL_SUBSCRIBED = 1, SEL_SPECIAL = 2, SEL_RECURSIVE = 4,
       RET_SUBSCRIBED = 8, RET_CHILDREN = 16, RET_SPECIAL = 32, RET_STATUS = 64 };

static void status_items(struct session *s, const char *name, const char *items, int list_status);

static int has_children(const struct names *all, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < all->n; i++)
		if (strncmp(all->v[i], name, n) == 0 && all->v[i][n] == '.') return 1;
	return 0;
}

static void list_one(struct session *s, const char *cmd, const char *name, int exists, int children,
                     int subscribed, int opts, int childinfo)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "* %s (", cmd);
	size_t start = b.len;
#define ATTR(x) do { if (b.len > start) buf_addc(&b, ' '); buf_adds(&b, x); } while (0)
	if (!exists) ATTR((opts & (SEL_SUBSCRIBED | SEL_SPECIAL | SEL_RECURSIVE)) ? "\\NonExistent" : "\\Noselect");
	if (strcmp(cmd, "LIST") == 0) ATTR(children ? "\\HasChildren" : "\\HasNoChildren");
	if (subscribed && (opts & (RET_SUBSCRIBED | SEL_SUBSCRIBED))) ATTR("\\Subscribed");
	const char *use = special_use(name);
	if (use && exists) ATTR(use);
#undef ATTR
	buf_adds(&b, ") \".\" ");
	imap_put_astring(&b, name, strlen(name));
	/* RECURSIVEMATCH: listed only because a child is subscribed */
	if (childinfo) buf_adds(&b, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	buf_add(&b, "\r\n", 2);
	out_buf(s, &b);
	buf_free(&b);
}

static int parse_opts(struct imap_parser *ps, int ret, int *opts, const char **status, struct buf *st)
{
	if (ip_char(ps, '(') < 0) return -1;
	while (ip_char(ps, ')') < 0) {
		char *a;
		size_t n;
		if (ip_atom(ps, NULL, &a, &n) < 0) return -1;
		if (imap_word_is(a, n, "SUBSCRIBED")) *opts |= ret ? RET_SUBSCRIBED : SEL_SUBSCRIBED;
		else if (imap_word_is(a, n, "SPECIAL-USE")) *opts |= ret ? RET_SPECIAL : SEL_SPECIAL;
		else if (!ret && imap_word_is(a, n, "RECURSIVEMATCH")) *opts |= SEL_RECURSIVE;
		else if (!ret && imap_word_is(a, n, "REMOTE")) ;
		else if (ret && imap_word_is(a, n, "CHILDREN")) *opts |= RET_CHILDREN;
		else if (ret && imap_word_is(a, n, "STATUS")) {
			/* the item list is handed to STATUS as it was written */
			if (ip_sp(ps) < 0 || ip_peek(ps) != '(') return -1;
			size_t from = ps->pos;
			while (ps->pos < ps->len && ps->p[ps->pos] != ')') ps->pos++;
			if (ip_char(ps, ')') < 0) return -1;
			buf_set(st, ps->p + from, ps->pos - from);
			*status = st->s;
			*opts |= RET_STATUS;
		} else return -1;
		ip_sp(ps);
	}
	return 0;
}

static void do_list(struct session *s, struct imap_parser *ps, int lsub)
{
	int opts = 0;
	const char *status = NULL;
	struct buf stbuf = BUF_INIT;
	char *ref, *pat;
	size_t rn, pn;
	struct names pats = { 0 }, all = { 0 }, subs = { 0 };
	if (ip_sp(ps) < 0) return bad(s, "Missing arguments.");
	if (!lsub && ip_peek(ps) == '(') {
		if (parse_opts(ps, 0, &opts, &status, &stbuf) < 0 || ip_sp(ps) < 0) goto syntax;
	}
	if (ip_astring(ps, &ref, &rn) < 0 || ip_sp(ps) < 0) goto syntax;
	char refs[1024];
	if (rn >= sizeof refs) goto syntax;
	memcpy(refs, ref, rn);
	refs[rn] = 0;
	if (!lsub && ip_char(ps, '(') == 0) {
		for (;;) {
			if (ip_listmailbox(ps, &pat, &pn) < 0) goto syntax;
			names_add(&pats, pat, pn);
			if (ip_char(ps, ')') == 0) break;
			if (ip_sp(ps) < 0) goto syntax;
		}
	} else {
		if (ip_listmailbox(ps, &pat, &pn) < 0) goto syntax;
		names_add(&pats, pat, pn);
	}
	if (!lsub && ip_sp(ps) == 0) {
		char *a;
		size_t n;
		if (ip_atom(ps, NULL, &a, &n) < 0 || !imap_word_is(a, n, "RETURN") || ip_sp(ps) < 0 ||
		    parse_opts(ps, 1, &opts, &status, &stbuf) < 0)
			goto syntax;
	}
	if (!ip_eol(ps)) goto syntax;
	/* RFC 5258: RECURSIVEMATCH needs another selection option */
	if ((opts & SEL_RECURSIVE) && !(opts & (SEL_SUBSCRIBED | SEL_SPECIAL))) goto syntax;
	if (pats.n == 1 && pats.v[0][0] == 0 && !lsub) {
		/* LIST "" "": the delimiter and the root */
		untagged(s, "LIST (\\Noselect) \".\" \"\"");
		goto done;
	}
	if (folders_list(&all) < 0 || subs_load(&subs) < 0) {
		names_free(&pats); names_free(&all); names_free(&subs); buf_free(&stbuf);
		return no(s, "[SERVERBUG] Cannot list mailboxes.");
	}
	/* parents implied by deeper names ("a" for "a.b") */
	struct names shown = { 0 };
	size_t real = all.n;
	for (size_t i = 0; i < real; i++) {
		for (char *d = strchr(all.v[i], '.'); d; d = strchr(d + 1, '.'))
			names_add(&all, all.v[i], (size_t)(d - all.v[i]));
	}
	const struct names *pool = lsub || (opts & SEL_SUBSCRIBED) ? &subs : &all;
	for (size_t p = 0; p < pats.n; p++) {
		char full[2200];
		snprintf(full, sizeof full, "%s%s", refs, pats.v[p]);
		for (size_t i = 0; i < pool->n; i++) {
			const char *name = pool->v[i];
			if (names_has(&shown, name) || !list_match(full, name)) continue;
			int exists = is_inbox(name) || folder_exists(name);
			if (pool == &all && i >= real) exists = 0;
			if ((opts & SEL_SPECIAL) && !special_use(name)) continue;
			names_add(&shown, name, strlen(name));
			list_one(s, lsub ? "LSUB" : "LIST", name, exists, has_children(&all, name),
			         names_has(&subs, name), opts | (lsub ? RET_SUBSCRIBED : 0), 0);
			if ((opts & RET_STATUS) && exists) status_items(s, name, status, 1);
		}
		if (!(opts & SEL_RECURSIVE)) continue;
		for (size_t i = 0; i < all.n; i++) {
			const char *name = all.v[i];
			if (names_has(&shown, name) || !list_match(full, name) || !has_children(&subs, name)) continue;
			names_add(&shown, name, strlen(name));
			int exists = i < real && (is_inbox(name) || folder_exists(name));
			list_one(s, "LIST", name, exists, 1, names_has(&subs, name), opts, 1);
		}
	}
	names_free(&shown);
done:
	names_free(&pats);
	names_free(&all);
	names_free(&subs);
	buf_free(&stbuf);
	tagged(s, "OK", "%s completed.", lsub ? "Lsub" : "List");
	return;
syntax:
	names_free(&pats);
	buf_free(&stbuf);
	bad(s, "Invalid arguments.");
}

void cmd_list(struct session *s, struct imap_parser *ps) { do_list(s, ps, 0); }
void cmd_lsub(struct session *s, struct imap_parser *ps) { do_list(s, ps, 1); }

/* ---- STATUS ---- */

enum { ST_MESSAGES = 1, ST_RECENT = 2, ST_UIDNEXT = 4, ST_UIDVALIDITY = 8, ST_UNSEEN = 16, ST_SIZE = 32 };

static int status_parse(const char *items, int *want)
{
	struct imap_parser ps;
	char copy[512];
	snprintf(copy, sizeof copy, "%s", items);
	ip_init(&ps, copy, strlen(copy));
	if (ip_char(&ps, '(') < 0) return -1;
	*want = 0;
	while (ip_char(&ps, ')') < 0) {
		char *a;
		size_t n;
		if (ip_atom(&ps, NULL, &a, &n) < 0) return -1;
		if (imap_word_is(a, n, "MESSAGES")) *want |= ST_MESSAGES;
		else if (imap_word_is(a, n, "RECENT")) *want |= ST_RECENT;
		else if (imap_word_is(a, n, "UIDNEXT")) *want |= ST_UIDNEXT;
		else if (imap_word_is(a, n, "UIDVALIDITY")) *want |= ST_UIDVALIDITY;
		else if (imap_word_is(a, n, "UNSEEN")) *want |= ST_UNSEEN;
		else if (imap_word_is(a, n, "SIZE")) *want |= ST_SIZE;
		else return -1;
		ip_sp(&ps);
	}
	return ip_eol(&ps) ? 0 : -1;
}

/* write "* STATUS name (...)"; -1 when the folder cannot be opened */
static int status_reply(struct session *s, const char *name, int want)
{
	struct folder tmp, *f = &tmp;
	int own = 1;
	char dir[1100];
	if (folder_dir(name, strlen(name), dir, sizeof dir) < 0) return -1;
	if (s->sel && strcmp(s->sel->dir, dir) == 0) {
		f = s->sel;
		own = 0;
		folder_sync(f, 0);
	} else if (folder_open(f, name, 1, 0) < 0) {
		folder_close(f);
		return -1;
	}
	size_t unseen = 0, recent = 0;
	uint64_t size = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (f->m[i].gone) continue;
		unseen += !(f->m[i].flags & FL_SEEN);
		recent += (f->m[i].flags & FL_RECENT) != 0;
		if (want & ST_SIZE) size += message_vsize(f, &f->m[i]);
	}
	struct buf b = BUF_INIT;
	buf_adds(&b, "* STATUS ");
	imap_put_astring(&b, name, strlen(name));
	buf_adds(&b, " (");
	size_t start = b.len;
#define ITEM(flag, fmt, v) do { if (want & flag) { if (b.len > start) buf_addc(&b, ' '); buf_addf(&b, fmt, v); } } while (0)
	ITEM(ST_MESSAGES, "MESSAGES %zu", f->n);
	ITEM(ST_RECENT, "RECENT %zu", recent);
	ITEM(ST_UIDNEXT, "UIDNEXT %u", f->uidnext);
	ITEM(ST_UIDVALIDITY, "UIDVALIDITY %u", f->uidvalidity);
	ITEM(ST_UNSEEN, "UNSEEN %zu", unseen);
	ITEM(ST_SIZE, "SIZE %llu", (unsigned long long)size);
#undef ITEM
	buf_add(&b, ")\r\n", 3);
	out_buf(s, &b);
	buf_free(&b);
	if (own) folder_close(f);
	return 0;
}

static void status_items(struct session *s, const char *name, const char *items, int list_status)
{
	int want;
	(void)list_status;
	if (status_parse(items, &want) == 0) status_reply(s, name, want);
}

void cmd_status(struct session *s, struct imap_parser *ps)
{
	char name[1024];
	if (mailbox_arg(s, ps, name, sizeof name) < 0) return;
	if (ip_sp(ps) < 0 || ip_peek(ps) != '(') return bad(s, "Missing status items.");
	size_t from = ps->pos;
	while (ps->pos < ps->len && ps->p[ps->pos] != ')') ps->pos++;
	if (ip_char(ps, ')') < 0 || !ip_eol(ps) || ps->pos - from > 500) return bad(s, "Invalid status items.");
	char items[512];
	memcpy(items, ps->p + from, ps->pos - from);
	items[ps->pos - from] = 0;
	int want;
	if (status_parse(items, &want) < 0) return bad(s, "Invalid status items.");
	if (status_reply(s, name, want) < 0) return no(s, "[NONEXISTENT] Mailbox doesn't exist.");
	tagged(s, "OK", "Status completed.");
}
