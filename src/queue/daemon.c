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

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char path[sizeof sun.sun_path];
	if (root_path(path, sizeof path, QINJECTOR) < 0) die(EXIT_TEMP, "%s: path too long for a socket", yubin_root());
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0) die_sys(EXIT_TEMP, "socket");
	unlink(path);
	mode_t old = umask(0);
	/* anyone who may run yubin-queue (everyone: it is setuid) may inject */
	if (bind(ls, (struct sockaddr *)&sun, sizeof sun) < 0) die_sys(EXIT_TEMP, "bind %s", path);
	umask(old);
	chmod(path, 0666);
	if (listen(ls, 512) < 0) die_sys(EXIT_TEMP, "listen %s", path);
	signal(SIGPIPE, SIG_IGN);
	/* one small session per thread: no per-thread malloc arenas (64 MiB
	 * of address space each) */
	mallopt(M_ARENA_MAX, 1);

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	log_msg("injector listening on %s", path);
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
