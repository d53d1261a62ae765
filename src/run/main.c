/* yubin-run — the embedded default: make an instance and run it all in the
 * foreground (DESIGN.md "The embedded default").
 *   yubin-run --root DIR --base-port N
 * Creates DIR when it lacks control/, starts yubin-qmgr (which starts the
 * delivery agents) and listeners on 127.0.0.1, prints "yubin-run: ready",
 * logs to DIR/log/maillog, and stops everything on SIGINT or SIGTERM. */
#include "run.h"
#include "control.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stopping, children_changed;

static void on_stop(int sig) { (void)sig; stopping = 1; }
static void on_child(int sig) { (void)sig; children_changed = 1; }

static void usage(void) { die(EXIT_PERM, "usage: yubin-run --root DIR --base-port N"); }

/* stderr of everything we start goes to DIR/log/maillog */
static void open_maillog(const char *root)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/log", root);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/log/maillog", root);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) die_sys(EXIT_TEMP, "cannot open %s", path);
	if (dup2(fd, 2) < 0) die_sys(EXIT_TEMP, "dup2");
	close(fd);
}

static void reap_children(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		supervise_reap(pid, status);
}

int main(int argc, char **argv)
{
	const char *root = NULL;
	long base = -1;
	log_init("yubin-run");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) root = argv[++i];
		else if (strcmp(argv[i], "--base-port") == 0 && i + 1 < argc) base = strtol(argv[++i], NULL, 10);
		else usage();
	}
	if (!root || base < 0 || base > 65000) usage();

	if (mkdir(root, 0755) < 0 && errno != EEXIST) die_sys(EXIT_TEMP, "cannot create %s", root);
	char *abs = realpath(root, NULL);
	if (!abs) die_sys(EXIT_TEMP, "%s", root);
	setenv("YUBIN_ROOT", abs, 1);
	run_as_root = geteuid() == 0;

	instance_create(abs);
	open_maillog(abs);
	if (run_as_root) instance_setup(abs);
	instance_check();
	log_msg("starting instance %s on base port %ld", abs, base);

	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (listeners_open((int)base) < 0) die(EXIT_TEMP, "cannot listen on base port %ld", base);
	supervise_start("yubin-queue", "-d"); /* the injector: no exec per message */
	supervise_start("yubin-qmgr", NULL);
	supervise_start("yubin-anvil", NULL); /* per-client limits; smtpd serves without it */
	supervise_start("yubin-tlsd", "-d");  /* TLS without a process start per connection */
	listeners_start();
	printf("yubin-run: ready\n");
	fflush(stdout);
	log_msg("ready");

	while (!stopping) {
		poll(NULL, 0, 1000); /* a signal cuts it short */
		if (children_changed) {
			children_changed = 0;
			reap_children();
		}
		supervise_tick();
	}
	log_msg("stopping");
	supervise_stop();
	free(abs);
	return 0;
}
