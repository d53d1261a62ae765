/* qclient.c — the caller's side of the yubin-queue protocol (qclient.h). */
#include "qclient.h"
#include "control.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int prog_path(char *out, size_t max, const char *name)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) return -1;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (!slash) return -1;
	*slash = 0;
	int k = snprintf(out, max, "%s/%s", self, name);
	if (k < 0 || (size_t)k >= max) { errno = ENAMETOOLONG; return -1; }
	return 0;
}

int qenv_add(struct buf *env, char type, const char *value)
{
	size_t n = strlen(value);
	if (!qrec_value_ok(value, n)) { errno = EINVAL; return -1; }
	if (buf_addc(env, type) < 0 || buf_add(env, value, n) < 0 || buf_addc(env, '\n') < 0) return -1;
	return 0;
}

int qenv_add_rcpt(struct buf *env, const char *addr, const char *notify, const char *orcpt)
{
	size_t a = strlen(addr), b = strlen(notify), c = strlen(orcpt);
	if (!qrec_value_ok(addr, a) || !qrec_value_ok(notify, b) || !qrec_value_ok(orcpt, c) ||
	    memchr(addr, '\t', a) || memchr(notify, '\t', b) || memchr(orcpt, '\t', c) ||
	    a + b + c + 3 >= QREC_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (buf_addc(env, 'R') < 0 || buf_add(env, addr, a) < 0 || buf_addc(env, '\t') < 0 ||
	    buf_add(env, notify, b) < 0 || buf_addc(env, '\t') < 0 || buf_add(env, orcpt, c) < 0 ||
	    buf_addc(env, '\n') < 0)
		return -1;
	return 0;
}

/* The injector's socket, when `yubin-queue -d` runs: no exec needed. */
static int connect_injector(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char path[sizeof sun.sun_path];
	if (root_path(path, sizeof path, QINJECTOR) < 0) return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int buffers(struct qclient *q)
{
	q->w = malloc(sizeof *q->w);
	q->r = malloc(sizeof *q->r);
	if (!q->w || !q->r) { qclient_close(q); errno = ENOMEM; return -1; }
	wbuf_init(q->w, q->to, 0);
	rbuf_init(q->r, q->from, 0);
	return 0;
}

int qclient_open(struct qclient *q)
{
	int in[2], out[2];
	char path[4096];
	memset(q, 0, sizeof *q);
	q->pid = -1;
	int sock = connect_injector();
	if (sock >= 0) {
		q->to = sock;
		q->from = dup(sock);
		if (q->from < 0) { close(sock); return -1; }
		return buffers(q);
	}
	if (prog_path(path, sizeof path, "yubin-queue") < 0) return -1;
	if (pipe2(in, O_CLOEXEC) < 0) return -1;
	if (pipe2(out, O_CLOEXEC) < 0) { close(in[0]); close(in[1]); return -1; }
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	char *argv[] = { "yubin-queue", NULL };
	int err = posix_spawn(&q->pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (err) {
		close(in[1]);
		close(out[0]);
		errno = err;
		q->pid = -1;
		return -1;
	}
	q->to = in[1];
	q->from = out[0];
	return buffers(q);
}

int qclient_send_envelope(struct qclient *q, const struct buf *env)
{
	q->id[0] = 0;
	if (q->failed) return -1;
	if (wbuf_put(q->w, env->s, env->len) < 0 || wbuf_put(q->w, "\n", 1) < 0 || wbuf_flush(q->w) < 0) {
		q->failed = 1;
		return -1;
	}
	return 0;
}

int qclient_take_id(struct qclient *q)
{
	char line[128];
	size_t len;
	if (q->failed) return -1;
	if (rbuf_getline(q->r, line, sizeof line, &len, NULL) != IO_OK || !qid_valid(line)) {
		q->failed = 1;
		return -1;
	}
	memcpy(q->id, line, len + 1);
	q->in_message = 1;
	return 0;
}

int qclient_begin(struct qclient *q, const struct buf *env)
{
	return qclient_send_envelope(q, env) < 0 ? -1 : qclient_take_id(q);
}

int qclient_write(struct qclient *q, const void *p, size_t n)
{
	char hdr[24];
	if (q->failed) return -1;
	if (!n) return 0;
	int k = snprintf(hdr, sizeof hdr, "%zu\n", n);
	if (wbuf_put(q->w, hdr, (size_t)k) < 0 || wbuf_put(q->w, p, n) < 0) {
		q->failed = 1;
		return -1;
	}
	return 0;
}

int qclient_hold(struct qclient *q)
{
	if (q->failed) return -1;
	if (wbuf_put(q->w, "Q\n", 2) < 0) {
		q->failed = 1;
		return -1;
	}
	return 0;
}

int qclient_commit(struct qclient *q, char *reply, size_t max)
{
	char line[512];
	size_t len;
	snprintf(reply, max, "4.3.0 queue writer failed");
	if (!q->failed && (wbuf_put(q->w, "0\n", 2) < 0 || wbuf_flush(q->w) < 0)) q->failed = 1;
	/* after a failed write, the writer may have said why before it hung up
	 * ("defer 4.3.1" on a full disk): read it if it is there */
	if (q->failed && (!q->r || (!rbuf_pending(q->r) && wait_readable(q->from, 1000) != 1))) return -1;
	if (rbuf_getline(q->r, line, sizeof line, &len, NULL) != IO_OK) goto fail;
	if (!q->failed && strncmp(line, "ok ", 3) == 0) {
		q->in_message = 0;
		return 0;
	}
	const char *sp = strchr(line, ' ');
	if (sp && (strncmp(line, "defer ", 6) == 0 || strncmp(line, "reject ", 7) == 0)) snprintf(reply, max, "%s", sp + 1);
	q->failed = 1; /* yubin-queue exits after a failure: reopen */
	return -1;
fail:
	q->failed = 1;
	return -1;
}

int qclient_reusable(const struct qclient *q)
{
	return q->pid < 0 && q->to >= 0 && !q->failed && !q->in_message;
}

void qclient_close(struct qclient *q)
{
	if (q->to > 0) close(q->to);
	if (q->from > 0) close(q->from);
	q->to = q->from = -1;
	if (q->pid > 0) {
		int st;
		while (waitpid(q->pid, &st, 0) < 0 && errno == EINTR) ;
	}
	q->pid = -1;
	free(q->w);
	free(q->r);
	q->w = NULL;
	q->r = NULL;
}
