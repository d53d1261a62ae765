/* qfile.h — the queue file: one file per message, queue/STATE/ID.
 *
 *   envelope records, one per line, "X<value>\n" (values never hold NUL,
 *   CR or LF); a blank line; then the message, LF line endings, verbatim.
 *
 *   V1             format version (first record)
 *   T<secs>        arrival time
 *   K<len><hash>   the seal (third record, qseal.h): length and hash of
 *                  every byte after it, 16 hex digits each, written over
 *                  a placeholder of zeros once the message is complete;
 *                  files written before seals existed lack it
 *   S<addr>        envelope sender ("" = null sender <>)
 *   R<st><addr>\t<notify>\t<orcpt>   a recipient; <st> is its state byte:
 *                  ' ' to do, 'D' done (delivered, or its bounce is queued)
 *   E<envid>  N<ret: FULL|HDRS>  B<body: 7BIT|8BITMIME>  A<auth login>
 *   C<client ip>  H<helo name>   optional DSN and client facts
 *   U<SMTPUTF8>    optional: the message came with SMTPUTF8 (RFC 6531);
 *                  files written before this record existed lack it
 *
 * A recipient's state byte is rewritten in place with one pwrite, so the
 * file never changes size after it is committed. The envelope a caller
 * sends yubin-queue uses the same records, with R lines lacking <st>, and
 * may add Q<reason>: yubin-queue then puts the file into queue/hold
 * (a HOLD action) and does not store the record. */
#ifndef YUBIN_QFILE_H
#define YUBIN_QFILE_H

#include <stddef.h>
#include <sys/types.h>

#define QID_MAX 40            /* queue id, NUL included */
#define QENV_MAX (4u << 20)   /* bytes of envelope */
#define QREC_MAX 4096         /* bytes per envelope record */

struct qrcpt {
	char *addr;
	char *notify;   /* "" or e.g. "SUCCESS,FAILURE" / "NEVER" */
	char *orcpt;    /* "" or "rfc822;addr" */
	char state;     /* ' ' or 'D' */
	off_t state_off;
};

struct qenv {
	long long arrival;
	char *sender;
	char *envid, *ret, *body, *auth, *client, *helo;
	int smtputf8;    /* a U record was present */
	struct qrcpt *rcpt;
	size_t nrcpt;
	off_t msg_off;   /* where the message starts */
};

/* Parse the envelope at the start of fd (pread, so the offset is left
 * alone). 0 ok; -1 with errno (EINVAL for a malformed file). */
int qenv_read(int fd, struct qenv *e);
/* Parse an envelope held in memory (used by qenv_read and the tests). */
int qenv_parse(const char *p, size_t n, struct qenv *e);
void qenv_free(struct qenv *e);
/* Set recipient i's state byte durably only if sync is set. */
int qenv_mark(int fd, const struct qenv *e, size_t i, char state, int sync);
/* 1 when a record value is safe to store (no NUL, CR, LF; bounded) */
int qrec_value_ok(const char *v, size_t n);

/* Queue states are directories under queue/ */
#define QDIR_TMP      "queue/tmp"
#define QDIR_INCOMING "queue/incoming"
#define QDIR_ACTIVE   "queue/active"
#define QDIR_DEFERRED "queue/deferred"
#define QDIR_HOLD     "queue/hold"
#define QDIR_DEFER    "queue/defer"     /* last reason per message, for yubin-ctl queue */
#define QTRIGGER      "queue/trigger"   /* FIFO: wakes yubin-qmgr */
#define QLOCK         "queue/lock/qmgr" /* flock'ed by the running qmgr; holds its pid */
#define QINJECTOR     "queue/public/injector" /* socket of `yubin-queue -d` */
#define QBOOT         "queue/lock/boot" /* the boot id whose crash qmgr last checked for */

/* Spare queue files (queue/README): yubin-qmgr renames the file of a
 * finished message to tmp/spare.N instead of removing it, and yubin-queue
 * takes a spare for its next message, so the filesystem allocates and
 * frees no inode per message. There are at most QSPARE_SLOTS of them
 * (N below it), of at most QSPARE_SIZE_MAX bytes; yubin-queue takes the
 * ones it finds listed in tmp/. */
#define QSPARE_SLOTS 64
#define QSPARE_SIZE_MAX (256 * 1024)
#define QSPARE_PREFIX "spare."

/* 1 when s is a well-formed queue id (upper-case hex, bounded) */
int qid_valid(const char *s);
/* Write one byte/command line to the trigger FIFO; quietly does nothing
 * when no qmgr listens. cmd: "n" new mail, "f" flush, "fDOMAIN", "r" reload */
void qtrigger(const char *cmd);

#endif
