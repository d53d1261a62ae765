/* mime.h — a bounded MIME structure parser for IMAP ENVELOPE, BODYSTRUCTURE
 * and BODY[section]. It never copies the message: a part is a set of
 * offsets into the caller's buffer. Lines may end in CRLF or bare LF (IMAP
 * feeds it CRLF text so sizes come out right). Ugly input is tolerated:
 * header lines without a colon are skipped, a multipart without its
 * boundaries becomes one text part, nesting deeper than MIME_MAX_DEPTH or
 * more than MIME_MAX_PARTS parts stop being split (the rest is a leaf of
 * type application/octet-stream). Encoded-words are left encoded. */
#ifndef YUBIN_MIME_H
#define YUBIN_MIME_H

#include <stddef.h>

struct buf;

#define MIME_MAX_DEPTH 64
#define MIME_MAX_PARTS 4096

enum mime_kind { MIME_LEAF, MIME_MULTIPART, MIME_MESSAGE };

struct mime_part {
	size_t off;          /* start of the part's header */
	size_t hdr_len;      /* header bytes, the blank line included */
	size_t body_off, body_len;
	size_t body_lines;
	enum mime_kind kind;
	int depth;
	int digest_default;  /* no Content-Type and parent is multipart/digest */
	int forced_octet;    /* over a limit: show as application/octet-stream */
	int parent, child, next;   /* indices into mime.parts, -1 for none;
	                            * a MIME_MESSAGE's child is the embedded
	                            * message (its header starts at body_off) */
};

struct mime {
	const char *msg;
	size_t len;
	struct mime_part *parts;
	size_t nparts, cap;
};

/* Build the tree for msg; parts[0] is the message itself. -1 only when
 * memory runs out. */
int mime_parse(struct mime *m, const char *msg, size_t len);
void mime_free(struct mime *m);

/* Walk a header block: each call yields one field (name, the raw value
 * with its folding, and the whole field with its line end). Lines with no
 * colon come out with name_len 0. Returns 1 for a field, 0 at the end. */
struct mime_field {
	size_t off, len;          /* whole field incl. folded lines and EOL */
	size_t name_off, name_len;
	size_t val_off, val_len;  /* after the colon, EOL excluded */
};
int mime_field_next(const char *h, size_t hlen, size_t *pos, struct mime_field *f);
/* First field called name (case-insensitive); raw value through *v, *vn. */
int mime_header_get(const char *h, size_t hlen, const char *name, const char **v, size_t *vn);
/* Unfold (drop CR/LF of folding), trim surrounding white space into out. */
int mime_unfold(const char *v, size_t n, struct buf *out);

/* Content-Type / Content-Disposition values: the first token(s) and the
 * parameters. type and subtype point into v (comments skipped); subtype
 * length 0 when there is no '/'. */
int mime_ctype(const char *v, size_t n, const char **type, size_t *tn,
               const char **sub, size_t *sn, size_t *params_at);
/* Next parameter from v at *pos: attribute and value (quoted-pairs
 * resolved) copied into attr and val. 1 for a parameter, 0 at the end;
 * malformed text is skipped up to the next ';'. */
int mime_param_next(const char *v, size_t n, size_t *pos, struct buf *attr, struct buf *val);

/* RFC 5322 address lists for ENVELOPE: each mailbox calls fn with
 * (display name, route, local part, domain) — NULL when absent; a group
 * start calls fn with local = group name and domain NULL, its end with
 * all NULL. Names are unquoted; nothing is decoded. */
struct mime_addr {
	const char *name; size_t name_len;
	const char *route; size_t route_len;
	const char *local; size_t local_len;
	const char *domain; size_t domain_len;
};
int mime_addr_list(const char *v, size_t n, struct buf *scratch,
                   int (*fn)(const struct mime_addr *a, void *arg), void *arg);

/* Parse an RFC 5322 date; seconds since the epoch in UTC and the zone in
 * minutes. -1 if it is not a date. */
int mime_date(const char *v, size_t n, long long *t, int *zone_min);

#endif
