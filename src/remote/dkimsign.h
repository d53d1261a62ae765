/* dkimsign.h — DKIM signing in yubin-remote (dkimsign.c). */
#ifndef YUBIN_REMOTE_DKIMSIGN_H
#define YUBIN_REMOTE_DKIMSIGN_H

#include "io.h"
#include "qfile.h"

/* Put a DKIM-Signature field (CRLF line ends) into w ahead of the message
 * in fd when the message qualifies and control/dkim_keys has a key for its
 * From domain. 0 (signed, or nothing to do: a failure to sign is logged
 * and the message goes out unsigned), -1 write error, -2 read error. */
int dkim_outgoing(struct wbuf *w, const struct qenv *e, int fd, const char *qid);

#endif
