/* folder.c — a Maildir folder as an IMAP mailbox: the message list in UID
 * order, kept in step with new/ and cur/ (one readdir of each, skipped when
 * neither directory changed) and with the UID index (uidlist.h). Messages
 * stay where they are: new mail is not moved to cur/ until its flags
 * change, so a cold SELECT costs two readdirs and one index write.
 * Flags live in the file name (":2,DFPRST" plus keyword letters a..z). */
#include "imap.h"
#include "log.h"
#include "uidlist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct uidlist idx;          /* index of the folder last synced */
static const char *idx_dir;

/* ---- names and flags ---- */

static const char flag_letters[] = "DFPRST";

/* flags and keyword bits from a file name's info part */
static void info_flags(const char *name, size_t len, size_t baselen, uint32_t *flags, uint32_t *kw)
{
	*flags = *kw = 0;
	if (baselen + 3 > len || memcmp(name + baselen, ":2,", 3) != 0) return;
	for (size_t i = baselen + 3; i < len; i++) {
		char c = name[i];
		const char *p = c ? strchr(flag_letters, c) : NULL;
		if (p) *flags |= 1u << (p - flag_letters);
		else if (c >= 'a' && c <= 'z') *kw |= 1u << (c - 'a');
	}
}

static size_t base_len(const char *name, size_t len)
{
	const char *colon = memchr(name, ':', len);
	return colon ? (size_t)(colon - name) : len;
}

int folder_dir(const char *name, size_t n, char *out, size_t max)
{
	if (n == 5 && strncasecmp(name, "INBOX", 5) == 0) {
		snprintf(out, max, ".");
		return 0;
	}
	/* Maildir++: ".a.b"; no empty levels, no '/', no control bytes */
	if (n == 0 || n + 2 > max || name[0] == '.' || name[n - 1] == '.') return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == '/' || (c == '.' && name[i + 1] == '.')) return -1;
	}
	/* INBOX.x means the folder x: clients that think INBOX is a parent */
	if (n > 6 && strncasecmp(name, "INBOX.", 6) == 0) { name += 6; n -= 6; }
	out[0] = '.';
	memcpy(out + 1, name, n);
	out[n + 1] = 0;
	return 0;
}

int folder_exists(const char *name)
{
	char dir[1100], path[1200];
	struct stat st;
	if (folder_dir(name, strlen(name), dir, sizeof dir) < 0) return 0;
	snprintf(path, sizeof path, "%s/cur", dir);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int folder_path(const struct folder *f, const struct msg *m, char *out, size_t max)
{
	int k = snprintf(out, max, "%s/%s", f->dir, m->name);
	return k < 0 || (size_t)k >= max ? -1 : 0;
}

/* ---- listing ---- */

struct entry { size_t off; uint16_t len, baselen; uint8_t cur; uint32_t uid; };
struct listing {
	struct buf names;
	struct entry *e;
	size_t n, cap;
};

static int list_dir(const char *dir, const char *sub, struct listing *l)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/%s", dir, sub);
	DIR *d = opendir(path);
	if (!d) return errno == ENOENT ? 0 : -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') continue;
		size_t len = strlen(de->d_name);
		if (len > 1000) continue;
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 1024;
			struct entry *e = realloc(l->e, cap * sizeof *e);
			if (!e) { closedir(d); return -1; }
			l->e = e;
			l->cap = cap;
		}
		struct entry *e = &l->e[l->n];
		e->off = l->names.len;
		e->len = (uint16_t)(len + 4);
		e->baselen = (uint16_t)(base_len(de->d_name, len) + 4); /* "new/" included */
		e->cur = sub[0] == 'c';
		e->uid = 0;
		if (buf_adds(&l->names, sub) < 0 || buf_addc(&l->names, '/') < 0 ||
		    buf_add(&l->names, de->d_name, len + 1) < 0) {
			closedir(d);
			return -1;
		}
		l->n++;
	}
	closedir(d);
	return 0;
}

static int listing_make(const char *dir, struct listing *l)
{
	l->n = 0;
	buf_reset(&l->names);
	l->names.max = (size_t)1 << 30;
	/* new/ first: a message moving new/ -> cur/ meanwhile is seen twice
	 * rather than not at all */
	if (list_dir(dir, "new", l) < 0 || list_dir(dir, "cur", l) < 0) return -1;
	return 0;
}

/* ---- the message table ---- */

struct mhash { uint32_t *slot; size_t mask; };

static int mhash_build(struct mhash *h, const struct folder *f)
{
	size_t size = 64;
	while (size < f->n * 2) size *= 2;
	h->slot = calloc(size, sizeof *h->slot);
	if (!h->slot) return -1;
	h->mask = size - 1;
	for (size_t i = 0; i < f->n; i++) {
		if (f->m[i].gone) continue;
		size_t k = name_hash(f->m[i].name + 4, f->m[i].baselen) & h->mask;
		while (h->slot[k]) k = (k + 1) & h->mask;
		h->slot[k] = (uint32_t)i + 1;
	}
	return 0;
}

static long mhash_find(const struct mhash *h, const struct folder *f, const char *base, size_t len)
{
	size_t k = name_hash(base, len) & h->mask;
	while (h->slot[k]) {
		const struct msg *m = &f->m[h->slot[k] - 1];
		if (m->baselen == len && memcmp(m->name + 4, base, len) == 0) return (long)(h->slot[k] - 1);
		k = (k + 1) & h->mask;
	}
	return -1;
}

static int msg_append(struct folder *f, const char *name, size_t len, size_t baselen, uint32_t uid)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		struct msg *m = realloc(f->m, cap * sizeof *m);
		if (!m) return -1;
		f->m = m;
		f->cap = cap;
	}
	struct msg *m = &f->m[f->n];
	memset(m, 0, sizeof *m);
	m->name = strndup(name, len);
	if (!m->name) return -1;
	m->uid = uid;
	m->baselen = (uint16_t)(baselen - 4);
	info_flags(name, len, baselen, &m->flags, &m->kw);
	f->n++;
	return 0;
}

static int set_name(struct msg *m, const char *name, size_t len)
{
	char *s = strndup(name, len);
	if (!s) return -1;
	free(m->name);
	m->name = s;
	return 0;
}

static int by_name(const void *a, const void *b, void *names)
{
	const struct entry *x = a, *y = b;
	const char *s = names;
	/* "new/" and "cur/" prefixes are skipped: order by the unique part */
	return strcmp(s + x->off + 4, s + y->off + 4);
}

static int by_uid(const void *a, const void *b)
{
	const struct uident *x = a, *y = b;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Write the index: our messages plus entries others added since we read
 * it. Called with the lock held and idx freshly loaded. */
static int write_index(struct folder *f, struct entry *fresh, size_t nfresh, const char *names)
{
	size_t cap = f->n + nfresh + idx.n;
	struct uident *e = malloc((cap ? cap : 1) * sizeof *e);
	if (!e) return -1;
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++)
		if (!f->m[i].gone) e[n++] = (struct uident){ f->m[i].uid, f->m[i].baselen, f->m[i].name + 4 };
	for (size_t i = 0; i < nfresh; i++)
		e[n++] = (struct uident){ fresh[i].uid, fresh[i].baselen - 4, names + fresh[i].off + 4 };
	size_t mine = n;
	for (size_t i = 0; i < idx.n; i++) {
		if (idx.e[i].uid < f->idx_uidnext) continue;
		int known = 0;
		for (size_t j = 0; j < mine && !known; j++)
			known = e[j].len == idx.e[i].len && memcmp(e[j].base, idx.e[i].base, e[j].len) == 0;
		if (!known) e[n++] = idx.e[i];
	}
	if (n > 1) qsort(e, n, sizeof *e, by_uid);
	int r = uidlist_write(f->dir, f->uidvalidity, f->uidnext, f->recent_uid, f->kw, f->nkw, e, n);
	free(e);
	return r;
}

static int load_index(struct folder *f)
{
	if (idx_dir != f->dir) {
		uidlist_free(&idx);
		idx_dir = f->dir;
	}
	int r = uidlist_load(f->dir, &idx);
	if (r < 0) {
		log_sys("%s: cannot read the UID index", f->dir);
		return -1;
	}
	if (idx.uidvalidity && f->uidvalidity && idx.uidvalidity != f->uidvalidity) {
		/* someone rebuilt the index under us: the session cannot go on */
		log_msg("%s: UIDVALIDITY changed under the session", f->dir);
		errno = ESTALE;
		return -1;
	}
	if (idx.uidvalidity) f->uidvalidity = idx.uidvalidity;
	if (idx.uidnext > f->uidnext) f->uidnext = idx.uidnext;
	if (idx.recent > f->recent_uid) f->recent_uid = idx.recent;
	/* keywords only ever grow */
	for (size_t i = f->nkw; i < idx.nkw; i++) {
		f->kw[i] = strdup(idx.kw[i]);
		if (!f->kw[i]) return -1;
		f->nkw = i + 1;
	}
	return 0;
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Assign UIDs to the files nobody has numbered yet, under the lock. */
static int assign(struct folder *f, struct entry *fresh, size_t nfresh, const char *names, int need_write)
{
	int lk = uidlist_lock(f->dir);
	if (lk < 0) return -1;
	if (load_index(f) < 0) { uidlist_unlock(lk); return -1; }
	if (!f->uidvalidity) {
		f->uidvalidity = uidlist_new_validity();
		need_write = 1;
	}
	uint32_t maxuid = f->n ? f->m[f->n - 1].uid : 0;
	for (size_t i = 0; i < nfresh; i++) {
		long k = uidlist_find(&idx, names + fresh[i].off + 4, fresh[i].baselen - 4);
		uint32_t uid = k >= 0 ? idx.e[k].uid : 0;
		if (uid > maxuid && uid < f->uidnext) {
			fresh[i].uid = uid;
		} else {
			fresh[i].uid = 0;
			need_write = 1;
		}
	}
	/* numbered ones first, in UID order; then the new ones by name */
	for (size_t i = 0; i < nfresh; i++)
		if (!fresh[i].uid) fresh[i].uid = f->uidnext++;
	int r = 0;
	uint32_t top = f->uidnext - 1;
	if (f->claim_recent && top > f->recent_uid) need_write = 1;
	if (need_write) {
		uint32_t old_recent = f->recent_uid;
		if (f->claim_recent) f->recent_uid = top;
		r = write_index(f, fresh, nfresh, names);
		if (r < 0) f->recent_uid = old_recent;
		f->idx_uidnext = f->uidnext;
		/* our own write: remember it so the next load skips it */
		uidlist_load(f->dir, &idx);
	}
	uidlist_unlock(lk);
	return r;
}

static int by_entry_uid(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

int folder_sync(struct folder *f, int force)
{
	char pn[1200], pc[1200];
	struct stat sn, sc;
	snprintf(pn, sizeof pn, "%s/new", f->dir);
	snprintf(pc, sizeof pc, "%s/cur", f->dir);
	if (stat(pn, &sn) < 0 || stat(pc, &sc) < 0) {
		/* the folder was deleted under us: everything is gone */
		for (size_t i = 0; i < f->n; i++) f->m[i].gone = 1;
		return 0;
	}
	time_t now = time(NULL);
	if (!force && same_time(&sn.st_mtim, &f->new_mtime) && same_time(&sc.st_mtim, &f->cur_mtime) &&
	    f->scanned > sn.st_mtim.tv_sec + 1 && f->scanned > sc.st_mtim.tv_sec + 1)
		return 0;
	f->new_mtime = sn.st_mtim;
	f->cur_mtime = sc.st_mtim;
	f->scanned = now;

	if (load_index(f) < 0) return -1;
	uint32_t idx_next_before = idx.uidnext;
	static struct listing l;
	struct mhash h = { 0, 0 };
	int rc = -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (listing_make(f->dir, &l) < 0) { log_sys("%s: cannot list", f->dir); goto out; }
		free(h.slot);
		if (mhash_build(&h, f) < 0) goto out;
		for (size_t i = 0; i < f->n; i++) f->m[i].seen_scan = 0;
		size_t missing = 0;
		for (size_t i = 0; i < l.n; i++) {
			const char *name = l.names.s + l.e[i].off;
			long k = mhash_find(&h, f, name + 4, l.e[i].baselen - 4);
			l.e[i].uid = k >= 0 ? 1 : 0; /* 1: known (reused as a mark) */
			if (k < 0) continue;
			struct msg *m = &f->m[k];
			if (m->seen_scan && l.e[i].cur == 0) continue; /* seen twice: keep cur/ */
			m->seen_scan = 1;
			if (strcmp(m->name, name) != 0) {
				uint32_t fl, kw;
				info_flags(name, l.e[i].len, l.e[i].baselen, &fl, &kw);
				if (set_name(m, name, l.e[i].len) < 0) goto out;
				if ((m->flags & ~FL_RECENT) != fl || m->kw != kw) {
					m->flags = fl | (m->flags & FL_RECENT);
					m->kw = kw;
					m->dirty = 1;
				}
			}
		}
		for (size_t i = 0; i < f->n; i++)
			if (!f->m[i].gone && !f->m[i].seen_scan) missing++;
		if (!missing) break;
		/* a file renamed while we read the directory can hide from
		 * readdir: look once more before calling it gone */
		if (attempt == 1)
			for (size_t i = 0; i < f->n; i++)
				if (!f->m[i].gone && !f->m[i].seen_scan) f->m[i].gone = 1;
	}
	/* files nobody told us about: dedupe (new/ and cur/ both), sort by name */
	size_t nfresh = 0;
	struct entry *fresh = malloc((l.n ? l.n : 1) * sizeof *fresh);
	if (!fresh) goto out;
	for (size_t i = 0; i < l.n; i++)
		if (!l.e[i].uid) fresh[nfresh++] = l.e[i];
	if (nfresh > 1) {
		qsort_r(fresh, nfresh, sizeof *fresh, by_name, l.names.s);
		/* the same message in new/ and cur/: keep the cur/ one */
		size_t w = 0;
		for (size_t i = 0; i < nfresh; i++) {
			if (w && fresh[w - 1].baselen == fresh[i].baselen &&
			    memcmp(l.names.s + fresh[w - 1].off + 4, l.names.s + fresh[i].off + 4, fresh[i].baselen - 4) == 0) {
				if (fresh[i].cur) fresh[w - 1] = fresh[i];
				continue;
			}
			fresh[w++] = fresh[i];
		}
		nfresh = w;
	}
	f->idx_uidnext = idx_next_before;
	int need_claim = f->claim_recent && f->uidnext - 1 > f->recent_uid;
	if (nfresh || need_claim || !f->uidvalidity) {
		uint32_t recent_before = f->recent_uid;
		if (assign(f, fresh, nfresh, l.names.s, 0) < 0) { free(fresh); goto out; }
		if (nfresh > 1) qsort(fresh, nfresh, sizeof *fresh, by_entry_uid);
		for (size_t i = 0; i < nfresh; i++) {
			const char *name = l.names.s + fresh[i].off;
			if (msg_append(f, name, fresh[i].len, fresh[i].baselen, fresh[i].uid) < 0) { free(fresh); goto out; }
			if (fresh[i].uid > recent_before) f->m[f->n - 1].flags |= FL_RECENT;
		}
	}
	free(fresh);
	rc = 0;
out:
	free(h.slot);
	return rc;
}

int folder_open(struct folder *f, const char *name, int readonly, int claim_recent)
{
	memset(f, 0, sizeof *f);
	if (folder_dir(name, strlen(name), f->dir, sizeof f->dir) < 0) { errno = EINVAL; return -1; }
	snprintf(f->name, sizeof f->name, "%s", strcasecmp(name, "INBOX") == 0 ? "INBOX" : name);
	f->readonly = readonly;
	f->claim_recent = claim_recent && !readonly;
	f->uidnext = 1;
	char path[1200];
	struct stat st;
	snprintf(path, sizeof path, "%s/cur", f->dir);
	if (stat(path, &st) < 0) return -1;
	idx_dir = NULL; /* a new folder object: reload */
	return folder_sync(f, 1);
}

void folder_close(struct folder *f)
{
	cache_flush(f);
	cache_free(f);
	for (size_t i = 0; i < f->n; i++) free(f->m[i].name);
	free(f->m);
	for (size_t i = 0; i < f->nkw; i++) free(f->kw[i]);
	f->m = NULL;
	f->n = f->cap = f->nkw = 0;
	idx_dir = NULL;
}

/* ---- changing messages ---- */

int folder_set_flags(struct folder *f, struct msg *m, uint32_t flags, uint32_t kw)
{
	flags &= ~FL_RECENT;
	if ((m->flags & ~FL_RECENT) == flags && m->kw == kw && strncmp(m->name, "cur/", 4) == 0) return 0;
	char name[1100];
	size_t n = 4 + m->baselen;
	if (n + 3 + 6 + 26 + 1 > sizeof name) return -1;
	memcpy(name, "cur/", 4);
	memcpy(name + 4, m->name + 4, m->baselen);
	memcpy(name + n, ":2,", 3);
	n += 3;
	for (int i = 0; i < 6; i++)
		if (flags & (1u << i)) name[n++] = flag_letters[i];
	for (int i = 0; i < 26; i++)
		if (kw & (1u << i)) name[n++] = (char)('a' + i);
	name[n] = 0;
	char from[1200], to[1200];
	snprintf(from, sizeof from, "%s/%s", f->dir, m->name);
	snprintf(to, sizeof to, "%s/%s", f->dir, name);
	if (strcmp(from, to) != 0 && rename(from, to) < 0) {
		if (errno != ENOENT) { log_sys("cannot rename %s", from); return -1; }
		/* renamed or expunged by someone else: look again */
		folder_sync(f, 1);
		if (m->gone) return -1;
		snprintf(from, sizeof from, "%s/%s", f->dir, m->name);
		if (rename(from, to) < 0) { log_sys("cannot rename %s", from); return -1; }
	}
	if (set_name(m, name, n) < 0) return -1;
	m->flags = flags | (m->flags & FL_RECENT);
	m->kw = kw;
	return 0;
}

int folder_keyword(struct folder *f, const char *name, size_t n, int add)
{
	for (size_t i = 0; i < f->nkw; i++)
		if (strlen(f->kw[i]) == n && strncasecmp(f->kw[i], name, n) == 0) return (int)i;
	if (!add) return -1;
	int lk = uidlist_lock(f->dir);
	if (lk < 0) return -1;
	int r = -1;
	if (load_index(f) == 0) {
		for (size_t i = 0; i < f->nkw && r < 0; i++)
			if (strlen(f->kw[i]) == n && strncasecmp(f->kw[i], name, n) == 0) r = (int)i;
		if (r < 0 && f->nkw < MAX_KEYWORDS) {
			f->kw[f->nkw] = strndup(name, n);
			if (f->kw[f->nkw]) {
				f->nkw++;
				if (!f->uidvalidity) f->uidvalidity = uidlist_new_validity();
				/* rewrite the index as it is, plus the keyword */
				if (uidlist_write(f->dir, f->uidvalidity, idx.uidnext > f->uidnext ? idx.uidnext : f->uidnext,
				                  idx.recent > f->recent_uid ? idx.recent : f->recent_uid,
				                  f->kw, f->nkw, idx.e, idx.n) == 0) {
					r = (int)f->nkw - 1;
					uidlist_load(f->dir, &idx);
				} else {
					free(f->kw[--f->nkw]);
				}
			}
		}
	}
	uidlist_unlock(lk);
	return r;
}

int folder_expunge(struct folder *f, const struct seqset *uids,
                   void (*report)(void *arg, size_t seq), void *arg)
{
	size_t w = 0;
	int removed = 0;
	for (size_t i = 0; i < f->n; i++) {
		struct msg *m = &f->m[i];
		int del = (m->flags & FL_DELETED) && !m->gone && (!uids || seqset_has(uids, m->uid, f->uidnext - 1));
		if (del) {
			char path[1200];
			snprintf(path, sizeof path, "%s/%s", f->dir, m->name);
			if (unlink(path) < 0 && errno != ENOENT) {
				log_sys("cannot remove %s", path);
				del = 0;
			}
		}
		if (del) m->gone = 2; /* ours: reported below */
		removed |= del;
	}
	/* report from the highest sequence number down: each EXPUNGE then
	 * names a number the client still has */
	for (size_t i = f->n; i-- > 0;) {
		if (f->m[i].gone == 2) {
			if (report) report(arg, i + 1);
			free(f->m[i].name);
			f->m[i].name = NULL;
		}
	}
	for (size_t i = 0; i < f->n; i++)
		if (f->m[i].name) f->m[w++] = f->m[i];
	f->n = w;
	if (removed) {
		int lk = uidlist_lock(f->dir);
		if (lk >= 0) {
			if (load_index(f) == 0) {
				f->idx_uidnext = idx.uidnext;
				write_index(f, NULL, 0, NULL);
				uidlist_load(f->dir, &idx);
			}
			uidlist_unlock(lk);
		}
	}
	return 0;
}

/* ---- adding messages (APPEND, COPY, MOVE) ---- */

static int unique_name(char *out, size_t max, size_t size)
{
	static unsigned counter;
	struct timespec ts;
	char host[256];
	clock_gettime(CLOCK_REALTIME, &ts);
	if (gethostname(host, sizeof host) < 0) snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = 0;
	for (char *p = host; *p; p++)
		if (*p == '/' || *p == ':') *p = '_';
	int k = snprintf(out, max, "%lld.M%ldP%ldQ%u.%s,S=%zu", (long long)ts.tv_sec, ts.tv_nsec / 1000,
	                 (long)getpid(), ++counter, host, size);
	return k < 0 || (size_t)k >= max ? -1 : 0;
}

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) return -1;
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	return close(fd);
}

static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0) return -1;
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) { close(in); return -1; }
	char b[65536];
	ssize_t k;
	int bad = 0;
	while ((k = read(in, b, sizeof b)) > 0)
		if (write_all(out, b, (size_t)k) < 0) { bad = 1; break; }
	if (k < 0 || fsync(out) < 0) bad = 1;
	close(in);
	if (close(out) < 0) bad = 1;
	if (bad) unlink(to);
	return bad ? -1 : 0;
}

/* keyword letters in the index u for names, adding the missing ones */
static uint32_t map_keywords(struct uidlist *u, char **names, size_t n)
{
	uint32_t bits = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < u->nkw && strcasecmp(u->kw[k], names[i]) != 0) k++;
		if (k == u->nkw) {
			if (k >= MAX_KEYWORDS || !(u->kw[k] = strdup(names[i]))) continue;
			u->nkw++;
		}
		bits |= 1u << k;
	}
	return bits;
}

int folder_add(const char *dir, struct newmsg *nm, size_t count, uint32_t *uidvalidity)
{
	char (*names)[400] = calloc(count ? count : 1, sizeof *names);
	struct uident *e = NULL;
	struct uidlist u = { 0 };
	int rc = -1;
	if (!names) return -1;
	/* numbering happens in one index write under the lock, with the
	 * files already in place so a reader never sees a UID without a file */
	int lk = uidlist_lock(dir);
	if (lk < 0) goto out;
	if (uidlist_load(dir, &u) < 0) goto out;
	if (!u.uidvalidity) u.uidvalidity = uidlist_new_validity();
	size_t done;
	for (done = 0; done < count; done++) {
		struct newmsg *x = &nm[done];
		char tmp[1200], to[1200];
		struct stat st;
		size_t size = x->len;
		if (x->link_from && stat(x->link_from, &st) == 0) size = (size_t)st.st_size;
		if (unique_name(names[done], sizeof names[done], size) < 0) break;
		uint32_t kw = map_keywords(&u, x->kwnames, x->nkw);
		char info[40];
		size_t n = 0;
		for (int i = 0; i < 6; i++)
			if (x->flags & (1u << i)) info[n++] = flag_letters[i];
		for (int i = 0; i < 26; i++)
			if (kw & (1u << i)) info[n++] = (char)('a' + i);
		info[n] = 0;
		snprintf(to, sizeof to, "%s/cur/%s:2,%s", dir, names[done], info);
		snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, names[done]);
		int r, same_inode = 0;
		if (x->link_from && x->move) {
			r = rename(x->link_from, to);
			same_inode = 1;
		} else if (x->link_from) {
			r = link(x->link_from, to);
			same_inode = r == 0;
			if (r < 0 && errno != ENOENT) r = copy_file(x->link_from, tmp) < 0 ? -1 : rename(tmp, to);
		} else {
			r = write_file(tmp, x->data, x->len) < 0 ? -1 : rename(tmp, to);
		}
		if (r < 0) { log_sys("cannot store a message in %s", dir); unlink(tmp); break; }
		/* a link shares the source's inode and so its date already */
		if (x->mtime && !same_inode) {
			struct timespec ts[2] = { { x->mtime, 0 }, { x->mtime, 0 } };
			utimensat(AT_FDCWD, to, ts, 0);
		}
	}
	/* number what was placed, even after a failure half way */
	e = malloc((u.n + done + 1) * sizeof *e);
	if (!e) goto out;
	if (u.n) memcpy(e, u.e, u.n * sizeof *e);
	for (size_t i = 0; i < done; i++) {
		nm[i].uid = u.uidnext++;
		e[u.n + i] = (struct uident){ nm[i].uid, (uint16_t)strlen(names[i]), names[i] };
	}
	if (uidlist_write(dir, u.uidvalidity, u.uidnext, u.recent, u.kw, u.nkw, e, u.n + done) == 0 && done == count)
		rc = 0;
	*uidvalidity = u.uidvalidity;
out:
	uidlist_unlock(lk);
	free(e);
	uidlist_free(&u);
	free(names);
	return rc;
}
