/* qclient.h — hand messages to yubin-queue, the only writer of the queue.
 *
 * Protocol on yubin-queue's stdin/stdout (both pipes):
 *   caller: envelope records (qfile.h, R lines without the state byte),
 *           then a blank line
 *   queue:  "ID\n"                       the id the message will have
 *   caller: the message as chunks "<len>\n<len bytes>", ending with "0\n";
 *           a line "Q\n" among them (or a Q record in the envelope) puts
 *           the message into queue/hold instead of queue/incoming
 *   queue:  "ok ID\n" once the message and its directory entry are
 *           fsynced, or "defer <x.y.z> <text>\n" / "reject <x.y.z> <text>\n"
 *   ...the caller may send the next envelope, or close stdin.
 * A caller that dies midway leaves nothing: no "0\n", no message.
 * One yubin-queue serves every message of an SMTP connection, so the exec
 * is paid once per connection, not once per message; and when the
 * injector (`yubin-queue -d`) listens on queue/injector, qclient_open
 * connects there instead and no exec is paid at all. */
#ifndef YUBIN_QCLIENT_H
#define YUBIN_QCLIENT_H

#include "buf.h"
#include "io.h"
#include "qfile.h"

#include <sys/types.h>

struct qclient {
	pid_t pid;
	int to, from;
	struct wbuf *w;
	struct rbuf *r;
	char id[QID_MAX];
	int failed;
	int in_message;       /* between qclient_begin and a queued commit */
};

/* Envelope building: appends one record to env (returns -1 if the value
 * is unsafe or too long). */
int qenv_add(struct buf *env, char type, const char *value);
int qenv_add_rcpt(struct buf *env, const char *addr, const char *notify, const char *orcpt);

/* Connect to the injector, or start yubin-queue (from the directory of
 * the running program). */
int qclient_open(struct qclient *q);
/* Send the envelope (records without the final blank line); on success
 * q->id holds the queue id. */
int qclient_begin(struct qclient *q, const struct buf *env);
/* qclient_begin in two steps, for a caller with something to do while
 * yubin-queue makes the file (smtpd sends its 354): the envelope, then
 * the queue id into q->id. */
int qclient_send_envelope(struct qclient *q, const struct buf *env);
int qclient_take_id(struct qclient *q);
int qclient_write(struct qclient *q, const void *p, size_t n);
/* This message goes to queue/hold (a HOLD action); before the commit. */
int qclient_hold(struct qclient *q);
/* End the message and wait for the verdict. 0: queued durably. -1: not
 * queued; reply holds "4.3.0 text" or "5.x.x text" (first char tells which). */
int qclient_commit(struct qclient *q, char *reply, size_t max);
/* Stop yubin-queue (closes its stdin, reaps it). */
void qclient_close(struct qclient *q);
/* 1 when q is a sound connection to the injector between messages: a
 * process may keep it for its next client's messages (yubin-smtpd's
 * workers do); a spawned yubin-queue is closed with its session. */
int qclient_reusable(const struct qclient *q);

/* Full path of a sibling program in the directory of /proc/self/exe. */
int prog_path(char *out, size_t max, const char *name);

#endif
