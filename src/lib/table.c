/* table.c — lookups in compiled tables control/NAME.cdb (tinycdb), table
 * specs ("access", "regexp:access", "hash:/etc/postfix/access") and the
 * Postfix address lookup order. Open cdb handles are cached per process;
 * each lookup stat()s the file and reopens it when the inode, size or
 * mtime changed, so a long-running program sees a rebuilt table at once.
 * A missing NAME.cdb is an empty table, unless the text control/NAME
 * exists: then the table was never compiled and lookups fail temporarily
 * (mail waits instead of bouncing as "unknown user"). */
#include "table.h"
#include "table_private.h"
#include "addr.h"
#include "buf.h"
#include "control.h"
#include "log.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CDB_CACHE 32
#define KEY_MAX 4096

struct handle {
	char *path;
	int fd;
	struct cdb cdb;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

static struct handle cache[CDB_CACHE];
static size_t ncached;

static int same_file(const struct handle *h, const struct stat *st)
{
	return h->dev == st->st_dev && h->ino == st->st_ino && h->size == st->st_size &&
	       h->mtime.tv_sec == st->st_mtim.tv_sec && h->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void handle_close(struct handle *h)
{
	if (h->fd >= 0) {
		cdb_free(&h->cdb);
		close(h->fd);
	}
	h->fd = -1;
}

/* The open cdb for path (reopened when it changed), NULL with *missing=1
 * when there is no such file, NULL with *missing=0 on an error (logged). */
static struct cdb *open_cdb(const char *path, int *missing)
{
	struct handle *h = NULL;
	struct stat st;
	*missing = 0;
	for (size_t i = 0; i < ncached; i++)
		if (strcmp(cache[i].path, path) == 0) { h = &cache[i]; break; }
	if (stat(path, &st) < 0) {
		if (h) handle_close(h);
		if (errno == ENOENT || errno == ENOTDIR) { *missing = 1; return NULL; }
		log_sys("warning: %s: cannot stat", path);
		return NULL;
	}
	if (h && h->fd >= 0 && same_file(h, &st)) return &h->cdb;
	if (!h) {
		if (ncached == CDB_CACHE) { /* full: recycle the oldest slot */
			handle_close(&cache[0]);
			free(cache[0].path);
			memmove(cache, cache + 1, (CDB_CACHE - 1) * sizeof *cache);
			ncached--;
		}
		h = &cache[ncached];
		h->path = strdup(path);
		if (!h->path) { log_msg("warning: %s: out of memory", path); return NULL; }
		h->fd = -1;
		ncached++;
	}
	handle_close(h);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) { *missing = 1; return NULL; }
		log_sys("warning: %s: cannot open", path);
		return NULL;
	}
	/* identity of what we opened, not of what we stat()ed: a rename in
	 * between is then noticed at the next lookup */
	if (fstat(fd, &st) < 0 || cdb_init(&h->cdb, fd) < 0) {
		log_sys("warning: %s: not a readable cdb file", path);
		close(fd);
		return NULL;
	}
	h->fd = fd;
	h->dev = st.st_dev;
	h->ino = st.st_ino;
	h->size = st.st_size;
	h->mtime = st.st_mtim;
	return &h->cdb;
}

/* exact key (lower-cased here) in the cdb file at path */
static int cdb_lookup(const char *path, const char *key, size_t keylen, char **value)
{
	char low[KEY_MAX];
	*value = NULL;
	if (keylen == 0 || keylen > sizeof low) return 0; /* no such key can be stored */
	memcpy(low, key, keylen);
	table_lower(low, keylen);
	int missing;
	struct cdb *c = open_cdb(path, &missing);
	if (!c) {
		if (!missing) return -1;
		/* text without .cdb: never compiled */
		size_t n = strlen(path);
		char text[PATH_MAX];
		if (n > 4 && n - 4 < sizeof text) {
			memcpy(text, path, n - 4);
			text[n - 4] = 0;
			if (access(text, F_OK) == 0) {
				log_msg("warning: %s exists but %s does not: run yubin-map %s", text, path, text);
				errno = ENOENT;
				return -1;
			}
		}
		return 0;
	}
	int r = cdb_find(c, low, (unsigned)keylen);
	if (r < 0) {
		log_sys("warning: %s: corrupt cdb file", path);
		return -1;
	}
	if (r == 0) return 0;
	unsigned len = cdb_datalen(c);
	const char *p = cdb_get(c, len, cdb_datapos(c));
	if (!p) {
		log_msg("warning: %s: corrupt cdb file (value out of bounds)", path);
		return -1;
	}
	char *v = malloc((size_t)len + 1);
	if (!v) { log_msg("warning: %s: out of memory", path); return -1; }
	memcpy(v, p, len);
	v[len] = 0;
	*value = v;
	return 1;
}

int table_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 200 || s[0] == '.') return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int control_file(char *out, size_t max, const char *name, size_t n, const char *suffix)
{
	char rel[300];
	size_t sl = strlen(suffix);
	if (!table_name_ok(name, n)) { errno = EINVAL; return -1; }
	memcpy(rel, "control/", 8);
	memcpy(rel + 8, name, n);
	memcpy(rel + 8 + n, suffix, sl + 1);
	return root_path(out, max, rel);
}

int table_get(const char *name, const char *key, size_t keylen, char **value)
{
	char path[PATH_MAX];
	*value = NULL;
	if (control_file(path, sizeof path, name, strlen(name), ".cdb") < 0) {
		log_msg("warning: bad table name \"%s\"", name);
		return -1;
	}
	return cdb_lookup(path, key, keylen, value);
}

int table_regexp(const char *name, const char *subject, size_t len, char **value)
{
	char path[PATH_MAX];
	*value = NULL;
	if (control_file(path, sizeof path, name, strlen(name), ".regexp") < 0) {
		log_msg("warning: bad table name \"%s\"", name);
		return -1;
	}
	return regexp_lookup_path(path, subject, len, value);
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* spec -> kind (0 cdb, 1 regexp) and the name inside control/ */
static int parse_spec(const char *spec, int *regexp, const char **name, size_t *len)
{
	const char *colon = strchr(spec, ':');
	const char *rest = spec;
	*regexp = 0;
	if (colon) {
		size_t tl = (size_t)(colon - spec);
		static const char *const cdb_types[] = { "hash", "btree", "cdb", "lmdb", "dbm", "texthash" };
		int known = 0;
		if ((tl == 6 && strncasecmp(spec, "regexp", 6) == 0) || (tl == 4 && strncasecmp(spec, "pcre", 4) == 0)) {
			*regexp = 1;
			known = 1;
		}
		for (size_t i = 0; !known && i < sizeof cdb_types / sizeof *cdb_types; i++)
			if (strlen(cdb_types[i]) == tl && strncasecmp(spec, cdb_types[i], tl) == 0) known = 1;
		if (!known) return -1;
		rest = colon + 1;
	}
	const char *slash = strrchr(rest, '/');
	if (slash) rest = slash + 1;
	size_t n = strlen(rest);
	if (*regexp && ends_with(rest, n, ".regexp")) n -= 7;
	else if (*regexp && ends_with(rest, n, ".pcre")) n -= 5;
	else if (!*regexp && ends_with(rest, n, ".cdb")) n -= 4;
	if (!table_name_ok(rest, n)) return -1;
	*name = rest;
	*len = n;
	return 0;
}

/* one key in the table named by spec */
static int spec_get(int regexp, const char *name, size_t nlen, const char *key, size_t klen, char **value)
{
	char path[PATH_MAX];
	if (control_file(path, sizeof path, name, nlen, regexp ? ".regexp" : ".cdb") < 0) {
		log_msg("warning: table path too long");
		return -1;
	}
	return regexp ? regexp_lookup_path(path, key, klen, value) : cdb_lookup(path, key, klen, value);
}

int table_lookup(const char *spec, const char *key, char **value)
{
	int regexp;
	const char *name;
	size_t nlen;
	*value = NULL;
	if (parse_spec(spec, &regexp, &name, &nlen) < 0) {
		log_msg("warning: unsupported table \"%s\"", spec);
		return -1;
	}
	return spec_get(regexp, name, nlen, key, strlen(key), value);
}

/* Postfix tries the bare local part only for domains whose users are
 * system accounts: myorigin and mydestination. */
static int bare_user_domain(const char *domain)
{
	return strcasecmp(domain, control_get("myorigin")) == 0 || control_list_has("mydestination", domain);
}

int table_lookup_addr(const char *spec, const char *addr, char **value)
{
	return table_lookup_addr_ext(spec, addr, value, NULL);
}

int table_lookup_addr_ext(const char *spec, const char *addr, char **value, int *unext)
{
	int regexp;
	if (unext) *unext = 0;
	const char *name;
	size_t nlen;
	*value = NULL;
	if (parse_spec(spec, &regexp, &name, &nlen) < 0) {
		log_msg("warning: unsupported table \"%s\"", spec);
		return -1;
	}
	const char *local, *domain;
	size_t ll, dl;
	addr_split(addr, &local, &ll, &domain, &dl);
	struct buf plain = BUF_INIT;
	int stripped = addr_strip_extension(addr, &plain);
	if (stripped < 0) { buf_free(&plain); return -1; }
	if (regexp) { /* patterns see whole addresses: with, then without extension */
		int rr = spec_get(1, name, nlen, addr, strlen(addr), value);
		if (rr == 0 && stripped) {
			rr = spec_get(1, name, nlen, plain.s, plain.len, value);
			if (rr > 0 && unext) *unext = 1;
		}
		buf_free(&plain);
		return rr;
	}
	int r = spec_get(0, name, nlen, addr, strlen(addr), value);            /* user+ext@domain */
	if (r == 0 && stripped && dl) {
		r = spec_get(0, name, nlen, plain.s, plain.len, value);          /* user@domain */
		if (r > 0 && unext) *unext = 1;
	}
	if (r == 0 && (!dl || bare_user_domain(domain))) {
		if (dl) r = spec_get(0, name, nlen, local, ll, value);            /* user+ext */
		size_t pll = dl ? (size_t)(strrchr(plain.s, '@') - plain.s) : plain.len;
		if (r == 0 && stripped) {
			r = spec_get(0, name, nlen, plain.s, pll, value);         /* user */
			if (r > 0 && unext) *unext = 1;
		}
	}
	if (r == 0 && dl) {
		char at[KEY_MAX];
		if (dl + 1 <= sizeof at) {
			at[0] = '@';
			memcpy(at + 1, domain, dl);
			r = spec_get(0, name, nlen, at, dl + 1, value);           /* @domain */
		}
	}
	buf_free(&plain);
	return r;
}

int table_query_file(const char *path, const char *key, size_t keylen, char **value)
{
	size_t n = strlen(path);
	*value = NULL;
	if (ends_with(path, n, ".regexp")) return regexp_lookup_path(path, key, keylen, value);
	char cdb[PATH_MAX];
	if (n + 5 > sizeof cdb) { errno = ENAMETOOLONG; return -1; }
	memcpy(cdb, path, n);
	memcpy(cdb + n, ".cdb", 5);
	return cdb_lookup(cdb, key, keylen, value);
}
