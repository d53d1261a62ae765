/* cidr.h — IP addresses and CIDR networks, IPv4 and IPv6, for mynetworks
 * and any other list of client networks. Accepts Postfix's spellings:
 * 192.0.2.1, 192.0.2.0/24, [::1]/128, [2001:db8::]/32, ::1/128, and the
 * "IPv6:" prefix of address literals. An IPv4-mapped IPv6 address
 * (::ffff:192.0.2.1, what a dual-stack socket reports) is treated as the
 * IPv4 address it carries, so one mynetworks entry covers both spellings. */
#ifndef YUBIN_CIDR_H
#define YUBIN_CIDR_H

#include <stddef.h>

struct ipaddr {
	int family;            /* 4 or 6; 0 when unknown */
	unsigned char a[16];   /* IPv4 in a[0..3] */
};

struct cidr {
	struct ipaddr net;     /* host bits cleared */
	unsigned bits;         /* prefix length: 0..32 or 0..128 */
};

/* Parse one address (optionally in [brackets], optionally "IPv6:..."). 0 or -1. */
int ip_parse(const char *s, size_t n, struct ipaddr *out);
/* Parse "addr" or "addr/bits". 0 ok; 1 ok but host bits were set (they are
 * cleared in out; Postfix warns about such entries); -1 malformed. */
int cidr_parse(const char *s, size_t n, struct cidr *out);
/* 1 when ip lies in c */
int cidr_match(const struct cidr *c, const struct ipaddr *ip);
/* Text form ("192.0.2.1", "2001:db8::1") into out; -1 if max is too small. */
int ip_format(const struct ipaddr *ip, char *out, size_t max);
/* 1 for 127.0.0.0/8 and ::1 */
int ip_is_loopback(const struct ipaddr *ip);

/* 1 when ip matches one of the items (CIDR entries); malformed items are
 * skipped and counted in *bad (may be NULL). */
int cidr_list_match(const char *const *items, size_t n, const struct ipaddr *ip, size_t *bad);

/* The client is in mynetworks: control/mynetworks when set; otherwise
 * mynetworks_style "host" (loopback and this host's own addresses) or
 * "subnet"/"class" (the subnets of this host's interfaces). Bad entries
 * are logged once per process. */
int mynetworks_match(const struct ipaddr *ip);

#endif
