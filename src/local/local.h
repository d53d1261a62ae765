/* local.h — yubin-local's pieces and what they share.
 * The main process (root when installed) reads jobs from qmgr, opens the
 * queue file, resolves the recipient into targets (resolve.c) and hands
 * each target to a process with the right identity: virtual Maildirs to
 * persistent workers running as control/virtual_user (workers.c), system
 * users, |programs, /files and forwards to a forked child that first
 * becomes the user (child.c). The delivery code itself (message.c,
 * mbox.c, program.c, forward.c) runs only in those processes. */
#ifndef YUBIN_LOCAL_H
#define YUBIN_LOCAL_H

#include "deliver.h"

#include <stddef.h>
#include <poll.h>
#include <sys/types.h>

#define MAX_DEPTH 20        /* alias/virtual/include nesting */
#define MAX_TARGETS 1000    /* deliveries + forwards from one recipient */

/* One result: K delivered, Z temporary, D permanent. */
struct result {
	char status;
	char code[8];
	char text[DELIVER_TEXT_MAX + 1];
};
void result_set(struct result *r, char status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* r := the worse of r and o (Z over D over K; the first of a kind stays) */
void result_merge(struct result *r, const struct result *o, int *have);
/* temporary/permanent result for a failed system call (errno err) */
void result_errno(struct result *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The message being delivered, as every delivery process sees it. */
struct message {
	const char *qid;
	const char *sender;    /* "" for <> */
	const char *rcpt;      /* the job's recipient */
	long long arrival;
	int fd;                /* queue file, read with pread only */
	off_t off, len;        /* the message inside it */
};

enum tkind { T_MAILDIR, T_SYSTEM, T_PROGRAM, T_FILE, T_FORWARD };

/* Where one copy goes, and with whose rights. */
struct target {
	enum tkind kind;
	char *addr;     /* delivered-to address (Delivered-To:, RECIPIENT, log to=) */
	char *arg;      /* Maildir dir, command, file path; forwards: addresses, '\n'-separated */
	char *user;     /* account to become (NULL: uid/gid without supplementary groups) */
	char *home;
	uid_t uid;
	gid_t gid;
	int state;      /* 0 waiting, 1 running, 2 done */
	struct result res;
};

struct tlist {
	struct target *t;
	size_t n, cap;
};
void tlist_free(struct tlist *l);

/* Settings snapshot, taken in the main process at (re)load. */
struct config {
	int root;                 /* running as root: switch identities */
	char host[256];           /* myhostname, for Maildir names */
	char home_mailbox[256];
	char spool[1024];         /* mail_spool_directory */
	long long command_time_limit;
	char vuser[64];           /* control/virtual_user or "yubinv" */
	int vuser_ok;
	uid_t vuid;
	gid_t vgid;
	char privs[64];           /* default_privs: alias programs when aliases are root's */
	int privs_ok;
	uid_t puid;
	gid_t pgid;
};
extern struct config cfg;
void config_load(void);

/* resolve.c: the job's recipient -> targets. 0, or -1 with err set. */
int resolve(const char *rcpt, struct tlist *out, struct result *err);

/* items.c: split an aliases/.forward value into items ("a, b", "|cmd",
 * "/file", ":include:/path", "\user"), quotes removed; fn per item. */
void items_split(const char *s, size_t n, void (*fn)(const char *item, size_t len, void *arg), void *arg);

/* message.c */
int msg_loop_check(const struct message *m, const char *addr);   /* 1 loop, 0 no, -1 error */
int msg_head(char *out, size_t max, const struct message *m, const char *addr, int return_path);
void deliver_maildir(const struct message *m, const char *addr, const char *dir, struct result *r);
/* mbox.c */
void deliver_mbox(const struct message *m, const char *addr, const char *path, struct result *r);
/* program.c */
void deliver_program(const struct message *m, const char *addr, const char *cmd,
                     const char *user, const char *home, struct result *r);
/* forward.c: inject a copy for addrs ('\n'-separated) keeping the sender */
void deliver_forward(const struct message *m, const char *addr, const char *addrs, struct result *r);

/* child.c: fork a child that becomes t's user and delivers; the result
 * comes back as one line on *fd. -1 on fork failure. */
pid_t child_start(const struct message *m, const struct target *t, int *fd);
/* parse the child's "S x.y.z text" line */
int child_parse(const char *line, size_t n, struct result *r);
/* become uid/gid (user for initgroups); never root. 0 or -1 (logged). */
int become(uid_t uid, gid_t gid, const char *user);
/* the fds a forked process keeps: 0-2, plus keep1/keep2 moved to 3/4 */
void close_other_fds(int *keep1, int *keep2);

/* workers.c: persistent Maildir writers for virtual mailboxes */
void workers_init(int n);
/* jobs.c: the main loop, until stdin ends and every job is answered */
void jobs_run(int nworkers);
void workers_reconfigure(void);
int worker_idle(void);                                 /* index or -1 */
int worker_send(int w, const struct message *m, const char *addr, const char *dir);
size_t workers_pollfds(struct pollfd *p, size_t max, int *idx);
/* result of worker w, -1 when it died (it is restarted) */
int worker_recv(int w, struct result *r);
int workers_count(void);

#endif
