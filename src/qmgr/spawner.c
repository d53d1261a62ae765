/* spawner.c — starting the delivery agents with the right identity.
 * Not root: qmgr forks and execs them itself. Root (systemd, yubin-run):
 * qmgr forks a small helper that stays root and only starts agents
 * (yubin-local as root, which switches to each recipient; yubin-remote as
 * yubinr), signals them and reports their exits; qmgr itself then runs as
 * yubinq. They talk over a SOCK_SEQPACKET pair: qmgr sends {'s', kind} and
 * gets {'p', pid} with the agent's two pipe ends (SCM_RIGHTS); {'k', pid,
 * sig} signals an agent; the helper sends {'x', pid, status} when one
 * exits; {'o', ID} gives queue/active/ID, written by a root yubin-queue
 * (not setuid while yubin-setup or make touched it), back to yubinq.
 * The helper and the agents die with qmgr (PR_SET_PDEATHSIG). */
#include "spawner.h"
#include "log.h"
#include "priv.h"
#include "control.h"
#include "qclient.h"
#include "qfile.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct smsg {
	char op;
	int kind;
	pid_t pid;
	int arg;   /* signal, or wait status, or errno */
	char name[QID_MAX];
};

static const char *const progs[AGENT_COUNT] = { "yubin-local", "yubin-remote" };
static int sock = -1;            /* qmgr's end; -1: direct mode */
static struct smsg exits[64];    /* exit notices read while waiting for a reply */
static size_t nexits;
static void (*on_exit_cb)(pid_t, int);

/* fork + exec one agent on two fresh pipes; to and from get our ends */
static pid_t start_agent(enum agent_kind kind, int *to, int *from)
{
	char path[4096];
	int in[2], out[2];
	if (prog_path(path, sizeof path, progs[kind]) < 0) return -1;
	if (pipe2(in, O_CLOEXEC) < 0) return -1;
	if (pipe2(out, O_CLOEXEC) < 0) { close(in[0]); close(in[1]); return -1; }
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		return -1;
	}
	if (pid == 0) {
		if (kind == AGENT_REMOTE && geteuid() == 0 && getpwnam(USER_REMOTE) && priv_drop(USER_REMOTE) < 0)
			_exit(EXIT_TEMP);
		/* after any identity change, which clears it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) _exit(EXIT_TEMP);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0) _exit(EXIT_TEMP);
		char *argv[] = { (char *)progs[kind], NULL };
		execv(path, argv);
		log_sys("cannot exec %s", path);
		_exit(EXIT_TEMP);
	}
	close(in[0]);
	close(out[1]);
	*to = in[1];
	*from = out[0];
	return pid;
}

static int send_msg(int fd, const struct smsg *m, const int *fds, int nfds)
{
	struct iovec iov = { (void *)m, sizeof *m };
	union { char b[CMSG_SPACE(2 * sizeof(int))]; struct cmsghdr align; } c;
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds) {
		memset(&c, 0, sizeof c);
		h.msg_control = c.b;
		h.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		struct cmsghdr *cm = CMSG_FIRSTHDR(&h);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	}
	for (;;) {
		ssize_t k = sendmsg(fd, &h, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR) continue;
		return k == (ssize_t)sizeof *m ? 0 : -1;
	}
}

/* one message; fds[] gets passed descriptors (-1 when none). 0, or -1 at
 * EOF/error */
static int recv_msg(int fd, struct smsg *m, int *fds)
{
	struct iovec iov = { m, sizeof *m };
	union { char b[CMSG_SPACE(2 * sizeof(int))]; struct cmsghdr align; } c;
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof c.b };
	ssize_t k;
	fds[0] = fds[1] = -1;
	while ((k = recvmsg(fd, &h, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) ;
	if (k != (ssize_t)sizeof *m) return -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&h); cm; cm = CMSG_NXTHDR(&h, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(2 * sizeof(int)))
			memcpy(fds, CMSG_DATA(cm), 2 * sizeof(int));
	return 0;
}

static uid_t queue_uid;
static gid_t queue_gid;

/* chown queue/active/ID to the queue user: only a plain file with one
 * link, opened without following links */
static int own(const char *id)
{
	char rel[QID_MAX + 32], path[4096];
	struct stat st;
	if (!qid_valid(id)) return EINVAL;
	snprintf(rel, sizeof rel, "%s/%s", QDIR_ACTIVE, id);
	if (root_path(path, sizeof path, rel) < 0) return ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) return errno;
	int err = 0;
	if (fstat(fd, &st) < 0) err = errno;
	else if (!S_ISREG(st.st_mode) || st.st_nlink != 1) err = EPERM;
	else if (fchown(fd, queue_uid, queue_gid) < 0) err = errno;
	close(fd);
	if (!err) log_msg("%s: queue file given back to %s (written by a yubin-queue that was not setuid)", id, USER_QUEUE);
	return err;
}

static volatile sig_atomic_t helper_chld;
static void helper_sigchld(int sig) { (void)sig; helper_chld = 1; }

/* The root helper: start, signal and reap agents until qmgr goes away. */
static void __attribute__((noreturn)) helper(int fd)
{
	pid_t kids[16];
	size_t nkids = 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = helper_sigchld;
	sigaction(SIGCHLD, &sa, NULL);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, 1000);
		if (helper_chld || r == 0) {
			helper_chld = 0;
			int st;
			pid_t pid;
			while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
				struct smsg x = { 'x', 0, pid, st, "" };
				send_msg(fd, &x, NULL, 0);
				for (size_t i = 0; i < nkids; i++)
					if (kids[i] == pid) kids[i] = kids[--nkids];
			}
		}
		if (r <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
		struct smsg m;
		int fds[2];
		if (recv_msg(fd, &m, fds) < 0) {
			/* qmgr is gone: so are its agents */
			for (size_t i = 0; i < nkids; i++) kill(kids[i], SIGKILL);
			_exit(0);
		}
		if (m.op == 's' && m.kind >= 0 && m.kind < AGENT_COUNT) {
			int ends[2];
			struct smsg rep = { 'p', m.kind, -1, 0, "" };
			rep.pid = nkids < sizeof kids / sizeof kids[0] ? start_agent(m.kind, &ends[0], &ends[1]) : -1;
			rep.arg = rep.pid < 0 ? errno : 0;
			send_msg(fd, &rep, ends, rep.pid > 0 ? 2 : 0);
			if (rep.pid > 0) {
				kids[nkids++] = rep.pid;
				close(ends[0]);
				close(ends[1]);
			}
		} else if (m.op == 'o') {
			m.name[sizeof m.name - 1] = 0;
			struct smsg rep = { 'o', 0, 0, own(m.name), "" };
			send_msg(fd, &rep, NULL, 0);
		} else if (m.op == 'k') {
			for (size_t i = 0; i < nkids; i++)
				if (kids[i] == m.pid) kill(m.pid, m.arg);
		}
	}
}

void spawner_init(void (*exited)(pid_t, int))
{
	on_exit_cb = exited;
	if (geteuid() != 0) return;
	if (!getpwnam(USER_QUEUE)) {
		log_msg("warning: account %s does not exist (yubin-setup makes it); running as root", USER_QUEUE);
		return;
	}
	struct passwd *pw = getpwnam(USER_QUEUE);
	queue_uid = pw->pw_uid;
	queue_gid = pw->pw_gid;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) die_sys(EXIT_TEMP, "socketpair");
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) die_sys(EXIT_TEMP, "fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) _exit(EXIT_TEMP);
		/* nothing of qmgr's but the socket: above all not the queue lock */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != sv[1] && fd != 2) close(fd);
		log_init("yubin-qmgr");
		helper(sv[1]);
	}
	close(sv[1]);
	sock = sv[0];
	if (priv_drop(USER_QUEUE) < 0) die(EXIT_TEMP, "cannot run as %s", USER_QUEUE);
}

pid_t spawner_start(enum agent_kind kind, int *to, int *from)
{
	if (sock < 0) return start_agent(kind, to, from);
	struct smsg m = { 's', kind, 0, 0, "" };
	if (send_msg(sock, &m, NULL, 0) < 0) return -1;
	for (;;) {
		int fds[2];
		if (recv_msg(sock, &m, fds) < 0) die(EXIT_TEMP, "the agent starter went away");
		if (m.op == 'x') {
			if (nexits < sizeof exits / sizeof exits[0]) exits[nexits++] = m;
			continue;
		}
		if (m.op != 'p') continue;
		if (m.pid <= 0 || fds[0] < 0) {
			if (fds[0] >= 0) close(fds[0]);
			if (fds[1] >= 0) close(fds[1]);
			errno = m.arg;
			return -1;
		}
		*to = fds[0];
		*from = fds[1];
		return m.pid;
	}
}

int spawner_own(const char *id)
{
	if (sock < 0) return -1;
	struct smsg m = { 'o', 0, 0, 0, "" };
	snprintf(m.name, sizeof m.name, "%s", id);
	if (send_msg(sock, &m, NULL, 0) < 0) return -1;
	for (;;) {
		int fds[2];
		if (recv_msg(sock, &m, fds) < 0) die(EXIT_TEMP, "the agent starter went away");
		if (m.op == 'x') {
			if (nexits < sizeof exits / sizeof exits[0]) exits[nexits++] = m;
			continue;
		}
		if (m.op != 'o') continue;
		errno = m.arg;
		return m.arg ? -1 : 0;
	}
}

void spawner_kill(pid_t pid, int sig)
{
	if (pid <= 0) return;
	if (sock < 0) { kill(pid, sig); return; }
	struct smsg m = { 'k', 0, pid, sig, "" };
	send_msg(sock, &m, NULL, 0);
}

int spawner_fd(void) { return sock; }

void spawner_events(void)
{
	for (size_t i = 0; i < nexits; i++) on_exit_cb(exits[i].pid, exits[i].arg);
	nexits = 0;
	if (sock < 0) return;
	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		if (poll(&p, 1, 0) <= 0) return;
		struct smsg m;
		int fds[2];
		if (recv_msg(sock, &m, fds) < 0) die(EXIT_TEMP, "the agent starter went away");
		if (fds[0] >= 0) close(fds[0]);
		if (fds[1] >= 0) close(fds[1]);
		if (m.op == 'x') on_exit_cb(m.pid, m.arg);
	}
}

void spawner_reap(const pid_t *pids, size_t n)
{
	if (sock >= 0) return;
	for (size_t i = 0; i < n; i++) {
		int st;
		if (pids[i] > 0 && waitpid(pids[i], &st, WNOHANG) == pids[i]) on_exit_cb(pids[i], st);
	}
}
