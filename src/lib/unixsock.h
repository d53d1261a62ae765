/* unixsock.h — the listening Unix sockets of yubin's long-running
 * services under $YUBIN_ROOT: queue/public/injector (yubin-queue -d),
 * queue/public/anvil, queue/public/tlsd (yubin-tlsd -d). */
#ifndef YUBIN_UNIXSOCK_H
#define YUBIN_UNIXSOCK_H

#include <sys/types.h>

/* Listen on $YUBIN_ROOT/rel (a stale socket file there is replaced) with
 * exactly mode; type is SOCK_STREAM or SOCK_SEQPACKET plus SOCK_* flags.
 * Run as root, the socket is given to the account owner when owner is not
 * NULL (USER_DAEMON: only the network programs may connect). Logs
 * "listening on PATH". Dies (exit 111) naming the path on failure. */
int unix_listen(const char *rel, int type, mode_t mode, const char *owner);

#endif
