/* daemon.c — yubin-tlsd -d: TLS as a long-running service, the way
 * Postfix's tlsproxy serves smtpd. A protocol program that wants TLS
 * connects to queue/public/tlsd and sends one message, "SERVICE\0IP\0",
 * with the client's socket attached (SCM_RIGHTS). A worker of the pool
 * (serve.h) does the handshake on that socket with the certificate and key
 * it keeps loaded, writes the status line ("ok TLSv1.2 with cipher NAME\n"
 * or "fail REASON\n") on the Unix connection and from then on relays the
 * plaintext over that same connection, until either side closes. Then it
 * takes the next connection.
 *
 * What that saves against a yubin-tlsd spawned per connection: an exec, a
 * dynamic link and the parsing of the certificate and key for every TLS
 * client (some 3 ms of CPU here). What stays: the key lives only in these
 * processes (the protocol programs never see it), one TLS connection per
 * worker at a time, and no TLS state of one client in a worker while it
 * serves another (BearSSL's engine is reset for each).
 *
 * Privileges: started as root it makes the socket for yubind (only the
 * network programs may connect) and becomes yubind with group yubint, the
 * key's group, and no other groups; in any case it is not dumpable, so the
 * protocol programs running as yubind cannot ptrace it for the key. */
#include "control.h"
#include "log.h"
#include "priv.h"
#include "serve.h"
#include "starttls.h"
#include "tlsd.h"
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define REQUEST_MAX 128
#define REQUEST_TIMEOUT_MS 10000

/* what a request may name: a service ("smtpd", "submission", "pop3d",
 * "imapd") and an address or "unknown" for the logs */
static int valid_word(const char *s, size_t max, const char *allowed)
{
	size_t n = strnlen(s, max);
	return n > 0 && n < max && strspn(s, allowed) == n;
}

/* One request from fd 0: the text into req (NUL-terminated fields), the
 * attached client socket into *net. -1 when it is malformed, late or
 * carries anything but exactly one socket. */
static int receive_request(char *req, size_t max, int *net)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	if (poll(&p, 1, REQUEST_TIMEOUT_MS) != 1) return -1;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = req, .iov_len = max - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
	                      .msg_control = control.buf, .msg_controllen = sizeof control.buf };
	ssize_t n = recvmsg(0, &msg, MSG_CMSG_CLOEXEC);
	int got = 0;
	*net = -1;
	for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			if (got++ == 0) *net = fd;
			else close(fd);
		}
	}
	struct stat st;
	if (n <= 0 || got != 1 || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) || fstat(*net, &st) < 0 ||
	    !S_ISSOCK(st.st_mode)) {
		if (*net >= 0) close(*net);
		*net = -1;
		return -1;
	}
	req[n] = 0;
	return (int)n;
}

static void session(void)
{
	char req[REQUEST_MAX];
	int net;
	status_to(1, 1);
	int n = receive_request(req, sizeof req, &net);
	const char *service = req, *ip = n > 0 ? req + strnlen(req, (size_t)n) + 1 : "";
	if (n < 0 || ip >= req + n || !valid_word(service, 32, "abcdefghijklmnopqrstuvwxyz0123456789") ||
	    !valid_word(ip, 64, "0123456789abcdefABCDEF.:unkow")) {
		log_msg("warning: a malformed request on the TLS service socket; ignored");
		status("fail", "malformed request");
		if (n >= 0) close(net);
		serve_session_end(0, 1);
	}
	setenv("TCPREMOTEIP", ip, 1);
	/* relay.c closes net_in at the client's EOF while it may still write
	 * on net_out: two descriptors, one socket */
	int net_out = fcntl(net, F_DUPFD_CLOEXEC, 3);
	if (net_out < 0) {
		log_sys("dup");
		status("fail", "no file descriptors");
	} else {
		server_session(service, net, net_out, 0, 1);
		close(net_out);
	}
	close(net);
	serve_session_end(0, 1);
}

/* as root: yubind with only the key's group, yubint */
static void drop_privileges(void)
{
	struct priv_id id;
	if (priv_lookup(USER_DAEMON, &id) < 0) die(EXIT_TEMP, "no account %s: run yubin-setup", USER_DAEMON);
	struct group *g = getgrnam(TLS_KEY_GROUP);
	if (!g) die(EXIT_TEMP, "no group %s: run yubin-setup", TLS_KEY_GROUP);
	id.gid = g->gr_gid;
	id.groups[0] = g->gr_gid;
	id.ngroups = 1;
	if (priv_become(&id) < 0) die_sys(EXIT_TEMP, "cannot become %s:%s", USER_DAEMON, TLS_KEY_GROUP);
}

void daemon_main(void)
{
	/* only the network programs (yubind) may hand over connections */
	int ls = unix_listen(TLSD_SOCKET, SOCK_STREAM | SOCK_CLOEXEC, 0600, USER_DAEMON);
	if (geteuid() == 0) drop_privileges();
	if (prctl(PR_SET_DUMPABLE, 0) < 0) die_sys(EXIT_TEMP, "prctl");
	/* one worker per TLS connection of every service: by default room for
	 * four services' worth of default_process_limit */
	size_t limit = 0;
	const char *env = getenv("YUBIN_PROCESS_LIMIT");
	if (!env || !*env) {
		long long n = control_int("default_process_limit");
		limit = n > 0 && n < 2500 ? (size_t)n * 4 : 400;
	}
	serve_socket(ls, limit, session);
}
