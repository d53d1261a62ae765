/* qfile.c — parse and update queue files (format in qfile.h). */
#include "qfile.h"
#include "control.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int qrec_value_ok(const char *v, size_t n)
{
	if (n >= QREC_MAX) return 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] == 0 || v[i] == '\r' || v[i] == '\n') return 0;
	return 1;
}

int qid_valid(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'A' && s[n] <= 'F'))) return 0;
	return n >= 8 && n < QID_MAX;
}

static char *dupn(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s) return NULL;
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

static int set_field(char **f, const char *p, size_t n)
{
	free(*f);
	*f = dupn(p, n);
	return *f ? 0 : -1;
}

/* "addr\tnotify\torcpt" after the state byte */
static int add_rcpt(struct qenv *e, const char *p, size_t n, char state, off_t off)
{
	const char *t1 = memchr(p, '\t', n);
	const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(p + n - t1 - 1)) : NULL;
	if (!t2) return -1;
	struct qrcpt *r = realloc(e->rcpt, (e->nrcpt + 1) * sizeof *r);
	if (!r) return -1;
	e->rcpt = r;
	struct qrcpt *q = &e->rcpt[e->nrcpt];
	q->addr = dupn(p, (size_t)(t1 - p));
	q->notify = dupn(t1 + 1, (size_t)(t2 - t1 - 1));
	q->orcpt = dupn(t2 + 1, (size_t)(p + n - t2 - 1));
	q->state = state;
	q->state_off = off;
	e->nrcpt++;
	if (!q->addr || !q->notify || !q->orcpt) return -1;
	return 0;
}

int qenv_parse(const char *p, size_t n, struct qenv *e)
{
	memset(e, 0, sizeof *e);
	size_t i = 0;
	int saw_version = 0, saw_sender = 0;
	for (;;) {
		const char *nl = memchr(p + i, '\n', n - i);
		if (!nl) goto bad;
		size_t len = (size_t)(nl - (p + i));
		const char *v = p + i + 1;
		if (len == 0) { e->msg_off = (off_t)(i + 1); break; }
		if (memchr(p + i, 0, len) || memchr(p + i, '\r', len)) goto bad;
		size_t vn = len - 1;
		int r = 0;
		switch (p[i]) {
		case 'V': if (vn != 1 || *v != '1') goto bad; saw_version = 1; break;
		case 'T': {
			long long t;
			if (parse_int(v, vn, &t) < 0) goto bad;
			e->arrival = t;
			break;
		}
		case 'S': r = set_field(&e->sender, v, vn); saw_sender = 1; break;
		case 'E': r = set_field(&e->envid, v, vn); break;
		case 'N': r = set_field(&e->ret, v, vn); break;
		case 'B': r = set_field(&e->body, v, vn); break;
		case 'A': r = set_field(&e->auth, v, vn); break;
		case 'C': r = set_field(&e->client, v, vn); break;
		case 'H': r = set_field(&e->helo, v, vn); break;
		case 'U': e->smtputf8 = 1; break;
		case 'K': break; /* the seal: qseal.c checks it */
		case 'R':
			if (vn < 1 || (*v != ' ' && *v != 'D')) goto bad;
			r = add_rcpt(e, v + 1, vn - 1, *v, (off_t)(i + 1));
			break;
		default: goto bad;
		}
		if (r < 0) goto bad;
		i += len + 1;
	}
	if (!saw_version || !saw_sender || !e->nrcpt) goto bad;
	return 0;
bad:
	qenv_free(e);
	errno = EINVAL;
	return -1;
}

int qenv_read(int fd, struct qenv *e)
{
	size_t cap = 8192, len = 0;
	char *p = NULL;
	for (;;) {
		char *np = realloc(p, cap);
		if (!np) { free(p); return -1; }
		p = np;
		ssize_t k = pread(fd, p + len, cap - len, (off_t)len);
		if (k < 0 && errno == EINTR) continue;
		if (k < 0) { free(p); return -1; }
		size_t old = len;
		len += (size_t)k;
		/* the envelope ends at the first "\n\n" */
		size_t from = old ? old - 1 : 0;
		const char *q = p + from;
		int done = 0;
		while ((q = memchr(q, '\n', (size_t)(p + len - q))) && q + 1 < p + len) {
			if (q[1] == '\n') { done = 1; break; }
			q++;
		}
		if (done) break;
		if (k == 0 || cap >= QENV_MAX) { free(p); errno = EINVAL; return -1; }
		if (len == cap) cap *= 2;
	}
	int r = qenv_parse(p, len, e);
	free(p);
	return r;
}

void qenv_free(struct qenv *e)
{
	free(e->sender); free(e->envid); free(e->ret); free(e->body);
	free(e->auth); free(e->client); free(e->helo);
	for (size_t i = 0; i < e->nrcpt; i++) {
		free(e->rcpt[i].addr); free(e->rcpt[i].notify); free(e->rcpt[i].orcpt);
	}
	free(e->rcpt);
	memset(e, 0, sizeof *e);
}

int qenv_mark(int fd, const struct qenv *e, size_t i, char state, int sync)
{
	if (i >= e->nrcpt) { errno = EINVAL; return -1; }
	for (;;) {
		ssize_t k = pwrite(fd, &state, 1, e->rcpt[i].state_off);
		if (k < 0 && errno == EINTR) continue;
		if (k != 1) return -1;
		break;
	}
	e->rcpt[i].state = state;
	return sync ? fdatasync(fd) : 0;
}

void qtrigger(const char *cmd)
{
	char path[4096];
	if (root_path(path, sizeof path, QTRIGGER) < 0) return;
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) return; /* ENXIO: no qmgr reads it; it will scan at start */
	char line[300];
	size_t n = strlen(cmd);
	if (n > sizeof line - 2) n = sizeof line - 2;
	memcpy(line, cmd, n);
	line[n++] = '\n';
	ssize_t w = write(fd, line, n); /* <= PIPE_BUF: atomic */
	(void)w;
	close(fd);
}
