/* workers.c — the persistent Maildir writers for virtual mailboxes
 * (qmail-lspawn's split without an exec per message). Each worker is
 * forked once, becomes control/virtual_user when we are root, and then
 * loops: receive one request with the queue file's descriptor attached
 * (SCM_RIGHTS on a SOCK_SEQPACKET pair, so workers need no access to the
 * queue), deliver, answer "S x.y.z text". Several workers let one
 * delivery's fsyncs overlap another's. */
#include "local.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REQ_MAX 20000

struct req {
	int64_t arrival, off, len;
	uint32_t l[6]; /* qid, sender, rcpt, addr, dir, host */
};

struct worker {
	pid_t pid;
	int sock;
	int busy;
	int retire;        /* restart when idle: virtual_user changed */
	time_t restart_at;
	uid_t uid;
	gid_t gid;
};

static struct worker *ws;
static int nw;

int workers_count(void) { return nw; }

static void worker_main(int sock)
{
	static char buf[REQ_MAX + 1];
	for (;;) {
		union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int))]; } cm;
		struct iovec iov = { buf, REQ_MAX };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cm, .msg_controllen = sizeof cm };
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) _exit(0); /* the main process is gone */
		int fd = -1;
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof fd);
		struct result r;
		struct req q;
		char *s[6];
		size_t used = sizeof q;
		int bad = fd < 0 || (size_t)n < sizeof q;
		if (!bad) {
			memcpy(&q, buf, sizeof q);
			/* the strings follow, each NUL-terminated here */
			for (int i = 0; i < 6 && !bad; i++) {
				if (q.l[i] >= (size_t)n || used + q.l[i] + 1 > (size_t)n) { bad = 1; break; }
				s[i] = buf + used;
				used += q.l[i] + 1;
				s[i][q.l[i]] = 0;
			}
		}
		if (bad) {
			result_set(&r, 'Z', "4.3.0", "malformed worker request");
		} else {
			struct message m = { s[0], s[1], s[2], q.arrival, fd, q.off, q.len };
			snprintf(cfg.host, sizeof cfg.host, "%s", s[5]);
			deliver_maildir(&m, s[3], s[4], &r);
		}
		if (fd >= 0) close(fd);
		char line[DELIVER_LINE_MAX];
		int k = snprintf(line, sizeof line, "%c %s %s\n", r.status, r.code, r.text);
		if (k < 0 || (size_t)k >= sizeof line) k = (int)sizeof line - 1;
		while (send(sock, line, (size_t)k, MSG_NOSIGNAL) < 0)
			if (errno != EINTR) _exit(0);
	}
}

static void start(int i)
{
	struct worker *w = &ws[i];
	int sv[2];
	w->pid = -1;
	w->busy = w->retire = 0;
	w->restart_at = time(NULL) + 1;
	if (cfg.root && !cfg.vuser_ok) return; /* deliveries answer with the reason */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_sys("cannot make a socket pair for a mailbox worker");
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_sys("cannot fork a mailbox worker");
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		int s = sv[1];
		close_other_fds(&s, NULL);
		if (cfg.root && become(cfg.vuid, cfg.vgid, cfg.vuser) < 0) _exit(111);
		worker_main(s);
	}
	close(sv[1]);
	w->pid = pid;
	w->sock = sv[0];
	w->uid = cfg.vuid;
	w->gid = cfg.vgid;
}

static void stop(int i)
{
	struct worker *w = &ws[i];
	if (w->pid <= 0) return;
	close(w->sock); /* the worker sees EOF and exits */
	while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR) ;
	w->pid = -1;
	w->sock = -1;
}

void workers_init(int n)
{
	ws = calloc((size_t)n, sizeof *ws);
	if (!ws) die_nomem();
	nw = n;
	for (int i = 0; i < n; i++) start(i);
}

void workers_reconfigure(void)
{
	for (int i = 0; i < nw; i++) {
		struct worker *w = &ws[i];
		int stale = w->pid > 0 && cfg.root && (w->uid != cfg.vuid || w->gid != cfg.vgid);
		if (stale) w->retire = 1;
		if (w->pid > 0 && w->retire && !w->busy) { stop(i); start(i); }
		else if (w->pid <= 0 && time(NULL) >= w->restart_at) start(i);
	}
}

int worker_idle(void)
{
	for (int i = 0; i < nw; i++)
		if (ws[i].pid > 0 && !ws[i].busy && !ws[i].retire) return i;
	return -1;
}

static int put(char *buf, size_t *used, uint32_t *len, const char *s)
{
	size_t n = strlen(s);
	if (*used + n + 1 > REQ_MAX) return -1;
	memcpy(buf + *used, s, n);
	buf[*used + n] = 0;
	*used += n + 1;
	*len = (uint32_t)n;
	return 0;
}

int worker_send(int i, const struct message *m, const char *addr, const char *dir)
{
	static char buf[REQ_MAX];
	struct req q = { m->arrival, m->off, m->len, { 0 } };
	size_t used = sizeof q;
	if (put(buf, &used, &q.l[0], m->qid) < 0 || put(buf, &used, &q.l[1], m->sender) < 0 ||
	    put(buf, &used, &q.l[2], m->rcpt) < 0 || put(buf, &used, &q.l[3], addr) < 0 ||
	    put(buf, &used, &q.l[4], dir) < 0 || put(buf, &used, &q.l[5], cfg.host) < 0) {
		errno = E2BIG;
		return -1;
	}
	memcpy(buf, &q, sizeof q);
	union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int))]; } cm;
	memset(&cm, 0, sizeof cm);
	struct iovec iov = { buf, used };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cm, .msg_controllen = sizeof cm };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &m->fd, sizeof(int));
	for (;;) {
		if (sendmsg(ws[i].sock, &mh, MSG_NOSIGNAL) >= 0) break;
		if (errno == EINTR) continue;
		ws[i].retire = 1; /* dead: not chosen again; worker_recv reaps it */
		return -1;
	}
	ws[i].busy = 1;
	return 0;
}

size_t workers_pollfds(struct pollfd *p, size_t max, int *idx)
{
	size_t n = 0;
	for (int i = 0; i < nw && n < max; i++) {
		if (ws[i].pid <= 0) continue;
		p[n].fd = ws[i].sock;
		p[n].events = POLLIN;
		p[n].revents = 0;
		idx[n++] = i;
	}
	return n;
}

int worker_recv(int i, struct result *r)
{
	char line[DELIVER_LINE_MAX];
	struct worker *w = &ws[i];
	ssize_t n;
	while ((n = recv(w->sock, line, sizeof line, 0)) < 0 && errno == EINTR) ;
	if (n > 0 && child_parse(line, (size_t)n, r) == 0) {
		w->busy = 0;
		if (w->retire) { stop(i); start(i); }
		return 1;
	}
	int was_busy = w->busy;
	int status = 0;
	close(w->sock);
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR) ;
	log_msg("warning: mailbox worker %ld %s; starting another", (long)w->pid,
	        WIFSIGNALED(status) ? "was killed" : "exited");
	w->pid = -1;
	w->sock = -1;
	w->busy = 0;
	w->restart_at = time(NULL) + 1;
	if (!was_busy) return 0;
	result_set(r, 'Z', "4.3.0", "mailbox worker died during the delivery");
	return 1;
}
