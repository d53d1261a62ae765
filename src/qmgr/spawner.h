/* spawner.h — start, signal and reap the delivery agents, directly or,
 * when qmgr was started as root, through a helper that stays root while
 * qmgr runs as yubinq (see spawner.c). */
#ifndef YUBIN_QMGR_SPAWNER_H
#define YUBIN_QMGR_SPAWNER_H

#include "qmgr.h"

#include <stddef.h>
#include <sys/types.h>

/* As root: fork the helper and become yubinq. exited(pid, status) is
 * called for every agent that has exited. */
void spawner_init(void (*exited)(pid_t, int));
/* Start an agent on two pipes; *to, *from are qmgr's ends (O_CLOEXEC,
 * blocking). Returns its pid, or -1. */
pid_t spawner_start(enum agent_kind kind, int *to, int *from);
void spawner_kill(pid_t pid, int sig);
/* helper mode: chown queue/active/ID to yubinq; 0 ok, -1 (direct mode,
 * or errno) */
int spawner_own(const char *id);
/* the helper's socket to poll, or -1 in direct mode */
int spawner_fd(void);
/* helper mode: read exit notices */
void spawner_events(void);
/* direct mode (SIGCHLD): waitpid these pids */
void spawner_reap(const pid_t *pids, size_t n);

#endif
