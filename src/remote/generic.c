/* generic.c — smtp_generic_maps (Postfix's generic(5)): on the way out,
 * the envelope sender, the envelope recipients and every address in the
 * sender and recipient headers (From, To, Cc, Reply-To, ...) go through
 * the generic tables, typically to turn user@box.localdomain into a
 * public address. The queue file is not changed; only what this SMTP
 * session sends is. With no generic table, nothing here costs more than
 * a stat of control/ now and then. A table that cannot be read leaves
 * the address as it is (logged). */
#include "remote.h"
#include "buf.h"
#include "content.h"
#include "log.h"
#include "rewrite.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define SETTING "smtp_generic_maps"
#define HEADER_MAX (1u << 20) /* a logical header held for rewriting */

const char *generic_addr(const char *addr)
{
	static struct buf out[2];
	static int k;
	if (!*addr) return addr;
	k ^= 1;
	int r = rewrite_addr(SETTING, addr, &out[k]);
	if (r < 0) log_msg("warning: %s: lookup of %s failed; sent unchanged", SETTING, addr);
	return r > 0 ? out[k].s : addr;
}

static int header_map(void *arg, const char *addr, struct buf *out)
{
	(void)arg;
	int r = rewrite_addr(SETTING, addr, out);
	return r < 0 ? 0 : r; /* a failed lookup keeps the address */
}

struct sink {
	struct wbuf *w;
	int bol, failed;
};

/* header lines to the server: LF -> CRLF, a leading dot doubled */
static void put(void *arg, const char *p, size_t n)
{
	struct sink *k = arg;
	while (n && !k->failed) {
		if (k->bol && *p == '.' && wbuf_put(k->w, ".", 1) < 0) k->failed = 1;
		const char *nl = memchr(p, '\n', n);
		size_t span = nl ? (size_t)(nl - p) : n;
		if (span && wbuf_put(k->w, p, span) < 0) k->failed = 1;
		if (nl && wbuf_put(k->w, "\r\n", 2) < 0) k->failed = 1;
		k->bol = nl != NULL;
		p += span + (nl ? 1 : 0);
		n -= span + (nl ? 1 : 0);
	}
}

static void no_action(void *arg, const char *what, const char *text, int header, const char *line, size_t len)
{
	(void)arg; (void)what; (void)text; (void)header; (void)line; (void)len;
}

int generic_headers(struct wbuf *w, int fd, off_t *off)
{
	if (!rewrite_tables_exist(SETTING)) return 0;
	static struct content c;
	static char in[65536];
	struct sink k = { w, 1, 0 };
	content_free(&c);
	memset(&c, 0, sizeof c);
	c.header_max = HEADER_MAX;
	c.line_max = sizeof in;
	c.rewrite_classes = HDR_SENDER | HDR_RECIPIENT;
	c.rewrite = header_map;
	c.out = put;
	c.action = no_action;
	c.arg = &k;
	content_start(&c);
	off_t at = *off;
	/* whole lines, one at a time, until the header is over (an endless
	 * header line passes through content.c unheld, so memory stays bounded) */
	while (c.in_header) {
		ssize_t n = pread(fd, in, sizeof in, at);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) return -2;
		if (n == 0) break;
		size_t i = 0;
		while (i < (size_t)n && c.in_header) {
			const char *nl = memchr(in + i, '\n', (size_t)n - i);
			size_t len = nl ? (size_t)(nl - (in + i)) + 1 : (size_t)n - i;
			content_feed(&c, in + i, len);
			i += len;
		}
		at += (off_t)i;
	}
	content_finish(&c);
	*off = at;
	if (!k.bol && !k.failed && wbuf_put(w, "\r\n", 2) < 0) k.failed = 1; /* a header cut short */
	return k.failed ? -1 : 0;
}
