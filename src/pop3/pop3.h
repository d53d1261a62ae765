/* pop3.h — yubin-pop3, the mailbox half of the POP3 server: run by
 * yubin-checkpassword as the mailbox owner with the Maildir as its current
 * directory and the client on fds 0/1. It owns the TRANSACTION and UPDATE
 * states of RFC 1939; yubin-pop3d (the front end) did AUTHORIZATION. */
#ifndef YUBIN_POP3_H
#define YUBIN_POP3_H

#include <stddef.h>

#include "buf.h"
#include "io.h"

#define POP3_LINE_MAX 1024
#define POP3_MAX_ERRORS 10
#define POP3_UIDL_MAX 70        /* RFC 1939 */
#define POP3_LOCKFILE "yubin-pop3.lock"
#define POP3_OUT_FLUSH (256 * 1024)    /* write replies out at this size */

/* Exit codes the front end reads (see src/pop3d/login.c): 0 the session
 * ran; 2 this program answered the client and read nothing, so the front
 * end stays in AUTHORIZATION. */
enum { POP3_EXIT_ANSWERED = 2 };

struct msg {
	size_t name;                /* offset of the file name (in cur/) in mbox.names */
	unsigned short name_len;
	unsigned short uniq_len;    /* the unique part: up to the first ',' or ':' */
	unsigned char deleted;
	unsigned long long size;    /* as sent: CRLF line ends, no dot-stuffing */
};

struct mbox {
	struct msg *m;
	size_t n, cap;
	struct buf names;           /* NUL-terminated file names back to back */
	unsigned long long total;   /* sum of sizes at login */
	size_t ndel;
	unsigned long long delsize;
};

struct session {
	struct rbuf in;
	struct buf out;             /* replies not yet written (reply.c) */
	int sock_timeouts;          /* fds 0/1 time out by themselves (SO_RCVTIMEO) */
	int timeout_ms;
	struct mbox box;
	const char *user;
	int errors;
	/* for the logout line */
	unsigned long top_n, retr_n;
	unsigned long long top_bytes, retr_bytes;
};

/* mailbox.c */
int mbox_scan(struct mbox *b);                      /* 0 or -1 with errno */
const char *msg_name(const struct mbox *b, size_t i);
/* open cur/NAME, following a rename by another client (flags changed) */
int msg_open(struct mbox *b, size_t i);
/* UPDATE: unlink the deleted messages; number that could not be removed */
size_t mbox_expunge(struct mbox *b);
/* the UIDL of message i into out (at least POP3_UIDL_MAX + 1 bytes) */
void msg_uidl(const struct mbox *b, size_t i, char *out, size_t max);

/* sizecache.c: sizes counted by earlier sessions */
void sizecache_load(void);
int sizecache_find(const char *name, size_t len, unsigned long long *size);
void sizecache_save(const struct mbox *b);

/* size.c: the size of a message as POP3 sends it */
int size_of_fd(int fd, unsigned long long *size);
int size_from_name(const char *name, size_t n, unsigned long long *size);

/* send.c: the answer to RETR (maxbody < 0) or TOP of message i, status
 * line included; ends the session after a read error mid-message. */
void send_message(struct session *s, size_t i, long long maxbody);

/* reply.c */
void reply(struct session *s, const char *line);
void replyf(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_flush(struct session *s);                /* unless more input waits */
void reply_write(struct session *s);                /* all of out, now */
void session_end(struct session *s, const char *why) __attribute__((noreturn));

/* commands.c */
void commands_loop(struct session *s) __attribute__((noreturn));

#endif
