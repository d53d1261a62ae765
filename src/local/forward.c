/* forward.c — send a copy on to addresses an alias, virtual alias or
 * .forward names outside this delivery: a new message through
 * yubin-queue (qclient.h), same sender, with "Delivered-To: <address
 * that forwarded>" prepended so a loop back here is caught. */
#include "local.h"
#include "buf.h"
#include "qclient.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void deliver_forward(const struct message *m, const char *addr, const char *addrs, struct result *r)
{
	static char chunk[65536];
	char head[4200], reply[512];
	struct buf env = BUF_INIT;
	struct qclient q;
	int loop = msg_loop_check(m, addr);
	if (loop < 0) { result_errno(r, errno, "cannot read queue file %s", m->qid); return; }
	if (loop) { result_set(r, 'D', "5.4.6", "mail forwarding loop for %s", addr); return; }
	int hl = msg_head(head, sizeof head, m, addr, 0);
	if (hl < 0 || qenv_add(&env, 'S', m->sender) < 0) {
		result_set(r, 'D', "5.1.3", "cannot forward: bad address");
		buf_free(&env);
		return;
	}
	size_t count = 0;
	for (const char *p = addrs; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char a[QREC_MAX];
		if (n && n < sizeof a) {
			memcpy(a, p, n);
			a[n] = 0;
			if (qenv_add_rcpt(&env, a, "", "") < 0) {
				result_set(r, 'D', "5.1.3", "cannot forward to <%s>: bad address", a);
				buf_free(&env);
				return;
			}
			count++;
		}
		p += n + (nl ? 1 : 0);
	}
	if (qclient_open(&q) < 0) {
		result_errno(r, errno, "cannot start yubin-queue to forward");
		buf_free(&env);
		return;
	}
	snprintf(reply, sizeof reply, "yubin-queue did not take the message");
	int ok = qclient_begin(&q, &env) == 0 && qclient_write(&q, head, (size_t)hl) == 0;
	for (off_t pos = 0; ok && pos < m->len;) {
		size_t want = m->len - pos > (off_t)sizeof chunk ? sizeof chunk : (size_t)(m->len - pos);
		ssize_t k = pread(m->fd, chunk, want, m->off + pos);
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0) { ok = 0; snprintf(reply, sizeof reply, "cannot read queue file"); break; }
		ok = qclient_write(&q, chunk, (size_t)k) == 0;
		pos += k;
	}
	if (ok && qclient_commit(&q, reply, sizeof reply) == 0)
		result_set(r, 'K', "2.0.0", "forwarded as %s to %zu address%s", q.id, count, count == 1 ? "" : "es");
	else if (ok && reply[0] == '5')
		result_set(r, 'D', "5.3.0", "forwarding refused: %s", reply);
	else
		result_set(r, 'Z', "4.3.0", "forwarding failed: %s", reply);
	qclient_close(&q);
	buf_free(&env);
}
