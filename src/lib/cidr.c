/* cidr.c — IP address and CIDR parsing and matching, and the mynetworks
 * decision (see cidr.h). inet_pton does the digit work on a bounded copy,
 * so "127.1" or "1.2.3.4.5" are refused exactly as the kernel would. */
#include "cidr.h"
#include "control.h"
#include "log.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int ip_parse(const char *s, size_t n, struct ipaddr *out)
{
	char tmp[64];
	memset(out, 0, sizeof *out);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') { s++; n -= 2; }
	if (n > 5 && strncasecmp(s, "IPv6:", 5) == 0) { s += 5; n -= 5; }
	if (n == 0 || n >= sizeof tmp || memchr(s, 0, n)) return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	if (memchr(s, ':', n)) {
		if (inet_pton(AF_INET6, tmp, out->a) != 1) return -1;
		if (memcmp(out->a, v4mapped, 12) == 0) {
			memmove(out->a, out->a + 12, 4);
			memset(out->a + 4, 0, 12);
			out->family = 4;
		} else {
			out->family = 6;
		}
		return 0;
	}
	if (inet_pton(AF_INET, tmp, out->a) != 1) return -1;
	out->family = 4;
	return 0;
}

/* clear everything after the first bits bits; 1 if anything was set */
static int mask_bits(unsigned char *a, size_t len, unsigned bits)
{
	int had = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * (unsigned)i : 0;
		unsigned char m = keep ? (unsigned char)(0xff << (8 - keep)) : 0;
		if (a[i] & (unsigned char)~m) had = 1;
		a[i] &= m;
	}
	return had;
}

int cidr_parse(const char *s, size_t n, struct cidr *out)
{
	const char *slash = NULL;
	memset(out, 0, sizeof *out);
	for (size_t i = n; i > 0; i--)
		if (s[i - 1] == '/') { slash = s + i - 1; break; }
		else if (s[i - 1] == ']') break;
	size_t alen = slash ? (size_t)(slash - s) : n;
	/* an IPv4-mapped network written in IPv6 form keeps its meaning */
	int v6form = memchr(s, ':', alen) != NULL;
	if (ip_parse(s, alen, &out->net) < 0) return -1;
	unsigned max = v6form ? 128 : 32, bits = max;
	if (slash) {
		const char *d = slash + 1;
		size_t dl = n - alen - 1;
		if (dl == 0 || dl > 3) return -1;
		bits = 0;
		for (size_t i = 0; i < dl; i++) {
			if (d[i] < '0' || d[i] > '9') return -1;
			bits = bits * 10 + (unsigned)(d[i] - '0');
		}
		if (bits > max) return -1;
	}
	if (v6form && out->net.family == 4) {
		if (bits < 96) return -1; /* wider than the mapped block: not meaningful */
		bits -= 96;
	}
	out->bits = bits;
	return mask_bits(out->net.a, out->net.family == 4 ? 4 : 16, bits) ? 1 : 0;
}

int cidr_match(const struct cidr *c, const struct ipaddr *ip)
{
	if (c->net.family != ip->family || !ip->family) return 0;
	struct ipaddr m = *ip;
	mask_bits(m.a, ip->family == 4 ? 4 : 16, c->bits);
	return memcmp(m.a, c->net.a, 16) == 0;
}

int ip_format(const struct ipaddr *ip, char *out, size_t max)
{
	char tmp[INET6_ADDRSTRLEN];
	if (!inet_ntop(ip->family == 6 ? AF_INET6 : AF_INET, ip->a, tmp, sizeof tmp)) return -1;
	size_t n = strlen(tmp);
	if (n + 1 > max) return -1;
	memcpy(out, tmp, n + 1);
	return 0;
}

int ip_is_loopback(const struct ipaddr *ip)
{
	static const unsigned char one6[16] = { [15] = 1 };
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
	if (ip->family == 4) return ip->a[0] == 127;
	/* ::1, and ::ffff:127.x.y.z as a dual-stack socket reports 127.x */
	if (ip->family == 6)
		return memcmp(ip->a, one6, 16) == 0 || (memcmp(ip->a, mapped, 12) == 0 && ip->a[12] == 127);
	return 0;
}

int cidr_list_match(const char *const *items, size_t n, const struct ipaddr *ip, size_t *bad)
{
	int hit = 0;
	for (size_t i = 0; i < n; i++) {
		struct cidr c;
		if (cidr_parse(items[i], strlen(items[i]), &c) < 0) {
			if (bad) (*bad)++;
			continue;
		}
		if (!hit && cidr_match(&c, ip)) hit = 1;
	}
	return hit;
}

/* mynetworks_style: this host's interface addresses (host) or their
 * subnets (subnet, class), and loopback always. */
static int match_interfaces(const struct ipaddr *ip, int subnets)
{
	if (ip_is_loopback(ip)) return 1;
	struct ifaddrs *ifa = NULL;
	if (getifaddrs(&ifa) < 0) return 0;
	int hit = 0;
	for (struct ifaddrs *i = ifa; i && !hit; i = i->ifa_next) {
		if (!i->ifa_addr) continue;
		struct cidr c;
		memset(&c, 0, sizeof c);
		unsigned char mask[16] = { 0 };
		if (i->ifa_addr->sa_family == AF_INET) {
			c.net.family = 4;
			memcpy(c.net.a, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
			c.bits = 32;
			if (subnets && i->ifa_netmask) memcpy(mask, &((struct sockaddr_in *)(void *)i->ifa_netmask)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			c.net.family = 6;
			memcpy(c.net.a, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, 16);
			c.bits = 128;
			if (subnets && i->ifa_netmask) memcpy(mask, &((struct sockaddr_in6 *)(void *)i->ifa_netmask)->sin6_addr, 16);
		} else {
			continue;
		}
		if (subnets && i->ifa_netmask) {
			unsigned bits = 0;
			for (size_t k = 0; k < 16; k++) bits += (unsigned)__builtin_popcount(mask[k]);
			c.bits = bits;
			mask_bits(c.net.a, c.net.family == 4 ? 4 : 16, bits);
		}
		hit = cidr_match(&c, ip);
	}
	freeifaddrs(ifa);
	return hit;
}

int mynetworks_match(const struct ipaddr *ip)
{
	static int warned;
	const char *const *items;
	size_t n = control_list("mynetworks", &items);
	if (!ip->family) return 0;
	if (n == 0) {
		const char *style = control_get("mynetworks_style");
		return match_interfaces(ip, strcasecmp(style, "subnet") == 0 || strcasecmp(style, "class") == 0);
	}
	size_t bad = 0;
	int hit = cidr_list_match(items, n, ip, &bad);
	if (bad && !warned) {
		warned = 1;
		log_msg("warning: control/mynetworks: %zu malformed entr%s ignored", bad, bad == 1 ? "y" : "ies");
	}
	return hit;
}
