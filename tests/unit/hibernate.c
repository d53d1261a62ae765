/* hibernate.c — the message a sleeping session travels in (src/lib/
 * hibernate.c): a good one goes through with its descriptors; garbage,
 * short or truncated messages, lengths that do not add up and messages
 * without a connection are dropped, their descriptors closed, and the
 * next good message still goes through. And the lot: deadlines, wakes on
 * input, no room past its size. */
#include "tap.h"
#include "hibernate.h"
#include "io.h"

#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 256; fd++) n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static struct hib_msg good(int fd, int extra)
{
	struct hib_msg m;
	memset(&m, 0, sizeof m);
	memcpy(m.data, "TCPREMOTEIP=192.0.2.1", 22);
	memcpy(m.data + 22, "state", 5);
	m.h.env_len = 22;
	m.h.state_len = 5;
	m.h.deadline_ms = now_ms() + 60000;
	m.fds[0] = fd;
	m.fds[1] = extra;
	return m;
}

/* a raw message with one descriptor attached */
static void send_raw(int sock, const void *p, size_t n, int fd)
{
	union {
		struct cmsghdr c;
		char space[CMSG_SPACE(sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof ctl);
	struct iovec iov = { .iov_base = (void *)p, .iov_len = n };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		msg.msg_control = ctl.space;
		msg.msg_controllen = sizeof ctl.space;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	if (sendmsg(sock, &msg, 0) < 0) perror("sendmsg");
}

int main(void)
{
	int sp[2], conn[2], conn2[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, conn) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, conn2) < 0)
		return 1;
	int base = open_fds();
	struct hib_msg in, out = good(conn[0], conn2[0]);

	ok(hib_recv(sp[1], &in) == 0, "nothing waiting: 0");
	ok(hib_send(sp[0], &out) == 0, "a session sent");
	ok(hib_recv(sp[1], &in) == 1 && in.h.env_len == 22 && in.h.state_len == 5 &&
	   memcmp(in.data + 22, "state", 5) == 0 && in.fds[0] >= 0 && in.fds[1] >= 0,
	   "received whole, with both descriptors");
	ok(write(in.fds[0], "x", 1) == 1 && read(conn[1], &out.data[0], 1) == 1, "the descriptor is the connection");
	hib_close(&in);
	ok(open_fds() == base, "hib_close closes what came");

	/* malformed: each dropped with its descriptor closed */
	static char junk[HIB_ENV_MAX + HIB_STATE_MAX + 512];
	memset(junk, 'A', sizeof junk);
	send_raw(sp[0], junk, 10, conn[0]);
	ok(hib_recv(sp[1], &in) == -1 && open_fds() == base, "garbage: dropped, descriptor closed");
	send_raw(sp[0], junk, sizeof junk, conn[0]);
	ok(hib_recv(sp[1], &in) == -1 && open_fds() == base, "too long (truncated): dropped, descriptor closed");
	struct hib_msg bad = good(conn[0], -1);
	bad.h.magic = 0x59484231u;
	bad.h.state_len = 100; /* says more than comes */
	send_raw(sp[0], &bad, sizeof bad.h + 27, conn[0]);
	ok(hib_recv(sp[1], &in) == -1 && open_fds() == base, "lengths that do not add up: dropped");
	bad.h.state_len = UINT32_MAX;
	send_raw(sp[0], &bad, sizeof bad.h + 27, conn[0]);
	ok(hib_recv(sp[1], &in) == -1 && open_fds() == base, "a huge length: dropped");
	bad.h.state_len = 5;
	send_raw(sp[0], &bad, sizeof bad.h + 27, -1);
	ok(hib_recv(sp[1], &in) == -1, "no connection attached: dropped");
	send_raw(sp[0], "", 0, -1);
	ok(hib_recv(sp[1], &in) == -1, "an empty message: dropped");
	out = good(conn[0], -1);
	ok(hib_send(sp[0], &out) == 0 && hib_recv(sp[1], &in) == 1 && in.fds[1] == -1,
	   "after all that a good one (no second descriptor) goes through");
	hib_close(&in);
	out.h.state_len = HIB_STATE_MAX + 1;
	ok(hib_send(sp[0], &out) < 0, "a state too long is not sent");

	/* the lot */
	lot_init(2);
	ok(lot_timeout() == -1, "empty lot: no deadline");
	struct hib_msg a = good(dup(conn[0]), -1), b = good(dup(conn2[0]), -1);
	b.h.deadline_ms = now_ms() - 1;
	ok(lot_add(&a) == 0 && lot_add(&b) == 0 && lot_count() == 2, "two sessions in a lot of two");
	struct hib_msg c = good(conn[0], -1);
	ok(lot_add(&c) < 0, "no room for a third");
	ok(lot_timeout() == 0, "a deadline passed: wake now");
	struct pollfd p[2];
	lot_pollfds(p);
	ok(poll(p, 2, 0) == 0, "no input yet");
	int blocked;
	ok(lot_wake(p, 2, sp[0], &blocked) == 1 && !blocked && lot_count() == 1, "the one past its deadline woke");
	ok(hib_recv(sp[1], &in) == 1 && in.h.wake == HIB_TIMEOUT, "as a timeout");
	hib_close(&in);
	ok(write(conn[1], "MAIL\r\n", 6) == 6, "its client speaks");
	lot_pollfds(p);
	ok(poll(p, 1, 1000) == 1, "the lot sees it");
	ok(lot_wake(p, 1, sp[0], &blocked) == 1 && lot_count() == 0, "and wakes it");
	ok(hib_recv(sp[1], &in) == 1 && in.h.wake == HIB_READY, "as ready");
	hib_close(&in);
	ok(open_fds() == base, "nothing leaked");
	return done_testing();
}
