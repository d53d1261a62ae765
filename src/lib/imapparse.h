/* imapparse.h — the IMAP grammar in both directions, shared by the pre-auth
 * front end (yubin-imapd) and the mailbox program (yubin-imap).
 * Reading: imap_read_command() collects one command with its literals
 * ({n} asks for "+ OK" first, {n+} is LITERAL+) into one buffer, bounded
 * by a per-line and a per-literal limit. Parsing: a cursor over (pointer,
 * length) hands out atoms, strings, numbers and lists; quoted strings are
 * unescaped in place. Writing: strings come out quoted when they can be,
 * as literals when they must (8-bit, CR, LF, long). */
#ifndef YUBIN_IMAPPARSE_H
#define YUBIN_IMAPPARSE_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct rbuf;
struct wbuf;

enum imap_read_status {
	IR_OK = 0,
	IR_EOF = -1,
	IR_ERR = -2,
	IR_TIMEOUT = -3,
	IR_LONG = -4,     /* a line was longer than max_line; consumed */
	IR_TOOBIG = -5,   /* a literal was refused; cmd holds the line so far */
};

struct imap_reader {
	struct rbuf *in;
	struct wbuf *out;     /* "+ OK" continuations go here */
	size_t max_line;      /* bytes per line, CRLF excluded */
	size_t max_literal;   /* bytes per literal */
	size_t max_total;     /* bytes per command, literals included */
	int literal_plus;     /* accept {n+} (LITERAL+) */
	int broken;           /* set with IR_TOOBIG when the client's bytes
	                       * could not be skipped: hang up */
};

/* One command, CRLF stripped from its last line; literals are kept inline
 * as "{n}\r\n<n bytes>" (a '+' is dropped) so the parser sees one text. */
int imap_read_command(struct imap_reader *rd, struct buf *cmd);

/* Parser cursor. All functions return 0 on success and -1 on a syntax
 * error, leaving pos unspecified on error. */
struct imap_parser {
	char *p;
	size_t len, pos;
};

void ip_init(struct imap_parser *ps, char *p, size_t len);
int ip_eol(const struct imap_parser *ps);
int ip_peek(const struct imap_parser *ps);       /* next byte or -1 */
int ip_sp(struct imap_parser *ps);               /* exactly one SP */
int ip_char(struct imap_parser *ps, char c);     /* that exact byte */
/* atom: one or more ATOM-CHARs; extra lists additional allowed bytes
 * (e.g. "[]" for fetch attributes, "\\" for flags, "*:," for sets) */
int ip_atom(struct imap_parser *ps, const char *extra, char **s, size_t *n);
/* tag: ASTRING-CHAR except '+' */
int ip_tag(struct imap_parser *ps, char **s, size_t *n);
int ip_quoted(struct imap_parser *ps, char **s, size_t *n);
int ip_literal(struct imap_parser *ps, char **s, size_t *n);
int ip_string(struct imap_parser *ps, char **s, size_t *n);
int ip_astring(struct imap_parser *ps, char **s, size_t *n);
/* list-mailbox: atom with '%' '*' ']' or a string */
int ip_listmailbox(struct imap_parser *ps, char **s, size_t *n);
/* nstring: NIL gives *s = NULL */
int ip_nstring(struct imap_parser *ps, char **s, size_t *n);
int ip_number(struct imap_parser *ps, uint32_t *v);
int ip_number64(struct imap_parser *ps, uint64_t *v);
/* rest of the input from pos (e.g. for a sequence set token) */
int ip_is_atom_char(int c);

/* case-insensitive compare of (s, n) with a NUL-terminated word */
int imap_word_is(const char *s, size_t n, const char *word);

/* Output: a string as quoted or literal; NULL gives NIL. */
int imap_put_string(struct buf *out, const char *s, size_t n);
int imap_put_nstring(struct buf *out, const char *s, size_t n);
/* an astring as an atom when it is one, else a string */
int imap_put_astring(struct buf *out, const char *s, size_t n);

#endif
