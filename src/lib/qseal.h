/* qseal.h — the seal of a queue file: its K record (qfile.h), the length
 * and a hash of every byte after that record, written over a placeholder
 * once the message is complete. After the system went down, yubin-qmgr
 * tells by it a file whose bytes all reached the disk from one that was
 * still on its way when the power went (queue/README, step 1). */
#ifndef YUBIN_QSEAL_H
#define YUBIN_QSEAL_H

#include <stddef.h>
#include <stdint.h>

#define QSEAL_LINE 34 /* "K", 16 hex digits of length, 16 of hash, "\n" */

struct qseal {
	uint64_t h, len;
	unsigned char tail[8];
	unsigned ntail;
};

/* id: the file's queue id (its name), which the hash covers too: queue
 * files are reused (queue/README), and a reused file's old bytes under a
 * new name must not pass. NULL: a seal as written before ids were sealed. */
void qseal_init(struct qseal *q, const char *id);
/* Hash the next n bytes of the file (R records with state byte ' '). */
void qseal_add(struct qseal *q, const void *p, size_t n);
/* The K line for the bytes added so far, or with q NULL the placeholder
 * the writer puts first; QSEAL_LINE bytes, no NUL. */
void qseal_line(const struct qseal *q, char out[QSEAL_LINE]);
/* 1 the file on fd, named id, is whole (its seal matches, with id or one
 * from before ids were sealed, or it predates seals), 0 torn
 * (placeholder, wrong length or hash, another file's bytes, no "V1"
 * start), -1 errno. */
int qseal_check(int fd, const char *id);

#endif
