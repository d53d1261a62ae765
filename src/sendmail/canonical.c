/* canonical.c — canonical_maps, sender_canonical_maps and
 * recipient_canonical_maps for mail given to sendmail, as Postfix's
 * cleanup applies them to mail from pickup: envelope sender, envelope
 * recipients and the address headers (From, To, Cc, Sender, Reply-To...),
 * as canonical_classes allows, through the same lib/rewrite.c and
 * lib/content.c code smtpd runs. Header addresses are always rewritten:
 * mail from sendmail is local, as it is for Postfix's pickup. */
#include "sendmail.h"
#include "content.h"
#include "control.h"
#include "log.h"
#include "rewrite.h"

#include <string.h>

/* Why here and not in yubin-queue: yubin-queue is the setuid writer that
 * every message passes through, smtpd's (already rewritten while DATA
 * streamed) and qmgr's bounces included, so rewriting there would do
 * smtpd's mail twice, and it would make the privileged program parse
 * headers and read tables it otherwise never needs. sendmail runs as the
 * user, who can read the tables: yubin-setup leaves control/ mode 2755 and
 * yubin-map gives NAME.cdb the mode of NAME. A user who calls yubin-queue
 * directly skips the rewriting, but canonical maps are a convenience, not
 * a policy, and that user could write any header anyway. */

enum { EX_TEMPFAIL_ = 75 };

static unsigned classes(void)
{
	const char *const *items;
	size_t n = control_list("canonical_classes", &items);
	return rewrite_canonical_classes(items, n);
}

int canonical_address(int sender, const char *addr, struct buf *out)
{
	if (!(classes() & (sender ? CANON_ENV_SENDER : CANON_ENV_RECIPIENT))) return 0;
	int r = rewrite_canonical(sender, addr, out);
	if (r < 0) die(EX_TEMPFAIL_, "message not queued: cannot read the canonical tables for <%s>", addr);
	return r;
}

struct headers_out {
	struct content ct;
	struct buf text;
	int failed;
};

static void put(void *arg, const char *p, size_t n)
{
	struct headers_out *h = arg;
	if (buf_add(&h->text, p, n) < 0) h->failed = 1;
}

/* without header or body checks the only action is a failed lookup */
static void action(void *arg, const char *what, const char *text, int header, const char *line, size_t len)
{
	struct headers_out *h = arg;
	(void)what, (void)text, (void)header, (void)line, (void)len;
	h->failed = 1;
}

static int header_map(void *arg, const char *addr, struct buf *out)
{
	struct headers_out *h = arg;
	return rewrite_canonical(h->ct.cur_class == HDR_SENDER, addr, out);
}

void canonical_headers(struct buf *text)
{
	unsigned which = rewrite_canonical_headers(classes());
	if (!which || !text->len) return;
	static struct headers_out h;
	memset(&h, 0, sizeof h);
	long long max = control_size("header_size_limit");
	h.ct.header_max = max > 0 && max < (1 << 24) ? (size_t)max : 102400;
	h.ct.line_max = h.ct.header_max;
	h.ct.rewrite_classes = which;
	h.ct.rewrite = header_map;
	h.ct.out = put;
	h.ct.action = action;
	h.ct.arg = &h;
	content_start(&h.ct);
	content_feed(&h.ct, text->s, text->len);
	content_finish(&h.ct);
	content_free(&h.ct);
	if (h.failed) {
		buf_free(&h.text);
		die(EX_TEMPFAIL_, "message not queued: cannot rewrite the header addresses (canonical tables unreadable?)");
	}
	buf_free(text);
	*text = h.text;
}
