/* content.h — a message as it streams through: header_checks and
 * body_checks (Postfix regexp tables: REJECT, WARN, DISCARD, HOLD,
 * IGNORE, REPLACE, PREPEND, DUNNO/OK) and address rewriting in headers.
 * The caller feeds bytes with LF line ends in any pieces; whole logical
 * headers (with their continuation lines) and body lines come out through
 * out(), changed or not, in order. Memory is bounded: a logical header is
 * held up to header_max bytes (a longer one passes unchecked), a body
 * line is inspected in pieces of at most line_max bytes, only the first
 * body_limit bytes of the body are inspected, and after time_limit
 * seconds spent in regular expressions the rest passes unchecked. */
#ifndef YUBIN_CONTENT_H
#define YUBIN_CONTENT_H

#include "buf.h"
#include "rewrite.h"

#include <stddef.h>

struct content {
	/* set by the caller before content_start() */
	const char *header_checks;   /* path of a regexp table, NULL = none */
	const char *body_checks;
	long long body_limit;        /* 0 = no limit */
	size_t header_max, line_max;
	double time_limit;           /* seconds */
	unsigned rewrite_classes;    /* HDR_SENDER | HDR_RECIPIENT, 0 = none */
	rewrite_map_fn *rewrite;     /* address -> address for those headers */
	void (*out)(void *arg, const char *p, size_t n);
	/* an action that is the caller's to carry out and log:
	 * what is "REJECT", "DISCARD", "HOLD" or "WARN"; text the table's
	 * text ("" when none); line the header or body line that matched */
	void (*action)(void *arg, const char *what, const char *text, int header, const char *line, size_t len);
	void *arg;

	/* state */
	int in_header, skipping, gave_up;
	unsigned cur_class;          /* the class of the header rewrite() is in */
	struct buf cur;              /* the pending logical header */
	struct buf line;             /* the physical line being assembled */
	long long body_bytes;
	double spent;
};

/* ready to take a message (cur and the counters reset) */
void content_start(struct content *c);
void content_feed(struct content *c, const char *p, size_t n);
/* the end of the message: what is held comes out */
void content_finish(struct content *c);
void content_free(struct content *c);

/* The action word of a check result and its text: "REJECT spam" ->
 * ("REJECT", "spam"). Exposed for the tests. */
int content_action_word(const char *v, const char **text);
/* yubin-ctl check: 0 when v is a result the checks carry out (a known
 * action with the text it needs; for header_checks, REPLACE and PREPEND
 * text that is a header), else -1 with what is wrong in why */
int content_action_check(const char *v, int header, char *why, size_t max);

#endif
