/* yubin-remote — remote delivery for yubin-qmgr (deliver.h protocol on
 * stdin/stdout). The master reads jobs, batches them per message and
 * destination and keeps a pool of forked SMTP workers busy (remote.h
 * describes the design); it never blocks on the network itself. Exits 0
 * when qmgr closes its end, after telling every worker to stop. */
#include "remote.h"
#include "control.h"
#include "log.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#define POLL_MAX 1024

int main(int argc, char **argv)
{
	static struct pollfd fds[POLL_MAX];
	(void)argv;
	log_init("yubin-remote");
	if (argc > 1) die(EXIT_PERM, "usage: yubin-remote (it is started by yubin-qmgr)");
	signal(SIGPIPE, SIG_IGN);
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	pool_init();
	for (;;) {
		fds[0] = (struct pollfd){ .fd = 0, .events = POLLIN };
		size_t n = 1 + pool_pollfds(fds + 1, POLL_MAX - 1);
		if (poll(fds, n, 1000) < 0) continue;
		pool_events(fds + 1, n - 1);
		if (fds[0].revents) {
			int r = jobs_read(0);
			jobs_dispatch();
			if (r < 0) break;
		}
		pool_reap();
		master_flush();
	}
	pool_shutdown();
	master_flush();
	return 0;
}
