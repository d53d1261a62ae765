/* maildir.h — the Maildir writer (yubin-local's deliveries into virtual
 * mailboxes and ~/Maildir). Exactly-once: the unique name comes from the
 * queue id and the final recipient, so a delivery retried after a crash
 * finds the file its first attempt made, in new/ or (renamed by a reader,
 * with ":2,flags" or ",W=..." appended) in cur/, and delivers nothing.
 * Names are "<arrival>.Y<qid>R<hash>.<host>,S=<size>"; ,S= lets POP3/IMAP
 * know sizes without reading. Readers only rely on the Maildir spec. */
#ifndef YUBIN_MAILDIR_H
#define YUBIN_MAILDIR_H

#include <stddef.h>
#include <sys/types.h>

#define MAILDIR_NAME_MAX 512

/* The message to write: head (prepended header lines) then len bytes of
 * fd starting at off. */
struct maildir_src {
	const char *head;
	size_t headlen;
	int fd;
	off_t off, len;
};

/* "<arrival>.Y<qid>R<16 hex of hash(rcpt)>.<host>" with '/' and ':' in
 * host escaped as the spec says. -1 (ENAMETOOLONG) if it does not fit. */
int maildir_uniq(char *out, size_t max, long long arrival, const char *qid,
                 const char *rcpt, const char *host);
/* Create dir (and missing parents) and its new/ cur/ tmp/, mode 700. */
int maildir_create(const char *dir);
/* 1 when a message named uniq is already in dir (exact name in new/,
 * uniq followed by ',' or ':' in cur/); 0 not there; -1 error. cur/ is
 * only scanned when it changed since shortly before arrival. */
int maildir_present(const char *dir, const char *name, const char *uniq, long long arrival);
/* Deliver src into dir under uniq,S=<size>: O_TMPFILE in tmp/, write,
 * link into new/, fsync (maildir.c says when there is a second one).
 * Creates the Maildir when missing. Returns 1 delivered, 2 delivered in
 * place of a copy an earlier attempt left torn (a system crash during
 * its fsync), 0 already there (nothing written), -1 with errno (ENOSPC,
 * EDQUOT, ...). name_out (may be NULL) receives the file name. */
int maildir_deliver(const char *dir, const char *uniq, long long arrival,
                    const struct maildir_src *src, char *name_out, size_t name_max);
/* Copy len bytes of in at off to out's current offset (copy_file_range,
 * falling back to read/write). 0 or -1 with errno. */
int copy_range(int in, off_t off, off_t len, int out);

#endif
