/* starttls.c — the protocol program's side of TLS (see starttls.h): decide
 * whether to offer it from public data only (certificate, file modes),
 * spawn yubin-tlsd with the socket and two plaintext pipes plus a status
 * pipe, and put the pipes where the socket was. */
#include "starttls.h"
#include "control.h"
#include "log.h"
#include "qclient.h"
#include "tlscert.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *security_level(const char *service)
{
	char name[80];
	snprintf(name, sizeof name, "%s_tls_security_level", service);
	if (strcmp(service, "smtpd") != 0 && control_is_set(name)) return control_get(name);
	return control_get("smtpd_tls_security_level");
}

/* What the last check saw: the answer holds while the same service sees
 * the same certificate and key files (a renewal or a chmod changes their
 * stat) and the certificate has not expired. Reused smtpd workers
 * (serve.h) thus parse the chain once, not at every EHLO. */
static struct {
	char service[40];
	struct stat cert, key;
	long long not_before, not_after;
	int ok;
} last;

int tls_available(const char *service)
{
	char cert[4096], key[4096], err[512];
	struct stat cst, kst;
	if (strcmp(security_level(service), "none") == 0) return 0;
	int p = tls_paths(service, cert, sizeof cert, key, sizeof key);
	if (p < 0) { log_msg("TLS disabled for %s: bad service name or path too long", service); return 0; }
	if (p == 0) return 0;
	time_t now = time(NULL);
	if (stat(cert, &cst) < 0) memset(&cst, 0, sizeof cst);
	if (stat(key, &kst) < 0) memset(&kst, 0, sizeof kst);
	if (strcmp(last.service, service) == 0 && cst.st_ino && kst.st_ino && tls_file_unchanged(&cst, &last.cert) &&
	    tls_file_unchanged(&kst, &last.key) && (!last.ok || (now >= last.not_before && now <= last.not_after)))
		return last.ok;
	struct tls_creds *c = malloc(sizeof *c);
	if (!c) return 0;
	int ok = 0;
	if (tls_load_cert(c, cert, err, sizeof err) < 0) {
		log_msg("TLS disabled for %s: %s", service, err);
	} else {
		if (now > c->not_after) log_msg("TLS disabled for %s: %s: certificate expired", service, cert);
		else if (now < c->not_before) log_msg("TLS disabled for %s: %s: certificate not yet valid", service, cert);
		else if (tls_key_file_ok(key, err, sizeof err) < 0) log_msg("TLS disabled for %s: %s", service, err);
		else ok = 1;
		last.not_before = c->not_before;
		last.not_after = c->not_after;
		tls_creds_free(c);
	}
	free(c);
	snprintf(last.service, sizeof last.service, "%s", service);
	last.cert = cst;
	last.key = kst;
	last.ok = ok;
	return ok;
}

/* a CLOEXEC copy of fd at 10 or above, so the dup2s in the child cannot
 * overwrite a source before it is used */
static int high(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0) { close(fds[i]); fds[i] = -1; }
}

/* the one status line from yubin-tlsd, or "" when it died first */
static void read_status(int fd, char *line, size_t max)
{
	size_t len = 0;
	while (len + 1 < max) {
		ssize_t n = read(fd, line + len, max - 1 - len);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) break;
		len += (size_t)n;
		if (memchr(line, '\n', len)) break;
	}
	line[len] = 0;
	char *nl = strchr(line, '\n');
	if (nl) *nl = 0;
}

int tlsd_spawn(char *const argv[], int in, int out, int *rfd, int *wfd, pid_t *pidp,
               char *status, size_t smax)
{
	char path[4096];
	/* f: 0/1 to-program pipe, 2/3 from-program pipe, 4/5 status pipe */
	int f[6] = { -1, -1, -1, -1, -1, -1 };
	int hi[5] = { -1, -1, -1, -1, -1 };
	if (smax) status[0] = 0;
	if (prog_path(path, sizeof path, "yubin-tlsd") < 0) {
		snprintf(status, smax, "cannot find yubin-tlsd");
		return -1;
	}
	if (pipe2(f, O_CLOEXEC) < 0 || pipe2(f + 2, O_CLOEXEC) < 0 || pipe2(f + 4, O_CLOEXEC) < 0) goto syserr;
	int srcs[5] = { in, out, f[2], f[1], f[5] };
	for (int i = 0; i < 5; i++)
		if ((hi[i] = high(srcs[i])) < 0) goto syserr;

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	static const int target[5] = { 0, 1, 3, 4, 5 };
	for (int i = 0; i < 5; i++) posix_spawn_file_actions_adddup2(&fa, hi[i], target[i]);
	/* the child must not inherit an ignored SIGPIPE or blocked signals */
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	pid_t pid;
	int err = posix_spawn(&pid, path, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close_all(hi, 5);
	if (err) {
		errno = err;
		goto syserr;
	}
	close(f[1]); f[1] = -1;
	close(f[2]); f[2] = -1;
	close(f[5]); f[5] = -1;
	read_status(f[4], status, smax);
	close(f[4]); f[4] = -1;
	if (strncmp(status, "ok ", 3) != 0) {
		char why[256];
		snprintf(why, sizeof why, "%s", status[0] ? status + (strncmp(status, "fail ", 5) ? 0 : 5)
		                                          : "yubin-tlsd ended without a status");
		snprintf(status, smax, "%s", why);
		close_all(f, 6);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) ;
		return -1;
	}
	memmove(status, status + 3, strlen(status + 3) + 1);
	*rfd = f[0];
	*wfd = f[3];
	*pidp = pid;
	return 0;

syserr:
	snprintf(status, smax, "cannot start yubin-tlsd: %s", strerror(errno));
	close_all(hi, 5);
	close_all(f, 6);
	return -1;
}

/* The status line of yubin-tlsd -d, without reading past it: the
 * plaintext that follows is the protocol's. The daemon writes the line at
 * once, so a peek normally sees all of it; otherwise byte by byte. */
static int service_status(int c, char *line, size_t max)
{
	ssize_t n;
	do n = recv(c, line, max - 1, MSG_PEEK);
	while (n < 0 && errno == EINTR);
	if (n <= 0) return -1;
	char *nl = memchr(line, '\n', (size_t)n);
	size_t want = nl ? (size_t)(nl - line) + 1 : 1, len = 0;
	while (len < max - 1) {
		do n = recv(c, line + len, want, 0);
		while (n < 0 && errno == EINTR);
		if (n <= 0) return -1;
		len += (size_t)n;
		if (line[len - 1] == '\n') {
			line[len - 1] = 0;
			return 0;
		}
		want = n == (ssize_t)want ? 1 : want - (size_t)n;
	}
	return -1;
}

/* Hand the client socket to yubin-tlsd -d. 1: done, *conn is the
 * plaintext connection and info the cipher; 0: the service is not there
 * (spawn instead); -1: it failed, info says why. */
static int via_service(const char *service, int sock, int *conn, char *info, size_t max)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (root_path(sun.sun_path, sizeof sun.sun_path, TLSD_SOCKET) < 0) return 0;
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0) return 0;
	if (connect(c, (struct sockaddr *)&sun, sizeof sun) < 0) {
		close(c);
		return 0;
	}
	const char *ip = getenv("TCPREMOTEIP");
	if (!ip || !*ip) ip = getenv("REMOTE_ADDR");
	if (!ip || !*ip || strlen(ip) > 45) ip = "unknown";
	char req[128];
	int n = snprintf(req, sizeof req, "%s%c%s", service, 0, ip);
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = req, .iov_len = (size_t)n + 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
	                      .msg_control = control.buf, .msg_controllen = sizeof control.buf };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &sock, sizeof sock);
	char line[600];
	ssize_t sent;
	do sent = sendmsg(c, &msg, MSG_NOSIGNAL);
	while (sent < 0 && errno == EINTR);
	if (sent != (ssize_t)n + 1 || service_status(c, line, sizeof line) < 0) {
		close(c);
		snprintf(info, max, "the TLS service (yubin-tlsd -d) ended the connection");
		return -1;
	}
	if (strncmp(line, "ok ", 3) != 0) {
		close(c);
		snprintf(info, max, "%s", strncmp(line, "fail ", 5) == 0 ? line + 5 : line);
		return -1;
	}
	snprintf(info, max, "%s", line + 3);
	*conn = c;
	return 1;
}

int tls_start_server(const char *service, int *in, int *out, char *info, size_t max)
{
	int c;
	int v = via_service(service, *in, &c, info, max);
	if (v < 0) return -1;
	if (v > 0) {
		/* the plaintext connection takes the socket's place, same fd
		 * numbers; the client socket itself now lives in yubin-tlsd */
		if (dup2(c, *in) < 0 || (*out != *in && dup2(c, *out) < 0)) {
			snprintf(info, max, "dup2: %s", strerror(errno));
			close(c);
			return -1;
		}
		close(c);
		return 0;
	}
	char *argv[] = { "yubin-tlsd", (char *)service, NULL };
	int r, w;
	pid_t pid;
	if (tlsd_spawn(argv, *in, *out, &r, &w, &pid, info, max) < 0) return -1;
	/* the plaintext pipes take the socket's place, same fd numbers */
	if (dup2(r, *in) < 0) goto fail;
	close(r);
	if (*out != *in) {
		if (dup2(w, *out) < 0) goto fail;
		close(w);
	} else {
		*out = w;
		fcntl(w, F_SETFD, 0);
	}
	return 1;
fail:
	snprintf(info, max, "dup2: %s", strerror(errno));
	close(r);
	close(w);
	kill(pid, SIGTERM);
	return -1;
}

/* the checks of tls_check_files() for one pair; *key_type gets the
 * certificate's key type (0 when it cannot be read) */
static int check_pair(const char *cert, const char *key, tls_report_fn *report, int *key_type)
{
	char err[512], line[8448];
	int errors = 0;
	*key_type = 0;
	struct tls_creds *c = malloc(sizeof *c);
	if (!c) { report("out of memory"); return 1; }
	if (tls_load_cert(c, cert, err, sizeof err) < 0) {
		report(err);
		free(c);
		return 1;
	}
	*key_type = c->cert_key_type;
	time_t now = time(NULL);
	if (now > c->not_after) {
		snprintf(line, sizeof line, "%s: certificate expired", cert);
		report(line);
		errors++;
	} else if (now < c->not_before) {
		snprintf(line, sizeof line, "%s: certificate not yet valid", cert);
		report(line);
		errors++;
	} else if (c->not_after - now < 30 * 86400) {
		snprintf(line, sizeof line, "warning: %s: certificate expires in %lld days", cert,
		         (long long)((c->not_after - now) / 86400));
		report(line);
	}
	if (tls_key_file_ok(key, err, sizeof err) < 0) {
		report(err);
		errors++;
	}
	if (tls_load_key(c, key, err, sizeof err) < 0) {
		if (strstr(err, strerror(EACCES)) && geteuid() != 0) {
			snprintf(line, sizeof line, "warning: %s: not readable by this user; run as root to "
			         "check that it matches the certificate", key);
			report(line);
		} else {
			report(err);
			errors++;
		}
	} else if (!tls_key_matches(c)) {
		snprintf(line, sizeof line, "%s: private key does not match the certificate %s", key, cert);
		report(line);
		errors++;
	}
	tls_creds_free(c);
	free(c);
	return errors;
}

int tls_check_files(const char *service, tls_report_fn *report)
{
	char cert[4096], key[4096], eccert[4096], eckey[4096], line[8448];
	int p = tls_paths(service, cert, sizeof cert, key, sizeof key);
	int q = tls_ecpaths(service, eccert, sizeof eccert, eckey, sizeof eckey);
	if (p < 0 || q < 0) { report("bad service name or TLS file path too long"); return 1; }
	if (p == 0) {
		report(q ? "warning: smtpd_tls_eccert_file is set but smtpd_tls_cert_file is not: TLS is off"
		         : "warning: no certificate configured (smtpd_tls_cert_file): TLS is off");
		return 0;
	}
	int kt, eckt = 0;
	int errors = check_pair(cert, key, report, &kt);
	if (q) errors += check_pair(eccert, eckey, report, &eckt);
	if (kt && kt == eckt) {
		snprintf(line, sizeof line, "%s and %s both have %s keys: one pair must be RSA, the other EC "
		         "(the second is not used)", cert, eccert, kt == BR_KEYTYPE_RSA ? "RSA" : "EC");
		report(line);
		errors++;
	}
	return errors;
}
