/* yubin-anvil — per-client connection counts and event rates shared by
 * every per-connection program (Postfix's anvil(8)); protocol in
 * src/lib/anvil.h. It listens on $YUBIN_ROOT/queue/public/anvil, a socket
 * only the network programs' account may use, and keeps no state on disk:
 * restarted, it starts counting afresh. Limits are the callers' business;
 * anvil only counts. Run by root it binds, gives the socket to yubind and
 * becomes yubind. Exit: 111 when it cannot start. */
#include "anvild.h"
#include "control.h"
#include "log.h"
#include "priv.h"
#include "unixsock.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define EVENTS 64

/* one caller: its socket and the client its C registered */
struct conn {
	int fd;
	struct client *reg;
};

static volatile sig_atomic_t stopping;
static void on_term(int sig) { (void)sig; stopping = 1; }

/* the network programs run as yubind: the socket is theirs alone */
static int listen_socket(void)
{
	int ls = unix_listen(ANVIL_SOCKET, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0600, USER_DAEMON);
	if (geteuid() == 0 && priv_drop(USER_DAEMON) < 0) die(EXIT_TEMP, "cannot become %s", USER_DAEMON);
	return ls;
}

static void more_files(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void drop(int ep, struct conn *k)
{
	if (k->reg && k->reg->count) k->reg->count--;
	epoll_ctl(ep, EPOLL_CTL_DEL, k->fd, NULL);
	close(k->fd);
	free(k);
}

static enum rate_kind kind_of(char op)
{
	switch (op) {
	case ANVIL_CONNECT: return RATE_CONN;
	case ANVIL_MAIL: return RATE_MAIL;
	case ANVIL_RCPT: return RATE_RCPT;
	case ANVIL_AUTH: return RATE_AUTH;
	default: return RATE_FAIL; /* F and L */
	}
}

/* one request from k; -1 when k is done */
static int serve(struct conn *k, time_t now, long long unit)
{
	char req[ANVIL_REQUEST_MAX + 1], ident[ANVIL_IDENT_MAX], rep[64], op;
	ssize_t n = recv(k->fd, req, sizeof req, MSG_DONTWAIT);
	if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0 || n > ANVIL_REQUEST_MAX || anvil_parse_request(req, (size_t)n, &op, ident, sizeof ident) < 0)
		return -1; /* closed, or not one of ours: hang up */
	unsigned long count = 0, rate = 0;
	struct client *c = clients_get(ident, now);
	if (c) {
		enum rate_kind kind = kind_of(op);
		if (op == ANVIL_CONNECT && k->reg != c) {
			if (k->reg && k->reg->count) k->reg->count--;
			k->reg = c;
			c->count++;
			status_note_count(c, now);
		}
		rate = op == ANVIL_PEEK ? clients_peek(c, kind, now, unit) : clients_event(c, kind, now, unit);
		if (op != ANVIL_PEEK) status_note(kind, c, rate, now);
		count = c->count;
	}
	int len = snprintf(rep, sizeof rep, "%lu %lu", count, rate);
	if (send(k->fd, rep, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) != len) return -1;
	return 0;
}

static void accept_all(int ep, int ls)
{
	for (;;) {
		int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) log_sys("warning: cannot accept a caller");
			return;
		}
		struct conn *k = calloc(1, sizeof *k);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = k };
		if (k) k->fd = fd;
		if (!k || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd); /* the caller sees a closed socket and serves without limits */
			free(k);
		}
	}
}

static long long setting_time(const char *name, long long min)
{
	long long v = control_time(name);
	return v < min ? min : v;
}

int main(int argc, char **argv)
{
	(void)argc;
	log_init(argv[0] ? argv[0] : "yubin-anvil");
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	more_files();
	int ls = listen_socket();
	clients_init();
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev) < 0) die_sys(EXIT_TEMP, "epoll");
	time_t last_status = time(NULL);
	while (!stopping) {
		struct epoll_event ev[EVENTS];
		int n = epoll_wait(ep, ev, EVENTS, 1000);
		if (n < 0 && errno != EINTR) die_sys(EXIT_TEMP, "epoll_wait");
		control_refresh(); /* a changed time unit applies at once */
		time_t now = time(NULL);
		long long unit = setting_time("anvil_rate_time_unit", 1);
		for (int i = 0; i < n; i++) {
			struct conn *k = ev[i].data.ptr;
			if (!k) accept_all(ep, ls);
			else if (serve(k, now, unit) < 0) drop(ep, k);
		}
		clients_expire(now, unit);
		if (now - last_status >= setting_time("anvil_status_update_time", 1)) {
			status_log(now, unit);
			last_status = now;
		}
	}
	status_log(time(NULL), setting_time("anvil_rate_time_unit", 1));
	return 0;
}
