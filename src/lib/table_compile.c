/* table_compile.c — yubin-map's work: compile a text table into NAME.cdb.
 * postmap syntax ("key whitespace value"), or /etc/aliases syntax
 * ("name: a, b") when the file is called "aliases". Keys are stored
 * lower-case; a duplicate key is reported and the first one kept (as
 * postmap does). The .cdb is written to a temp file in the same directory,
 * fsynced, renamed over the old one and the directory fsynced, so readers
 * see the old table or the new one, never a half-written one. The .cdb
 * gets the text file's permission bits (and owner, when run as root):
 * control/users holds password hashes. */
#include "table.h"
#include "table_private.h"
#include "log.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_MAX 4096

struct compile {
	const char *path;
	int aliases;
	struct cdb_make cm;
};

static int syntax(const struct compile *c, unsigned long line, const char *what)
{
	log_msg("%s:%lu: %s", c->path, line, what);
	errno = EINVAL;
	return -1;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* "name: value" (name may be "quoted"); key and value point into s */
static int split_alias(const struct compile *c, unsigned long line, char *s, size_t n,
                       char **key, size_t *klen, char **val, size_t *vlen)
{
	size_t i = 0, kb, ke;
	if (s[0] == '"') {
		kb = 1;
		for (i = 1; i < n && s[i] != '"'; i++)
			if (s[i] == '\\' && i + 1 < n) i++;
		if (i >= n) return syntax(c, line, "unterminated quoted alias name");
		ke = i++;
	} else {
		kb = 0;
		while (i < n && s[i] != ':' && !is_blank(s[i])) i++;
		ke = i;
	}
	while (i < n && is_blank(s[i])) i++;
	if (i >= n || s[i] != ':') return syntax(c, line, "expected \"name: value\"");
	i++;
	while (i < n && is_blank(s[i])) i++;
	if (ke == kb) return syntax(c, line, "empty alias name");
	if (i == n) return syntax(c, line, "alias without a value");
	*key = s + kb;
	*klen = ke - kb;
	*val = s + i;
	*vlen = n - i;
	return 0;
}

static int add_entry(const char *line, size_t n, unsigned long lineno, void *arg)
{
	struct compile *c = arg;
	char *s = (char *)line; /* table_lines hands us its own buffer */
	char *key, *val;
	size_t klen, vlen;
	if (c->aliases) {
		if (split_alias(c, lineno, s, n, &key, &klen, &val, &vlen) < 0) return -1;
	} else {
		size_t i = 0;
		while (i < n && !is_blank(s[i])) i++;
		key = s;
		klen = i;
		while (i < n && is_blank(s[i])) i++;
		if (i == n) return syntax(c, lineno, "expected \"key whitespace value\"");
		val = s + i;
		vlen = n - i;
	}
	if (klen > KEY_MAX) return syntax(c, lineno, "key longer than 4096 bytes");
	table_lower(key, klen);
	int r = cdb_make_put(&c->cm, key, (unsigned)klen, val, (unsigned)vlen, CDB_PUT_INSERT);
	if (r < 0) {
		log_sys("%s: cannot write the table", c->path);
		return -1;
	}
	if (r > 0)
		log_msg("warning: %s:%lu: duplicate key \"%.*s\" ignored (the first one is kept)", c->path,
		        lineno, (int)klen, key);
	return 0;
}

static int fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n >= sizeof dir) { errno = ENAMETOOLONG; return -1; }
	if (slash && n == 0) n = 1; /* "/file" */
	if (slash) memcpy(dir, path, n);
	else dir[n++] = '.';
	dir[n] = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

static int is_aliases(const char *path)
{
	const char *slash = strrchr(path, '/');
	return strcmp(slash ? slash + 1 : path, "aliases") == 0;
}

int table_compile(const char *path)
{
	size_t n = strlen(path);
	struct stat st;
	if (stat(path, &st) < 0) {
		int e = errno;
		log_sys("%s: cannot read", path);
		errno = e == ENOENT ? EINVAL : e;
		return -1;
	}
	if (n >= 7 && strcmp(path + n - 7, ".regexp") == 0) return regexp_check_file(path);

	char tmp[PATH_MAX], dst[PATH_MAX];
	if (n + sizeof ".cdb.XXXXXX" > sizeof tmp) {
		log_msg("%s: path too long", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dst, path, n);
	memcpy(dst + n, ".cdb", 5);
	memcpy(tmp, path, n);
	memcpy(tmp + n, ".cdb.XXXXXX", sizeof ".cdb.XXXXXX");
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		log_sys("%s: cannot create a temp file", tmp);
		errno = e;
		return -1;
	}
	struct compile c = { .path = path, .aliases = is_aliases(path) };
	int ok = fchmod(fd, st.st_mode & 0666) == 0 &&
	         (geteuid() != 0 || fchown(fd, st.st_uid, st.st_gid) == 0);
	if (!ok) log_sys("%s: cannot set permissions", tmp);
	if (ok && cdb_make_start(&c.cm, fd) < 0) {
		log_sys("%s: cannot start the table", tmp);
		ok = 0;
	}
	if (ok) {
		if (table_lines(path, add_entry, &c) < 0) {
			if (errno != EINVAL) log_sys("%s: cannot read", path);
			ok = 0;
		}
		int e = errno;
		if (cdb_make_finish(&c.cm) < 0 && ok) {  /* also frees its memory */
			e = errno;
			log_sys("%s: cannot write", tmp);
			ok = 0;
		}
		errno = e;
	}
	if (ok && fsync(fd) < 0) { log_sys("%s: cannot fsync", tmp); ok = 0; }
	int e = errno;
	if (close(fd) < 0 && ok) { e = errno; log_sys("%s: cannot close", tmp); ok = 0; }
	if (ok && rename(tmp, dst) < 0) { e = errno; log_sys("%s: cannot rename to %s", tmp, dst); ok = 0; }
	if (!ok) {
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (fsync_dir(dst) < 0) {
		e = errno;
		log_sys("%s: cannot fsync its directory", dst);
		errno = e;
		return -1;
	}
	return 0;
}
