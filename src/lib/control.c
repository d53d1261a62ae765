/* control.c — read, cache, expand and parse control files (see control.h). */
#include "control.h"
#include "buf.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CONTROL_FILE_MAX (1 << 20)
#define EXPAND_DEPTH 20

struct cached {
	char *name;
	struct stat st;   /* of control/NAME when read; st_ino 0 when missing */
	char *raw;        /* NULL: no file and no default */
	int is_set;
	char *value;      /* expanded, or NULL until asked */
	const char **items;
	size_t nitems;
	int have_items;
	size_t next;      /* 1 + index of the next entry in its hash chain, 0 = end */
};

/* Settings are looked up by name dozens of times per SMTP session: a hash
 * on the name finds the entry without a strcmp down the whole cache. */
#define CACHE_BUCKETS 256
static struct cached *cache;
static size_t ncache, capcache;
static size_t bucket[CACHE_BUCKETS]; /* 1 + index of a chain's first entry */

static size_t name_hash(const char *s)
{
	size_t h = 5381;
	for (; *s; s++) h = h * 33 + (unsigned char)*s;
	return h % CACHE_BUCKETS;
}
static struct stat dir_st;   /* control/ when the cache began: files made or removed since change it */

const char *yubin_root(void)
{
	const char *r = getenv("YUBIN_ROOT");
	return r && *r ? r : "/var/yubin";
}

int root_path(char *out, size_t max, const char *rel)
{
	size_t a = strlen(yubin_root()), b = strlen(rel);
	if (a + 1 + b + 1 > max) { errno = ENAMETOOLONG; return -1; }
	memcpy(out, yubin_root(), a);
	out[a] = '/';
	memcpy(out + a + 1, rel, b + 1);
	return 0;
}

static int valid_name(const char *name)
{
	if (!*name || *name == '.') return 0;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.') return 0;
	return 1;
}

/* File content with comment lines dropped and lines joined by a space;
 * NULL when the file is missing. st: the file's, zeroed when missing. */
static char *read_control_file(const char *name, int *is_set, struct stat *st)
{
	char path[4096], rel[512];
	*is_set = 0;
	memset(st, 0, sizeof *st);
	if (!valid_name(name) || strlen(name) > 200) return NULL;
	memcpy(rel, "control/", 8);
	memcpy(rel + 8, name, strlen(name) + 1);
	if (root_path(path, sizeof path, rel) < 0) return NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT) log_sys("warning: control/%s: cannot read, using the default", name);
		return NULL;
	}
	if (fstat(fd, st) < 0) memset(st, 0, sizeof *st);
	struct buf raw = BUF_INIT, out = BUF_INIT;
	raw.max = CONTROL_FILE_MAX;
	char tmp[4096];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) break;
		if (buf_add(&raw, tmp, (size_t)n) < 0) {
			log_msg("warning: control/%s: longer than %d bytes, ignoring the rest", name, CONTROL_FILE_MAX);
			break;
		}
	}
	close(fd);
	*is_set = 1;
	size_t i = 0;
	while (i < raw.len) {
		size_t e = i;
		while (e < raw.len && raw.s[e] != '\n') e++;
		size_t b = i;
		while (b < e && isspace((unsigned char)raw.s[b])) b++;
		size_t t = e;
		while (t > b && isspace((unsigned char)raw.s[t - 1])) t--;
		if (b < t && raw.s[b] != '#') {
			if (out.len && buf_addc(&out, ' ') < 0) die_nomem();
			if (buf_add(&out, raw.s + b, t - b) < 0) die_nomem();
		}
		i = e + 1;
	}
	buf_free(&raw);
	if (buf_add(&out, "", 0) < 0) die_nomem();
	/* NULs would cut the value short silently; treat them as spaces */
	for (size_t k = 0; k < out.len; k++)
		if (!out.s[k]) out.s[k] = ' ';
	return out.s;
}

static void control_stat(const char *name, struct stat *st)
{
	char rel[512], path[4096];
	memset(st, 0, sizeof *st);
	if (!valid_name(name) || snprintf(rel, sizeof rel, "control/%s", name) >= (int)sizeof rel ||
	    root_path(path, sizeof path, rel) < 0 || stat(path, st) < 0)
		memset(st, 0, sizeof *st);
}

static void control_dir_stat(struct stat *st)
{
	char path[4096];
	if (root_path(path, sizeof path, "control") < 0 || stat(path, st) < 0) memset(st, 0, sizeof *st);
}

static int stat_differs(const struct stat *a, const struct stat *b)
{
	return a->st_ino != b->st_ino || a->st_dev != b->st_dev || a->st_size != b->st_size ||
	       a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec;
}

int control_changed(void)
{
	if (!ncache) return 0;
	struct stat st;
	control_dir_stat(&st);
	if (stat_differs(&st, &dir_st)) return 1;
	for (size_t i = 0; i < ncache; i++) {
		if (!cache[i].st.st_ino) continue; /* missing: creating it changes the directory */
		control_stat(cache[i].name, &st);
		if (stat_differs(&st, &cache[i].st)) return 1;
	}
	return 0;
}

int control_refresh(void)
{
	static time_t last;
	time_t now = time(NULL);
	if (now == last) return 0;
	last = now;
	for (size_t i = 0; i < ncache; i++) {
		struct stat st;
		control_stat(cache[i].name, &st);
		if (stat_differs(&st, &cache[i].st)) {
			control_reload();
			return 1;
		}
	}
	return 0;
}

static char *host_fqdn(void)
{
	char host[256];
	if (gethostname(host, sizeof host - 1) < 0) return strdup("localhost");
	host[sizeof host - 1] = 0;
	if (!strchr(host, '.')) {
		struct addrinfo hints = { .ai_flags = AI_CANONNAME }, *ai = NULL;
		if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai && ai->ai_canonname &&
		    strchr(ai->ai_canonname, '.')) {
			char *r = strdup(ai->ai_canonname);
			freeaddrinfo(ai);
			return r;
		}
		if (ai) freeaddrinfo(ai);
	}
	return strdup(host);
}

static struct cached *lookup_cached(const char *name)
{
	size_t slot = name_hash(name);
	for (size_t i = bucket[slot]; i; i = cache[i - 1].next)
		if (strcmp(cache[i - 1].name, name) == 0) return &cache[i - 1];
	if (ncache == capcache) {
		size_t nc = capcache ? capcache * 2 : 32;
		struct cached *c = realloc(cache, nc * sizeof *c);
		if (!c) die_nomem();
		cache = c;
		capcache = nc;
	}
	struct cached *c = &cache[ncache++];
	memset(c, 0, sizeof *c);
	c->name = strdup(name);
	if (!c->name) die_nomem();
	c->next = bucket[slot];
	bucket[slot] = ncache;
	if (ncache == 1) control_dir_stat(&dir_st);
	c->raw = read_control_file(name, &c->is_set, &c->st);
	if (!c->raw) {
		const struct setting *s = setting_find(name);
		if (s) c->raw = strdup(s->def);
		/* computed defaults */
		if (s && strcmp(name, "myhostname") == 0 && !*s->def) {
			free(c->raw);
			c->raw = host_fqdn();
		} else if (s && strcmp(name, "mydomain") == 0 && !*s->def) {
			size_t idx = (size_t)(c - cache);
			const char *h = control_get("myhostname"); /* may move the array */
			const char *dot = strchr(h, '.');
			char *dom = strdup(dot && dot[1] ? dot + 1 : "localdomain");
			c = &cache[idx];
			free(c->raw);
			c->raw = dom;
		}
	}
	return c;
}

const char *control_raw(const char *name) { return lookup_cached(name)->raw; }
int control_is_set(const char *name) { return lookup_cached(name)->is_set; }

static const char *raw_lookup(const char *name, void *arg)
{
	(void)arg;
	return control_raw(name);
}

int expand_value(const char *s, size_t n, const char *(*lookup)(const char *, void *), void *arg,
                 struct buf *out)
{
	static int depth;
	if (depth >= EXPAND_DEPTH) { errno = ELOOP; return -1; }
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '$' || i + 1 >= n) {
			if (buf_addc(out, s[i]) < 0) return -1;
			continue;
		}
		size_t b = i + 1, e;
		int braced = s[b] == '{' || s[b] == '(';
		if (braced) b++;
		for (e = b; e < n && (isalnum((unsigned char)s[e]) || s[e] == '_'); e++) ;
		if (e == b || (braced && (e >= n || (s[e] != '}' && s[e] != ')')))) {
			if (buf_addc(out, '$') < 0) return -1; /* a lone '$' stays */
			continue;
		}
		char name[128];
		if (e - b >= sizeof name) { errno = ENAMETOOLONG; return -1; }
		memcpy(name, s + b, e - b);
		name[e - b] = 0;
		const char *v = lookup(name, arg);
		if (v) {
			depth++;
			int r = expand_value(v, strlen(v), lookup, arg, out);
			depth--;
			if (r < 0) return -1;
		}
		i = braced ? e : e - 1;
	}
	return 0;
}

const char *control_get(const char *name)
{
	struct cached *c = lookup_cached(name);
	if (c->value) return c->value;
	if (!c->raw) return "";
	struct buf b = BUF_INIT;
	b.max = CONTROL_FILE_MAX;
	if (expand_value(c->raw, strlen(c->raw), raw_lookup, NULL, &b) < 0) {
		log_msg("warning: control/%s: $name expansion %s; using it unexpanded", name,
		        errno == ELOOP ? "loops" : "is too long");
		buf_set(&b, c->raw, strlen(c->raw));
	}
	if (buf_add(&b, "", 0) < 0) die_nomem();
	c = lookup_cached(name); /* expansion may have grown the cache */
	c->value = b.s;
	return c->value;
}

static void push_item(const char *item, size_t len, void *arg)
{
	struct cached *c = arg;
	const char **it = realloc(c->items, (c->nitems + 1) * sizeof *it);
	char *copy = strndup(item, len);
	if (!it || !copy) die_nomem();
	c->items = it;
	c->items[c->nitems++] = copy;
}

size_t control_list(const char *name, const char *const **items)
{
	const char *v = control_get(name);
	struct cached *c = lookup_cached(name);
	if (!c->have_items) {
		list_split(v, strlen(v), push_item, c);
		c->have_items = 1;
	}
	*items = c->items;
	return c->nitems;
}

int control_list_has(const char *name, const char *item)
{
	const char *const *items;
	size_t n = control_list(name, &items);
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(items[i], item) == 0) return 1;
	return 0;
}

void list_split(const char *s, size_t n, void (*fn)(const char *, size_t, void *), void *arg)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (s[i] == ',' || isspace((unsigned char)s[i]))) i++;
		size_t b = i;
		while (i < n && s[i] != ',' && !isspace((unsigned char)s[i])) i++;
		if (i > b) fn(s + b, i - b, arg);
	}
}

static int parse_digits(const char *s, size_t n, size_t *used, long long *out)
{
	long long v = 0;
	size_t i = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[i] - '0', &v))
			return -1;
		i++;
	}
	if (i == 0) return -1;
	*used = i;
	*out = v;
	return 0;
}

int parse_int(const char *s, size_t n, long long *out)
{
	size_t used;
	return parse_digits(s, n, &used, out) < 0 || used != n ? -1 : 0;
}

int parse_time(const char *s, size_t n, char unit, long long *out)
{
	size_t used;
	long long v;
	if (parse_digits(s, n, &used, &v) < 0) return -1;
	/* unit 'M': the value is wanted in milliseconds, and "ms" may follow */
	long long scale = unit == 'M' ? 1000 : 1;
	if (unit == 'M' && used + 2 == n && tolower((unsigned char)s[used]) == 'm' &&
	    tolower((unsigned char)s[used + 1]) == 's')
		return (*out = v), 0;
	if (used < n - 1) return -1;
	char u = used == n ? unit : (char)tolower((unsigned char)s[used]);
	long long mult;
	switch (u) {
	case 'M': mult = 1; break;
	case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	case 'w': mult = 604800; break;
	default: return -1;
	}
	if (u != 'M' && __builtin_mul_overflow(mult, scale, &mult)) return -1;
	return __builtin_mul_overflow(v, mult, out) ? -1 : 0;
}

int parse_size(const char *s, size_t n, long long *out)
{
	size_t used;
	long long v;
	if (parse_digits(s, n, &used, &v) < 0) return -1;
	long long mult = 1;
	if (used == n - 1) {
		switch (tolower((unsigned char)s[used])) {
		case 'k': mult = 1024; break;
		case 'm': mult = 1024 * 1024; break;
		case 'g': mult = 1024LL * 1024 * 1024; break;
		default: return -1;
		}
	} else if (used != n) {
		return -1;
	}
	return __builtin_mul_overflow(v, mult, out) ? -1 : 0;
}

int parse_bool(const char *s, size_t n, int *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" }, *no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strlen(yes[i]) == n && strncasecmp(s, yes[i], n) == 0) { *out = 1; return 0; }
		if (strlen(no[i]) == n && strncasecmp(s, no[i], n) == 0) { *out = 0; return 0; }
	}
	return -1;
}

/* Parse name's value with fn; on failure warn and parse the default. */
static long long parsed(const char *name, int (*fn)(const char *, size_t, char, long long *))
{
	const struct setting *st = setting_find(name);
	char unit = st ? st->unit : 's';
	const char *v = control_get(name);
	long long out;
	if (fn(v, strlen(v), unit, &out) == 0) return out;
	log_msg("warning: control/%s: bad value \"%s\"; using the default %s", name, v,
	        st ? st->def : "0");
	if (st && fn(st->def, strlen(st->def), unit, &out) == 0) return out;
	return 0;
}

static int time_fn(const char *s, size_t n, char u, long long *o) { return parse_time(s, n, u, o); }
static int size_fn(const char *s, size_t n, char u, long long *o) { (void)u; return parse_size(s, n, o); }
static int int_fn(const char *s, size_t n, char u, long long *o) { (void)u; return parse_int(s, n, o); }
static int bool_fn(const char *s, size_t n, char u, long long *o)
{
	(void)u;
	int b;
	if (parse_bool(s, n, &b) < 0) return -1;
	*o = b;
	return 0;
}

long long control_time(const char *name) { return parsed(name, time_fn); }
long long control_size(const char *name) { return parsed(name, size_fn); }
long long control_int(const char *name) { return parsed(name, int_fn); }
int control_bool(const char *name) { return (int)parsed(name, bool_fn); }

void control_reload(void)
{
	for (size_t i = 0; i < ncache; i++) {
		free(cache[i].name);
		free(cache[i].raw);
		free(cache[i].value);
		for (size_t k = 0; k < cache[i].nitems; k++) free((char *)cache[i].items[k]);
		free(cache[i].items);
	}
	ncache = 0;
	memset(bucket, 0, sizeof bucket);
}
