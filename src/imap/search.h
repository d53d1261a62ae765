/* search.h — the parsed form of SEARCH keys, shared by SEARCH, SORT and
 * THREAD, plus ESEARCH result options (RFC 4731) and SEARCHRES (RFC 5182)
 * and the text decoding used for matching (RFC 2047 words, base64 and
 * quoted-printable bodies). */
#ifndef YUBIN_IMAP_SEARCH_H
#define YUBIN_IMAP_SEARCH_H

#include "imap.h"

enum skind { K_ALL, K_AND, K_OR, K_NOT, K_FLAG, K_NEW, K_KEYWORD, K_SEQ, K_UID, K_SAVED, K_SIZE,
             K_DATE, K_SENT, K_HEADER, K_BODY, K_TEXT };

struct snode {
	enum skind op;
	int a, b, next;        /* children: AND's list is a, a.next, ...; OR a b; NOT a */
	uint32_t flag;
	int neg, cmp;          /* cmp: -1 before/smaller, 0 on, 1 since/larger */
	long long num;         /* day number or size */
	char *field, *str;
	size_t len;
	struct seqset set;
};

struct search {
	struct snode *nd;
	size_t n, cap;
	int root;
};

int search_parse(struct session *s, struct imap_parser *ps, struct search *q);
int search_run(struct session *s, const struct search *q, size_t **out, size_t *n);
void search_free(struct search *q);

enum { SR_MIN = 1, SR_MAX = 2, SR_ALL = 4, SR_COUNT = 8, SR_SAVE = 16 };
struct search_opts {
	int esearch;   /* RETURN (...) was given: answer with ESEARCH */
	int what;      /* SR_* */
};
/* "RETURN (MIN MAX ...) " before the keys, if present */
int search_return_opts(struct imap_parser *ps, struct search_opts *o);
void search_reply(struct session *s, const struct search_opts *o, const size_t *idx, size_t n);

/* RFC 2047 encoded-words decoded to UTF-8 (in place into out; in may be
 * out's own text). 0 when something was decoded, -1 otherwise. */
int search_decode_words(const char *in, size_t n, struct buf *out);
/* 1 when a base64 or quoted-printable text part contains str */
int search_body_decoded(struct message *msg, const char *str, size_t n);

#endif
