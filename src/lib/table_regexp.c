/* table_regexp.c — Postfix regexp tables with POSIX regex.h:
 *   /pattern/flags result      first matching rule wins; $1..$9 in result
 *   !/pattern/flags result     matches when the pattern does not ($n refused)
 *   if /pattern/flags ... endif   rules tried only when the pattern matches
 * As in Postfix, patterns are extended and case-INsensitive by default and
 * the flags toggle: i (case), x (extended), m (multi-line). Any delimiter
 * may replace '/'; "\/" inside means the delimiter itself. Parsed tables
 * are cached per process and reparsed when the file changes. */
#include "table.h"
#include "table_private.h"
#include "buf.h"
#include "log.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define RX_CACHE 16
#define RX_NEST 64
#define RESULT_MAX ((size_t)4 << 20)

enum rule_kind { R_MATCH, R_IF, R_ENDIF };

struct rule {
	enum rule_kind kind;
	int negate;
	int compiled;
	regex_t re;
	char *result;
	size_t skip_to;   /* R_IF: index of its endif */
};

struct rtable {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int bad;          /* syntax error in this version (logged once) */
	struct rule *rules;
	size_t n, cap;
};

static struct rtable cache[RX_CACHE];
static size_t ncached;

static void rtable_clear(struct rtable *t)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->rules[i].compiled) regfree(&t->rules[i].re);
		free(t->rules[i].result);
	}
	free(t->rules);
	t->rules = NULL;
	t->n = t->cap = 0;
	t->bad = 0;
}

struct parse {
	const char *path;
	struct rtable *t;
	size_t open[RX_NEST];
	size_t depth;
	/* regexp_check_rules: problems go to report instead of the log */
	regexp_report_fn *report;
	regexp_result_fn *result;
	void *arg;
	int problems;
};

static int bad(const struct parse *p, unsigned long line, const char *what, const char *detail)
{
	if (p->report) {
		char msg[400];
		snprintf(msg, sizeof msg, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
		p->report(p->arg, line, msg);
	} else {
		log_msg("%s:%lu: %s%s%s", p->path, line, what, detail ? ": " : "", detail ? detail : "");
	}
	errno = EINVAL;
	return -1;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* "!/pattern/flags" at s[*pos]: compiles into r, advances *pos */
static int parse_pattern(const struct parse *p, unsigned long line, const char *s, size_t n, size_t *pos,
                         struct rule *r)
{
	size_t i = *pos;
	if (i < n && s[i] == '!') { r->negate = 1; i++; }
	char d = i < n ? s[i] : 0;
	if (!d || is_blank(d) || d == '\\' || (d >= '0' && d <= '9') || ((d | 0x20) >= 'a' && (d | 0x20) <= 'z'))
		return bad(p, line, "expected /pattern/", NULL);
	i++;
	struct buf pat = BUF_INIT;
	pat.max = TABLE_LINE_MAX;
	while (i < n && s[i] != d) {
		if (s[i] == '\\' && i + 1 < n) {
			if (s[i + 1] == d) {
				if (buf_addc(&pat, d) < 0) goto nomem;
			} else if (buf_add(&pat, s + i, 2) < 0) {
				goto nomem;
			}
			i += 2;
			continue;
		}
		if (buf_addc(&pat, s[i]) < 0) goto nomem;
		i++;
	}
	if (i >= n) { buf_free(&pat); return bad(p, line, "missing closing delimiter of the pattern", NULL); }
	i++;
	int cflags = REG_EXTENDED | REG_ICASE;
	for (; i < n && !is_blank(s[i]); i++) {
		switch (s[i]) {
		case 'i': cflags ^= REG_ICASE; break;
		case 'x': cflags ^= REG_EXTENDED; break;
		case 'm': cflags ^= REG_NEWLINE; break;
		default: buf_free(&pat); return bad(p, line, "unknown flag after the pattern", NULL);
		}
	}
	if (buf_add(&pat, "", 0) < 0) goto nomem;
	int rc = regcomp(&r->re, pat.s, cflags);
	buf_free(&pat);
	if (rc != 0) {
		char err[256];
		regerror(rc, &r->re, err, sizeof err);
		return bad(p, line, "bad pattern", err);
	}
	r->compiled = 1;
	*pos = i;
	return 0;
nomem:
	buf_free(&pat);
	return bad(p, line, "pattern too long", NULL);
}

/* $n in a result must name a group the pattern has */
static int check_result(const struct parse *p, unsigned long line, const struct rule *r)
{
	const char *s = r->result;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] != '$') continue;
		if (s[i + 1] == '$') { i++; continue; }
		size_t k = i + 1;
		if (s[k] == '{' || s[k] == '(') k++;
		if (s[k] < '1' || s[k] > '9') continue;
		if (r->negate) return bad(p, line, "$n in the result of a negated pattern", NULL);
		if ((size_t)(s[k] - '0') > r->re.re_nsub) return bad(p, line, "$n names a group the pattern does not have", NULL);
	}
	return 0;
}

static int word(const char *s, size_t n, const char *w)
{
	size_t k = strlen(w);
	return n >= k && strncasecmp(s, w, k) == 0 && (n == k || is_blank(s[k]));
}

static int add_line(const char *s, size_t n, unsigned long line, void *arg)
{
	struct parse *p = arg;
	struct rtable *t = p->t;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct rule *nr = realloc(t->rules, cap * sizeof *nr);
		if (!nr) return bad(p, line, "out of memory", NULL);
		t->rules = nr;
		t->cap = cap;
	}
	struct rule *r = &t->rules[t->n];
	memset(r, 0, sizeof *r);
	size_t i = 0;
	if (word(s, n, "endif")) {
		if (n != 5) return bad(p, line, "text after endif", NULL);
		if (!p->depth) return bad(p, line, "endif without if", NULL);
		r->kind = R_ENDIF;
		t->rules[p->open[--p->depth]].skip_to = t->n;
		t->n++;
		return 0;
	}
	if (word(s, n, "if")) {
		if (p->depth == RX_NEST) return bad(p, line, "if nested too deeply", NULL);
		r->kind = R_IF;
		for (i = 2; i < n && is_blank(s[i]); i++) ;
	}
	if (parse_pattern(p, line, s, n, &i, r) < 0) return -1;
	t->n++; /* from here on rtable_clear frees the rule */
	while (i < n && is_blank(s[i])) i++;
	if (r->kind == R_IF) {
		if (i < n) return bad(p, line, "text after the pattern of an if", NULL);
		p->open[p->depth++] = t->n - 1;
		return 0;
	}
	if (i == n) return bad(p, line, "missing result after the pattern", NULL);
	r->result = strndup(s + i, n - i);
	if (!r->result) return bad(p, line, "out of memory", NULL);
	return check_result(p, line, r);
}

/* parse path into t; 0, -1 with errno (ENOENT when missing) */
static int load(const char *path, struct rtable *t)
{
	struct parse p = { .path = path, .t = t };
	if (table_lines(path, add_line, &p) < 0) return -1;
	if (p.depth) {
		log_msg("%s: if without endif", path);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int regexp_check_file(const char *path)
{
	struct rtable t = { 0 };
	int r = load(path, &t);
	int saved = errno;
	rtable_clear(&t);
	errno = saved;
	return r;
}

/* every line, past the bad ones; each rule's result to p->result */
static int check_line(const char *s, size_t n, unsigned long line, void *arg)
{
	struct parse *p = arg;
	size_t before = p->t->n;
	if (add_line(s, n, line, arg) < 0) {
		if (errno != EINVAL) return -1;
		p->problems++;
		/* a bad "if" still opens a block, so its endif is not one more problem */
		if (word(s, n, "if") && p->depth < RX_NEST && (p->t->n > before || p->t->n < p->t->cap)) {
			if (p->t->n == before) {
				memset(&p->t->rules[p->t->n], 0, sizeof p->t->rules[0]);
				p->t->rules[p->t->n++].kind = R_IF;
			}
			p->open[p->depth++] = p->t->n - 1;
		}
		return 0;
	}
	const struct rule *r = &p->t->rules[p->t->n - 1];
	if (p->result && r->kind == R_MATCH) p->result(p->arg, line, r->result);
	return 0;
}

int regexp_check_rules(const char *path, regexp_report_fn *report, regexp_result_fn *result, void *arg)
{
	struct rtable t = { 0 };
	struct parse p = { .path = path, .t = &t, .report = report, .result = result, .arg = arg };
	int r = table_lines(path, check_line, &p);
	int saved = errno;
	if (r == 0 && p.depth) {
		report(arg, 0, "if without endif");
		p.problems++;
	}
	rtable_clear(&t);
	errno = saved;
	if (r < 0 && saved != EINVAL) return -1;
	return p.problems + (r < 0); /* EINVAL: table_lines logged a line it could not read */
}

static int substitute(const char *res, const char *subj, const regmatch_t *m, struct buf *out)
{
	for (size_t i = 0; res[i]; i++) {
		if (res[i] != '$') { if (buf_addc(out, res[i]) < 0) return -1; continue; }
		if (res[i + 1] == '$') { if (buf_addc(out, '$') < 0) return -1; i++; continue; }
		size_t k = i + 1;
		char close = 0;
		if (res[k] == '{') close = '}';
		else if (res[k] == '(') close = ')';
		if (close) k++;
		if (res[k] < '1' || res[k] > '9' || (close && res[k + 1] != close)) {
			if (buf_addc(out, '$') < 0) return -1;
			continue;
		}
		const regmatch_t *g = &m[res[k] - '0'];
		if (g->rm_so >= 0 && g->rm_eo >= g->rm_so &&
		    buf_add(out, subj + g->rm_so, (size_t)(g->rm_eo - g->rm_so)) < 0)
			return -1;
		i = close ? k + 1 : k;
	}
	return buf_add(out, "", 0);
}

/* 1 match, 0 none, -1 error */
static int rule_matches(const struct rule *r, const char *subj, size_t len, regmatch_t *m)
{
	m[0].rm_so = 0;
	m[0].rm_eo = (regoff_t)len;
	int rc = regexec(&r->re, subj, 10, m, REG_STARTEND);
	if (rc != 0 && rc != REG_NOMATCH) return -1;
	return (rc == 0) != r->negate;
}

static int evaluate(const struct rtable *t, const char *subj, size_t len, char **value)
{
	regmatch_t m[10];
	for (size_t i = 0; i < t->n; i++) {
		const struct rule *r = &t->rules[i];
		if (r->kind == R_ENDIF) continue;
		int hit = rule_matches(r, subj, len, m);
		if (hit < 0) {
			log_msg("warning: %s: regexec failed (out of memory?)", t->path);
			return -1;
		}
		if (r->kind == R_IF) {
			if (!hit) i = r->skip_to;
			continue;
		}
		if (!hit) continue;
		struct buf out = BUF_INIT;
		out.max = RESULT_MAX;
		if (substitute(r->result, subj, m, &out) < 0) {
			buf_free(&out);
			log_msg("warning: %s: result too long", t->path);
			return -1;
		}
		*value = out.s;
		return 1;
	}
	return 0;
}

static struct rtable *get_table(const char *path, int *missing)
{
	struct rtable *t = NULL;
	struct stat st;
	*missing = 0;
	for (size_t i = 0; i < ncached; i++)
		if (strcmp(cache[i].path, path) == 0) { t = &cache[i]; break; }
	if (stat(path, &st) < 0) {
		if (t) {
			rtable_clear(t);
			t->size = -1; /* forget the version */
		}
		if (errno == ENOENT || errno == ENOTDIR) { *missing = 1; return NULL; }
		log_sys("warning: %s: cannot stat", path);
		return NULL;
	}
	if (t && t->dev == st.st_dev && t->ino == st.st_ino && t->size == st.st_size &&
	    t->mtime.tv_sec == st.st_mtim.tv_sec && t->mtime.tv_nsec == st.st_mtim.tv_nsec)
		return t->bad ? NULL : t;
	if (!t) {
		if (ncached == RX_CACHE) {
			rtable_clear(&cache[0]);
			free(cache[0].path);
			memmove(cache, cache + 1, (RX_CACHE - 1) * sizeof *cache);
			ncached--;
		}
		t = &cache[ncached];
		memset(t, 0, sizeof *t);
		t->path = strdup(path);
		if (!t->path) { log_msg("warning: %s: out of memory", path); return NULL; }
		ncached++;
	}
	rtable_clear(t);
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->size = st.st_size;
	t->mtime = st.st_mtim;
	if (load(path, t) < 0) {
		if (errno == ENOENT) { t->size = -1; *missing = 1; return NULL; }
		if (errno != EINVAL) log_sys("warning: %s: cannot read", path);
		rtable_clear(t);
		t->bad = 1;
		return NULL;
	}
	return t;
}

int regexp_lookup_path(const char *path, const char *subject, size_t len, char **value)
{
	*value = NULL;
	int missing;
	struct rtable *t = get_table(path, &missing);
	if (!t) return missing ? 0 : -1;
	return evaluate(t, subject, len, value);
}
