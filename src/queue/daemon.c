/* daemon.c — `yubin-queue -d`: the injector. Callers (smtpd, sendmail,
 * qmgr's bounces) connect to $YUBIN_ROOT/queue/injector instead of
 * executing yubin-queue, which saves an exec per connection or message;
 * each connection gets a thread running the same session as the exec
 * path. Concurrent fsyncs of incoming/ are merged by the filesystem's
 * journal (group commit). When it is not running, callers fall back to
 * executing yubin-queue, so nothing depends on it. */
#include "queue.h"
#include "control.h"
#include "log.h"
#include "qclient.h"
#include "unixsock.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	struct session *s = malloc(sizeof *s);
	if (s) {
		session_run(s, fd, fd);
		free(s);
	}
	close(fd);
	return NULL;
}

int daemon_run(void)
{
	/* anyone who may run yubin-queue (everyone: it is setuid) may inject */
	int ls = unix_listen(QINJECTOR, SOCK_STREAM | SOCK_CLOEXEC, 0666, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* one small session per thread: no per-thread malloc arenas (64 MiB
	 * of address space each) */
	mallopt(M_ARENA_MAX, 1);

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (;;) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) continue;
			if (errno == EMFILE || errno == ENFILE) { sleep(1); continue; }
			die_sys(EXIT_TEMP, "accept");
		}
		pthread_t t;
		if (pthread_create(&t, &attr, serve, (void *)(long)fd) != 0) {
			log_sys("cannot start a thread; dropping a caller");
			close(fd);
		}
	}
}
