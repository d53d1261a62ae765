/* content.c — header_checks, body_checks and header address rewriting
 * on a streaming message (content.h). Two bounded buffers: the pending
 * logical header (complete lines, waiting to see whether the next line
 * continues it) and the physical line being assembled. Header mode ends
 * at the blank line or at the first line that is neither a field nor a
 * continuation, the rule smtpd's DATA reader uses too. */
#include "content.h"
#include "log.h"
#include "table_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void content_start(struct content *c)
{
	buf_free(&c->cur);
	buf_free(&c->line);
	c->in_header = 1;
	c->skipping = c->gave_up = 0;
	c->body_bytes = 0;
	c->spent = 0;
	if (c->line_max < 80) c->line_max = 80;
	if (c->header_max < 1000) c->header_max = 1000;
	c->cur.max = c->header_max + 1;
	c->line.max = (c->header_max > c->line_max ? c->header_max : c->line_max) + 1;
}

void content_free(struct content *c)
{
	buf_free(&c->cur);
	buf_free(&c->line);
}

int content_action_word(const char *v, const char **text)
{
	size_t wl = strcspn(v, " \t");
	const char *t = v + wl;
	while (*t == ' ' || *t == '\t') t++;
	*text = t;
	return (int)wl;
}

/* the table's verdict on subject: 1 with *value, 0 none; a broken table
 * is a temporary failure of the message ("DEFER") */
static int check(struct content *c, const char *table, const char *subj, size_t len, char **value, int header)
{
	*value = NULL;
	if (!table || c->gave_up) return 0;
	double t0 = now();
	int r = regexp_lookup_path(table, subj, len, value);
	c->spent += now() - t0;
	if (c->time_limit > 0 && c->spent > c->time_limit) {
		log_msg("warning: header/body checks took over %.0fs; the rest of the message is not inspected",
		        c->time_limit);
		c->gave_up = 1;
	}
	if (r < 0) c->action(c->arg, "DEFER", "", header, subj, len);
	return r > 0;
}

static int is_field(const char *p, size_t n);

static int word_is(const char *v, int wl, const char *w)
{
	return (size_t)wl == strlen(w) && strncasecmp(v, w, (size_t)wl) == 0;
}

/* the verdict for one header or body line; returns 1 when the line is
 * to be dropped (IGNORE) or was replaced (REPLACE, already sent out) */
static int act(struct content *c, const char *v, int header, const char *line, size_t len)
{
	const char *text;
	int wl = content_action_word(v, &text);
	if (word_is(v, wl, "REJECT") || word_is(v, wl, "DISCARD") || word_is(v, wl, "HOLD") ||
	    word_is(v, wl, "WARN")) {
		char what[8];
		memcpy(what, v, (size_t)wl);
		what[wl] = 0;
		for (int i = 0; i < wl; i++) what[i] = (char)(what[i] & ~0x20);
		c->action(c->arg, what, text, header, line, len);
		return 0;
	}
	if (word_is(v, wl, "IGNORE")) return 1;
	if (word_is(v, wl, "REPLACE") || word_is(v, wl, "PREPEND")) {
		if (!*text) {
			log_msg("warning: %s %s without text; ignored", header ? "header_checks" : "body_checks", v);
			return 0;
		}
		c->out(c->arg, text, strlen(text));
		c->out(c->arg, "\n", 1);
		return word_is(v, wl, "REPLACE");
	}
	if (word_is(v, wl, "DUNNO") || word_is(v, wl, "OK")) return 0;
	log_msg("warning: %s result \"%.60s\" not understood; ignored", header ? "header_checks" : "body_checks", v);
	return 0;
}

int content_action_check(const char *v, int header, char *why, size_t max)
{
	static const char *const any_text[] = { "REJECT", "WARN", "DISCARD", "HOLD" };
	static const char *const no_text[] = { "IGNORE", "DUNNO", "OK" };
	const char *text;
	int wl = content_action_word(v, &text);
	for (size_t i = 0; i < sizeof any_text / sizeof *any_text; i++)
		if (word_is(v, wl, any_text[i])) return 0;
	for (size_t i = 0; i < sizeof no_text / sizeof *no_text; i++)
		if (word_is(v, wl, no_text[i])) {
			if (!*text) return 0;
			snprintf(why, max, "%s takes no text; remove \"%.60s\"", no_text[i], text);
			return -1;
		}
	if (word_is(v, wl, "REPLACE") || word_is(v, wl, "PREPEND")) {
		if (!*text) {
			snprintf(why, max, "%.*s needs the text to put in", wl, v);
			return -1;
		}
		if (header && !is_field(text, strlen(text))) {
			snprintf(why, max, "the text of %.*s must be a whole header (Name: value)", wl, v);
			return -1;
		}
		return 0;
	}
	snprintf(why, max, "unknown action \"%.*s\"; use REJECT, WARN, DISCARD, HOLD, IGNORE, REPLACE, PREPEND, DUNNO or OK",
	         wl > 40 ? 40 : wl, v);
	return -1;
}

/* "Name: value\n" with its address-bearing value rewritten */
static int rewrite(struct content *c, const char *h, size_t n)
{
	const char *colon = memchr(h, ':', n);
	if (!c->rewrite_classes || !colon) return 0;
	size_t nl = (size_t)(colon - h);
	while (nl && (h[nl - 1] == ' ' || h[nl - 1] == '\t')) nl--;
	if (!(rewrite_header_class(h, nl) & c->rewrite_classes)) return 0;
	size_t vstart = (size_t)(colon + 1 - h), vend = n && h[n - 1] == '\n' ? n - 1 : n;
	struct buf nv = BUF_INIT;
	c->cur_class = rewrite_header_class(h, nl);
	int r = rewrite_header_value(h + vstart, vend - vstart, c->rewrite, c->arg, &nv);
	if (r > 0) {
		c->out(c->arg, h, vstart);
		c->out(c->arg, nv.s, nv.len);
		c->out(c->arg, h + vend, n - vend);
	} else if (r < 0) {
		c->action(c->arg, "DEFER", "", 1, h, vend);
	}
	buf_free(&nv);
	return r > 0;
}

static void header_done(struct content *c)
{
	if (!c->cur.len) return;
	const char *h = c->cur.s;
	size_t n = c->cur.len;
	char *v = NULL;
	int dropped = 0;
	if (check(c, c->header_checks, h, n && h[n - 1] == '\n' ? n - 1 : n, &v, 1)) {
		dropped = act(c, v, 1, h, n && h[n - 1] == '\n' ? n - 1 : n);
		free(v);
	}
	if (!dropped && !rewrite(c, h, n)) c->out(c->arg, h, n);
	buf_reset(&c->cur);
}

static void body_piece(struct content *c, const char *p, size_t n)
{
	size_t len = n && p[n - 1] == '\n' ? n - 1 : n;
	char *v = NULL;
	int dropped = 0;
	if ((c->body_limit <= 0 || c->body_bytes < c->body_limit) && check(c, c->body_checks, p, len, &v, 0)) {
		dropped = act(c, v, 0, p, len);
		free(v);
	}
	c->body_bytes += (long long)n;
	if (!dropped) c->out(c->arg, p, n);
}

/* a field name and its colon: "Name:" with no blank or control byte */
static int is_field(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch == ':') return i > 0;
		if (ch <= 32 || ch >= 127) return 0;
	}
	return 0;
}

/* one complete physical line (with its LF, or without at the very end) */
static void header_line(struct content *c, const char *p, size_t n)
{
	int cont = n && (p[0] == ' ' || p[0] == '\t');
	if (cont) {
		if (c->skipping || !c->cur.len) {
			c->out(c->arg, p, n); /* part of an overlong header, or stray */
		} else if (buf_add(&c->cur, p, n) < 0) {
			/* too long to inspect: let the whole header pass as it is */
			c->out(c->arg, c->cur.s, c->cur.len);
			c->out(c->arg, p, n);
			buf_reset(&c->cur);
			c->skipping = 1;
		}
		return;
	}
	header_done(c);
	c->skipping = 0;
	if ((n == 1 && p[0] == '\n') || !is_field(p, n)) {
		c->in_header = 0; /* the blank line, or a body without one */
		if (n == 1 && p[0] == '\n') c->out(c->arg, p, n);
		else body_piece(c, p, n);
		return;
	}
	if (buf_add(&c->cur, p, n) < 0) {
		c->out(c->arg, p, n);
		c->skipping = 1;
	}
}

/* more body to inspect? */
static int inspect_body(const struct content *c)
{
	return c->body_checks && !c->gave_up && (c->body_limit <= 0 || c->body_bytes < c->body_limit);
}

void content_feed(struct content *c, const char *p, size_t n)
{
	while (n) {
		int body = !c->in_header;
		if (body && !c->line.len && !inspect_body(c)) {
			c->out(c->arg, p, n); /* nothing left to inspect: stream through */
			c->body_bytes += (long long)n;
			return;
		}
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) + 1 : n;
		if (!body && c->skipping == 2) { /* inside an overlong header line */
			c->out(c->arg, p, k);
			if (nl) c->skipping = 1;
			p += k;
			n -= k;
			continue;
		}
		size_t max = body ? c->line_max : c->header_max;
		if (c->line.len + k > max) {
			if (body) {
				k = max - c->line.len; /* a long body line is inspected in pieces */
				nl = NULL;
			} else {
				/* a header line over the limit goes out uninspected */
				header_done(c);
				c->out(c->arg, c->line.s, c->line.len);
				c->out(c->arg, p, k);
				buf_reset(&c->line);
				c->skipping = nl ? 1 : 2;
				p += k;
				n -= k;
				continue;
			}
		}
		if (buf_add(&c->line, p, k) < 0) die_nomem();
		p += k;
		n -= k;
		if (!nl && c->line.len < max) continue;
		if (body) body_piece(c, c->line.s, c->line.len);
		else header_line(c, c->line.s, c->line.len);
		buf_reset(&c->line);
	}
}

void content_finish(struct content *c)
{
	if (c->line.len) {
		if (c->in_header && c->skipping != 2) header_line(c, c->line.s, c->line.len);
		else if (c->in_header) c->out(c->arg, c->line.s, c->line.len);
		else body_piece(c, c->line.s, c->line.len);
		buf_reset(&c->line);
	}
	header_done(c);
}
