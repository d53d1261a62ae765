/* client.c — who is talking: the client's address from the launcher
 * (TCPREMOTEIP from tcpserver or yubin-run, REMOTE_ADDR from a systemd
 * socket unit, else getpeername on fd 0), its verified reverse name
 * (forward-confirmed, as Postfix does; "unknown" otherwise) and whether it
 * is in mynetworks. */
#include "smtpd.h"
#include "control.h"
#include "log.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void set_from_sockaddr(struct session *s, const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		s->addr.family = 4;
		memcpy(s->addr.a, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		char tmp[64];
		struct ipaddr a = { .family = 6 };
		memcpy(a.a, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, 16);
		/* through ip_format/ip_parse so an IPv4-mapped address becomes IPv4 */
		if (ip_format(&a, tmp, sizeof tmp) == 0) ip_parse(tmp, strlen(tmp), &s->addr);
	}
}

/* a host name fit for logs and headers: letters, digits, '-', '.', '_' */
static int sane_name(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 253) return 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '.' || c == '_'))
			return 0;
	}
	return 1;
}

/* PTR name whose A/AAAA records include the client's address */
static void reverse_name(struct session *s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof ss);
	if (s->addr.family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, s->addr.a, 4);
		len = sizeof *sin;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)&ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, s->addr.a, 16);
		len = sizeof *sin6;
	}
	char name[NI_MAXHOST];
	if (getnameinfo((struct sockaddr *)&ss, len, name, sizeof name, NULL, 0, NI_NAMEREQD) != 0) return;
	if (!sane_name(name)) return;
	/* only the client's own family can confirm it: one query, not A and AAAA */
	struct addrinfo hints = { .ai_family = s->addr.family == 4 ? AF_INET : AF_INET6, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	if (getaddrinfo(name, NULL, &hints, &ai) != 0) return;
	int confirmed = 0;
	for (struct addrinfo *p = ai; p && !confirmed; p = p->ai_next) {
		struct session tmp;
		memset(&tmp.addr, 0, sizeof tmp.addr);
		struct sockaddr_storage cand;
		memset(&cand, 0, sizeof cand);
		if (p->ai_addrlen > sizeof cand) continue;
		memcpy(&cand, p->ai_addr, p->ai_addrlen);
		set_from_sockaddr(&tmp, &cand);
		confirmed = tmp.addr.family == s->addr.family && memcmp(tmp.addr.a, s->addr.a, 16) == 0;
	}
	freeaddrinfo(ai);
	if (confirmed) memcpy(s->host, name, strlen(name) + 1); /* sane_name: at most 253 bytes */
}

void client_init(struct session *s)
{
	const char *ip = getenv("TCPREMOTEIP");
	if (!ip || !*ip) ip = getenv("REMOTE_ADDR");
	memset(&s->addr, 0, sizeof s->addr);
	if (ip && *ip) {
		if (ip_parse(ip, strlen(ip), &s->addr) < 0) log_msg("warning: bad client address \"%s\"", ip);
	} else {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		memset(&ss, 0, sizeof ss);
		if (getpeername(s->infd, (struct sockaddr *)&ss, &len) == 0) set_from_sockaddr(s, &ss);
	}
	if (!s->addr.family || ip_format(&s->addr, s->ip, sizeof s->ip) < 0) {
		memset(&s->addr, 0, sizeof s->addr);
		snprintf(s->ip, sizeof s->ip, "unknown");
	}
	snprintf(s->host, sizeof s->host, "unknown");
	const char *rh = getenv("TCPREMOTEHOST"); /* tcpserver looked it up already */
	if (rh && sane_name(rh))
		snprintf(s->host, sizeof s->host, "%s", rh);
	else if (s->addr.family && cfg_bool("smtpd_peername_lookup"))
		reverse_name(s);
	s->trusted = s->addr.family && mynetworks_match(&s->addr);
}

const char *client_name(const struct session *s)
{
	static char buf[340];
	snprintf(buf, sizeof buf, "%s[%s]", s->host, s->ip);
	return buf;
}
