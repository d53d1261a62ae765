/* yubin-queue — the only writer into the queue (queue/README).
 *   yubin-queue        serve one caller on stdin/stdout (the exec path)
 *   yubin-queue -d     the injector: serve callers on queue/injector, a
 *                      Unix socket, one thread each (no exec per message)
 * Either way the protocol is src/lib/qclient.h, and a message is "ok"
 * only once it is fsynced in queue/incoming. It reads no control files:
 * starting fast is part of its job. */
#include "queue.h"
#include "control.h"
#include "log.h"

#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int daemon_run(void);

/* Run by root, become the queue's owner so every queue file is its;
 * setuid (as qmail-queue is), write only into a queue that is ours,
 * since YUBIN_ROOT comes from the caller. */
static void right_identity(void)
{
	struct stat st;
	if (fstat(incomingdir, &st) < 0) die_sys(EXIT_TEMP, "fstat queue/incoming");
	/* root ran the setuid binary: real uid 0 would keep every capability
	 * permitted (and group root); take euid 0 back to drop all of it below */
	if (getuid() == 0 && geteuid() != 0 && seteuid(0) < 0) die_sys(EXIT_TEMP, "seteuid(0)");
	if (geteuid() == 0 && st.st_uid != 0 &&
	    (setgroups(0, NULL) < 0 || setgid(st.st_gid) < 0 || setuid(st.st_uid) < 0))
		die_sys(EXIT_TEMP, "cannot become the owner of %s/queue", yubin_root());
	if (getuid() != geteuid() && st.st_uid != geteuid())
		die(EXIT_TEMP, "%s/queue/incoming does not belong to the queue user; refusing", yubin_root());
}

int main(int argc, char **argv)
{
	log_init(argv[0]);
	umask(027); /* group: the queue user's group, which yubin-remote is in */
	queue_open_dirs();
	right_identity();
	if (argc == 2 && strcmp(argv[1], "-d") == 0) return daemon_run();
	if (argc != 1) die(EXIT_PERM, "usage: yubin-queue [-d]");
	static struct session s;
	return session_run(&s, 0, 1) < 0 ? EXIT_TEMP : 0;
}
