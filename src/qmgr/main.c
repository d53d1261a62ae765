/* main.c — yubin-qmgr: the long-running queue manager.
 * Locks queue/lock/qmgr (one manager per instance), listens on the trigger
 * FIFO, starts the delivery agents and runs one poll loop: scan the queue,
 * hand jobs to agents, record their results. SIGHUP rereads the control
 * files; SIGTERM stops the agents and exits. Crash safety is the design
 * of queue/README: kill -9 at any moment and a restart carries on. */
#include "control.h"
#include "log.h"
#include "qmgr.h"
#include "spawner.h"
#include "trigger.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

struct qmgr_conf conf;
int stopping;

static int sigpipe[2] = { -1, -1 };
static volatile sig_atomic_t got_term, got_hup, got_chld;

static long long at_least(long long v, long long min) { return v < min ? min : v; }

void conf_load(void)
{
	conf.queue_run_delay = at_least(control_time("queue_run_delay"), 1);
	conf.gather_ms = at_least(control_time("qmgr_gather_time"), 0);
	if (conf.gather_ms > GATHER_MAX_MS) {
		log_msg("warning: control/qmgr_gather_time: %lld ms is longer than new mail may wait; using %d ms",
		        conf.gather_ms, GATHER_MAX_MS);
		conf.gather_ms = GATHER_MAX_MS;
	}
	conf.min_backoff = at_least(control_time("minimal_backoff_time"), 1);
	conf.max_backoff = at_least(control_time("maximal_backoff_time"), conf.min_backoff);
	conf.max_lifetime = at_least(control_time("maximal_queue_lifetime"), 0);
	conf.bounce_lifetime = at_least(control_time("bounce_queue_lifetime"), 0);
	conf.delay_warning = at_least(control_time("delay_warning_time"), 0);
	conf.process_limit = at_least(control_int("default_process_limit"), 1);
	conf.dest_limit = at_least(control_int("default_destination_concurrency_limit"), 1);
	conf.local_dest_limit = at_least(control_int("local_destination_concurrency_limit"), 1);
	conf.virtual_dest_limit = at_least(control_int("virtual_destination_concurrency_limit"), 1);

	/* every active message holds its file open: stay inside the fd limit */
	struct rlimit rl;
	long long lim = at_least(control_int("qmgr_message_active_limit"), 1);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
			getrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur != RLIM_INFINITY && (long long)rl.rlim_cur - 64 < lim)
			lim = at_least((long long)rl.rlim_cur - 64, 16);
	}
	conf.active_limit = (size_t)lim;
}

void qmgr_reload(void)
{
	log_msg("reloading control files");
	control_reload();
	conf_load();
	scan_reschedule();
	agents_tick();
}

static void on_signal(int sig)
{
	int e = errno;
	if (sig == SIGTERM || sig == SIGINT) got_term = 1;
	if (sig == SIGHUP) got_hup = 1;
	if (sig == SIGCHLD) got_chld = 1;
	ssize_t w = write(sigpipe[1], "", 1);
	(void)w;
	errno = e;
}

static void signals_init(void)
{
	if (pipe2(sigpipe, O_CLOEXEC | O_NONBLOCK) < 0) die_sys(EXIT_TEMP, "pipe");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* One qmgr per queue: the lock is held for the life of the process (and
 * is not inherited by the agents: O_CLOEXEC). */
static void lock_queue(void)
{
	char path[4096], pid[32];
	if (root_path(path, sizeof path, QLOCK) < 0) die(EXIT_TEMP, "queue path too long");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) die_sys(EXIT_TEMP, "cannot open %s (is the queue created?)", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		die(EXIT_TEMP, "another yubin-qmgr (pid %s) is running on this queue; not starting",
		    *pid ? pid : "unknown");
	}
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_sys("warning: cannot write pid to %s", path);
}

static void handle_signals(void)
{
	char drain[64];
	while (read(sigpipe[0], drain, sizeof drain) > 0) ;
	if (got_chld) { got_chld = 0; agents_reap(); }
	spawner_events();
	if (got_hup) {
		got_hup = 0;
		qmgr_reload();
	}
	if (got_term && !stopping) {
		stopping = 1;
		log_msg("stopping");
		agents_stop();
	}
}

static void loop_once(void)
{
	struct pollfd fds[16];
	size_t n = 0;
	handle_signals();
	if (!stopping) {
		scan_tick();
		scan_run();
		agents_tick();
		sched_dispatch();
	} else {
		agents_tick();
	}
	fds[n++] = (struct pollfd){ .fd = sigpipe[0], .events = POLLIN };
	size_t trig = n;
	/* while new mail is gathered, its further wake-ups wait in the FIFO */
	fds[n++] = (struct pollfd){ .fd = stopping || scan_gathering() ? -1 : trigger_fd(), .events = POLLIN };
	size_t helper = n;
	fds[n++] = (struct pollfd){ .fd = spawner_fd(), .events = POLLIN };
	size_t first_agent = n;
	n += agents_pollfds(fds + n, sizeof fds / sizeof fds[0] - n);

	long long next = agents_next_ms(), s = scan_next_ms(), now = now_ms();
	if (s < next) next = s;
	long long wait = next - now;
	if (wait < 0) wait = 0;
	if (wait > 60000) wait = 60000;
	int r = poll(fds, n, (int)wait);
	if (r < 0) {
		if (errno != EINTR) die_sys(EXIT_TEMP, "poll");
		return;
	}
	if (fds[trig].revents) trigger_read();
	if (fds[helper].revents) spawner_events();
	agents_events(fds + first_agent, n - first_agent);
}

int main(int argc, char **argv)
{
	(void)argc;
	log_init(argv[0]);
	umask(077);
	lock_queue();
	agents_spawner_init();
	signals_init();
	conf_load();
	trigger_open();
	scan_startup();
	agents_init();
	log_msg("started (pid %ld)", (long)getpid());
	while (!stopping || agents_running()) loop_once();
	log_msg("stopped");
	return 0;
}
