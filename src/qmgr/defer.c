/* defer.c — queue/defer/ID: why each recipient of a deferred message is
 * still waiting, for `yubin-ctl queue`. One line per recipient,
 * "<address>\t<x.y.z>\t<reason>"; a line "#warned" records that the delay
 * warning went out. Informational only, so not fsynced; written to a
 * temporary name and renamed, so readers never see half a file. */
#include "log.h"
#include "qmgr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void add_clean(struct buf *b, const char *s)
{
	for (; *s; s++)
		if (buf_addc(b, *s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s) < 0) die_nomem();
}

int defer_write(const struct msg *m)
{
	struct buf b = BUF_INIT;
	char tmp[QID_MAX + 8];
	if (m->warned && buf_adds(&b, "#warned\n") < 0) die_nomem();
	for (size_t i = 0; i < m->env.nrcpt; i++) {
		const struct result *r = &m->res[i];
		if (r->code != 'Z') continue;
		add_clean(&b, m->env.rcpt[i].addr);
		if (buf_addf(&b, "\t%s\t", r->dsn) < 0) die_nomem();
		add_clean(&b, r->text ? r->text : "");
		if (buf_addc(&b, '\n') < 0) die_nomem();
	}
	snprintf(tmp, sizeof tmp, ".%s", m->id);
	int dir = qdir_fd(QDIR_DEFER), ret = -1;
	int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		ret = write(fd, b.s ? b.s : "", b.len) == (ssize_t)b.len ? 0 : -1;
		if (close(fd) < 0) ret = -1;
		if (ret == 0) ret = renameat(dir, tmp, dir, m->id);
		if (ret < 0) unlinkat(dir, tmp, 0);
	}
	if (ret < 0) log_sys("%s: warning: cannot write defer/%s", m->id, m->id);
	buf_free(&b);
	return ret;
}

int defer_warned(const char *id)
{
	char b[16];
	int fd = openat(qdir_fd(QDIR_DEFER), id, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 0;
	ssize_t k = read(fd, b, sizeof b);
	close(fd);
	return k >= 8 && memcmp(b, "#warned\n", 8) == 0;
}

void defer_remove(const char *id)
{
	if (unlinkat(qdir_fd(QDIR_DEFER), id, 0) < 0 && errno != ENOENT)
		log_sys("%s: cannot remove defer/%s", id, id);
}
