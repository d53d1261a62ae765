/* mtasts.c — the MTA-STS policy of a destination domain for yubin-remote
 * (RFC 8461 5): TXT _mta-sts.DOMAIN gives the policy id; the policy is
 * fetched from https://mta-sts.DOMAIN/.well-known/mta-sts.txt only when
 * that id differs from the cached one or the cached policy expired, over
 * the same TLS client as verified STARTTLS (yubin-tlsd -c, chain checked
 * against smtp_tls_CAfile or the system bundle). Policies are cached in
 * $YUBIN_ROOT/mta-sts/DOMAIN (written to a temporary file, renamed); a
 * failed fetch is remembered for STS_RETRY seconds so a broken policy host
 * costs one fetch per id and period, not one per message. The whole fetch
 * is bounded by STS_FETCH_TIMEOUT. */
#include "remote.h"
#include "control.h"
#include "log.h"
#include "tlsclient.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STS_FETCH_TIMEOUT 20      /* seconds for DNS-to-last-byte of one fetch */
#define STS_RETRY 600             /* seconds before a failed fetch is tried again */
#define STS_DIR "mta-sts"
#define RESP_MAX (STS_HEAD_MAX + 2 * STS_BODY_MAX)   /* chunk framing included */

static struct sts_policy cached, fresh;
static char resp[RESP_MAX];
static char body[STS_BODY_MAX];
static char file[STS_BODY_MAX + 256];

/* the domain as a file name: lower case LDH labels, nothing else */
static int domain_name(const char *domain, char *out, size_t max)
{
	size_t n = strlen(domain);
	if (n == 0 || n > 253 || n >= max || domain[0] == '.' || domain[0] == '-') return -1;
	for (size_t i = 0; i < n; i++) {
		char c = domain[i];
		if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return -1;
		out[i] = c;
	}
	out[n] = 0;
	return strstr(out, "..") ? -1 : 0;
}

static int cache_path(char *out, size_t max, const char *domain, const char *suffix)
{
	char rel[DNS_NAME_MAX + 32];
	snprintf(rel, sizeof rel, STS_DIR "/%s%s", domain, suffix);
	return root_path(out, max, rel);
}

static ssize_t read_small(const char *path, char *buf, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) return -1;
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, buf + len, max - len);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) break;
		len += (size_t)r;
		if (len == max) break;
	}
	close(fd);
	return (ssize_t)len;
}

/* tmp + rename in the cache directory (made here when missing: a
 * non-root instance owns its root; yubin-setup makes it for yubinr) */
static void cache_write(const char *domain, const char *suffix, const char *data, size_t n)
{
	char dir[4096], tmp[4096], path[4096];
	if (root_path(dir, sizeof dir, STS_DIR) < 0 || cache_path(path, sizeof path, domain, suffix) < 0) return;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_msg("warning: MTA-STS cache: cannot create %s: %s (run yubin-setup, or make it writable)", dir,
		        strerror(errno));
		return;
	}
	textf(tmp, sizeof tmp, "%s/.tmp.%ld", dir, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write_all(fd, data, n) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		log_msg("warning: MTA-STS cache: cannot write %s: %s", path, strerror(errno));
		if (fd >= 0) unlink(tmp);
	}
}

static volatile sig_atomic_t fetch_sock = -1, fetch_late;

/* the deadline of a fetch: cut the socket, so yubin-tlsd (mid-handshake
 * or mid-read) ends and every pipe read here returns */
static void on_alarm(int sig)
{
	(void)sig;
	fetch_late = 1;
	if (fetch_sock >= 0) shutdown(fetch_sock, SHUT_RDWR);
}

static int remaining_ms(time_t deadline)
{
	time_t left = deadline - time(NULL);
	return left > 0 ? (int)left * 1000 : 0;
}

/* read the response until it parses; 0 with body and *blen */
static int http_exchange(int rfd, int wfd, const char *host, time_t deadline, size_t *blen, char *why, size_t wmax)
{
	char req[DNS_NAME_MAX + 200];
	int n = snprintf(req, sizeof req,
	                 "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: %s\r\nUser-Agent: yubin\r\n"
	                 "Accept: text/plain\r\nConnection: close\r\n\r\n", host);
	if (n < 0 || (size_t)n >= sizeof req || write_all(wfd, req, (size_t)n) < 0) {
		textf(why, wmax, "cannot send the request");
		return -1;
	}
	size_t len = 0;
	int eof = 0;
	for (;;) {
		int st = sts_http_parse(resp, len, eof, body, sizeof body, blen, why, wmax);
		if (st == STS_HTTP_OK) return 0;
		if (st == STS_HTTP_BAD) return -1;
		if (len == sizeof resp) { textf(why, wmax, "response larger than %d bytes", RESP_MAX); return -1; }
		int t = remaining_ms(deadline);
		if (t == 0 || wait_readable(rfd, t) <= 0) { textf(why, wmax, "timeout"); return -1; }
		ssize_t r = read(rfd, resp + len, sizeof resp - len);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) { textf(why, wmax, "read: %s", strerror(errno)); return -1; }
		if (r == 0) eof = 1;
		len += (size_t)r;
	}
}

/* GET the policy file; 0 with body and *blen, -1 with why */
static int fetch(const char *domain, size_t *blen, char *why, size_t wmax)
{
	char host[DNS_NAME_MAX + 16], ip[64] = "", info[128];
	struct dns_addr addrs[8];
	size_t na = 0;
	time_t deadline = time(NULL) + STS_FETCH_TIMEOUT;
	snprintf(host, sizeof host, "mta-sts.%s", domain);
	if (dns_addrs(host, dns_families(), addrs, 8, &na) != DNS_OK || na == 0) {
		textf(why, wmax, "%s has no address", host);
		return -1;
	}
	int fd = -1, err = 0;
	for (size_t i = 0; i < na && fd < 0; i++) {
		int t = remaining_ms(deadline) / 1000;
		if (t <= 0) break;
		fd = connect_to(&addrs[i], 443, t, &err);
		dns_addr_str(&addrs[i], ip, sizeof ip);
	}
	if (fd < 0) {
		textf(why, wmax, "connect to %s[%s]:443: %s", host, ip, strerror(err ? err : ETIMEDOUT));
		return -1;
	}
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;   /* no SA_RESTART: a blocked read returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	fetch_sock = fd;
	fetch_late = 0;
	alarm(STS_FETCH_TIMEOUT);
	int rfd = -1, wfd = -1, rc = -1;
	pid_t pid = 0;
	if (tls_start_client(fd, host, "verify", &rfd, &wfd, &pid, info, sizeof info) < 0)
		textf(why, wmax, "TLS with %s[%s]: %s", host, ip, info);
	else
		rc = http_exchange(rfd, wfd, host, deadline, blen, why, wmax);
	alarm(0);
	fetch_sock = -1;
	sigaction(SIGALRM, &old, NULL);
	if (rc < 0 && fetch_late) textf(why, wmax, "%s[%s]: no answer within %d s", host, ip, STS_FETCH_TIMEOUT);
	if (rfd >= 0) close(rfd);
	if (wfd >= 0) close(wfd);
	close(fd);
	if (pid > 0) {
		/* yubin-tlsd ends once its pipes and socket are gone */
		for (int i = 0; waitpid(pid, NULL, WNOHANG) == 0; i++) {
			if (i > 100) { kill(pid, SIGKILL); waitpid(pid, NULL, 0); break; }
			usleep(10000);
		}
	}
	return rc;
}

/* the id of the one v=STSv1 record: 0; -1 none usable (RFC 8461 3.1:
 * several records or a malformed one mean no policy) */
static int txt_id(const char *domain, char *id, size_t idmax)
{
	static struct dns_answer a;
	char name[DNS_NAME_MAX + 16], one[STS_ID_MAX];
	int found = 0;
	snprintf(name, sizeof name, "_mta-sts.%s", domain);
	if (dns_txt(name, &a) != DNS_OK) return -1;
	for (size_t i = 0; i < a.n; i++) {
		if (a.rr[i].type != DNS_T_TXT) continue;
		int r = sts_txt_parse(a.txt + a.rr[i].txt_off, a.rr[i].txt_len, one, sizeof one);
		if (r == 1) continue;
		if (r < 0 || found++) return -1;
		snprintf(id, idmax, "%s", one);
	}
	return found == 1 ? 0 : -1;
}

/* a fetch for this id failed less than STS_RETRY seconds ago */
static int recently_failed(const char *domain, const char *id)
{
	char path[4096], got[STS_ID_MAX + 1];
	struct stat st;
	if (cache_path(path, sizeof path, domain, ".fail") < 0 || stat(path, &st) < 0) return 0;
	ssize_t n = read_small(path, got, sizeof got - 1);
	if (n < 0) return 0;
	got[n] = 0;
	return strcmp(got, id) == 0 && time(NULL) - st.st_mtime < STS_RETRY && time(NULL) >= st.st_mtime;
}

const struct sts_policy *mtasts_policy(const char *nexthop, char *id, size_t idmax)
{
	char domain[DNS_NAME_MAX], path[4096], txtid[STS_ID_MAX], why[300];
	time_t fetched = 0, now = time(NULL);
	int have = 0;
	id[0] = 0;
	if (!control_bool("smtp_mta_sts") || domain_name(nexthop, domain, sizeof domain) < 0) return NULL;
	if (cache_path(path, sizeof path, domain, "") == 0) {
		ssize_t n = read_small(path, file, sizeof file);
		have = n > 0 && sts_cache_parse(file, (size_t)n, id, idmax, &fetched, &cached) == 0 &&
		       now >= fetched && now - fetched < cached.max_age;
	}
	const struct sts_policy *use = have && cached.mode != STS_NONE ? &cached : NULL;
	/* no TXT record (any more, or DNS fails): a cached policy still holds
	 * until it expires (RFC 8461 5.1) */
	if (txt_id(domain, txtid, sizeof txtid) < 0) return use;
	if ((have && strcmp(txtid, id) == 0) || recently_failed(domain, txtid)) return use;
	size_t blen = 0;
	if (fetch(domain, &blen, why, sizeof why) == 0 && sts_policy_parse(body, blen, &fresh, why, sizeof why) == 0) {
		size_t n = sts_cache_make(file, sizeof file, txtid, now, body, blen);
		if (n) cache_write(domain, "", file, n);
		if (cache_path(path, sizeof path, domain, ".fail") == 0) unlink(path);
		log_msg("MTA-STS policy of %s fetched: id=%s mode=%s max_age=%lld mx patterns=%zu", domain, txtid,
		        sts_mode_name(fresh.mode), fresh.max_age, fresh.nmx);
		snprintf(id, idmax, "%s", txtid);
		cached = fresh;
		return fresh.mode != STS_NONE ? &cached : NULL;
	}
	log_msg("warning: MTA-STS policy of %s (id=%s) not fetched: %s; %s", domain, txtid, why,
	        use ? "using the cached policy" : have ? "the cached policy has mode none" : "delivering without MTA-STS");
	cache_write(domain, ".fail", txtid, strlen(txtid));
	return use;
}

int mtasts_applies(const struct batch *b, const struct qenv *e)
{
	if (!b->route.mx || b->route.port != 25) return 0;
	for (size_t i = 0; i < b->n; i++) {
		if (b->job[i].index >= e->nrcpt) return 0;
		const char *at = strrchr(e->rcpt[b->job[i].index].addr, '@');
		if (!at || strcasecmp(at + 1, b->route.nexthop) != 0) return 0;
	}
	return b->n > 0;
}

int mtasts_mx_check(const struct batch *b, const struct sts_policy *p, const char *id, const char *host,
                    struct fail *f)
{
	if (sts_mx_match(p, host)) return 0;
	if (p->mode == STS_TESTING) {
		log_msg("%s: MTA-STS policy of %s (mode testing, id %s): MX host %s is not in the policy's mx list; "
		        "delivering anyway", b->qid, b->route.nexthop, id, host);
		return 0;
	}
	fail_set(f, 0, "4.7.5", "MX host %s is not in the policy's mx list", host);
	log_msg("%s: MTA-STS policy of %s (mode enforce, id %s): MX host %s is not in the policy's mx list; "
	        "not used", b->qid, b->route.nexthop, id, host);
	return -1;
}

void mtasts_explain(struct fail *f, const char *domain, const char *id)
{
	char text[sizeof f->text];
	snprintf(text, sizeof text, "%s", f->text);
	textf(f->text, sizeof f->text, "MTA-STS policy of %s (mode enforce, id %s): %s", domain, id, text);
}
