/* queue.h — yubin-queue's parts: a session writes messages from one
 * caller into the queue (write.c); the caller is stdin/stdout (main.c) or
 * a connection to the injector socket (daemon.c). */
#ifndef YUBIN_QUEUE_H
#define YUBIN_QUEUE_H

#include "io.h"
#include "qseal.h"

struct session {
	struct rbuf in;
	struct wbuf out;
	struct wbuf file;
	struct qseal seal;       /* of the bytes after the K line */
	int tmpfd;
	char tmpname[64];
	const char *dsn, *why;   /* why the session failed */
	int hold;                /* this message goes to queue/hold (a 'Q' record or line) */
	int err;
};

/* the queue's tmp/ and incoming/ folders, opened once */
extern int tmpdir, incomingdir;
void queue_open_dirs(void);

/* Serve one caller on fds in/out until EOF (0) or a failure (-1: the
 * caller got a "defer" line and the half-written file is gone). */
int session_run(struct session *s, int in, int out);

#endif
