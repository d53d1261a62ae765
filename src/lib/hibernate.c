/* hibernate.c — the message a sleeping session travels in, and the lot
 * where the pool keeps it (hibernate.h). */
#include "hibernate.h"
#include "io.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HIB_MAGIC 0x59484231u /* "YHB1" */

void hib_close(struct hib_msg *m)
{
	for (int i = 0; i < 2; i++) {
		if (m->fds[i] >= 0) close(m->fds[i]);
		m->fds[i] = -1;
	}
}

int hib_send(int sock, struct hib_msg *m)
{
	if (m->h.env_len > HIB_ENV_MAX || m->h.state_len > HIB_STATE_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	m->h.magic = HIB_MAGIC;
	int nfds = m->fds[1] >= 0 ? 2 : 1;
	union {
		struct cmsghdr c;
		char space[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof ctl);
	struct iovec iov[2] = {
		{ .iov_base = &m->h, .iov_len = sizeof m->h },
		{ .iov_base = m->data, .iov_len = m->h.env_len + m->h.state_len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = ctl.space,
	                      .msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
	memcpy(CMSG_DATA(c), m->fds, (size_t)nfds * sizeof(int));
	ssize_t n;
	do n = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}

int hib_recv(int sock, struct hib_msg *m)
{
	union {
		struct cmsghdr c;
		char space[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	struct iovec iov[2] = {
		{ .iov_base = &m->h, .iov_len = sizeof m->h },
		{ .iov_base = m->data, .iov_len = sizeof m->data },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = ctl.space,
	                      .msg_controllen = sizeof ctl.space };
	m->fds[0] = m->fds[1] = -1;
	ssize_t n;
	do n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	size_t nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			if (nfds < 2) m->fds[nfds] = fd;
			else close(fd);
			nfds++;
		}
	}
	const char *bad = NULL;
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) bad = "truncated";
	else if ((size_t)n < sizeof m->h || m->h.magic != HIB_MAGIC) bad = "no header";
	else if (m->h.env_len > HIB_ENV_MAX || m->h.state_len > HIB_STATE_MAX ||
	         (size_t)n != sizeof m->h + m->h.env_len + m->h.state_len)
		bad = "lengths do not add up";
	else if (nfds < 1 || nfds > 2) bad = "no connection attached";
	if (!bad) return 1;
	log_msg("warning: dropped a hibernated session: %s", bad);
	hib_close(m);
	return -1;
}

/* ---------------------------------------------------------------- the lot */

struct sleeper {
	struct hib_header h;
	int fds[2];
	char *data;
};

static struct sleeper *lot;
static size_t nlot, caplot, maxlot;

void lot_init(size_t max)
{
	maxlot = max;
}

size_t lot_max(void)
{
	return maxlot;
}

size_t lot_count(void)
{
	return nlot;
}

int lot_add(const struct hib_msg *m)
{
	if (nlot >= maxlot) return -1;
	if (nlot == caplot) {
		size_t cap = caplot ? caplot * 2 : 64;
		if (cap > maxlot) cap = maxlot;
		struct sleeper *p = realloc(lot, cap * sizeof *p);
		if (!p) return -1;
		lot = p;
		caplot = cap;
	}
	size_t len = (size_t)m->h.env_len + m->h.state_len;
	char *data = malloc(len ? len : 1);
	if (!data) return -1;
	memcpy(data, m->data, len);
	lot[nlot++] = (struct sleeper){ m->h, { m->fds[0], m->fds[1] }, data };
	return 0;
}

void lot_forget(void)
{
	for (size_t i = 0; i < nlot; i++) {
		for (int k = 0; k < 2; k++)
			if (lot[i].fds[k] >= 0) close(lot[i].fds[k]);
		free(lot[i].data);
	}
	free(lot);
	lot = NULL;
	nlot = caplot = maxlot = 0;
}

void lot_pollfds(struct pollfd *p)
{
	for (size_t i = 0; i < nlot; i++) p[i] = (struct pollfd){ .fd = lot[i].fds[0], .events = POLLIN };
}

int lot_timeout(void)
{
	if (!nlot) return -1;
	int64_t first = lot[0].h.deadline_ms;
	for (size_t i = 1; i < nlot; i++)
		if (lot[i].h.deadline_ms < first) first = lot[i].h.deadline_ms;
	int64_t left = first - now_ms();
	if (left < 0) return 0;
	return left > 86400000 ? 86400000 : (int)left + 1; /* +1: wake after it, not just before */
}

/* Wake the sleeper at i: sent and dropped (1), or left (0, sock full) */
static int wake(size_t i, uint32_t why, int sock, int *blocked)
{
	static struct hib_msg m;
	struct sleeper *z = &lot[i];
	m.h = z->h;
	m.h.wake = why;
	memcpy(m.data, z->data, (size_t)z->h.env_len + z->h.state_len);
	m.fds[0] = z->fds[0];
	m.fds[1] = z->fds[1];
	if (hib_send(sock, &m) < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			*blocked = 1;
			return 0;
		}
		log_sys("cannot wake a hibernated session");
	}
	/* sent (the worker holds the descriptors now) or lost: either way gone
	 * from here; a lost client sees its connection close */
	hib_close(&m);
	free(z->data);
	lot[i] = lot[--nlot];
	return 1;
}

size_t lot_wake(const struct pollfd *p, size_t np, int sock, int *blocked)
{
	size_t sent = 0;
	int64_t now = now_ms();
	*blocked = 0;
	/* from the end: a removal moves the last sleeper, already seen, to i */
	for (size_t i = nlot; i-- > 0 && !*blocked;) {
		uint32_t why = HIB_ASLEEP;
		if (i < np && p[i].revents) why = HIB_READY;
		else if (lot[i].h.deadline_ms <= now) why = HIB_TIMEOUT;
		if (why != HIB_ASLEEP) sent += (size_t)wake(i, why, sock, blocked);
	}
	return sent;
}
