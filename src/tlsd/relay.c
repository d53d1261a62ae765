/* relay.c — the BearSSL engine loop: poll exactly the fds the engine's
 * state asks for (records to send, records wanted, plaintext to deliver,
 * room for plaintext), move bytes with single non-blocking reads/writes,
 * and end cleanly: the program closing its pipe sends close_notify; the
 * client closing delivers what is left and then EOF to the program.
 * Before the handshake completes the wait is bounded; afterwards idle
 * timeouts are the protocol program's business. */
#include "tlsd.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

static int again(void) { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

static void close_fd(int *fd)
{
	if (*fd >= 0) close(*fd);
	*fd = -1;
}

/* the plaintext to the program ends: with the daemon, app_out is the same
 * socket as app_in on another fd, so closing it alone would not tell the
 * program; a shutdown does (on a pipe it fails harmlessly) */
static void close_app_out(struct relay *r)
{
	if (r->app_out >= 0) (void)shutdown(r->app_out, SHUT_WR);
	close_fd(&r->app_out);
}

/* the program is gone or done: send what it wrote, then close_notify */
static void app_closed(br_ssl_engine_context *eng, struct relay *r)
{
	close_fd(&r->app_in);
	br_ssl_engine_flush(eng, 0);
	br_ssl_engine_close(eng);
}

/* one pass of I/O for whichever fds poll reported; -1: the connection is
 * unusable (r->io_error says why) */
static int move(br_ssl_engine_context *eng, struct relay *r, const struct pollfd *p, const int *slot)
{
	unsigned char *buf;
	size_t len;
	ssize_t n;
	if (slot[0] >= 0 && p[slot[0]].revents) {               /* records -> client */
		buf = br_ssl_engine_sendrec_buf(eng, &len);
		n = buf ? write(r->net_out, buf, len) : 0;
		if (n > 0) br_ssl_engine_sendrec_ack(eng, (size_t)n);
		else if (n < 0 && !again()) { r->io_error = BR_ERR_IO; return -1; }
	}
	if (slot[2] >= 0 && p[slot[2]].revents && r->app_out >= 0) {   /* plaintext -> program */
		buf = br_ssl_engine_recvapp_buf(eng, &len);
		n = buf ? write(r->app_out, buf, len) : 0;
		if (n > 0) br_ssl_engine_recvapp_ack(eng, (size_t)n);
		else if (n < 0 && !again()) { close_app_out(r); app_closed(eng, r); }
	}
	if (slot[1] >= 0 && p[slot[1]].revents && r->net_in >= 0) {    /* client -> records */
		buf = br_ssl_engine_recvrec_buf(eng, &len);
		n = buf ? read(r->net_in, buf, len) : 0;
		if (n > 0) br_ssl_engine_recvrec_ack(eng, (size_t)n);
		else if (n == 0 || !again()) {
			close_fd(&r->net_in);
			if (!r->ready) { r->io_error = BR_ERR_IO; return -1; }
		}
	}
	if (slot[3] >= 0 && p[slot[3]].revents && r->app_in >= 0) {    /* program -> plaintext */
		buf = br_ssl_engine_sendapp_buf(eng, &len);
		n = buf ? read(r->app_in, buf, len) : -1;
		if (n > 0) {
			br_ssl_engine_sendapp_ack(eng, (size_t)n);
			br_ssl_engine_flush(eng, 0);
		} else if (n == 0 || !again()) {
			app_closed(eng, r);
		}
	}
	return 0;
}

int relay_run(br_ssl_engine_context *eng, struct relay *r)
{
	int fds[4] = { r->net_in, r->net_out, r->app_in, r->app_out };
	for (int i = 0; i < 4; i++) {
		int fl = fcntl(fds[i], F_GETFL);
		if (fl >= 0) fcntl(fds[i], F_SETFL, fl | O_NONBLOCK);
	}
	/* records go out as soon as they are complete: with Nagle, a flight
	 * of small handshake records waits for the peer's delayed ACK */
	int one = 1;
	(void)setsockopt(r->net_out, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	for (;;) {
		unsigned st = br_ssl_engine_current_state(eng);
		if (st & BR_SSL_CLOSED) break;
		if (!r->ready && (st & BR_SSL_SENDAPP)) {
			r->ready = 1;
			r->on_ready(eng, r->arg);
		}
		/* the client is gone and everything it sent was delivered */
		if (r->net_in < 0 && r->app_out >= 0 && !(st & BR_SSL_RECVAPP)) close_app_out(r);
		/* the program is gone and close_notify is out: done */
		if (r->app_in < 0 && r->ready && !(st & BR_SSL_SENDREC)) break;

		struct pollfd p[4];
		int slot[4] = { -1, -1, -1, -1 }, n = 0;
		if (st & BR_SSL_SENDREC) { slot[0] = n; p[n++] = (struct pollfd){ r->net_out, POLLOUT, 0 }; }
		if ((st & BR_SSL_RECVREC) && r->net_in >= 0) { slot[1] = n; p[n++] = (struct pollfd){ r->net_in, POLLIN, 0 }; }
		if ((st & BR_SSL_RECVAPP) && r->app_out >= 0) { slot[2] = n; p[n++] = (struct pollfd){ r->app_out, POLLOUT, 0 }; }
		if ((st & BR_SSL_SENDAPP) && r->app_in >= 0) { slot[3] = n; p[n++] = (struct pollfd){ r->app_in, POLLIN, 0 }; }
		if (n == 0) {
			if (!r->ready) r->io_error = BR_ERR_IO;
			break;
		}
		int k = poll(p, (nfds_t)n, r->ready ? -1 : r->handshake_timeout_ms);
		if (k < 0 && errno == EINTR) continue;
		if (k < 0) { r->io_error = BR_ERR_IO; break; }
		if (k == 0) { r->timed_out = 1; break; }
		if (move(eng, r, p, slot) < 0) break;
	}
	close_app_out(r);
	close_fd(&r->app_in);
	return r->io_error ? r->io_error : br_ssl_engine_last_error(eng);
}
