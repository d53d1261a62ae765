/* imap.h — yubin-imap, the authenticated half of the IMAP server: one
 * session on fds 0/1, running as the mailbox owner with the Maildir as its
 * working directory. Shared types: the session, a selected folder and its
 * messages, and the entry points of each command family. */
#ifndef YUBIN_IMAP_H
#define YUBIN_IMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "imapparse.h"
#include "io.h"
#include "mime.h"

/* system flags; the bit order is the Maildir info letter order */
enum {
	FL_DRAFT = 1,      /* D */
	FL_FLAGGED = 2,    /* F */
	FL_FORWARDED = 4,  /* P ($Forwarded keyword) */
	FL_ANSWERED = 8,   /* R */
	FL_SEEN = 16,      /* S */
	FL_DELETED = 32,   /* T */
	FL_RECENT = 64,    /* session only, never in a file name */
};

#define MAX_KEYWORDS 26   /* Maildir info letters a..z */

struct msg {
	uint32_t uid;
	uint32_t flags;      /* FL_* */
	uint32_t kw;         /* keyword bits, 'a' + i */
	char *name;          /* "new/NAME" or "cur/NAME" inside the folder */
	uint16_t baselen;    /* bytes of the unique part after "new/" */
	uint8_t gone;        /* file vanished; EXPUNGE not yet sent */
	uint8_t dirty;       /* flags changed behind our back: send FETCH */
	uint8_t seen_scan;
	uint64_t vsize;      /* RFC822.SIZE when known, else 0 */
};

struct folder {
	char name[1024];     /* IMAP name ("INBOX", "a.b") */
	char dir[1100];      /* "." or ".a.b" */
	int readonly;
	int claim_recent;    /* SELECT read-write: first to see new mail gets \Recent */
	uint32_t uidvalidity, uidnext, recent_uid;
	struct msg *m;
	size_t n, cap;
	char *kw[MAX_KEYWORDS];
	size_t nkw;
	/* index file state when we last read it */
	ino_t idx_ino;
	off_t idx_size;
	struct timespec idx_mtime;
	uint32_t idx_uidnext;      /* uidnext when read: newer uids are others' */
	struct timespec new_mtime, cur_mtime;
	time_t scanned;
	/* what the client has been told */
	size_t told_exists;
	size_t told_recent;
	/* the header cache (cache.c), for the selected folder only */
	struct hcache *cache;
	int use_cache;
};

/* seqset.c: a sequence set resolved against the selected folder as a
 * bitmap-free list of ranges over message indices */
struct seqset {
	uint32_t (*r)[2];
	size_t n, cap;
	int has_star;
	int saved;           /* "$": the session's saved search result */
};
struct session {
	struct rbuf in;
	struct wbuf out;
	struct imap_reader rd;
	struct buf cmd;
	struct folder *sel;
	int uid;             /* this command is a UID command */
	struct seqset *saved; /* SEARCHRES "$", as UIDs */
	int utf8;            /* ENABLE UTF8=ACCEPT */
	int qresync;
	char *tag;
	size_t taglen;
	int timeout_s;
	const char *user;
};

/* reply.c */
void out_put(struct session *s, const void *p, size_t n);
void out_puts(struct session *s, const char *str);
void out_buf(struct session *s, const struct buf *b);
void out_flush(struct session *s);
void untagged(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tagged(struct session *s, const char *status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void bad(struct session *s, const char *text);
void no(struct session *s, const char *text);
void bye_exit(struct session *s, const char *text) __attribute__((noreturn));
const char *capabilities(void);

int seqset_parse(const char *s, size_t n, struct seqset *set);
/* 1 when value (a sequence number or a UID) is in the set; star = the
 * value '*' stands for */
int seqset_has(const struct seqset *set, uint32_t v, uint32_t star);
void seqset_free(struct seqset *set);
/* message indices (0-based) matched by set, as seq numbers or UIDs */
int seqset_select(struct session *s, const struct seqset *set, int by_uid, size_t **idx, size_t *n);
int parse_set_arg(struct imap_parser *ps, struct seqset *set);

/* folder.c */
int folder_open(struct folder *f, const char *name, int readonly, int claim_recent);
void folder_close(struct folder *f);
/* Pick up changes in new/ cur/ (force: even when the dirs look unchanged). */
int folder_sync(struct folder *f, int force);
int folder_path(const struct folder *f, const struct msg *m, char *out, size_t max);
/* Rename m's file to carry flags/kw; 0 ok, -1 error (file gone: m->gone). */
int folder_set_flags(struct folder *f, struct msg *m, uint32_t flags, uint32_t kw);
/* keyword index for name, adding it (under the lock) when add; -1 none */
int folder_keyword(struct folder *f, const char *name, size_t n, int add);
/* Remove \Deleted messages (or only those in uids when given). Calls
 * report(i) for each expunged index, highest first. */
int folder_expunge(struct folder *f, const struct seqset *uids,
                   void (*report)(void *arg, size_t seq), void *arg);
/* Deliver a new file into folder dir under the lock: data (LF line ends)
 * or a hard link of src; returns its UID through *uid. */
struct newmsg {
	const char *data; size_t len;   /* data to write, or */
	const char *link_from;          /* an existing file to link or copy */
	int move;                       /* rename link_from instead */
	uint32_t flags;                 /* FL_* system flags */
	char **kwnames; size_t nkw;     /* keywords by name */
	time_t mtime;
	uint32_t uid;                   /* out */
};
int folder_add(const char *dir, struct newmsg *nm, size_t count, uint32_t *uidvalidity);
int folder_exists(const char *name);
/* IMAP name -> directory ("INBOX" -> "."); -1 for an invalid name */
int folder_dir(const char *name, size_t n, char *out, size_t max);
void flags_format(struct buf *b, const struct folder *f, const struct msg *m);
/* parse "(\Seen foo)" or a single flag; kw names resolved on f */
int flags_parse(struct imap_parser *ps, struct folder *f, int add_kw, uint32_t *flags,
                uint32_t *kw, char ***names, size_t *nnames);

/* updates the client has not seen: EXISTS, RECENT, FETCH FLAGS and (when
 * allow_expunge) EXPUNGE */
void report_changes(struct session *s, int allow_expunge);

/* commands: each gets the parser after the command name */
typedef void cmd_fn(struct session *s, struct imap_parser *ps);
cmd_fn cmd_select, cmd_examine, cmd_close, cmd_unselect, cmd_expunge, cmd_check;
cmd_fn cmd_fetch, cmd_store, cmd_search, cmd_copy, cmd_move, cmd_uid, cmd_sort, cmd_thread;
cmd_fn cmd_list, cmd_lsub, cmd_create, cmd_delete, cmd_rename, cmd_subscribe, cmd_unsubscribe;
cmd_fn cmd_status, cmd_append, cmd_idle, cmd_namespace;

void expunge_uids(struct session *s, const struct seqset *uids);

/* mailboxes.c: Maildir++ folders created on the first login */
void folders_init(void);

/* message.c: a message file read whole, with CRLF line ends */
struct message {
	struct buf text;
	time_t mtime;
	int have_mime;
	struct mime mime;
};
int message_load(struct folder *f, struct msg *m, struct message *msg);
/* the header only (CRLF, blank line included), from the cache when it can;
 * valid until the next call */
int message_head(struct folder *f, struct msg *m, const char **h, size_t *hlen);
size_t header_length(const char *s, size_t n);
void message_free(struct message *msg);
uint64_t message_vsize(struct folder *f, struct msg *m);
int message_internaldate(struct folder *f, struct msg *m, time_t *t);
void put_date(struct buf *b, time_t t);

/* cache.c */
int cache_get(struct folder *f, struct msg *m, const char **hdr, size_t *hlen, uint64_t *vsize, time_t *mtime);
void cache_put(struct folder *f, struct msg *m, const char *hdr, size_t hlen, uint64_t vsize, time_t mtime);
void cache_flush(struct folder *f);
void cache_free(struct folder *f);

/* bodystruct.c */
int put_envelope(struct buf *b, const char *msg, size_t hoff, size_t hlen);
int put_bodystructure(struct buf *b, const struct mime *m, int idx, int extended);

#endif
