/* anvil.c — talk to yubin-anvil (protocol in anvil.h). One connected
 * SOCK_SEQPACKET socket per process, opened at the first event; a request
 * is one send and one receive. Everything fails soft: no socket, a dead
 * anvil or a slow one means "unavailable", logged once per process, and
 * the caller serves without limits. A socket that broke is reopened at
 * the next event (at most once a second), re-registering the connection,
 * so the limits come back when anvil is restarted. */
#include "anvil.h"
#include "control.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REPLY_TIMEOUT_MS 2000

static int fd = -1;
static int warned, hung;
static time_t last_try;
static char registered[ANVIL_IDENT_MAX]; /* ident of our C, "" if none */

static void warn_once(const char *why)
{
	if (warned) return;
	warned = 1;
	log_msg("warning: anvil service unavailable (%s); serving without client limits", why);
}

static int open_socket(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (root_path(sun.sun_path, sizeof sun.sun_path, ANVIL_SOCKET) < 0) {
		warn_once("socket path too long");
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		warn_once(strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		warn_once(strerror(errno));
		close(fd);
		fd = -1;
		return -1;
	}
	return 0;
}

/* one request and its reply; -1 closes the socket */
static int exchange(char op, const char *ident, long *count, long *rate)
{
	char req[ANVIL_REQUEST_MAX], rep[64];
	int n = snprintf(req, sizeof req, "%c %s", op, ident);
	if (n < 0 || (size_t)n >= sizeof req) return -1;
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		warn_once(strerror(errno));
		goto broken;
	}
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;
	while ((r = poll(&p, 1, REPLY_TIMEOUT_MS)) < 0 && errno == EINTR) ;
	if (r == 0) {
		/* a hung limiter must not slow every command: stop asking */
		warn_once("no reply");
		hung = 1;
		goto broken;
	}
	ssize_t k;
	while ((k = recv(fd, rep, sizeof rep - 1, 0)) < 0 && errno == EINTR) ;
	if (k <= 0) {
		warn_once(k == 0 ? "connection closed" : strerror(errno));
		goto broken;
	}
	rep[k] = 0;
	long c, t;
	if (sscanf(rep, "%ld %ld", &c, &t) != 2) {
		warn_once("bad reply");
		goto broken;
	}
	if (count) *count = c;
	if (rate) *rate = t;
	return 0;
broken:
	close(fd);
	fd = -1;
	return -1;
}

int anvil_request(char op, const char *ident, long *count, long *rate)
{
	if (count) *count = 0;
	if (rate) *rate = 0;
	if (hung || strlen(ident) >= ANVIL_IDENT_MAX) return 0;
	if (fd < 0) {
		/* a down anvil costs one connect a second; a session that merely
		 * has no socket yet (the next one in a reused worker) connects */
		time_t now = time(NULL);
		if (last_try && now == last_try) return 0;
		if (open_socket() < 0) {
			last_try = now;
			return 0;
		}
		last_try = 0;
		/* a new socket (anvil restarted): count this connection again */
		if (registered[0] && op != ANVIL_CONNECT && exchange(ANVIL_CONNECT, registered, NULL, NULL) < 0)
			return 0;
	}
	if (exchange(op, ident, count, rate) < 0) return 0;
	if (op == ANVIL_CONNECT) memcpy(registered, ident, strlen(ident) + 1);
	return 1;
}

void anvil_close(void)
{
	if (fd >= 0) close(fd);
	fd = -1;
	registered[0] = 0;
}

int anvil_release(void)
{
	int sock = fd;
	fd = -1;
	registered[0] = 0;
	return sock;
}

void anvil_adopt(int sock, const char *ident)
{
	anvil_close();
	fd = sock;
	size_t n = strnlen(ident, sizeof registered - 1);
	memcpy(registered, ident, n);
	registered[n] = 0;
}

int anvil_ident(char *out, size_t max, const char *service, const struct ipaddr *ip)
{
	char text[64];
	struct ipaddr net = *ip;
	if (ip->family == 6) {
		long long bits = control_int("smtpd_client_ipv6_prefix_length");
		if (bits < 1 || bits > 128) bits = 128;
		for (int i = 0; i < 16; i++) {
			long long keep = bits - i * 8;
			if (keep >= 8) continue;
			net.a[i] &= keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
		}
	} else if (ip->family != 4) {
		return -1;
	}
	if (ip_format(&net, text, sizeof text) < 0) return -1;
	int n = snprintf(out, max, "%s:%s", service, text);
	return n < 0 || (size_t)n >= max ? -1 : 0;
}

int anvil_exempt(const struct ipaddr *ip)
{
	const char *raw = control_raw("smtpd_client_event_limit_exceptions");
	/* "$mynetworks" means mynetworks as smtpd sees it, style included */
	if (raw && strstr(raw, "mynetworks") && mynetworks_match(ip)) return 1;
	const char *const *items;
	size_t n = control_list("smtpd_client_event_limit_exceptions", &items);
	return cidr_list_match(items, n, ip, NULL);
}

/* the ident of a login client: one counter for every service */
static int login_ident(char *out, size_t max, const char *ip_text, struct ipaddr *ip)
{
	if (!ip_text || ip_parse(ip_text, strlen(ip_text), ip) < 0) return -1;
	return anvil_ident(out, max, "login", ip);
}

int anvil_login_allowed(const char *service, const char *ip_text)
{
	long limit = (long)control_int("auth_failure_rate_limit"), rate;
	char ident[ANVIL_IDENT_MAX];
	struct ipaddr ip;
	if (limit <= 0 || login_ident(ident, sizeof ident, ip_text, &ip) < 0 || anvil_exempt(&ip)) return 1;
	if (!anvil_request(ANVIL_PEEK, ident, NULL, &rate) || rate < limit) return 1;
	log_msg("warning: Login failure rate limit exceeded: %ld from [%s] for service %s", rate, ip_text, service);
	return 0;
}

void anvil_login_failed(const char *service, const char *ip_text)
{
	(void)service;
	char ident[ANVIL_IDENT_MAX];
	struct ipaddr ip;
	if (control_int("auth_failure_rate_limit") <= 0 || login_ident(ident, sizeof ident, ip_text, &ip) < 0 ||
	    anvil_exempt(&ip))
		return;
	anvil_request(ANVIL_FAIL, ident, NULL, NULL);
}

int anvil_parse_request(const char *p, size_t n, char *op, char *ident, size_t max)
{
	if (n < 3 || p[1] != ' ' || !strchr("CMRAFL", p[0]) || p[0] == 0) return -1;
	size_t len = n - 2;
	if (len >= max || len >= ANVIL_IDENT_MAX) return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[2 + i];
		if (c <= 32 || c >= 127) return -1; /* one printable word: it reaches the log */
	}
	*op = p[0];
	memcpy(ident, p + 2, len);
	ident[len] = 0;
	return 0;
}
