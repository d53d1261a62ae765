/* child.c — deliveries that need a user's identity: a system account's
 * mailbox (after its ~/.forward), a |command, a /file, a forward. Each
 * runs in a forked child that keeps only the queue file and a result
 * pipe, becomes the user (never root) and writes one line "S x.y.z text"
 * back. Only a system account's spool mbox is created before the switch,
 * since users cannot create files in /var/mail. */
#include "local.h"
#include "buf.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORWARD_MAX 65536

int become(uid_t uid, gid_t gid, const char *user)
{
	if (!cfg.root) return 0; /* not root: we are who we are */
	if (uid == 0) {
		log_msg("refusing to deliver as root");
		return -1;
	}
	int r = user ? initgroups(user, gid) : setgroups(1, &gid);
	if (r < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		log_sys("cannot become uid %ld", (long)uid);
		return -1;
	}
	if (setuid(0) == 0) {
		log_msg("privileges were not dropped");
		return -1;
	}
	return 0;
}

void close_other_fds(int *keep1, int *keep2)
{
	int a = keep1 ? fcntl(*keep1, F_DUPFD_CLOEXEC, 64) : -1;
	int b = keep2 ? fcntl(*keep2, F_DUPFD_CLOEXEC, 64) : -1;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
	}
	close(3);
	close(4);
	if (a >= 0) { dup3(a, 3, O_CLOEXEC); *keep1 = 3; }
	if (b >= 0) { dup3(b, 4, O_CLOEXEC); *keep2 = 4; }
	close_range(5, ~0U, 0);
}

/* the mailbox of a system account: 1 Maildir, 0 mbox, -1 misconfigured */
static int mailbox_path(const struct target *t, char *out, size_t max)
{
	const char *hm = cfg.home_mailbox;
	size_t n = strlen(hm);
	int k;
	if (n == 0) k = snprintf(out, max, "%s/%s", cfg.spool, t->user);
	else if (hm[0] == '/' || strstr(hm, "..")) return -1;
	else k = snprintf(out, max, "%s/%s", t->home, hm);
	if (k < 0 || (size_t)k >= max) return -1;
	return n && hm[n - 1] == '/';
}

/* As root, before the switch: a missing spool mbox is created for the
 * user, as users cannot create files in a root-owned mail spool. */
static void spool_precreate(const struct target *t)
{
	char path[4096];
	struct stat dir;
	if (!cfg.root || cfg.home_mailbox[0] || mailbox_path(t, path, sizeof path) != 0) return;
	if (stat(cfg.spool, &dir) < 0) return;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) return; /* exists (or cannot): the delivery will say */
	if (fchown(fd, t->uid, dir.st_gid) < 0) {
		log_sys("cannot give %s to %s", path, t->user);
		close(fd);
		unlink(path);
		return;
	}
	close(fd);
}

static void to_mailbox(const struct message *m, const struct target *t, struct result *r)
{
	char path[4096];
	int kind = mailbox_path(t, path, sizeof path);
	if (kind < 0)
		result_set(r, 'Z', "4.3.5", "control/home_mailbox \"%s\" must be a path relative to the home directory",
		           cfg.home_mailbox);
	else if (kind == 1)
		deliver_maildir(m, t->addr, path, r);
	else
		deliver_mbox(m, t->addr, path, r);
}

/* ~/.forward, read as the user: 1 with *text, 0 none (or ignored) */
static int read_forward(const struct message *m, const struct target *t, char **text, size_t *len)
{
	char path[4096];
	if (snprintf(path, sizeof path, "%s/.forward", t->home) >= (int)sizeof path) return 0;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) return 0;
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) goto out;
	if ((st.st_uid != t->uid && st.st_uid != 0) || (st.st_mode & 022)) {
		log_msg("%s: warning: ignoring %s: it must belong to %s and not be group or world writable",
		        m->qid, path, t->user);
		goto out;
	}
	if (st.st_size > FORWARD_MAX) {
		log_msg("%s: warning: ignoring %s: longer than %d bytes", m->qid, path, FORWARD_MAX);
		goto out;
	}
	*text = malloc((size_t)st.st_size + 1);
	ssize_t k = *text ? read(fd, *text, (size_t)st.st_size) : -1;
	if (k < 0) { free(*text); goto out; }
	*len = (size_t)k;
	r = 1;
out:
	close(fd);
	return r;
}

struct fwd {
	const struct message *m;
	const struct target *t;
	struct result acc;
	int have, self;
	struct buf to;
};

static void forward_item(const char *item, size_t n, void *arg)
{
	struct fwd *f = arg;
	char s[4096];
	struct result r;
	if (n >= sizeof s) return;
	memcpy(s, item, n);
	s[n] = 0;
	const char *dom = strrchr(f->t->addr, '@');
	size_t ul = strlen(f->t->user);
	if (s[0] == '\\' || strcasecmp(s, f->t->user) == 0 || strcasecmp(s, f->t->addr) == 0 ||
	    (dom && strncasecmp(s, f->t->user, ul) == 0 && strcasecmp(s + ul, dom) == 0)) {
		/* "\user", or the user's own name: keep a copy in the mailbox.
		 * ("\other" would be another user's mailbox: forward it.) */
		if (s[0] != '\\' || strcasecmp(s + 1, f->t->user) == 0) { f->self = 1; return; }
		memmove(s, s + 1, n);
	}
	if (s[0] == '|') {
		const char *cmd = s + 1;
		while (*cmd == ' ') cmd++;
		deliver_program(f->m, f->t->addr, cmd, f->t->user, f->t->home, &r);
	} else if (s[0] == '/') {
		if (strcmp(s, "/dev/null") == 0) result_set(&r, 'K', "2.0.0", "discarded (/dev/null)");
		else deliver_mbox(f->m, f->t->addr, s, &r);
	} else if (strncasecmp(s, ":include:", 9) == 0) {
		log_msg("%s: warning: %s/.forward: :include: is not allowed there", f->m->qid, f->t->home);
		return;
	} else {
		char *a = s;
		size_t al = strlen(a);
		if (al >= 2 && a[0] == '<' && a[al - 1] == '>') { a[al - 1] = 0; a++; }
		if (!*a) return;
		if (f->to.len) buf_addc(&f->to, '\n');
		buf_adds(&f->to, a);
		if (!strchr(a, '@') && dom) buf_adds(&f->to, dom);
		return;
	}
	result_merge(&f->acc, &r, &f->have);
}

static void system_delivery(const struct message *m, const struct target *t, struct result *r)
{
	char *text = NULL;
	size_t len = 0;
	if (!read_forward(m, t, &text, &len)) { to_mailbox(m, t, r); return; }
	struct fwd f = { .m = m, .t = t, .to = BUF_INIT };
	items_split(text, len, forward_item, &f);
	free(text);
	struct result sub;
	if (f.to.len) {
		deliver_forward(m, t->addr, f.to.s, &sub);
		result_merge(&f.acc, &sub, &f.have);
	}
	if (f.self || !f.have) { /* an empty .forward keeps mail in the mailbox */
		to_mailbox(m, t, &sub);
		result_merge(&f.acc, &sub, &f.have);
	}
	buf_free(&f.to);
	*r = f.acc;
}

pid_t child_start(const struct message *m, const struct target *t, int *fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		*fd = p[0];
		return pid;
	}
	/* the child */
	signal(SIGPIPE, SIG_IGN);
	int out = p[1], qfd = m->fd;
	close_other_fds(&out, &qfd);
	struct message mm = *m;
	mm.fd = qfd;
	struct result r;
	if (t->kind == T_SYSTEM) spool_precreate(t);
	if (become(t->uid, t->gid, t->user) < 0) {
		result_set(&r, 'Z', "4.3.0", "cannot switch to the account of %s", t->addr);
	} else {
		switch (t->kind) {
		case T_SYSTEM: system_delivery(&mm, t, &r); break;
		case T_PROGRAM: deliver_program(&mm, t->addr, t->arg, t->user, t->home, &r); break;
		case T_FILE: deliver_mbox(&mm, t->addr, t->arg, &r); break;
		case T_FORWARD: deliver_forward(&mm, t->addr, t->arg, &r); break;
		case T_MAILDIR: deliver_maildir(&mm, t->addr, t->arg, &r); break;
		}
	}
	char line[DELIVER_LINE_MAX];
	int n = snprintf(line, sizeof line, "%c %s %s\n", r.status, r.code, r.text);
	if (n > 0 && write(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) _exit(EXIT_FAILURE);
	_exit(0);
}

int child_parse(const char *line, size_t n, struct result *r)
{
	if (n < 8 || (line[0] != 'K' && line[0] != 'Z' && line[0] != 'D') || line[1] != ' ') return -1;
	const char *code = line + 2, *sp = memchr(code, ' ', n - 2);
	if (!sp || sp - code >= (long)sizeof r->code) return -1;
	size_t tl = n - (size_t)(sp + 1 - line);
	while (tl && (sp[tl] == '\n')) tl--;
	result_set(r, line[0], "", "%.*s", (int)tl, sp + 1);
	memcpy(r->code, code, (size_t)(sp - code));
	r->code[sp - code] = 0;
	return 0;
}
