/* importtab.c — the tables a Postfix main.cf names (hash:/etc/postfix/x,
 * texthash:, regexp:, pcre:) become text tables in control/ under their
 * base name, compiled with table_compile (regexp ones are checked). A
 * table path under Postfix's config_directory, or missing on this host,
 * is looked for in the folder being imported, so a copied /etc/postfix
 * imports as well as the live one. Files are replaced atomically. */
#include "import.h"
#include "buf.h"
#include "control.h"
#include "log.h"
#include "table.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TABLE_MAX ((size_t)64 << 20)

static const char *const text_types[] = { "hash", "btree", "cdb", "lmdb", "dbm", "sdbm", "texthash", NULL };
static const char *const regexp_types[] = { "regexp", "pcre", NULL };
/* Postfix lookup types yubin cannot read: named so the word is known to be a table */
static const char *const other_types[] = {
	"cidr", "environ", "fail", "inline", "internal", "ldap", "memcache", "mongodb", "mysql",
	"netinfo", "nis", "nisplus", "pgsql", "pipemap", "proxy", "randmap", "socketmap",
	"sqlite", "static", "tcp", "unionmap", "unix", NULL
};

static int in(const char *const *list, const char *w, size_t n)
{
	for (; *list; list++)
		if (strlen(*list) == n && strncmp(*list, w, n) == 0) return 1;
	return 0;
}

enum table_kind table_word_kind(const char *w, size_t n)
{
	const char *colon = memchr(w, ':', n);
	if (!colon || colon == w || (size_t)(colon - w) + 1 == n) return TK_NONE;
	size_t tl = (size_t)(colon - w);
	if (in(text_types, w, tl)) return TK_TEXT;
	if (in(regexp_types, w, tl)) return TK_REGEXP;
	if (in(other_types, w, tl)) return TK_UNSUPPORTED;
	return TK_NONE;
}

char *import_slurp(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		int e = errno;
		close(fd);
		errno = S_ISREG(st.st_mode) ? (e ? e : E2BIG) : EISDIR;
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1, got = 0;
	char *s = malloc(cap);
	if (!s) die_nomem();
	for (;;) {
		ssize_t r = read(fd, s + got, cap - 1 - got);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) { int e = errno; free(s); close(fd); errno = e; return NULL; }
		if (r == 0) break;
		got += (size_t)r;
		if (got == cap - 1) break;   /* grew while we read: take what fstat saw */
	}
	close(fd);
	s[got] = 0;
	if (len) *len = got;
	return s;
}

/* write path atomically: temp file, fsync, rename */
static int write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
	char tmp[4200];
	if (snprintf(tmp, sizeof tmp, "%s.import.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR) continue;
		if (w < 0) break;
		off += (size_t)w;
	}
	int ok = off == len && fchmod(fd, mode) == 0 && fsync(fd) == 0;
	int e = errno;
	if (close(fd) < 0 && ok) { ok = 0; e = errno; }
	if (ok && rename(tmp, path) == 0) return 0;
	if (ok) e = errno;
	unlink(tmp);
	errno = e;
	return -1;
}

int import_write(struct import *im, const char *name, const char *value)
{
	printf("control/%s = %s\n", name, value);
	if (im->dry_run) { im->settings++; return 0; }
	char rel[300], path[4096];
	size_t vl = strlen(value);
	char *text = malloc(vl + 2);
	if (!text) die_nomem();
	memcpy(text, value, vl);
	text[vl] = '\n';
	if (snprintf(rel, sizeof rel, "control/%s", name) >= (int)sizeof rel ||
	    root_path(path, sizeof path, rel) < 0 || write_atomic(path, text, vl + 1, 0644) < 0) {
		log_sys("cannot write control/%s", name);
		free(text);
		im->failed++;
		return -1;
	}
	free(text);
	im->settings++;
	return 0;
}

/* where the table file is on this host (see the header comment) */
static int source_path(const struct import *im, const char *p, char *out, size_t max)
{
	static const char *const vars[] = { "$config_directory/", "${config_directory}/", "$(config_directory)/" };
	size_t cl = strlen(im->confdir);
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		if (strncmp(p, vars[i], strlen(vars[i])) == 0)
			return snprintf(out, max, "%s/%s", im->dir, p + strlen(vars[i])) < (int)max ? 0 : -1;
	if (p[0] != '/' || (strncmp(p, im->confdir, cl) == 0 && p[cl] == '/'))
		return snprintf(out, max, "%s/%s", im->dir, p[0] == '/' ? p + cl + 1 : p) < (int)max ? 0 : -1;
	if (access(p, R_OK) == 0 || !strrchr(p, '/'))
		return snprintf(out, max, "%s", p) < (int)max ? 0 : -1;
	/* not on this host: maybe it was copied along with main.cf */
	char alt[4096];
	if (snprintf(alt, sizeof alt, "%s/%s", im->dir, strrchr(p, '/') + 1) < (int)sizeof alt &&
	    access(alt, R_OK) == 0)
		return snprintf(out, max, "%s", alt) < (int)max ? 0 : -1;
	return snprintf(out, max, "%s", p) < (int)max ? 0 : -1;
}

static struct written *find_done(struct import *im, const char *file)
{
	for (size_t i = 0; i < im->ndone; i++)
		if (strcmp(im->done[i].name, file) == 0) return &im->done[i];
	return NULL;
}

/* Copy src into control/file (appending when append and this run already
 * wrote it), then compile (or check) it when compile. Returns 0 or -1
 * with *why set. */
static int copy_table(struct import *im, const char *src, const char *file, int append, int compile,
                      const char **why)
{
	char rel[300], path[4096];
	if (snprintf(rel, sizeof rel, "control/%s", file) >= (int)sizeof rel ||
	    root_path(path, sizeof path, rel) < 0) { *why = "table name too long"; return -1; }
	struct written *w = find_done(im, file);
	if (w && strcmp(w->source, src) == 0) return 0;   /* the same table named twice */
	if (w && !append) { *why = "another table was already imported under that name"; return -1; }
	size_t len;
	char *text = import_slurp(src, TABLE_MAX, &len);
	if (!text) {
		printf("%s: cannot read: %s\n", src, strerror(errno));
		*why = "the table file cannot be read";
		im->failed++;
		return -1;
	}
	struct stat st;
	mode_t mode = stat(src, &st) == 0 ? (st.st_mode & 0640) | 0600 : 0640;
	if (w) {   /* a second table for the same fixed file: append it */
		size_t ol;
		char *old = import_slurp(path, TABLE_MAX, &ol);
		if (!old && !im->dry_run) { *why = "cannot reread the table being appended to"; free(text); return -1; }
		if (old) {
			size_t total;
			if (__builtin_add_overflow(ol, len, &total) || total + 2 > TABLE_MAX) { free(old); free(text); *why = "tables too large"; return -1; }
			char *both = malloc(total + 2);
			if (!both) die_nomem();
			memcpy(both, old, ol);
			size_t k = ol;
			if (k && both[k - 1] != '\n') both[k++] = '\n';
			memcpy(both + k, text, len);
			both[k + len] = 0;
			len += k;
			free(old);
			free(text);
			text = both;
		}
	}
	printf("control/%s <- %s%s\n", file, src, w ? " (appended)" : "");
	int rc = 0;
	if (!im->dry_run) {
		if (write_atomic(path, text, len, mode) < 0) {
			log_sys("cannot write %s", path);
			*why = "control/ cannot be written";
			im->failed++;
			rc = -1;
		} else if (compile && table_compile(path) < 0) {
			printf("control/%s: does not compile (see above); fix it and run: yubin-map %s\n", file, path);
			im->failed++;
		}
	}
	free(text);
	if (rc == 0 && !w) {
		struct written *d = realloc(im->done, (im->ndone + 1) * sizeof *d);
		if (!d) die_nomem();
		im->done = d;
		d[im->ndone].name = strdup(file);
		d[im->ndone].source = strdup(src);
		if (!d[im->ndone].name || !d[im->ndone].source) die_nomem();
		im->ndone++;
		im->tables++;
	}
	return rc;
}

/* the control/ name for the table at path: its base name, minus a
 * .regexp/.pcre suffix for regexp tables; never a setting's name */
static int table_name(const char *path, enum table_kind k, char *out, size_t max)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t n = strlen(b);
	if (k == TK_REGEXP && n > 7 && strcmp(b + n - 7, ".regexp") == 0) n -= 7;
	else if (k == TK_REGEXP && n > 5 && strcmp(b + n - 5, ".pcre") == 0) n -= 5;
	/* 190: room for the "_table" a setting's name gets below */
	if (n > 190 || !table_name_ok(b, n) || n + 12 > max) return -1;
	memcpy(out, b, n);
	out[n] = 0;
	if (k == TK_TEXT && setting_find(out)) memcpy(out + n, "_table", 7);
	return 0;
}

char *import_rewrite(struct import *im, const char *param, const char *value, const char **why)
{
	(void)param;
	struct buf out = BUF_INIT;
	size_t n = strlen(value), i = 0;
	while (i < n) {
		size_t s = i;
		while (i < n && !strchr(", \t\n", value[i])) i++;
		size_t wl = i - s;
		enum table_kind k = wl ? table_word_kind(value + s, wl) : TK_NONE;
		if (k == TK_UNSUPPORTED) {
			*why = "names a table type yubin does not read (hash:, texthash:, regexp: and pcre: are imported)";
			buf_free(&out);
			return NULL;
		}
		if (k == TK_NONE) {
			if (buf_add(&out, value + s, wl) < 0) die_nomem();
		} else {
			char path[4096], src[4096], name[256], file[270];
			const char *colon = memchr(value + s, ':', wl);
			size_t pl = wl - (size_t)(colon + 1 - (value + s));
			if (pl < sizeof path) {
				memcpy(path, colon + 1, pl);
				path[pl] = 0;
			}
			if (pl >= sizeof path || source_path(im, path, src, sizeof src) < 0 ||
			    table_name(path, k, name, sizeof name) < 0) {
				*why = "the table path cannot be used as a name in control/";
				buf_free(&out);
				return NULL;
			}
			snprintf(file, sizeof file, "%s%s", name, k == TK_REGEXP ? ".regexp" : "");
			if (copy_table(im, src, file, 0, 1, why) < 0) { buf_free(&out); return NULL; }
			if ((k == TK_REGEXP && buf_adds(&out, "regexp:") < 0) || buf_adds(&out, name) < 0) die_nomem();
		}
		s = i;   /* the separator goes along as written */
		while (i < n && strchr(", \t\n", value[i])) i++;
		if (buf_add(&out, value + s, i - s) < 0) die_nomem();
	}
	if (buf_add(&out, "", 0) < 0) die_nomem();
	return out.s;
}

int import_fixed(struct import *im, const char *param, const char *value,
                 const char *text_name, const char *re_name, const char **why)
{
	(void)param;
	size_t n = strlen(value), i = 0;
	int rc = 0;
	while (i < n) {
		while (i < n && strchr(", \t\n", value[i])) i++;
		size_t s = i;
		while (i < n && !strchr(", \t\n", value[i])) i++;
		if (i == s) break;
		enum table_kind k = table_word_kind(value + s, i - s);
		const char *file = k == TK_TEXT ? text_name : k == TK_REGEXP ? re_name : NULL;
		if (!file) {
			*why = k == TK_REGEXP ? "only hash-type tables are read for it" :
			       k == TK_TEXT ? "only regexp tables are read for it" :
			       "names a table type yubin does not read (hash:, texthash:, regexp: and pcre: are imported)";
			rc = -1;
			continue;
		}
		char path[4096], src[4096];
		const char *colon = memchr(value + s, ':', i - s);
		size_t pl = i - (size_t)(colon + 1 - value);
		if (pl >= sizeof path) { *why = "table path too long"; rc = -1; continue; }
		memcpy(path, colon + 1, pl);
		path[pl] = 0;
		if (source_path(im, path, src, sizeof src) < 0) { *why = "table path too long"; rc = -1; continue; }
		size_t fl = strlen(file);
		int compile = k == TK_TEXT || (fl > 7 && strcmp(file + fl - 7, ".regexp") == 0);
		if (copy_table(im, src, file, 1, compile, why) < 0) rc = -1;
	}
	return rc;
}
