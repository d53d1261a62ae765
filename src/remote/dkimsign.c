/* dkimsign.c — DKIM signing on the way out. Why here and not at queue
 * time: the signature field goes on top of the message but covers the
 * body, so the signer must read the body before it writes the header;
 * yubin-remote reads the finished queue file anyway and can hash the body
 * first (pread), while smtpd streams the message into the queue as it
 * arrives. Only mail that is ours is signed: the queue file says the
 * client logged in (A record) or came from mynetworks (C record); mail
 * injected locally (no C record: sendmail, bounces) is ours unless it is
 * a forwarded copy (local delivery puts Delivered-To on those). The key
 * is control/dkim_keys' entry "selector:keyfile" for the From domain, or
 * for a parent of it (relaxed DMARC alignment). Note: smtp_generic_maps
 * rewriting a signed field (From, To, ...) breaks the signature. */
#include "dkimsign.h"
#include "cidr.h"
#include "control.h"
#include "dkim.h"
#include "log.h"
#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* the key of the last message, kept while its file is unchanged */
static struct dkim_key key;
static char key_path[4096];
static struct stat key_st;
static int key_loaded;

static const struct dkim_key *key_get(const char *path, const char *qid)
{
	struct stat st;
	char err[300];
	if (stat(path, &st) < 0) {
		log_msg("%s: warning: dkim: %s: %s", qid, path, strerror(errno));
		return NULL;
	}
	if (key_loaded && strcmp(path, key_path) == 0 && st.st_ino == key_st.st_ino && st.st_dev == key_st.st_dev &&
	    st.st_mtime == key_st.st_mtime && st.st_size == key_st.st_size)
		return &key;
	if (key_loaded) dkim_key_free(&key);
	key_loaded = 0;
	if (strlen(path) >= sizeof key_path) return NULL;
	if (dkim_key_load(&key, path, err, sizeof err) < 0) {
		log_msg("%s: warning: dkim: %s", qid, err);
		return NULL;
	}
	memcpy(key_path, path, strlen(path) + 1);
	key_st = st;
	key_loaded = 1;
	return &key;
}

/* whole header block (through its blank line) into *hdr; -2 read error,
 * -1 too large or no body separator, else its length */
static long read_header(int fd, off_t off, char **hdr, size_t *hlen, off_t *body)
{
	size_t cap = 8192, len = 0;
	char *b = NULL;
	for (;;) {
		char *nb = realloc(b, cap + 1);
		if (!nb) { free(b); return -1; }
		b = nb;
		ssize_t n = pread(fd, b + len, cap - len, off + (off_t)len);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) { free(b); return -2; }
		size_t from = len > 0 ? len - 1 : 0;
		len += (size_t)n;
		b[len] = 0;
		/* the header ends at the first empty line (or at the start) */
		if (len && b[0] == '\n') { *hdr = b; *hlen = 0; *body = off + 1; return 0; }
		char *e = memmem(b + from, len - from, "\n\n", 2);
		if (e) {
			*hlen = (size_t)(e - b) + 1;
			*hdr = b;
			*body = off + (off_t)*hlen + 1;
			return (long)*hlen;
		}
		if (n == 0) {   /* a message that is all header: no body */
			*hdr = b;
			*hlen = len;
			*body = off + (off_t)len;
			return (long)len;
		}
		if (len == cap) {
			if (cap >= DKIM_HDR_MAX) { free(b); return -1; }
			cap *= 2;
		}
	}
}

static int ours(const struct qenv *e, const char *hdr, size_t hlen)
{
	if (e->auth && *e->auth) return 1;
	if (e->client && *e->client) {
		struct ipaddr ip;
		return ip_parse(e->client, strlen(e->client), &ip) == 0 && mynetworks_match(&ip);
	}
	struct dkim_field f[DKIM_FIELDS_MAX > 64 ? 64 : DKIM_FIELDS_MAX];
	size_t nf = dkim_fields(hdr, hlen, f, sizeof f / sizeof *f);
	for (size_t i = 0; i < nf; i++)
		if (f[i].len > 13 && strncasecmp(hdr + f[i].off, "Delivered-To:", 13) == 0) return 0;
	return 1;
}

/* "selector:keyfile" for domain or its nearest parent (two labels at least) */
static char *key_entry(const char *domain, const char **signing)
{
	for (const char *d = domain; d && strchr(d, '.');) {
		char *v = NULL;
		int r = table_get("dkim_keys", d, strlen(d), &v);
		if (r > 0) { *signing = d; return v; }
		if (r < 0) return NULL;
		d = strchr(d, '.');
		if (d) d++;
	}
	return NULL;
}

static int body_hash(int fd, off_t off, unsigned char bh[32])
{
	static char in[65536];
	struct dkim_body b;
	dkim_body_init(&b, 1, -1);
	for (;;) {
		ssize_t n = pread(fd, in, sizeof in, off);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) return -2;
		if (n == 0) break;
		dkim_body_update(&b, in, (size_t)n);
		off += n;
	}
	dkim_body_final(&b, bh);
	return 0;
}

int dkim_outgoing(struct wbuf *w, const struct qenv *e, int fd, const char *qid)
{
	char *hdr = NULL, *entry = NULL, dom[256], path[4096];
	const char *signing = NULL;
	size_t hlen = 0;
	off_t body;
	unsigned char bh[32];
	struct buf sig = BUF_INIT;
	int rc = 0;

	long r = read_header(fd, e->msg_off, &hdr, &hlen, &body);
	if (r == -2) return -2;
	if (r < 0) return 0;
	if (!ours(e, hdr, hlen) || dkim_from_domain(hdr, hlen, dom, sizeof dom) < 0) goto out;
	entry = key_entry(dom, &signing);
	if (!entry) goto out;
	char *colon = strchr(entry, ':');
	if (!colon || colon == entry || !colon[1]) {
		log_msg("%s: warning: dkim: control/dkim_keys: %s: want selector:keyfile", qid, signing);
		goto out;
	}
	*colon = 0;
	const char *file = colon + 1;
	if (file[0] == '/') {
		if (strlen(file) >= sizeof path) goto out;
		memcpy(path, file, strlen(file) + 1);
	} else if (root_path(path, sizeof path, file) < 0) {
		goto out;
	}
	const struct dkim_key *k = key_get(path, qid);
	if (!k) goto out;
	if (body_hash(fd, body, bh) < 0) { rc = -2; goto out; }
	if (dkim_sign(hdr, hlen, bh, signing, entry, k, (long long)time(NULL), "\r\n", &sig) < 0) {
		log_msg("%s: warning: dkim: cannot sign for %s", qid, signing);
		goto out;
	}
	if (wbuf_put(w, sig.s, sig.len) < 0) rc = -1;
	else log_msg("%s: dkim: signed d=%s s=%s", qid, signing, entry);
out:
	buf_free(&sig);
	free(entry);
	free(hdr);
	return rc;
}
