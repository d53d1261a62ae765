/* authcheck.h — SPF, DKIM and DMARC on received mail (authcheck.c), as
 * data.c calls it: begin at DATA, the client's bytes as they arrive, the
 * stored form into a spool instead of yubin-queue, and at the end of the
 * message the Authentication-Results field, the DMARC verdict and the
 * spool's copy into the queue. */
#ifndef YUBIN_SMTPD_AUTHCHECK_H
#define YUBIN_SMTPD_AUTHCHECK_H

#include "authres.h"
#include "buf.h"

#include <stddef.h>

struct session;

struct authcheck {
	int on;                /* the checks run for this message; the rest is valid only then */
	int fd;                /* the spool: a memfd with the message as it would go to the queue */
	long long spooled, spool_max;
	struct authres ar;
	struct buf hdr;        /* the client's header block, as DKIM must see it */
	int hstate;            /* in the header, past an over-long one, in the body */
	int nl;                /* the input so far ends with a line end */
	char reply[320];       /* the refusal when authcheck_end returns 1 */
};

/* At DATA, before anything is stored: 1 when the checks run for this
 * message (SPF is looked up now), 0 when they do not (the setting is
 * empty, the client logged in or is an exception), -1 when they should
 * but cannot (no spool): the message is to be refused with 451. */
int authcheck_begin(struct session *s, struct authcheck *a);
/* The message as the client sent it (dot-unstuffed, LF line ends). */
void authcheck_input(struct authcheck *a, const char *p, size_t n);
/* The stored form, instead of yubin-queue. NULL, or the reply when the
 * spool is full (552) or failed (451). */
const char *authcheck_spool(struct authcheck *a, const char *p, size_t n);
/* The end of the message: results, log line, DMARC policy. 0 when the
 * Authentication-Results field and the spool went into the queue (and
 * s->hold is set for a quarantine); 1 when the message is refused with
 * a->reply; -1 when the queue write failed. */
int authcheck_end(struct session *s, struct authcheck *a, const char *qid);
void authcheck_free(struct authcheck *a);

#endif
