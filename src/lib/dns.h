/* dns.h — DNS lookups for mail: MX, A, AAAA, TXT through libresolv's
 * res_query, with our own parser of the answer. The parser trusts no
 * length in the packet: every name, record and string is bounds-checked,
 * compression pointers must point strictly backwards (so they cannot
 * loop), and CNAME chains are followed with a hop limit. One process,
 * one lookup at a time (libresolv's state and the answer buffer are
 * per process). */
#ifndef YUBIN_DNS_H
#define YUBIN_DNS_H

#include <stddef.h>

#define DNS_NAME_MAX 256   /* presentation form, NUL included */
#define DNS_RR_MAX 64      /* records kept per answer; the rest ignored */
#define DNS_TXT_MAX 8192   /* bytes of TXT strings kept per answer */

enum dns_type { DNS_T_A = 1, DNS_T_CNAME = 5, DNS_T_PTR = 12, DNS_T_MX = 15, DNS_T_TXT = 16, DNS_T_AAAA = 28 };

enum dns_status {
	DNS_OK = 0,        /* records found */
	DNS_NODATA = 1,    /* the name exists, but has no record of that type */
	DNS_NXDOMAIN = 2,  /* no such name */
	DNS_NULLMX = 3,    /* dns_mx only: the domain accepts no mail (RFC 7505) */
	DNS_TEMP = -1,     /* SERVFAIL, timeout, no server: try again later */
	DNS_BAD = -2,      /* malformed answer (callers treat it as temporary) */
};

struct dns_rr {
	unsigned short type;
	unsigned short pref;          /* MX preference */
	char name[DNS_NAME_MAX];      /* MX exchange, CNAME or PTR target, lower case; "" = root */
	unsigned char addr[16];       /* A: first 4 bytes, AAAA: 16 */
	size_t txt_off, txt_len;      /* TXT: its strings joined, in dns_answer.txt */
};

struct dns_answer {
	char name[DNS_NAME_MAX];      /* owner of the records: qname after CNAMEs */
	int cname_open;               /* chain ends at a name with no records here */
	int txt_truncated;
	size_t n;
	struct dns_rr rr[DNS_RR_MAX];
	size_t txt_used;
	char txt[DNS_TXT_MAX];
};

/* Parse a response packet (pointer, length) to a question for qname of
 * type qtype: records of that type owned by qname or the end of its CNAME
 * chain. Returns a dns_status (never DNS_NULLMX). */
int dns_parse(const unsigned char *pkt, size_t len, const char *qname, int qtype, struct dns_answer *a);

/* Expand the (possibly compressed) name at off into out (dotted, lower
 * case, no trailing dot, "" for the root). *next is the offset after the
 * name's bytes at off. 0 ok; -1 malformed packet; -2 well-formed but the
 * name holds bytes a host name never has (the record is to be skipped). */
int dns_name_expand(const unsigned char *pkt, size_t len, size_t off, char *out, size_t max, size_t *next);

/* res_query plus dns_parse, following CNAMEs to other queries (bounded). */
int dns_query(const char *name, int qtype, struct dns_answer *a);

struct dns_mx {
	unsigned short pref;
	char host[DNS_NAME_MAX];
};
/* MX hosts of domain, best first, equal preferences in random order.
 * DNS_OK with *n >= 1, DNS_NODATA (no MX: use the domain's own address),
 * DNS_NXDOMAIN, DNS_NULLMX, DNS_TEMP or DNS_BAD. */
int dns_mx(const char *domain, struct dns_mx *mx, size_t max, size_t *n);
/* Sort by preference and shuffle equal ones; drop duplicates. Returns the
 * new count. Exposed for the tests. */
size_t dns_mx_sort(struct dns_mx *mx, size_t n);

enum { DNS_V4 = 1, DNS_V6 = 2 };
struct dns_addr {
	int family;                   /* AF_INET or AF_INET6 */
	unsigned char a[16];
};
/* control/inet_protocols as DNS_V4|DNS_V6 */
int dns_families(void);
/* Addresses of host (IPv4 first, then IPv6, as families allow). An IP
 * literal is returned as is. Status as dns_query. With control/
 * smtp_host_lookup "native" (or "dns, native" after DNS finds nothing),
 * the system resolver (getaddrinfo, so /etc/hosts) is used. */
int dns_addrs(const char *host, int families, struct dns_addr *out, size_t max, size_t *n);

/* "1.2.3.4" / "2001:db8::1" */
void dns_addr_str(const struct dns_addr *a, char *out, size_t max);

/* TXT records of name; each rr's strings are in a->txt. */
int dns_txt(const char *name, struct dns_answer *a);

/* PTR records of an address (in-addr.arpa / ip6.arpa); names in rr[].name. */
int dns_ptr(const struct dns_addr *addr, struct dns_answer *a);

#endif
