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

/* End the current session: back to the worker's accept loop when
 * reusable and the worker may take another, else _exit(code). The
 * caller has flushed its output; fds 0 and 1 are closed here. */
void serve_session_end(int code, int reusable) __attribute__((noreturn));

#endif
