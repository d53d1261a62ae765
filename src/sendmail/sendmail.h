/* sendmail.h — pieces of the sendmail front end. */
#ifndef YUBIN_SENDMAIL_H
#define YUBIN_SENDMAIL_H

#include "buf.h"

#include <stddef.h>

/* Header section of a message as read from stdin. */
struct headers {
	struct buf text;      /* header lines, LF endings, Bcc removed */
	int has_from, has_date, has_message_id;
};

/* Read headers from the reader into h, stopping at the blank line (which
 * is consumed) or at the first line that cannot be a header (which is
 * left in *pending for the body). With extract, To/Cc/Bcc addresses are
 * passed to add(). Returns 0, or -1 when the header section is too big. */
struct rbuf;
int headers_read(struct rbuf *r, struct headers *h, int extract, int dot_ends,
                 void (*add)(const char *addr, size_t len), struct buf *pending, int *ended);

/* Split an RFC 5322 address list (To:, Cc:) into addr-specs; handles
 * display names, comments, quoted strings, angle brackets and groups. */
void address_list(const char *v, size_t n, void (*add)(const char *addr, size_t len));

/* Copy the body from r to q (CRLF -> LF; without -i a lone "." ends it). */
struct qclient;
int body_copy(struct rbuf *r, struct qclient *q, int dot_ends);

/* canonical.c: canonical rewriting of an envelope address (1 rewritten
 * into out, 0 unchanged) and of the address headers in text (replaced in
 * place); both exit 75 when a table cannot be read. */
int canonical_address(int sender, const char *addr, struct buf *out);
void canonical_headers(struct buf *text);

#endif
