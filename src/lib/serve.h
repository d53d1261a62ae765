/* serve.h — let a per-connection program accept its own connections.
 *
 * A per-connection program (yubin-smtpd, -submission, -pop3d, -imapd)
 * normally starts with the client on fds 0 and 1, from tcpserver, a
 * systemd .socket with Accept=yes or inetd: one exec per connection. On
 * small VMs an exec or a fork costs 1.5-3 ms of CPU and every page fault
 * some 20 us — more than the whole rest of a message's life in yubin.
 *
 * Started instead with a listening socket, the way systemd passes one to
 * an Accept=no service (LISTEN_FDS=1, the socket on fd 3, LISTEN_PID =
 * our pid when set; yubin-run does the same), the program becomes a small
 * pool, Postfix's master/smtpd model: the first process only forks
 * workers when a connection waits and no worker is idle; a worker accepts
 * and runs a session with exactly what tcpserver would have given it (the
 * connection on fds 0 and 1, TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP,
 * TCPLOCALPORT, PROTO=TCP). A session that ends with serve_session_end(
 * code, 1) lets its worker accept the next connection, up to control/
 * max_use sessions; a worker idle for control/max_idle exits. Any other
 * end of a session (exit, or serve_session_end(code, 0) — yubin-smtpd
 * uses it when a yubin-tlsd child of its own carried the TLS) ends the
 * worker. When control/ changed since a worker read it, the worker
 * execs itself for the waiting connection, so settings still take effect
 * at the next connection.
 *
 * At most YUBIN_PROCESS_LIMIT (environment; else control/
 * default_process_limit) workers run; past that connections wait in the
 * listen queue, as with tcpserver -c. SIGTERM passes SIGTERM on to the
 * workers and exits. */
#ifndef YUBIN_SERVE_H
#define YUBIN_SERVE_H

#include <stddef.h>

/* Without a listening socket: runs session() once and exits. With one:
 * never returns in this process; workers call session() once per
 * connection. argv is what the program was started with (for the exec
 * after a control/ change). */
void serve(char **argv, void (*session)(void)) __attribute__((noreturn));

/* The same pool on a listening socket the program opened itself (a daemon
 * such as yubin-tlsd -d on its Unix socket): at most limit workers (0:
 * as serve()), and a control/ change reloads the workers' settings rather
 * than exec'ing the program. Never returns. */
void serve_socket(int listen_fd, size_t limit, void (*session)(void)) __attribute__((noreturn));

/* Hibernation, for programs whose clients sit silent for long (Dovecot's
 * imap-hibernate, for SMTP): a worker may hand a session whose client has
 * gone quiet to the pool process, which keeps every such connection in
 * one poll set and hands it to whichever worker is free when the client
 * sends, hangs up or has been silent until the deadline. A silent client
 * then costs a few KB in the pool instead of a worker process.
 *
 * serve_resumable(fn) before serve() enables it: fn(state, len, extra_fd,
 * why) continues a session in a worker, on fds 0/1 and with the TCP*
 * variables it had; extra_fd is the descriptor handed over with it (or
 * -1); why is SERVE_WAKE_READY (the client sent or hung up),
 * SERVE_WAKE_TIMEOUT (the deadline passed) or SERVE_WAKE_NO_ROOM (the
 * pool has no room: serve it awake). fn does not return.
 *
 * serve_hibernate(state, len, extra_fd, deadline_ms) hands the current
 * session over: state (at most SERVE_STATE_MAX bytes) is what fn will
 * get, deadline_ms is on CLOCK_MONOTONIC (io.h's now_ms()). On success the
 * worker's copies of fds 0/1 and extra_fd are closed and it goes back to
 * its accept loop: the call does not return. It returns -1 (nothing
 * changed) outside a pool worker or when the pool cannot take it.
 *
 * serve_pressure_fd() is readable while work waits that no idle worker
 * will take (-1 outside a pool worker with hibernation): a worker whose
 * client is silent should then call serve_take_pressure() and, if that
 * says 1 (this worker got the request), let that client sleep: one
 * request, one sleep. With hibernation the pool
 * asks this way once work has waited 1 ms and forks a worker only when
 * nobody made room within 8 ms, at once while sleeping sessions keep
 * waking (the sleepers are busy clients then), and never past the
 * process limit, where the sessions put to sleep are what frees workers. */
int serve_pressure_fd(void);
int serve_take_pressure(void);
enum serve_wake { SERVE_WAKE_READY = 1, SERVE_WAKE_TIMEOUT = 2, SERVE_WAKE_NO_ROOM = 3 };
#define SERVE_STATE_MAX 4096
void serve_resumable(void (*fn)(const void *state, size_t len, int extra_fd, enum serve_wake why));
int serve_hibernate(const void *state, size_t len, int extra_fd, long long deadline_ms);

/* End the current session: back to the worker's accept loop when
 * reusable and the worker may take another, else _exit(code). The
 * caller has flushed its output; fds 0 and 1 are closed here. */
void serve_session_end(int code, int reusable) __attribute__((noreturn));

#endif
