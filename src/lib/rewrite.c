/* rewrite.c — canonical(5)-style address mapping (rewrite.h): table
 * lookups in Postfix order through table_lookup_addr, the "@domain"
 * result, unmatched extensions carried over, repeated lookups with a
 * bound; the canonical chain cleanup applies; and the header side, a small
 * scanner over RFC 5322 address lists that finds each addr-spec (inside
 * <...>, or bare between commas) and replaces just those bytes, so
 * display names, comments, folding and groups stay as they were.
 * Whether a setting's tables exist at all is remembered for a second,
 * so mail with no tables configured costs no lookups. */
#include "rewrite.h"
#include "addr.h"
#include "buf.h"
#include "control.h"
#include "log.h"
#include "table.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 10
#define ADDR_MAX 1000

/* the file a table spec names in control/ exists in some form */
static int spec_exists(const char *spec)
{
	const char *colon = strchr(spec, ':'), *name = colon ? colon + 1 : spec, *slash = strrchr(name, '/');
	if (slash) name = slash + 1;
	char rel[300], path[PATH_MAX];
	static const char *const suffixes[] = { "", ".cdb", ".regexp" };
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(name), k = strlen(suffixes[i]);
		if (n == 0 || n + k + 9 > sizeof rel) return 1; /* odd: let the lookup report it */
		memcpy(rel, "control/", 8);
		memcpy(rel + 8, name, n);
		memcpy(rel + 8 + n, suffixes[i], k + 1);
		if (root_path(path, sizeof path, rel) == 0 && access(path, F_OK) == 0) return 1;
	}
	return 0;
}

/* Tables appear and vanish by rename or unlink in control/, which changes
 * the folder's mtime: while it stays the same, the answer does too. */
static int setting_has_tables(const char *setting, const char *const *specs, size_t n)
{
	static struct { const char *setting; struct timespec dir; int any; } memo[8];
	char path[PATH_MAX];
	struct stat st;
	if (root_path(path, sizeof path, "control") < 0 || stat(path, &st) < 0) return 1;
	size_t slot = 0;
	for (size_t i = 0; i < 8; i++) {
		if (memo[i].setting && strcmp(memo[i].setting, setting) == 0) {
			if (memo[i].dir.tv_sec == st.st_mtim.tv_sec && memo[i].dir.tv_nsec == st.st_mtim.tv_nsec)
				return memo[i].any;
			slot = i;
			break;
		}
		if (!memo[i].setting) { slot = i; break; }
	}
	int any = 0;
	for (size_t i = 0; i < n && !any; i++) any = spec_exists(specs[i]);
	memo[slot].setting = setting;
	memo[slot].dir = st.st_mtim;
	memo[slot].any = any;
	return any;
}

int rewrite_tables_exist(const char *setting)
{
	const char *const *specs;
	size_t n = control_list(setting, &specs);
	return n && setting_has_tables(setting, specs, n);
}

/* one lookup round over the tables: 1 found (*value), 0 none, -1 failure;
 * *unext: the key that matched lacked the address's extension */
static int lookup(const char *const *specs, size_t n, const char *addr, char **value, int *unext)
{
	for (size_t i = 0; i < n; i++) {
		int r = table_lookup_addr_ext(specs[i], addr, value, unext);
		if (r != 0) return r;
	}
	return 0;
}

int rewrite_propagates(const char *class)
{
	return control_list_has("propagate_unmatched_extensions", class);
}

/* the propagate_unmatched_extensions class of a setting's tables */
static const char *class_of(const char *setting)
{
	if (strcmp(setting, "smtp_generic_maps") == 0) return "generic";
	if (strstr(setting, "canonical_maps")) return "canonical";
	return NULL;
}

size_t rewrite_extension(const char *addr, const char **ext)
{
	const char *local, *domain;
	size_t ll, dl;
	struct buf plain = BUF_INIT;
	*ext = "";
	addr_split(addr, &local, &ll, &domain, &dl);
	int r = addr_strip_extension(addr, &plain);
	size_t pll = plain.s ? strcspn(plain.s, "@") : 0;
	buf_free(&plain);
	if (r <= 0 || pll >= ll) return 0;
	*ext = local + pll;
	return ll - pll;
}

int rewrite_add_extension(const char *addr, size_t n, const char *ext, size_t elen, struct buf *out)
{
	const char *at = NULL;
	for (size_t i = n; i > 0; i--)
		if (addr[i - 1] == '@') { at = addr + i - 1; break; }
	size_t ll = at ? (size_t)(at - addr) : n;
	buf_reset(out);
	if (buf_add(out, addr, ll) < 0 || buf_add(out, ext, elen) < 0 || buf_add(out, addr + ll, n - ll) < 0 ||
	    buf_add(out, "", 0) < 0)
		return -1;
	return 0;
}

int rewrite_addr(const char *setting, const char *addr, struct buf *out)
{
	const char *const *specs;
	size_t n = control_list(setting, &specs);
	if (!n || !*addr || !setting_has_tables(setting, specs, n)) return 0;
	const char *class = class_of(setting);
	int propagate = class && rewrite_propagates(class);
	struct buf cur = BUF_INIT;
	int changed = 0, r = 0;
	if (buf_set(&cur, addr, strlen(addr)) < 0 || buf_add(&cur, "", 0) < 0) goto fail;
	for (int round = 0; round < ROUNDS; round++) {
		char *v = NULL;
		int unext = 0;
		r = lookup(specs, n, cur.s, &v, &unext);
		if (r < 0) goto fail;
		if (r == 0) break;
		/* the result is one address; anything after it is a comment */
		size_t vl = strcspn(v, " \t,");
		struct buf next = BUF_INIT;
		int bad = 0;
		if (vl && v[0] == '@') {
			/* "@domain" keeps the whole local part, extension included */
			const char *local, *domain;
			size_t ll, dl;
			addr_split(cur.s, &local, &ll, &domain, &dl);
			bad = buf_add(&next, local, ll) < 0 || buf_add(&next, v, vl) < 0 || buf_add(&next, "", 0) < 0;
		} else if (vl && propagate && unext) {
			/* user+ext@dom matched as user@dom: new-user+ext@newdom */
			const char *ext;
			size_t el = rewrite_extension(cur.s, &ext);
			bad = rewrite_add_extension(v, vl, ext, el, &next) < 0;
		} else {
			bad = vl == 0 || buf_add(&next, v, vl) < 0 || buf_add(&next, "", 0) < 0;
		}
		free(v);
		if (bad) {
			buf_free(&next);
			break; /* an empty or overlong result: keep what we have */
		}
		int same = strcasecmp(next.s, cur.s) == 0;
		buf_free(&cur);
		cur = next;
		if (same) break;
		changed = 1;
	}
	if (changed) {
		buf_reset(out);
		if (buf_add(out, cur.s, cur.len) < 0 || buf_add(out, "", 0) < 0) goto fail;
	}
	buf_free(&cur);
	return changed;
fail:
	buf_free(&cur);
	return -1;
}

unsigned rewrite_canonical_classes(const char *const *items, size_t n)
{
	static const struct { const char *word; unsigned bit; } names[] = {
		{ "envelope_sender", CANON_ENV_SENDER }, { "envelope_recipient", CANON_ENV_RECIPIENT },
		{ "header_sender", CANON_HEAD_SENDER }, { "header_recipient", CANON_HEAD_RECIPIENT },
	};
	unsigned out = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
			if (strcasecmp(items[i], names[k].word) == 0) out |= names[k].bit;
	return out;
}

int rewrite_canonical(int sender, const char *addr, struct buf *out)
{
	struct buf a = BUF_INIT, tmp = BUF_INIT;
	int changed = 0, r = -1;
	const char *first = sender ? "sender_canonical_maps" : "recipient_canonical_maps";
	if (buf_set(&a, addr, strlen(addr)) < 0 || buf_add(&a, "", 0) < 0) goto out;
	int k = rewrite_addr(first, a.s, &tmp);
	if (k < 0) goto out;
	if (k > 0) {
		changed = 1;
		if (buf_set(&a, tmp.s, tmp.len) < 0 || buf_add(&a, "", 0) < 0) goto out;
	}
	k = rewrite_addr("canonical_maps", a.s, &tmp);
	if (k < 0) goto out;
	if (k > 0) {
		changed = 1;
		if (buf_set(&a, tmp.s, tmp.len) < 0 || buf_add(&a, "", 0) < 0) goto out;
	}
	r = 0;
	if (changed) r = buf_set(out, a.s, a.len) < 0 || buf_add(out, "", 0) < 0 ? -1 : 1;
out:
	buf_free(&a);
	buf_free(&tmp);
	return r;
}

unsigned rewrite_canonical_headers(unsigned classes)
{
	unsigned out = 0;
	if (!(classes & (CANON_HEAD_SENDER | CANON_HEAD_RECIPIENT))) return 0;
	int any = rewrite_tables_exist("canonical_maps");
	if ((classes & CANON_HEAD_SENDER) && (any || rewrite_tables_exist("sender_canonical_maps")))
		out |= HDR_SENDER;
	if ((classes & CANON_HEAD_RECIPIENT) && (any || rewrite_tables_exist("recipient_canonical_maps")))
		out |= HDR_RECIPIENT;
	return out;
}

unsigned rewrite_header_class(const char *name, size_t n)
{
	static const char *const senders[] = { "from", "sender", "reply-to", "errors-to", "return-path",
		                               "resent-from", "resent-sender", "resent-reply-to" };
	static const char *const rcpts[] = { "to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc",
		                             "apparently-to" };
	for (size_t i = 0; i < sizeof senders / sizeof *senders; i++)
		if (strlen(senders[i]) == n && strncasecmp(name, senders[i], n) == 0) return HDR_SENDER;
	for (size_t i = 0; i < sizeof rcpts / sizeof *rcpts; i++)
		if (strlen(rcpts[i]) == n && strncasecmp(name, rcpts[i], n) == 0) return HDR_RECIPIENT;
	return 0;
}

/* past a quoted string, comment or domain literal that starts at v[i];
 * returns the index after it, or n when it is not terminated */
static size_t skip_quoted(const char *v, size_t n, size_t i)
{
	char open = v[i], close = open == '"' ? '"' : open == '[' ? ']' : ')';
	size_t depth = 0;
	for (i++; i < n; i++) {
		if (v[i] == '\\') { i++; continue; }
		if (open == '(' && v[i] == '(') { depth++; continue; }
		if (v[i] == close) {
			if (depth == 0) return i + 1;
			depth--;
		}
	}
	return n;
}

static int blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* offer v[a..b) to map; append the kept or new bytes to out */
static int offer(const char *v, size_t a, size_t b, rewrite_map_fn *map, void *arg, struct buf *out, int *changed)
{
	if (b - a > 0 && b - a < ADDR_MAX && memchr(v + a, '@', b - a)) {
		char addr[ADDR_MAX];
		memcpy(addr, v + a, b - a);
		addr[b - a] = 0;
		struct buf repl = BUF_INIT;
		int r = map(arg, addr, &repl);
		if (r < 0) { buf_free(&repl); return -1; }
		if (r > 0) {
			*changed = 1;
			int bad = buf_add(out, repl.s, strlen(repl.s)) < 0;
			buf_free(&repl);
			return bad ? -1 : 0;
		}
		buf_free(&repl);
	}
	return buf_add(out, v + a, b - a);
}

int rewrite_header_value(const char *v, size_t n, rewrite_map_fn *map, void *arg, struct buf *out)
{
	size_t i = 0, copied = 0;
	int changed = 0;
	buf_reset(out);
	while (i < n) {
		/* one item: up to a top-level ',' or ';' */
		size_t first = SIZE_MAX, last = 0, lt = SIZE_MAX, gt = SIZE_MAX;
		int broken = 0, gap = 0;
		for (; i < n && v[i] != ',' && v[i] != ';'; ) {
			char c = v[i];
			if (c == '(') {
				i = skip_quoted(v, n, i);
				if (first != SIZE_MAX) gap = 1;
				continue;
			}
			if (c == '<') {
				size_t j = i + 1;
				while (j < n && v[j] != '>') j = v[j] == '"' ? skip_quoted(v, n, j) : j + 1;
				if (j >= n) { broken = 1; i = n; break; }
				lt = i;
				gt = j;
				i = j + 1;
				continue;
			}
			if (c == ':' && lt == SIZE_MAX) { /* "group:" starts the list of its members */
				first = SIZE_MAX;
				broken = gap = 0;
				i++;
				continue;
			}
			if (blank(c)) {
				if (first != SIZE_MAX) gap = 1;
				i++;
				continue;
			}
			if (first == SIZE_MAX) first = i;
			else if (gap) broken = 1; /* "a b@c": a display name without <>, or junk */
			i = (c == '"' || c == '[') ? skip_quoted(v, n, i) : i + 1;
			last = i;
		}
		size_t a = SIZE_MAX, b = 0;
		if (lt != SIZE_MAX) {
			a = lt + 1;
			b = gt;
			if (memchr(v + a, ':', b - a)) a = SIZE_MAX; /* a source route: leave it */
		} else if (first != SIZE_MAX && !broken) {
			a = first;
			b = last;
		}
		if (a != SIZE_MAX) {
			while (a < b && blank(v[a])) a++;
			while (b > a && blank(v[b - 1])) b--;
			if (buf_add(out, v + copied, a - copied) < 0) return -1;
			if (offer(v, a, b, map, arg, out, &changed) < 0) return -1;
			copied = b;
		}
		if (i < n) i++; /* the separator */
	}
	if (!changed) return 0;
	return buf_add(out, v + copied, n - copied) < 0 ? -1 : 1;
}
