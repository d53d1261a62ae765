/* supervise.c — keep yubin-run's long-running programs alive: a program
 * that dies (kill -9 included) is started again a second later, as a
 * supervisor (daemontools, systemd Restart=) would. */
#include "run.h"
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SUPERVISED 16

static struct {
	const char *prog, *arg, *user;
	int listen_fd;
	char **env;
	pid_t pid;
	time_t restart_at;
} sup[MAX_SUPERVISED];
static size_t nsup;
static int stopping;

static void start(size_t i)
{
	char *none[] = { NULL };
	sup[i].pid = spawn_program(sup[i].prog, sup[i].arg, sup[i].listen_fd, sup[i].env ? sup[i].env : none,
	                           sup[i].user);
	if (sup[i].pid < 0) sup[i].restart_at = time(NULL) + 1;
}

void supervise_start(const char *prog, const char *arg)
{
	if (nsup == MAX_SUPERVISED) return;
	sup[nsup].prog = prog;
	sup[nsup].arg = arg;
	sup[nsup].listen_fd = -1;
	start(nsup++);
}

void supervise_service(const char *prog, int listen_fd, char **extra_env, const char *user)
{
	if (nsup == MAX_SUPERVISED) return;
	sup[nsup].prog = prog;
	sup[nsup].listen_fd = listen_fd;
	sup[nsup].env = extra_env;
	sup[nsup].user = user;
	start(nsup++);
}

int supervise_reap(pid_t pid, int status)
{
	for (size_t i = 0; i < nsup; i++) {
		if (sup[i].pid != pid) continue;
		sup[i].pid = -1;
		if (!stopping) {
			if (WIFSIGNALED(status))
				log_msg("%s died on signal %d; restarting it", sup[i].prog, WTERMSIG(status));
			else
				log_msg("%s exited with status %d; restarting it", sup[i].prog, WEXITSTATUS(status));
			sup[i].restart_at = time(NULL) + 1;
		}
		return 1;
	}
	return 0;
}

void supervise_tick(void)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < nsup; i++)
		if (sup[i].pid < 0 && !stopping && now >= sup[i].restart_at) start(i);
}

/* SIGTERM everything, wait up to 10 s, then SIGKILL what is left. */
void supervise_stop(void)
{
	stopping = 1;
	for (size_t i = 0; i < nsup; i++)
		if (sup[i].pid > 0) kill(sup[i].pid, SIGTERM);
	for (int tries = 0; tries < 100; tries++) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno == ECHILD) return;
		if (pid > 0) {
			for (size_t i = 0; i < nsup; i++)
				if (sup[i].pid == pid) sup[i].pid = -1;
			continue;
		}
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < nsup; i++)
		if (sup[i].pid > 0) kill(sup[i].pid, SIGKILL);
	/* leftovers of our process group (e.g. a connection that ignored
	 * SIGTERM), only when we lead the group and so hurt nobody else */
	if (getpgrp() == getpid()) {
		signal(SIGTERM, SIG_IGN);
		kill(0, SIGTERM);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0) ;
}
