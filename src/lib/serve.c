/* serve.c — the worker pool of serve.h: a process handed a listening
 * socket forks workers on demand; each worker accepts connections and
 * runs sessions, reused while its sessions allow it. */
#include "serve.h"
#include "control.h"
#include "hibernate.h"
#include "io.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define LISTEN_FD 3          /* where systemd puts the first socket */
/* with hibernation, work waiting this long for a worker asks the busy
 * ones for room, and this long makes the pool fork one */
#define PRESS_AFTER_MS 1
#define FORK_AFTER_MS 8
/* a session woken this recently means the sleepers are active clients */
#define WAKES_BUSY_MS 100
#define PROCESS_LIMIT_MAX 10000

/* what a worker tells the pool through the status pipe (one write each,
 * smaller than PIPE_BUF, so never interleaved) */
struct status {
	pid_t pid;
	int idle;
	int woke;     /* took a hibernated session from the wake socket */
};

struct worker {
	pid_t pid;
	int idle;
};

static volatile sig_atomic_t stopping;
static void on_stop(int sig) { (void)sig; stopping = 1; }
static void on_child(int sig) { (void)sig; }

static struct worker *workers;
static size_t nworkers;
static int status_fd = -1;   /* pool: read end; worker: write end */
static int kick[2] = { -1, -1 }; /* passes on a wakeup a busy worker got (watch) */

/* Hibernation (serve.h): workers send sleeping sessions to the pool on
 * sleep_sock[1], the pool sends them back on wake_sock[0] and any idle
 * worker takes one from wake_sock[1] */
static void (*resume_fn)(const void *state, size_t len, int extra_fd, enum serve_wake why);
static int sleep_sock[2] = { -1, -1 }, wake_sock[2] = { -1, -1 };
static unsigned long woken_sent, woken_taken;
/* readable while work waits that no idle worker will take (serve.h) */
static int pressure[2] = { -1, -1 };
static int pressing;

/* NULL for a daemon's own socket (serve_socket): a control/ change then
 * reloads the settings instead of exec'ing the program again */
static char **exec_argv;

/* in a worker */
static int in_worker;
static jmp_buf next_session;
static volatile long uses;
static long max_use;

/* 1 when systemd's (or yubin-run's) LISTEN_FDS/LISTEN_PID say fd 3 is
 * meant for us; the variables are removed so nothing we start sees them */
static int given_socket(void)
{
	const char *fds = getenv("LISTEN_FDS");
	const char *pid = getenv("LISTEN_PID");
	int mine = fds && strcmp(fds, "1") == 0;
	if (mine && pid) {
		char me[24];
		snprintf(me, sizeof me, "%ld", (long)getpid());
		mine = strcmp(pid, me) == 0;
	}
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	if (!mine) return 0;
	int listening = 0;
	socklen_t len = sizeof listening;
	if (getsockopt(LISTEN_FD, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
		die(EXIT_TEMP, "LISTEN_FDS=1 but fd 3 is not a listening socket; "
		               "use a .socket unit with Accept=no, or Accept=yes without LISTEN_FDS");
	return 1;
}

static size_t process_limit(void)
{
	long long n = 0;
	const char *env = getenv("YUBIN_PROCESS_LIMIT");
	if (env && *env) {
		if (parse_int(env, strlen(env), &n) < 0) n = 0;
	} else {
		n = control_int("default_process_limit");
	}
	if (n < 1) n = 100;
	if (n > PROCESS_LIMIT_MAX) n = PROCESS_LIMIT_MAX;
	return (size_t)n;
}

/* "IP" and "PORT" in tcpserver's form; a v4-mapped IPv6 address is shown
 * as plain IPv4 */
static void format_address(const struct sockaddr_storage *ss, char *ip, size_t ipmax, char *port, size_t pmax)
{
	snprintf(ip, ipmax, "0.0.0.0");
	snprintf(port, pmax, "0");
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)ipmax);
		snprintf(port, pmax, "%u", ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], ip, (socklen_t)ipmax);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, (socklen_t)ipmax);
		snprintf(port, pmax, "%u", ntohs(sin6->sin6_port));
	}
}

static void export_address(const char *ipname, const char *portname, const struct sockaddr_storage *ss)
{
	char ip[INET6_ADDRSTRLEN], port[8];
	format_address(ss, ip, sizeof ip, port, sizeof port);
	setenv(ipname, ip, 1);
	setenv(portname, port, 1);
}

static void report(int idle, int woke)
{
	struct status st = { getpid(), idle, woke };
	ssize_t n;
	do n = write(status_fd, &st, sizeof st);
	while (n < 0 && errno == EINTR);
}

/* fds 0 and 1 become the connection, the environment what tcpserver sets */
static void take_connection(int conn, const struct sockaddr_storage *peer)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof local;
	if (getsockname(conn, (struct sockaddr *)&local, &len) < 0) local.ss_family = AF_UNSPEC;
	if (dup2(conn, 0) < 0 || dup2(conn, 1) < 0) _exit(EXIT_TEMP);
	close(conn);
	export_address("TCPREMOTEIP", "TCPREMOTEPORT", peer);
	export_address("TCPLOCALIP", "TCPLOCALPORT", &local);
	setenv("PROTO", "TCP", 1);
	unsetenv("TCPREMOTEHOST");
	unsetenv("TCPREMOTEINFO");
}

/* the connection's end as the client sees it; fds 0 and 1 stay open, so
 * no later accept can land on them (a session may have closed them
 * already: /dev/null then lands on 0 and must stay there) */
static void drop_connection(void)
{
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0) _exit(0);
	if (nul > 1) close(nul);
}

/* the TCP* variables of the connection, "NAME=value\0" each, for a
 * hibernating session; 0 when they do not fit */
static const char *const conn_vars[] = { "TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP", "TCPLOCALPORT" };

static size_t save_env(char *out, size_t max)
{
	size_t len = 0;
	for (size_t i = 0; i < sizeof conn_vars / sizeof conn_vars[0]; i++) {
		const char *v = getenv(conn_vars[i]);
		if (!v) continue;
		int n = snprintf(out + len, max - len, "%s=%s", conn_vars[i], v);
		if (n < 0 || (size_t)n >= max - len) return 0;
		len += (size_t)n + 1;
	}
	return len;
}

static void restore_env(const char *p, size_t len)
{
	for (size_t i = 0; i < sizeof conn_vars / sizeof conn_vars[0]; i++) unsetenv(conn_vars[i]);
	while (len) {
		const char *end = memchr(p, 0, len);
		if (!end) return;
		const char *eq = memchr(p, '=', (size_t)(end - p));
		for (size_t i = 0; eq && i < sizeof conn_vars / sizeof conn_vars[0]; i++)
			if (strlen(conn_vars[i]) == (size_t)(eq - p) && memcmp(p, conn_vars[i], (size_t)(eq - p)) == 0)
				setenv(conn_vars[i], eq + 1, 1);
		len -= (size_t)(end - p) + 1;
		p = end + 1;
	}
	setenv("PROTO", "TCP", 1);
}

int serve_hibernate(const void *state, size_t len, int extra_fd, long long deadline_ms)
{
	static struct hib_msg m;
	if (!in_worker || !resume_fn || sleep_sock[1] < 0 || len > SERVE_STATE_MAX) return -1;
	size_t env = save_env(m.data, HIB_ENV_MAX);
	if (!env) return -1;
	memcpy(m.data + env, state, len);
	m.h = (struct hib_header){ .wake = HIB_ASLEEP, .deadline_ms = deadline_ms,
	                           .env_len = (uint32_t)env, .state_len = (uint32_t)len };
	m.fds[0] = 0;
	m.fds[1] = extra_fd;
	if (hib_send(sleep_sock[1], &m) < 0) return -1; /* full or gone: stay awake */
	if (extra_fd >= 0) close(extra_fd);
	longjmp(next_session, 1);
}

/* one session in this worker, started (woken NULL) or woken; it ends
 * with serve_session_end or serve_hibernate, which come back here */
static void run_session(void (*session)(void), const struct hib_msg *woken)
{
	if (!woken) uses = uses + 1; /* max_use counts clients, as Postfix's */
	if (setjmp(next_session) == 0) {
		if (woken)
			resume_fn(woken->data + woken->h.env_len, woken->h.state_len, woken->fds[1],
			          (enum serve_wake)woken->h.wake);
		else
			session();
		_exit(0);
	}
	drop_connection();
}

/* a woken session from the pool, if this worker is the one to get it */
static int take_woken(struct hib_msg *m)
{
	if (hib_recv(wake_sock[1], m) != 1) return 0;
	report(0, 1);
	if (dup2(m->fds[0], 0) < 0 || dup2(m->fds[0], 1) < 0) _exit(EXIT_TEMP);
	close(m->fds[0]);
	restore_env(m->data, m->h.env_len);
	return 1;
}

/* An idle worker waits in epoll with EPOLLEXCLUSIVE on the listening and
 * the wake socket, so a connection or a woken session wakes one idle
 * worker, not all of them. The kernel may hand such a wakeup to any
 * epoll instance watching the socket, so only idle workers watch: a
 * worker takes the sockets out of its set while it serves a session.
 * A wakeup that came to it between its epoll_wait and that would be
 * lost: so then, with work still waiting, it writes a byte into the kick
 * pipe, which the idle workers watch the same way (pass_on). */
static void watch(int ep, int on)
{
	int fds[3] = { LISTEN_FD, wake_sock[1], kick[0] };
	for (int i = 0; i < 3; i++) {
		if (fds[i] < 0) continue;
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = fds[i] };
		if (epoll_ctl(ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fds[i], &ev) < 0) {
			log_sys("epoll_ctl");
			_exit(EXIT_TEMP);
		}
	}
}

/* 1 when a connection or a woken session is waiting right now */
static int work_waiting(void)
{
	struct pollfd p[2] = { { .fd = LISTEN_FD, .events = POLLIN }, { .fd = wake_sock[1], .events = POLLIN } };
	return poll(p, wake_sock[1] >= 0 ? 2 : 1, 0) > 0;
}

/* The kick and pressure pipes carry single bytes: poke puts one in
 * unless one waits already (-1 when it could not), take_byte takes one
 * (1) if there is one, without blocking. */
static int poke(const int p[2])
{
	int queued = 0;
	char c = '!';
	if (ioctl(p[0], FIONREAD, &queued) == 0 && queued > 0) return 0;
	return write(p[1], &c, 1) == 1 ? 0 : -1;
}

static int take_byte(int fd)
{
	char c;
	return read(fd, &c, 1) == 1;
}

/* this worker stops watching: a wakeup it may have swallowed goes on */
static void busy(int ep)
{
	watch(ep, 0);
	if (work_waiting() && poke(kick) < 0) log_sys("kick");
}

__attribute__((noreturn)) static void worker(void (*session)(void), const sigset_t *mask)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGCHLD, &dfl, NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	free(workers);
	workers = NULL;
	in_worker = 1;
	control_reload();
	max_use = (long)control_int("max_use");
	if (max_use < 1) max_use = 1;
	long long idle_s = control_time("max_idle");
	int idle_ms = idle_s > 0 && idle_s < 86400 ? (int)idle_s * 1000 : 100000;

	static struct hib_msg woken;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	/* the status pipe's write end reports EPOLLERR once the pool, its
	 * only reader, is gone: then no one supervises us, so we leave */
	struct epoll_event st = { .events = 0, .data.fd = status_fd };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, status_fd, &st) < 0) {
		log_sys("epoll");
		_exit(EXIT_TEMP);
	}
	watch(ep, 1);
	for (;;) {
		struct epoll_event ev[3];
		int r = epoll_wait(ep, ev, 3, idle_ms);
		if (r < 0) continue;
		if (r == 0) {
			/* idle too long: the pool makes another when needed. A
			 * wakeup may have come to us as we timed out: look again */
			watch(ep, 0);
			if (!work_waiting()) _exit(0);
			watch(ep, 1);
			continue;
		}
		int listen_ready = 0, wake_ready = 0;
		for (int i = 0; i < r; i++) {
			if (ev[i].data.fd == status_fd) _exit(0);
			listen_ready |= ev[i].data.fd == LISTEN_FD;
			wake_ready |= ev[i].data.fd == wake_sock[1];
			if (ev[i].data.fd == kick[0]) {
				/* the byte, if another worker was not first, and a try
				 * at both sockets: neither blocks */
				take_byte(kick[0]);
				listen_ready = wake_ready = 1;
			}
		}
		/* a client that was waiting already goes before a new one */
		if (wake_ready && wake_sock[1] >= 0 && take_woken(&woken)) {
			busy(ep);
			run_session(session, &woken);
			if (uses >= max_use) _exit(0);
			report(1, 0);
			watch(ep, 1);
			continue;
		}
		if (!listen_ready) continue;
		struct sockaddr_storage peer;
		socklen_t len = sizeof peer;
		int conn = accept4(LISTEN_FD, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				log_sys("accept");
				_exit(EXIT_TEMP);
			}
			continue; /* another worker took it */
		}
		busy(ep);
		report(0, 0);
		take_connection(conn, &peer);
		if (control_changed()) {
			/* settings changed under this worker's caches: a fresh
			 * process, started as tcpserver would, serves this client */
			if (!exec_argv) {
				control_reload();
			} else {
				close(LISTEN_FD);
				execv("/proc/self/exe", exec_argv);
				log_sys("cannot restart myself for new settings");
				_exit(EXIT_TEMP);
			}
		}
		run_session(session, NULL);
		if (uses >= max_use) _exit(0);
		report(1, 0);
		watch(ep, 1);
	}
}

void serve_session_end(int code, int reusable)
{
	if (!in_worker || !reusable || uses >= max_use) _exit(code);
	longjmp(next_session, 1);
}

static void reap(void)
{
	pid_t pid;
	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
		for (size_t i = 0; i < nworkers; i++)
			if (workers[i].pid == pid) { workers[i] = workers[--nworkers]; break; }
}

static void read_status(void)
{
	struct status st;
	while (read(status_fd, &st, sizeof st) == (ssize_t)sizeof st) {
		woken_taken += st.woke != 0;
		for (size_t i = 0; i < nworkers; i++)
			if (workers[i].pid == st.pid) workers[i].idle = st.idle;
	}
}

static size_t idle_workers(void)
{
	size_t n = 0;
	for (size_t i = 0; i < nworkers; i++) n += workers[i].idle != 0;
	return n;
}

static void stop(void)
{
	for (size_t i = 0; i < nworkers; i++) kill(workers[i].pid, SIGTERM);
	exit(0);
}

static void log_listening(size_t limit)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char ip[INET6_ADDRSTRLEN], port[8];
	if (getsockname(LISTEN_FD, (struct sockaddr *)&ss, &len) < 0) ss.ss_family = AF_UNSPEC;
	if (ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)&ss;
		log_msg("accepting connections on %.*s, at most %zu at once",
		        (int)strnlen(sun->sun_path, sizeof sun->sun_path), sun->sun_path, limit);
		return;
	}
	format_address(&ss, ip, sizeof ip, port, sizeof port);
	log_msg("accepting connections on %s:%s, at most %zu at once", ip, port, limit);
}

/* fds 0-2 open (on /dev/null when they were closed), so neither the
 * status pipe nor an accepted connection can land on 0 or 1, where a
 * session's dup2 would overwrite it */
static void std_fds_open(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) die_sys(EXIT_TEMP, "/dev/null");
}

static void fork_worker(const int sp[2], void (*session)(void), const sigset_t *orig)
{
	pid_t pid = fork();
	if (pid == 0) {
		close(sp[0]);
		status_fd = sp[1];
		if (resume_fn) {
			close(sleep_sock[0]);
			close(wake_sock[0]);
			close(pressure[1]);
			lot_forget();
		}
		worker(session, orig);
	}
	if (pid < 0) {
		log_sys("cannot fork a worker");
		sleep(1);
		return;
	}
	workers[nworkers++] = (struct worker){ pid, 1 };
}

/* The pressure pipe holds one byte while the pool wants a worker; the
 * worker that puts its client to sleep for it reads the byte, so one
 * request sends one client to sleep, and another byte asks again. */
static void press(int on)
{
	if (pressure[1] < 0 || (!on && !pressing)) return;
	if (on) {
		pressing = poke(pressure) == 0;
	} else {
		while (take_byte(pressure[0])) continue;
		pressing = 0;
	}
}

int serve_pressure_fd(void)
{
	return in_worker ? pressure[0] : -1;
}

int serve_take_pressure(void)
{
	return in_worker && pressure[0] >= 0 && take_byte(pressure[0]);
}

/* sessions workers put to sleep: into the lot, or straight back awake
 * when the lot is full */
static void take_sleepers(void)
{
	static struct hib_msg m;
	for (int i = 0; i < 64; i++) {
		int r = hib_recv(sleep_sock[0], &m);
		if (r == 0) return;
		if (r < 0) continue;
		if (lot_add(&m) == 0) continue;
		m.h.wake = HIB_NO_ROOM;
		if (hib_send(wake_sock[0], &m) == 0) woken_sent++;
		else log_sys("cannot hand back a session the pool has no room for");
		hib_close(&m);
	}
}

/* the sockets of hibernation, and room for as many sleeping sessions as
 * the descriptor limit allows (two descriptors each) */
static void hibernation_init(void)
{
	struct rlimit rl;
	size_t max = 100;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
			getrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 64) max = (size_t)(rl.rlim_cur - 32) / 2;
	}
	if (max > 100000) max = 100000;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sleep_sock) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, wake_sock) < 0 ||
	    pipe2(pressure, O_CLOEXEC | O_NONBLOCK) < 0)
		die_sys(EXIT_TEMP, "cannot make the sockets of hibernation");
	lot_init(max);
}

__attribute__((noreturn)) static void pool(size_t limit, void (*session)(void))
{
	workers = calloc(limit, sizeof *workers);
	int sp[2];
	if (!workers) die_nomem();
	if (pipe2(sp, O_CLOEXEC) < 0 || fcntl(sp[0], F_SETFL, O_NONBLOCK) < 0 || pipe2(kick, O_CLOEXEC | O_NONBLOCK) < 0)
		die_sys(EXIT_TEMP, "pipe");
	/* workers poll before they accept, so a connection another worker
	 * took cannot block them */
	int fl = fcntl(LISTEN_FD, F_GETFL);
	if (fl < 0 || fcntl(LISTEN_FD, F_SETFL, fl | O_NONBLOCK) < 0) die_sys(EXIT_TEMP, "fd 3");

	/* signals arrive only inside ppoll, so the loop never misses one */
	sigset_t block, orig;
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	log_listening(limit);
	if (resume_fn) hibernation_init();

	struct pollfd *pfd = calloc(4 + lot_max(), sizeof *pfd);
	if (!pfd) die_nomem();
	int blocked = 0;          /* the wake socket was full: wait until it drains */
	int waiting = 0;          /* a connection waits and no worker was idle */
	int64_t need_since = -1;  /* since when work waits for a worker, or -1 */
	int64_t last_wake = -WAKES_BUSY_MS; /* when the pool last woke a session */
	for (;;) {
		reap();
		if (stopping) stop();
		status_fd = sp[0];
		read_status();
		int idle = idle_workers() != 0;
		/* taken by an idle worker, or by one that made room and took it
		 * before we saw it idle */
		if (waiting && (idle || !work_waiting())) waiting = 0;
		/* Work no idle worker will take (a connection, a woken session).
		 * With hibernation, ask for room first: a worker whose client is
		 * silent puts it to sleep and takes the work, so silent clients
		 * do not make the pool grow. Asked only when the need outlasts
		 * the moment a worker takes to report itself idle, and a worker
		 * is forked when nobody made room in time. But while sleeping
		 * sessions keep waking, the sleepers are busy clients, not idle
		 * ones: sending one to sleep to make room for another would only
		 * trade places, so then the pool grows at once, and asks only at
		 * its process limit, where nothing else makes room. */
		int need = !idle && (waiting || woken_sent > woken_taken);
		int64_t now = now_ms();
		if (!need) need_since = -1;
		else if (need_since < 0) need_since = now;
		int64_t needed = need ? now - need_since : 0;
		int ask = resume_fn && (nworkers >= limit || now - last_wake >= WAKES_BUSY_MS);
		press(ask && need && needed >= PRESS_AFTER_MS);
		int fork_now = need && nworkers < limit && (!ask || needed >= FORK_AFTER_MS);
		if (fork_now) {
			fork_worker(sp, session, &orig);
			waiting = 0;
			continue;
		}
		/* watch the socket only when a connection would find no idle
		 * worker: then it waits for the one we fork or a worker that
		 * puts its client to sleep */
		int watch = !idle && !waiting && (nworkers < limit || resume_fn);
		size_t n = 0, at_listen = 0, at_lot = 0, nlot = 0;
		pfd[n++] = (struct pollfd){ .fd = sp[0], .events = POLLIN };
		if (resume_fn) {
			pfd[n++] = (struct pollfd){ .fd = sleep_sock[0], .events = POLLIN };
			pfd[n++] = (struct pollfd){ .fd = wake_sock[0], .events = blocked ? POLLOUT : 0 };
		}
		if (watch) {
			at_listen = n;
			pfd[n++] = (struct pollfd){ .fd = LISTEN_FD, .events = POLLIN };
		}
		if (!blocked) {
			at_lot = n;
			nlot = lot_count();
			lot_pollfds(pfd + n);
			n += nlot;
		}
		int wait_ms = blocked ? -1 : lot_timeout();
		if (need && resume_fn) { /* the next step of asking for room */
			int64_t next = (needed < PRESS_AFTER_MS ? PRESS_AFTER_MS : FORK_AFTER_MS) - needed + 1;
			if (needed >= FORK_AFTER_MS) next = 100; /* at the limit: look again now and then */
			if (wait_ms < 0 || wait_ms > next) wait_ms = (int)next;
		}
		struct timespec ts = { wait_ms / 1000, (long)(wait_ms % 1000) * 1000000 };
		int r = ppoll(pfd, n, wait_ms >= 0 ? &ts : NULL, &orig);
		if (r < 0) continue; /* a signal */
		if (resume_fn) {
			if (blocked) blocked = !(pfd[2].revents & (POLLOUT | POLLERR));
			else {
				size_t woke = lot_wake(pfd + at_lot, nlot, wake_sock[0], &blocked);
				if (woke) last_wake = now_ms();
				woken_sent += woke;
			}
			take_sleepers();
		}
		if (watch && (pfd[at_listen].revents & POLLIN)) waiting = 1;
	}
}

void serve_resumable(void (*fn)(const void *state, size_t len, int extra_fd, enum serve_wake why))
{
	resume_fn = fn;
}

void serve(char **argv, void (*session)(void))
{
	if (!given_socket()) {
		session();
		exit(0);
	}
	std_fds_open();
	exec_argv = argv;
	pool(process_limit(), session);
}

void serve_socket(int listen_fd, size_t limit, void (*session)(void))
{
	if (listen_fd != LISTEN_FD) {
		if (dup2(listen_fd, LISTEN_FD) < 0) die_sys(EXIT_TEMP, "dup2");
		close(listen_fd);
	}
	std_fds_open();
	pool(limit ? limit : process_limit(), session);
}
