/* resolve.c — a recipient becomes targets, in Postfix's order: virtual
 * aliases (control/virtual, virtual.regexp) for every domain; aliases
 * (control/aliases) for every local domain, unqualified targets taking
 * the domain being resolved; then a virtual user's Maildir or a system
 * account (whose ~/.forward its own child reads). Addresses an expansion
 * sends elsewhere are collected into one forward. Each address expands
 * once per job (so "a: a, b" ends in a's mailbox), nesting is limited,
 * and a destination named twice gets one copy. */
#include "local.h"
#include "addr.h"
#include "buf.h"
#include "control.h"
#include "log.h"
#include "recipient.h"
#include "rewrite.h"
#include "table.h"
#include "users.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define INCLUDE_MAX (1 << 20)

/* whose rights a |command or /file from an alias gets */
struct privs {
	int ok;
	uid_t uid;
	gid_t gid;
	char user[64];
	char home[1024];
};

struct ctx {
	struct tlist *out;
	struct result *err;
	int failed;             /* temporary trouble: deliver nothing */
	int bounced;            /* a member failed for good (err says why) */
	int discarded;          /* an item was /dev/null */
	char **seen;            /* addresses already expanded */
	size_t nseen, capseen;
	struct buf fwd;         /* forwards, '\n'-separated */
	size_t nfwd;
};

static void fail(struct ctx *c, char status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fail(struct ctx *c, char status, const char *code, const char *fmt, ...)
{
	if (c->failed || (status == 'D' && c->bounced)) return;
	char text[DELIVER_TEXT_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	result_set(c->err, status, code, "%s", text);
	/* a permanent failure of one member leaves the others to deliver;
	 * a temporary one stops everything until the retry */
	if (status == 'D') c->bounced = 1;
	else c->failed = 1;
}

void tlist_free(struct tlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->t[i].addr); free(l->t[i].arg); free(l->t[i].user); free(l->t[i].home);
	}
	free(l->t);
	memset(l, 0, sizeof *l);
}

static int seen(struct ctx *c, const char *addr)
{
	for (size_t i = 0; i < c->nseen; i++)
		if (strcasecmp(c->seen[i], addr) == 0) return 1;
	return 0;
}

static void mark_seen(struct ctx *c, const char *addr)
{
	if (c->nseen == c->capseen) {
		size_t nc = c->capseen ? c->capseen * 2 : 8;
		char **s = realloc(c->seen, nc * sizeof *s);
		if (!s) { fail(c, 'Z', "4.3.0", "out of memory"); return; }
		c->seen = s;
		c->capseen = nc;
	}
	if (!(c->seen[c->nseen] = strdup(addr))) { fail(c, 'Z', "4.3.0", "out of memory"); return; }
	c->nseen++;
}

static int too_many(struct ctx *c)
{
	if (c->out->n + c->nfwd < MAX_TARGETS) return 0;
	fail(c, 'D', "5.3.0", "alias expansion gives more than %d destinations", MAX_TARGETS);
	return 1;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void add_target(struct ctx *c, enum tkind kind, const char *addr, const char *arg,
                       const char *user, const char *home, uid_t uid, gid_t gid)
{
	if (c->failed || too_many(c)) return;
	for (size_t i = 0; i < c->out->n; i++) { /* one copy per destination */
		const struct target *t = &c->out->t[i];
		if (t->kind == kind && strcmp(t->arg, arg) == 0 && t->uid == uid) return;
	}
	if (c->out->n == c->out->cap) {
		size_t nc = c->out->cap ? c->out->cap * 2 : 4;
		struct target *t = realloc(c->out->t, nc * sizeof *t);
		if (!t) { fail(c, 'Z', "4.3.0", "out of memory"); return; }
		c->out->t = t;
		c->out->cap = nc;
	}
	struct target *t = &c->out->t[c->out->n];
	memset(t, 0, sizeof *t);
	t->kind = kind;
	t->uid = uid;
	t->gid = gid;
	t->addr = strdup(addr);
	t->arg = strdup(arg);
	t->user = dup_or_null(user);
	t->home = dup_or_null(home);
	c->out->n++;
	if (!t->addr || !t->arg || (user && !t->user) || (home && !t->home))
		fail(c, 'Z', "4.3.0", "out of memory");
}

static void add_forward(struct ctx *c, const char *addr)
{
	if (c->failed || too_many(c)) return;
	size_t n = strlen(addr);
	for (size_t i = 0; i < c->fwd.len;) { /* each address once */
		const char *nl = memchr(c->fwd.s + i, '\n', c->fwd.len - i);
		size_t k = nl ? (size_t)(nl - (c->fwd.s + i)) : c->fwd.len - i;
		if (k == n && strncasecmp(c->fwd.s + i, addr, n) == 0) return;
		i += k + 1;
	}
	if ((c->fwd.len && buf_addc(&c->fwd, '\n') < 0) || buf_add(&c->fwd, addr, n) < 0) {
		fail(c, 'Z', "4.3.0", "out of memory");
		return;
	}
	c->nfwd++;
}

static void privs_of_user(struct privs *p, const struct passwd *pw)
{
	p->ok = 1;
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	snprintf(p->user, sizeof p->user, "%s", pw->pw_name);
	snprintf(p->home, sizeof p->home, "%s", pw->pw_dir);
}

/* The rights of a file's owner, or default_privs when root owns it (as
 * Postfix does for alias databases and :include: files). */
static void privs_of_file(struct ctx *c, struct privs *p, uid_t owner, const char *what)
{
	memset(p, 0, sizeof *p);
	if (!cfg.root) { /* everything runs as us */
		p->ok = 1;
		p->uid = geteuid();
		p->gid = getegid();
		const char *h = getenv("HOME");
		snprintf(p->home, sizeof p->home, "%s", h && *h == '/' ? h : "/");
		return;
	}
	struct passwd *pw = owner ? getpwuid(owner) : NULL;
	if (pw && pw->pw_uid != 0) { privs_of_user(p, pw); return; }
	if (!cfg.privs_ok) {
		fail(c, 'Z', "4.3.5", "%s belongs to root and control/default_privs names no account (%s)",
		     what, cfg.privs);
		return;
	}
	p->ok = 1;
	p->uid = cfg.puid;
	p->gid = cfg.pgid;
	snprintf(p->user, sizeof p->user, "%s", cfg.privs);
	snprintf(p->home, sizeof p->home, "/");
}

static void resolve_addr(struct ctx *c, const char *addr, int depth);

struct expansion {
	struct ctx *c;
	const char *addr;       /* the address being expanded */
	const char *domain;     /* for unqualified targets (aliases); NULL: myorigin */
	const struct privs *pv; /* NULL: no commands or files allowed (virtual) */
	int depth;
	const char *what;       /* for messages: "control/aliases", a path */
	const char *ext;        /* propagate_unmatched_extensions: "+ext" each address gets */
	size_t elen;
};

static void expand_items(struct expansion *e, const char *v, size_t n);

static void include_file(struct expansion *e, const char *path)
{
	struct ctx *c = e->c;
	if (e->depth + 1 > MAX_DEPTH) {
		fail(c, 'D', "5.4.6", ":include: files nested too deeply at %s", path);
		return;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int err = errno;
		if (fd >= 0) close(fd);
		fail(c, 'Z', "4.3.0", "cannot open :include: file %s: %s", path, strerror(err));
		return;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > INCLUDE_MAX || (st.st_mode & 002)) {
		close(fd);
		fail(c, 'Z', "4.3.0", ":include: file %s is not a regular file we may trust (size, mode)", path);
		return;
	}
	char *text = malloc((size_t)st.st_size + 1);
	ssize_t k = text ? read(fd, text, (size_t)st.st_size) : -1;
	close(fd);
	if (k < 0) {
		free(text);
		fail(c, 'Z', "4.3.0", "cannot read :include: file %s", path);
		return;
	}
	struct privs pv;
	privs_of_file(c, &pv, st.st_uid, path);
	struct expansion sub = *e;
	sub.pv = &pv;
	sub.depth = e->depth + 1;
	sub.what = path;
	if (!c->failed) expand_items(&sub, text, (size_t)k);
	free(text);
}

static void expand_item(const char *item, size_t n, void *arg)
{
	struct expansion *e = arg;
	struct ctx *c = e->c;
	char s[4096];
	if (c->failed) return;
	if (n >= sizeof s) { fail(c, 'D', "5.3.0", "%s: an item of %s is too long", e->what, e->addr); return; }
	memcpy(s, item, n);
	s[n] = 0;
	int special = s[0] == '|' || s[0] == '/' || strncasecmp(s, ":include:", 9) == 0;
	if (special && !e->pv) {
		log_msg("warning: %s: ignoring \"%s\" for %s (only addresses are allowed there)", e->what, s, e->addr);
		return;
	}
	if (s[0] == '|') {
		const char *cmd = s + 1;
		while (*cmd == ' ' || *cmd == '\t') cmd++;
		if (!*cmd) return;
		add_target(c, T_PROGRAM, e->addr, cmd, e->pv->user[0] ? e->pv->user : NULL, e->pv->home,
		           e->pv->uid, e->pv->gid);
		return;
	}
	if (s[0] == '/') {
		if (strcmp(s, "/dev/null") == 0) { c->discarded = 1; return; }
		add_target(c, T_FILE, e->addr, s, e->pv->user[0] ? e->pv->user : NULL, e->pv->home,
		           e->pv->uid, e->pv->gid);
		return;
	}
	if (special) {
		const char *path = s + 9;
		while (*path == ' ') path++;
		if (*path != '/') { fail(c, 'Z', "4.3.5", "%s: :include: needs an absolute path (%s)", e->what, path); return; }
		include_file(e, path);
		return;
	}
	/* an address: "\user" means that user's own mailbox, no more aliasing */
	int noalias = s[0] == '\\';
	char *a = s + noalias;
	size_t al = strlen(a);
	if (al >= 2 && a[0] == '<' && a[al - 1] == '>') { a[al - 1] = 0; a++; }
	if (!*a) return;
	struct buf q = BUF_INIT;
	int r;
	if (!strchr(a, '@') && e->domain)
		r = buf_adds(&q, a) < 0 || buf_addc(&q, '@') < 0 || buf_adds(&q, e->domain) < 0 ? -1 : 0;
	else
		r = addr_qualify(a, &q);
	if (r == 0 && e->elen) { /* user+ext@d matched as user@d: target+ext */
		struct buf x = BUF_INIT;
		r = rewrite_add_extension(q.s, q.len, e->ext, e->elen, &x);
		buf_free(&q);
		q = x;
	}
	if (r < 0) { fail(c, 'Z', "4.3.0", "out of memory"); buf_free(&q); return; }
	if (noalias && !seen(c, q.s)) mark_seen(c, q.s);
	resolve_addr(c, q.s, e->depth + 1);
	buf_free(&q);
}

static void expand_items(struct expansion *e, const char *v, size_t n)
{
	items_split(v, n, expand_item, e);
}

static void to_virtual(struct ctx *c, const char *addr)
{
	char *hash = NULL, dir[4096];
	struct buf plain = BUF_INIT;
	const char *box = addr;
	int r = users_get(addr, &hash);
	free(hash);
	if (r == 0 && addr_strip_extension(addr, &plain) > 0) {
		r = users_get(plain.s, &hash);
		free(hash);
		box = plain.s;
	}
	if (r < 0) fail(c, 'Z', "4.3.0", "cannot read control/users");
	else if (r == 0) fail(c, 'D', "5.1.1", "unknown user: \"%s\"", addr);
	else if (virtual_maildir(box, dir, sizeof dir) < 0) fail(c, 'D', "5.1.3", "no safe mailbox path for %s", addr);
	else add_target(c, T_MAILDIR, addr, dir, NULL, NULL, 0, 0);
	buf_free(&plain);
}

static void to_system(struct ctx *c, const char *addr)
{
	struct buf plain = BUF_INIT;
	char name[256], pwbuf[8192];
	struct passwd pw, *res = NULL;
	const char *local, *dom;
	size_t ll, dl;
	if (addr_strip_extension(addr, &plain) < 0) { fail(c, 'Z', "4.3.0", "out of memory"); return; }
	addr_split(plain.s, &local, &ll, &dom, &dl);
	if (ll == 0 || ll >= sizeof name || memchr(local, '"', ll) || memchr(local, '/', ll)) {
		fail(c, 'D', "5.1.1", "unknown user: \"%s\"", addr);
		buf_free(&plain);
		return;
	}
	for (size_t i = 0; i < ll; i++) name[i] = local[i] >= 'A' && local[i] <= 'Z' ? (char)(local[i] + 32) : local[i];
	name[ll] = 0;
	buf_free(&plain);
	int e = getpwnam_r(name, &pw, pwbuf, sizeof pwbuf, &res);
	if (!res) {
		if (e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM)
			fail(c, 'D', "5.1.1", "unknown user: \"%s\"", addr);
		else
			fail(c, 'Z', "4.3.0", "cannot look up user %s: %s", name, strerror(e));
		return;
	}
	if (pw.pw_uid == 0) {
		fail(c, 'Z', "4.3.5", "mail for %s (uid 0) is never delivered as root: "
		     "add an alias for it to control/aliases", name);
		return;
	}
	if (!cfg.root && pw.pw_uid != geteuid()) {
		fail(c, 'Z', "4.3.0", "cannot deliver to system account %s: yubin-local runs as uid %ld, not root",
		     name, (long)geteuid());
		return;
	}
	add_target(c, T_SYSTEM, addr, name, name, pw.pw_dir, pw.pw_uid, pw.pw_gid);
}

/* aliases are keyed by the bare local part, with and without extension */
static int alias_lookup(const char *addr, char **v)
{
	const char *local, *dom;
	size_t ll, dl;
	addr_split(addr, &local, &ll, &dom, &dl);
	int r = table_get("aliases", local, ll, v);
	if (r != 0) return r;
	struct buf plain = BUF_INIT;
	if (addr_strip_extension(addr, &plain) > 0) {
		addr_split(plain.s, &local, &ll, &dom, &dl);
		r = table_get("aliases", local, ll, v);
	}
	buf_free(&plain);
	return r;
}

static void resolve_addr(struct ctx *c, const char *addr, int depth)
{
	if (c->failed) return;
	if (depth > MAX_DEPTH) {
		fail(c, 'D', "5.4.6", "alias expansion nested too deeply at %s (a loop?)", addr);
		return;
	}
	enum domain_class cls = domain_classify(addr_domain(addr));
	if (cls == DOMAIN_REMOTE) {
		if (depth > 0) { add_forward(c, addr); return; }
		cls = DOMAIN_SYSTEM; /* qmgr routed it here (transport local:): by local part */
	}
	if (!seen(c, addr)) {
		char *v = NULL;
		int unext = 0;
		int r = table_lookup_addr_ext("virtual", addr, &v, &unext);
		if (r == 0) r = table_lookup_addr_ext("regexp:virtual", addr, &v, &unext);
		if (r < 0) { fail(c, 'Z', "4.3.0", "cannot read control/virtual"); return; }
		if (r > 0) {
			mark_seen(c, addr);
			struct expansion e = { c, addr, NULL, NULL, depth, "control/virtual", "", 0 };
			if (unext && rewrite_propagates("virtual")) e.elen = rewrite_extension(addr, &e.ext);
			expand_items(&e, v, strlen(v));
			free(v);
			return;
		}
		r = alias_lookup(addr, &v);
		if (r < 0) { fail(c, 'Z', "4.3.0", "cannot read control/aliases"); return; }
		if (r > 0) {
			mark_seen(c, addr);
			char path[4096];
			struct stat st;
			struct privs pv;
			uid_t owner = 0;
			if (root_path(path, sizeof path, "control/aliases.cdb") == 0 && stat(path, &st) == 0)
				owner = st.st_uid;
			privs_of_file(c, &pv, owner, "control/aliases");
			struct expansion e = { c, addr, addr_domain(addr), &pv, depth, "control/aliases", "", 0 };
			expand_items(&e, v, strlen(v));
			free(v);
			return;
		}
	}
	if (cls == DOMAIN_VIRTUAL) to_virtual(c, addr);
	else if (cls == DOMAIN_ALIAS) fail(c, 'D', "5.1.1", "unknown user: \"%s\"", addr);
	else to_system(c, addr);
}

int resolve(const char *rcpt, struct tlist *out, struct result *err)
{
	struct ctx c = { .out = out, .err = err };
	memset(out, 0, sizeof *out);
	err->status = 0;
	resolve_addr(&c, rcpt, 0);
	if (!c.failed && c.nfwd) {
		/* forwards are injected with the rights of the virtual mailbox
		 * owner (root never runs them), or ours when not root */
		uid_t uid = cfg.root ? cfg.vuid : geteuid();
		gid_t gid = cfg.root ? cfg.vgid : getegid();
		if (cfg.root && !cfg.vuser_ok) {
			uid = cfg.puid;
			gid = cfg.pgid;
			if (!cfg.privs_ok) fail(&c, 'Z', "4.3.5", "no account to forward mail as: create %s", cfg.vuser);
		}
		add_target(&c, T_FORWARD, rcpt, c.fwd.s, NULL, "/", uid, gid);
	}
	if (!c.failed && out->n == 0 && !c.discarded)
		fail(&c, 'D', "5.1.1", "alias for %s expands to no destinations", rcpt);
	if (out->n == 0 && c.bounced) c.failed = 1;
	for (size_t i = 0; i < c.nseen; i++) free(c.seen[i]);
	free(c.seen);
	buf_free(&c.fwd);
	if (c.failed) { tlist_free(out); return -1; }
	return 0;
}
