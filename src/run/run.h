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

/* Listeners: open every service whose program exists; 0 on success. */
int listeners_open(int base_port);
/* Accept pending connections on fds that poll() marked readable and
 * start their programs. */
void listeners_accept(const struct pollfd *fds, size_t n);
size_t listeners_pollfds(struct pollfd *fds, size_t max);
/* Forget a finished connection child; returns 1 if pid was one. */
int listeners_reap(pid_t pid);
void listeners_stop(void);

/* Long-running programs (yubin-qmgr, the injector, later the limiter):
 * started with one optional argument, and restarted a second after they
 * die, until supervise_stop(). */
void supervise_start(const char *prog, const char *arg);
int supervise_reap(pid_t pid, int status);
void supervise_tick(void);
void supervise_stop(void);

/* Start prog with fds 0/1 = sock (or inherited when sock < 0) and extra
 * environment, as user when that is not NULL and we are root (fork, drop,
 * exec; otherwise posix_spawn, which is cheaper); -1 on failure */
pid_t spawn_program(const char *prog, const char *arg, int sock, char *const extra_env[], const char *user);
/* As root: yubin-setup makes the accounts, owners and modes. */
void instance_setup(const char *root);
/* yubin-ctl check, its report into the log; problems do not stop us. */
void instance_check(void);

extern int run_as_root;

#endif
