/* relay.c — the BearSSL engine loop between the client socket and the
 * protocol program, ending cleanly: the program closing its side sends
 * close_notify; the client closing delivers what is left and then EOF to
 * the program. Before the handshake completes the wait is bounded;
 * afterwards idle timeouts are the protocol program's business.
 *
 * System calls are what a TLS connection costs here (each ~1 us, plus the
 * wakeups), so: records arrive through a read-ahead buffer, one read for
 * whatever the socket holds, where BearSSL alone would ask for each
 * record's 5-byte header and its body separately; and output (records to
 * the client, plaintext to the program) is written at once, with a poll
 * only when a write would block. poll() is called only when nothing can
 * move without waiting. */
#include "tlsd.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
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

/* bytes read from the client and not yet taken by the engine */
struct inbuf {
	unsigned char data[16384];
	size_t pos, len;
};

/* Everything that can move without waiting. Returns 1 when something
 * moved, 0 when all of it must wait (*out_blocked / *app_blocked say
 * which writes), -1 when the connection is unusable (r->io_error). */
static int move(br_ssl_engine_context *eng, struct relay *r, struct inbuf *in, int *out_blocked,
                int *app_blocked)
{
	unsigned st = br_ssl_engine_current_state(eng);
	unsigned char *buf;
	size_t len;
	ssize_t n;
	if ((st & BR_SSL_SENDREC) && !*out_blocked) {               /* records -> client */
		buf = br_ssl_engine_sendrec_buf(eng, &len);
		n = write(r->net_out, buf, len);
		if (n > 0) { br_ssl_engine_sendrec_ack(eng, (size_t)n); return 1; }
		if (n < 0 && !again()) { r->io_error = BR_ERR_IO; return -1; }
		*out_blocked = 1;
	}
	if ((st & BR_SSL_RECVAPP) && r->app_out >= 0 && !*app_blocked) {   /* plaintext -> program */
		buf = br_ssl_engine_recvapp_buf(eng, &len);
		n = write(r->app_out, buf, len);
		if (n > 0) { br_ssl_engine_recvapp_ack(eng, (size_t)n); return 1; }
		if (n < 0 && !again()) { close_app_out(r); app_closed(eng, r); return 1; }
		*app_blocked = 1;
	}
	if ((st & BR_SSL_RECVREC) && in->pos < in->len) {           /* buffered records -> engine */
		buf = br_ssl_engine_recvrec_buf(eng, &len);
		size_t k = in->len - in->pos < len ? in->len - in->pos : len;
		memcpy(buf, in->data + in->pos, k);
		in->pos += k;
		br_ssl_engine_recvrec_ack(eng, k);
		return 1;
	}
	return 0;
}

/* Wait for what the engine's state asks for and do the reads that poll
 * allows. 0 to go on, -1 to stop. */
static int wait_and_read(br_ssl_engine_context *eng, struct relay *r, struct inbuf *in, int *out_blocked,
                         int *app_blocked)
{
	unsigned st = br_ssl_engine_current_state(eng);
	struct pollfd p[4];
	int slot[4] = { -1, -1, -1, -1 }, n = 0;
	if ((st & BR_SSL_SENDREC) && *out_blocked) { slot[0] = n; p[n++] = (struct pollfd){ r->net_out, POLLOUT, 0 }; }
	if ((st & BR_SSL_RECVREC) && r->net_in >= 0 && in->pos == in->len) {
		slot[1] = n;
		p[n++] = (struct pollfd){ r->net_in, POLLIN, 0 };
	}
	if ((st & BR_SSL_RECVAPP) && r->app_out >= 0 && *app_blocked) {
		slot[2] = n;
		p[n++] = (struct pollfd){ r->app_out, POLLOUT, 0 };
	}
	if ((st & BR_SSL_SENDAPP) && r->app_in >= 0) { slot[3] = n; p[n++] = (struct pollfd){ r->app_in, POLLIN, 0 }; }
	if (n == 0) {
		if (!r->ready) r->io_error = BR_ERR_IO;
		return -1;
	}
	int k = poll(p, (nfds_t)n, r->ready ? -1 : r->handshake_timeout_ms);
	if (k < 0 && errno == EINTR) return 0;
	if (k < 0) { r->io_error = BR_ERR_IO; return -1; }
	if (k == 0) { r->timed_out = 1; return -1; }
	if (slot[0] >= 0 && p[slot[0]].revents) *out_blocked = 0;
	if (slot[2] >= 0 && p[slot[2]].revents) *app_blocked = 0;
	if (slot[1] >= 0 && p[slot[1]].revents) {                   /* client -> read-ahead */
		ssize_t got = read(r->net_in, in->data, sizeof in->data);
		if (got > 0) {
			in->pos = 0;
			in->len = (size_t)got;
		} else if (got == 0 || !again()) {
			close_fd(&r->net_in);
			if (!r->ready) { r->io_error = BR_ERR_IO; return -1; }
		}
	}
	if (slot[3] >= 0 && p[slot[3]].revents && r->app_in >= 0) {   /* program -> plaintext */
		size_t len;
		unsigned char *buf = br_ssl_engine_sendapp_buf(eng, &len);
		ssize_t got = buf ? read(r->app_in, buf, len) : -1;
		if (got > 0) {
			br_ssl_engine_sendapp_ack(eng, (size_t)got);
			br_ssl_engine_flush(eng, 0);
		} else if (got == 0 || !again()) {
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
		if (fl >= 0 && !(fl & O_NONBLOCK)) fcntl(fds[i], F_SETFL, fl | O_NONBLOCK);
	}
	/* records go out as soon as they are complete: with Nagle, a flight
	 * of small handshake records waits for the peer's delayed ACK */
	int one = 1;
	(void)setsockopt(r->net_out, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct inbuf in = { .pos = 0, .len = 0 };
	int out_blocked = 0, app_blocked = 0;
	for (;;) {
		unsigned st = br_ssl_engine_current_state(eng);
		if (st & BR_SSL_CLOSED) break;
		if (!r->ready && (st & BR_SSL_SENDAPP)) {
			r->ready = 1;
			r->on_ready(eng, r->arg);
		}
		/* the client is gone and everything it sent was delivered */
		if (r->net_in < 0 && in.pos == in.len && r->app_out >= 0 && !(st & BR_SSL_RECVAPP)) close_app_out(r);
		/* the program is gone and close_notify is out: done */
		if (r->app_in < 0 && r->ready && !(st & BR_SSL_SENDREC)) break;
		int m = move(eng, r, &in, &out_blocked, &app_blocked);
		if (m < 0) break;
		if (m > 0) continue;
		if (wait_and_read(eng, r, &in, &out_blocked, &app_blocked) < 0) break;
	}
	close_app_out(r);
	close_fd(&r->app_in);
	return r->io_error ? r->io_error : br_ssl_engine_last_error(eng);
}
