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

#include "control.h"

int is_loopback(const char *ip)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (!ip) return 0;
	if (inet_pton(AF_INET, ip, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, ip, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6)) return 1;
		return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
	}
	return 0;
}

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
	s->plaintext_ok = s->tls || is_loopback(s->rip) || !control_bool("disable_plaintext_auth");
}
