/* conn.c — reach a destination: MX hosts best first (or the one host of a
 * [host] route), each host's addresses in turn (control/inet_protocols),
 * a non-blocking connect bounded by smtp_connect_timeout, then the SMTP
 * start (session.c). Stops at our own listener (a mail loop: bounce when
 * it is the best host, else the worse hosts are not tried). When nothing
 * answers, every job gets the most telling reason. */
#include "remote.h"
#include "control.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define ADDRS_MAX 16

int connect_to(const struct dns_addr *a, unsigned port, int timeout_s, int *err)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, a->a, 4);
		sl = sizeof *sin;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, a->a, 16);
		sl = sizeof *sin6;
	}
	int fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) { *err = errno; return -1; }
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		if (errno != EINPROGRESS) { *err = errno; close(fd); return -1; }
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int r;
		do r = poll(&p, 1, timeout_s > 0 ? timeout_s * 1000 : 1);
		while (r < 0 && errno == EINTR);
		if (r == 0) { *err = ETIMEDOUT; close(fd); return -1; }
		int soerr = 0;
		socklen_t el = sizeof soerr;
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0 || soerr) {
			*err = soerr ? soerr : errno;
			close(fd);
			return -1;
		}
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

void conn_policy(char *out, size_t max)
{
	textf(out, max, "%s|%s|%d|%s|%s", control_get("smtp_tls_security_level"), control_get("smtp_tls_CAfile"),
	      control_bool("smtp_sasl_auth_enable"), control_get("smtp_sasl_security_options"),
	      control_get("smtp_helo_name"));
}

void conn_close(struct conn *c, int quit)
{
	if (c->fd < 0) return;
	if (quit && !c->broken) {
		struct reply rp;
		c->w.timeout_ms = 5000;
		if (cmd_send(c, "QUIT\r\n", 6) == 0 && wbuf_flush(&c->w) == 0)
			reply_read(c, 5, &rp);
	}
	if (c->rfd != c->fd) close(c->rfd);
	if (c->wfd != c->fd && c->wfd != c->rfd) close(c->wfd);
	close(c->fd);
	if (c->helper > 0) {
		/* yubin-tlsd sends close_notify and ends once its pipe closes;
		 * give it a moment, then make sure */
		int i = 0;
		while (waitpid(c->helper, NULL, WNOHANG) == 0) {
			if (++i > 100) { kill(c->helper, SIGKILL); waitpid(c->helper, NULL, 0); break; }
			usleep(10000);
		}
	}
	c->fd = c->rfd = c->wfd = -1;
	c->helper = 0;
	c->key[0] = 0;
	c->broken = 0;
	c->tls = 0;
	c->uses = 0;
}

/* remember the worse news: a bounce beats a deferral only when it is final */
static void keep(struct fail *best, const struct fail *f)
{
	if (!best->text[0] || f->perm <= best->perm) *best = *f;
}

/* Try every address of host; 0 connected, -1 none usable, 1 loop (host is us). */
static int try_host(struct conn *c, struct batch *b, const char *host, int single, struct fail *best)
{
	struct dns_addr addrs[ADDRS_MAX];
	size_t na = 0;
	struct fail f;
	unsigned port = b->route.port;
	int st = dns_addrs(host, dns_families(), addrs, ADDRS_MAX, &na);
	if (st != DNS_OK) {
		if (st == DNS_NXDOMAIN || st == DNS_NODATA)
			fail_set(&f, single, single ? "5.4.4" : "4.4.3",
			         "Host or domain name not found. Name service error for name=%s type=A: Host not found", host);
		else
			fail_set(&f, 0, "4.4.3",
			         "Host or domain name not found. Name service error for name=%s type=A: Host not found, try again", host);
		keep(best, &f);
		return -1;
	}
	for (size_t i = 0; i < na; i++)
		if (myself_is(&addrs[i], port)) return 1;
	/* retry: the same address once more, without the MTA-STS check (mode testing) */
	int sts = c->sts, retry = 0;
	for (size_t i = 0; i < na; i += !retry) {
		char ip[64];
		int err = 0, without_sts = retry;
		retry = 0;
		dns_addr_str(&addrs[i], ip, sizeof ip);
		textf(b->relay, sizeof b->relay, "%s[%s]:%u", host, ip, port);
		int fd = connect_to(&addrs[i], port, (int)timeout_of("smtp_connect_timeout"), &err);
		if (fd < 0) {
			fail_set(&f, 0, "4.4.1", "connect to %s[%s]:%u: %s", host, ip, port,
			         err == ETIMEDOUT ? "Connection timed out" : strerror(err));
			log_msg("%s: %s", b->qid, f.text);
			keep(best, &f);
			continue;
		}
		c->fd = c->rfd = c->wfd = fd;
		c->helper = 0;
		rbuf_init(&c->r, fd, 1000);
		wbuf_init(&c->w, fd, 1000);
		snprintf(c->host, sizeof c->host, "%s", host);
		snprintf(c->ip, sizeof c->ip, "%s", ip);
		c->port = port;
		c->uses = 0;
		c->broken = 0;
		c->tls = 0;
		c->sts = without_sts ? STS_NONE : sts;
		c->sts_retry = 0;
		memset(&c->caps, 0, sizeof c->caps);
		if (session_start(c, &b->route, &f) == 0) {
			snprintf(c->key, sizeof c->key, "%s", b->route.dest);
			conn_policy(c->policy, sizeof c->policy);
			return 0;
		}
		log_msg("%s: %s", b->qid, f.text);
		retry = c->sts_retry;
		if (!retry) keep(best, &f);
		conn_close(c, !c->broken);
	}
	return -1;
}

int conn_open(struct conn *c, struct batch *b)
{
	static struct dns_mx mx[DNS_RR_MAX];
	size_t nmx = 0;
	const struct route *r = &b->route;
	int single = 0;
	textf(b->relay, sizeof b->relay, "none");
	b->conn_use = 0;
	if (r->mx) {
		int st = dns_mx(r->nexthop, mx, DNS_RR_MAX, &nmx);
		switch (st) {
		case DNS_OK:
			break;
		case DNS_NODATA:
			/* no MX: the domain's own address (RFC 5321 5.1) */
			snprintf(mx[0].host, sizeof mx[0].host, "%s", r->nexthop);
			nmx = 1;
			single = 1;
			break;
		case DNS_NULLMX:
			batch_fail(b, 'D', "5.1.10", "Domain %s does not accept mail (nullMX)", r->nexthop);
			return -1;
		case DNS_NXDOMAIN:
			batch_fail(b, 'D', "5.4.4",
			           "Host or domain name not found. Name service error for name=%s type=MX: Host not found",
			           r->nexthop);
			return -1;
		default:
			batch_fail(b, 'Z', "4.4.3",
			           "Host or domain name not found. Name service error for name=%s type=MX: Host not found, try again",
			           r->nexthop);
			return -1;
		}
	} else {
		snprintf(mx[0].host, sizeof mx[0].host, "%s", r->nexthop);
		nmx = 1;
		single = 1;
	}
	struct fail best;
	best.text[0] = 0;
	best.perm = 0;
	char sts_id[STS_ID_MAX];
	const struct sts_policy *sts = b->sts ? mtasts_policy(r->nexthop, sts_id, sizeof sts_id) : NULL;
	for (size_t i = 0; i < nmx; i++) {
		struct fail f;
		if (sts && mtasts_mx_check(b, sts, sts_id, mx[i].host, &f) < 0) { keep(&best, &f); continue; }
		c->sts = sts ? sts->mode : STS_NONE;
		int t = try_host(c, b, mx[i].host, single, &best);
		if (t == 0) return 0;
		if (t == 1) {
			if (i == 0) {
				textf(b->relay, sizeof b->relay, "none");
				batch_fail(b, 'D', "5.4.6", "mail for %s loops back to myself", r->nexthop);
				return -1;
			}
			break;   /* hosts worse than ourselves are not tried (RFC 5321 5.1) */
		}
	}
	if (!best.text[0]) fail_set(&best, 0, "4.4.1", "no usable address for %s", r->nexthop);
	if (sts && sts->mode == STS_ENFORCE) mtasts_explain(&best, r->nexthop, sts_id);
	batch_fail(b, best.perm ? 'D' : 'Z', best.status, "%s", best.text);
	return -1;
}
