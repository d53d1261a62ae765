/* route.h — where a recipient's mail goes: local delivery, an SMTP next
 * hop, an error or nowhere. Postfix order: control/transport (the table
 * named by transport_maps, postmap syntax: full address, domain, .parent
 * domains, then "*"), then local domains (mydestination,
 * virtual_mailbox_domains) go to yubin-local, then control/relayhost,
 * then the MX of the recipient's domain. yubin-qmgr calls route_resolve()
 * to pick the agent and to group recipients by route.dest; yubin-remote
 * calls it again for the job it gets (and answers ERROR/DISCARD itself,
 * so qmgr may send every non-LOCAL recipient to yubin-remote). */
#ifndef YUBIN_ROUTE_H
#define YUBIN_ROUTE_H

#include <stddef.h>

enum route_kind {
	ROUTE_LOCAL = 0,   /* yubin-local */
	ROUTE_SMTP,        /* yubin-remote: nexthop, port, mx */
	ROUTE_ERROR,       /* bounce (status 5.x.x) or defer (4.x.x) with text */
	ROUTE_DISCARD,     /* drop silently, report as delivered */
};

#define ROUTE_HOST_MAX 256
#define ROUTE_TEXT_MAX 512
#define ROUTE_DEST_MAX (ROUTE_HOST_MAX + 16)

struct route {
	enum route_kind kind;
	/* SMTP: host name or IP literal (no brackets); looked up as MX when
	 * mx is 1 ("host", "domain"), as A/AAAA only when mx is 0 ("[host]") */
	char nexthop[ROUTE_HOST_MAX];
	unsigned short port;      /* 25 unless given */
	int mx;
	/* ERROR: enhanced status ("5.0.0", "4.3.0" ...) and text */
	char status[8];
	char text[ROUTE_TEXT_MAX];
	/* Grouping key: recipients with equal dest share a destination's
	 * concurrency limit and may share one SMTP transaction:
	 * "local", "discard", "error", "smtp:[host]:port", "smtp:host:port". */
	char dest[ROUTE_DEST_MAX];
};

/* Route one recipient address ("local@domain"). Returns 0 with *out
 * filled; -1 on a temporary failure (transport table unreadable): then
 * out->kind is ROUTE_ERROR with status "4.3.0", so callers that only
 * look at *out defer the recipient. */
int route_resolve(const char *addr, struct route *out);

/* 1 when domain (case-insensitive) is one of ours: mydestination or
 * virtual_mailbox_domains. */
int route_domain_is_local(const char *domain);

/* Parse a transport table value ("smtp:[host]:port", "local:",
 * "error:5.1.1 text", "discard:", ":" ...) for a recipient in domain.
 * (pointer, length). 0 ok, -1 malformed (out->kind = ROUTE_ERROR 4.3.5). */
int route_parse_transport(const char *v, size_t n, const char *domain, struct route *out);

/* Parse a next hop "[host]:port", "host:port", "[ipv6:::1]:25", "host"
 * into out->nexthop/port/mx and set out->dest. 0 ok, -1 malformed. */
int route_parse_nexthop(const char *v, size_t n, struct route *out);

#endif
