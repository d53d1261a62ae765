/* cidrtable.c — cidr: tables (cidrtable.h). The rules are read with the
 * table line reader (comments, continuation lines) and kept in order;
 * the cache holds the last few files by path and reparses a file whose
 * inode, size or mtime changed. */
#include "cidrtable.h"
#include "control.h"
#include "log.h"
#include "table_private.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define CACHE 4

struct rule {
	struct cidr net;
	char *result;
};

struct ctable {
	char path[PATH_MAX];
	struct stat st;
	int bad;
	struct rule *rules;
	size_t n, cap;
};

static struct ctable cache[CACHE];
static size_t next_slot;

int cidr_spec(const char *spec, const char **name, size_t *len)
{
	if (strncasecmp(spec, "cidr:", 5) != 0) return 0;
	const char *rest = spec + 5, *slash = strrchr(rest, '/');
	if (slash) rest = slash + 1;
	size_t n = strlen(rest);
	if (n > 5 && strcmp(rest + n - 5, ".cidr") == 0) n -= 5;
	*name = rest;
	*len = n;
	return 1;
}

static void clear(struct ctable *t)
{
	for (size_t i = 0; i < t->n; i++) free(t->rules[i].result);
	free(t->rules);
	t->rules = NULL;
	t->n = t->cap = 0;
	t->bad = 0;
}

static int add_rule(const char *line, size_t len, unsigned long lineno, void *arg)
{
	struct ctable *t = arg;
	size_t k = 0;
	while (k < len && line[k] != ' ' && line[k] != '\t') k++;
	size_t v = k;
	while (v < len && (line[v] == ' ' || line[v] == '\t')) v++;
	struct rule r;
	int c = cidr_parse(line, k, &r.net);
	if (c < 0 || v == len) {
		log_msg("%s:%lu: %s", t->path, lineno, c < 0 ? "bad network" : "missing result");
		errno = EINVAL;
		return -1;
	}
	if (c == 1) log_msg("warning: %s:%lu: host bits set in %.*s; matching the network", t->path, lineno, (int)k, line);
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct rule *nr = realloc(t->rules, cap * sizeof *nr);
		if (!nr) return -1;
		t->rules = nr;
		t->cap = cap;
	}
	r.result = strndup(line + v, len - v);
	if (!r.result) return -1;
	t->rules[t->n++] = r;
	return 0;
}

static struct ctable *load(const char *path, int *missing)
{
	struct stat st;
	*missing = 0;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT) { *missing = 1; return NULL; }
		log_sys("warning: %s: cannot stat", path);
		return NULL;
	}
	struct ctable *t = NULL;
	for (size_t i = 0; i < CACHE; i++)
		if (strcmp(cache[i].path, path) == 0) t = &cache[i];
	if (t && t->st.st_ino == st.st_ino && t->st.st_dev == st.st_dev && t->st.st_size == st.st_size &&
	    t->st.st_mtim.tv_sec == st.st_mtim.tv_sec && t->st.st_mtim.tv_nsec == st.st_mtim.tv_nsec)
		return t->bad ? NULL : t;
	if (!t) {
		t = &cache[next_slot];
		next_slot = (next_slot + 1) % CACHE;
	}
	clear(t);
	memcpy(t->path, path, strlen(path) + 1);
	t->st = st;
	if (table_lines(path, add_rule, t) < 0) {
		clear(t);
		t->bad = 1; /* logged; retried when the file changes */
		return NULL;
	}
	return t;
}

int cidr_table_lookup(const char *name, size_t len, const struct ipaddr *ip, char **value)
{
	char rel[300], path[PATH_MAX];
	*value = NULL;
	if (len == 0 || len > 200 || name[0] == '.' || memchr(name, '/', len)) {
		log_msg("warning: bad cidr table name \"%.*s\"", (int)(len > 200 ? 200 : len), name);
		return -1;
	}
	memcpy(rel, "control/", 8);
	memcpy(rel + 8, name, len);
	memcpy(rel + 8 + len, ".cidr", 6);
	if (root_path(path, sizeof path, rel) < 0) return -1;
	int missing;
	struct ctable *t = load(path, &missing);
	if (!t) return missing ? 0 : -1;
	for (size_t i = 0; i < t->n; i++)
		if (cidr_match(&t->rules[i].net, ip)) {
			*value = strdup(t->rules[i].result);
			return *value ? 1 : -1;
		}
	return 0;
}
