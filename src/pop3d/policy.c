/* policy.c — who may send a password in the clear. Plain-text logins
 * (USER/PASS, AUTH PLAIN/LOGIN) need TLS, or a loopback client, or
 * control/disable_plaintext_auth = no (Dovecot's setting of that name).
 * The client address comes from the launcher (tcpserver's TCPREMOTEIP,
 * systemd's REMOTE_ADDR), else from getpeername(0). */
#include "pop3d.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "auth.h"

const char *client_ip(void)
{
	static char buf[INET6_ADDRSTRLEN];
	const char *ip = getenv("TCPREMOTEIP");
	if (ip && *ip) return ip;
	ip = getenv("REMOTE_ADDR");
	if (ip && *ip) return ip;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (getpeername(0, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET &&
		    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, sizeof buf))
			return buf;
		if (ss.ss_family == AF_INET6 &&
		    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, sizeof buf))
			return buf;
	}
	return "unknown";
}

void update_plaintext(struct pop3d *s)
{
	s->plaintext_ok = plaintext_login_allowed(s->rip, s->tls);
}
