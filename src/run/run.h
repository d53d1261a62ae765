/* run.h — the pieces of yubin-run: instance creation, listeners, and the
 * supervision of long-running programs. */
#ifndef YUBIN_RUN_H
#define YUBIN_RUN_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

/* Create ROOT's control files, queue, mailboxes, certificate and demo
 * user when ROOT/control is missing. Returns 0 or dies. */
void instance_create(const char *root);

/* Listeners: open every service whose program exists; 0 on success.
 * listeners_start() then runs each service's program on its socket. */
int listeners_open(int base_port);
void listeners_start(void);

/* Long-running programs (yubin-qmgr, the injector, the limiter, the
 * listening services): started with one optional argument, and restarted
 * a second after they die, until supervise_stop(). A service gets
 * listen_fd on fd 3, extra environment, and runs as user (when root). */
void supervise_start(const char *prog, const char *arg);
void supervise_service(const char *prog, int listen_fd, char **extra_env, const char *user);
int supervise_reap(pid_t pid, int status);
void supervise_tick(void);
void supervise_stop(void);

/* Start prog with listen_fd on fd 3 (when >= 0) and extra environment, as
 * user when that is not NULL and we are root (vfork, drop, exec;
 * otherwise posix_spawn); -1 on failure */
pid_t spawn_program(const char *prog, const char *arg, int listen_fd, char *const extra_env[], const char *user);
/* As root: yubin-setup makes the accounts, owners and modes. */
void instance_setup(const char *root);
/* yubin-ctl check, its report into the log; problems do not stop us. */
void instance_check(void);

extern int run_as_root;

#endif
