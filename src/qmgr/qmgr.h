/* qmgr.h — the parts of yubin-qmgr and what they share.
 * main.c runs the poll loop; scan.c takes messages from the queue
 * directories; message.c keeps each active message and decides, when a
 * pass over its recipients is over, whether it is done or deferred;
 * sched.c queues delivery jobs per destination and hands them to the
 * agents fairly; agent.c runs yubin-local / yubin-remote on pipes;
 * bounce.c writes RFC 3464 reports; defer.c keeps queue/defer/ID notes. */
#ifndef YUBIN_QMGR_H
#define YUBIN_QMGR_H

#include "buf.h"
#include "deliver.h"
#include "io.h"
#include "qfile.h"

#include <dirent.h>
#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

enum agent_kind { AGENT_LOCAL = 0, AGENT_REMOTE, AGENT_COUNT };

struct msg;
struct dest;

/* One recipient of one message on its way to an agent. */
struct job {
	unsigned long long no;   /* job number on the wire */
	struct msg *m;
	size_t rcpt;             /* index in the envelope */
	struct dest *d;
	int crashes;             /* agent deaths while it was in flight */
	struct job *next;        /* pending list of its destination */
	struct job *hnext;       /* in-flight hash chain */
};

/* What happened to a recipient in the current pass. */
struct result {
	char code;               /* 0 not yet, 'K' done, 'Z' retry, 'D' failed */
	char dsn[12];
	char *text;
};

struct msg {
	char id[QID_MAX];
	int fd;
	struct qenv env;
	long long size;
	size_t jobs_left;        /* recipients of this pass without a result */
	struct result *res;      /* env.nrcpt entries */
	int warned;              /* a delay warning was already sent */
	struct msg *prev, *next;
};

/* ---- main.c: time, settings and global state */
struct qmgr_conf {
	long long queue_run_delay, min_backoff, max_backoff;
	long long gather_ms;     /* qmgr_gather_time, at most GATHER_MAX_MS */
	long long max_lifetime, bounce_lifetime, delay_warning;
	long long process_limit, dest_limit, local_dest_limit, virtual_dest_limit;
	size_t active_limit;
};
extern struct qmgr_conf conf;
/* Also how long a trigger (a flush, a reload) may wait in the FIFO. */
#define GATHER_MAX_MS 1000
void conf_load(void);
void qmgr_reload(void);   /* SIGHUP, "r": reread control files */
extern int stopping;

/* ---- scan.c: queue directories */
int qdir_fd(const char *rel);           /* cached O_DIRECTORY fd, or die */
DIR *qdir_open(const char *rel);         /* a listing of it, or NULL (logged) */
void scan_startup(void);                 /* tmp cleanup, active -> incoming */
void scan_request_incoming(void);
void scan_request_deferred(void);
void scan_flush(const char *domain);     /* NULL: every deferred message */
void scan_run(void);                     /* do requested scans while there is room */
void scan_cleanup(void);                 /* hourly: old tmp/ files, orphan defer/ notes */
long long scan_next_ms(void);            /* when the next timed scan is due */
int scan_gathering(void);                /* new mail is being collected: the trigger can wait */
void scan_tick(void);
void scan_reschedule(void);             /* queue_run_delay may have changed */

/* ---- crashcheck.c: once per boot, before anything reads the queue */
void crash_check(void);                  /* drop files torn by a system crash */

/* ---- message.c */
extern size_t active_count;
/* Take queue/active/NAME (already renamed there). */
void msg_activate(const char *name);
/* A recipient's outcome: code K, Z or D; dsn "x.y.z"; text one line. */
void msg_result(struct msg *m, size_t i, char code, const char *dsn, const char *text);
const char *msg_sender_class(const struct msg *m); /* "normal", "bounce", "double" */
long long msg_lifetime(const struct msg *m);

/* ---- sched.c */
void sched_add(struct msg *m, size_t i, enum agent_kind kind, const char *destkey);
void sched_requeue(struct job *j);      /* agent died: back to the front */
void sched_dispatch(void);
struct job *sched_take_flight(unsigned long long no, enum agent_kind kind);
void sched_job_done(struct job *j);
/* Call fn on (and forget) every in-flight job of an agent. */
void sched_drain_flight(enum agent_kind kind, void (*fn)(struct job *));
/* Fail every pending job of an agent that cannot run (result Z). */
void sched_fail_pending(enum agent_kind kind, const char *dsn, const char *text);

/* ---- agent.c */
void agents_spawner_init(void);            /* as root: helper, then become yubinq */
void agents_init(void);
int agent_available(enum agent_kind kind);
int agent_room(enum agent_kind kind);
void agent_send(enum agent_kind kind, const struct job *j);
size_t agents_pollfds(struct pollfd *fds, size_t max);
void agents_events(const struct pollfd *fds, size_t n);
void agents_reap(void);
void agents_tick(void);
long long agents_next_ms(void);
void agents_stop(void);
int agents_running(void);

/* ---- bounce.c */
enum report_kind { REPORT_FAILED, REPORT_DOUBLE, REPORT_DELAY };
/* Queue one report about recipients idx[0..n) of m. 0 ok (newid set). */
int report_send(struct msg *m, const size_t *idx, size_t n, enum report_kind kind,
                char *newid, size_t idmax);
const char *my_hostname(void);
/* "double-bounce@myhostname": the sender of postmaster notices */
const char *double_bounce_sender(void);

/* ---- defer.c */
int defer_write(const struct msg *m);
int defer_warned(const char *id);
void defer_remove(const char *id);

#endif
