/* headers.c — read the header section of a message given to sendmail:
 * note which of From/Date/Message-ID exist, collect To/Cc/Bcc recipients
 * for -t, and drop Bcc lines. Line endings become LF. */
#include "sendmail.h"
#include "io.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define HEADER_MAX (1u << 20)
#define LINE_MAX_BYTES 65536

static int is_field_name(const char *s, size_t n, size_t *colon)
{
	size_t i = 0;
	while (i < n && s[i] > 32 && s[i] < 127 && s[i] != ':') i++;
	if (i == 0 || i >= n || s[i] != ':') return 0;
	*colon = i;
	return 1;
}

static int named(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

/* one complete header field (with its continuation lines) */
static void finish_field(struct headers *h, struct buf *field, int extract,
                         void (*add)(const char *, size_t))
{
	size_t colon;
	if (!field->len) return;
	if (!is_field_name(field->s, field->len, &colon)) return;
	int bcc = named(field->s, colon, "bcc");
	if (extract && (bcc || named(field->s, colon, "to") || named(field->s, colon, "cc")))
		address_list(field->s + colon + 1, field->len - colon - 1, add);
	if (named(field->s, colon, "from")) h->has_from = 1;
	if (named(field->s, colon, "date")) h->has_date = 1;
	if (named(field->s, colon, "message-id")) h->has_message_id = 1;
	if (!bcc) buf_add(&h->text, field->s, field->len);
	buf_reset(field);
}

int headers_read(struct rbuf *r, struct headers *h, int extract, int dot_ends,
                 void (*add)(const char *, size_t), struct buf *pending, int *ended)
{
	static char line[LINE_MAX_BYTES];
	struct buf field = BUF_INIT;
	size_t len, colon;
	h->text.max = HEADER_MAX;
	field.max = HEADER_MAX;
	*ended = 0;
	for (;;) {
		int st = rbuf_getline(r, line, sizeof line, &len, NULL);
		if (st == IO_LONG) { buf_free(&field); return -1; }
		if (st != IO_OK && !(st == IO_EOF && len)) { *ended = 1; break; }
		if (dot_ends && len == 1 && line[0] == '.') { *ended = 1; break; }
		if (len == 0) break; /* the blank line */
		if ((line[0] == ' ' || line[0] == '\t') && field.len) {
			if (buf_add(&field, line, len) < 0 || buf_addc(&field, '\n') < 0) { buf_free(&field); return -1; }
			continue;
		}
		finish_field(h, &field, extract, add);
		if (!is_field_name(line, len, &colon)) {
			/* no blank line before the body: keep this line for it */
			buf_add(pending, line, len);
			buf_addc(pending, '\n');
			if (st == IO_EOF) *ended = 1;
			break;
		}
		if (buf_add(&field, line, len) < 0 || buf_addc(&field, '\n') < 0) { buf_free(&field); return -1; }
		if (st == IO_EOF) { *ended = 1; break; }
		if (h->text.len > HEADER_MAX) { buf_free(&field); return -1; }
	}
	finish_field(h, &field, extract, add);
	buf_free(&field);
	return 0;
}
