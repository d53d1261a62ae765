/* table_lines.c — read a text table into logical lines (see table_private.h).
 * Reads in fixed chunks and caps every line, so a hostile or broken file
 * (one 4 GB line, NUL bytes) costs bounded memory and gets a clear
 * "path:line: problem" message instead of a silent truncation. */
#include "table_private.h"
#include "buf.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

void table_lower(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z') s[i] = (char)(s[i] - 'A' + 'a');
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

struct reader {
	const char *path;
	table_line_fn *fn;
	void *arg;
	struct buf logical;
	unsigned long lineno, first;
};

static int syntax(const struct reader *r, const char *what)
{
	log_msg("%s:%lu: %s", r->path, r->lineno, what);
	errno = EINVAL;
	return -1;
}

static int flush_logical(struct reader *r)
{
	if (!r->logical.len) return 0;
	int rc = r->fn(r->logical.s, r->logical.len, r->first, r->arg);
	buf_reset(&r->logical);
	return rc;
}

/* one physical line, without its LF */
static int physical(struct reader *r, const char *s, size_t n)
{
	r->lineno++;
	if (n && s[n - 1] == '\r') n--;
	if (memchr(s, 0, n)) return syntax(r, "NUL byte in line");
	size_t b = 0;
	while (b < n && is_blank(s[b])) b++;
	if (b == n || s[b] == '#') return 0;
	size_t e = n;
	while (e > b && is_blank(s[e - 1])) e--;
	if (b > 0) {
		if (!r->logical.len) return syntax(r, "continuation line (starts with whitespace) without a line to continue");
		if (buf_addc(&r->logical, ' ') < 0 || buf_add(&r->logical, s + b, e - b) < 0)
			return syntax(r, "logical line too long");
		return 0;
	}
	if (flush_logical(r) < 0) return -1;
	r->first = r->lineno;
	if (buf_set(&r->logical, s, e) < 0) return syntax(r, "line too long");
	return 0;
}

int table_lines(const char *path, table_line_fn *fn, void *arg)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	struct reader r = { path, fn, arg, BUF_INIT, 0, 0 };
	struct buf line = BUF_INIT;
	r.logical.max = TABLE_LINE_MAX;
	line.max = TABLE_LINE_MAX;
	char chunk[65536];
	int rc = 0;
	for (;;) {
		ssize_t got = read(fd, chunk, sizeof chunk);
		if (got < 0 && errno == EINTR) continue;
		if (got < 0) { rc = -1; break; }
		if (got == 0) break;
		size_t i = 0, n = (size_t)got;
		while (i < n && rc == 0) {
			const char *lf = memchr(chunk + i, '\n', n - i);
			size_t take = lf ? (size_t)(lf - (chunk + i)) : n - i;
			if (buf_add(&line, chunk + i, take) < 0) {
				r.lineno++;
				rc = syntax(&r, "line too long");
				break;
			}
			i += take;
			if (lf) {
				i++;
				rc = physical(&r, line.s, line.len);
				buf_reset(&line);
			}
		}
		if (rc < 0) break;
	}
	if (rc == 0 && line.len) rc = physical(&r, line.s, line.len); /* last line without LF */
	if (rc == 0) rc = flush_logical(&r);
	int saved = errno;
	close(fd);
	buf_free(&line);
	buf_free(&r.logical);
	errno = saved;
	return rc;
}
