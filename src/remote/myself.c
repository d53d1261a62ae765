/* myself.c — is an address:port one of this instance's own SMTP
 * listeners? (DESIGN.md "Mail loops": only our own listening pairs count,
 * so two instances on one host with the same name relay to each other.)
 * The pairs come from env YUBIN_SMTP_LISTEN (set by yubin-run) and from
 * the lines of $YUBIN_ROOT/run/listen, each "ip:port" or "[ip]:port",
 * separated by spaces, commas or newlines. A wildcard listener (0.0.0.0,
 * ::) matches loopback addresses with its port. */
#include "remote.h"
#include "control.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MYSELF_MAX 32

struct pair {
	struct dns_addr a;
	unsigned port;
	int any;
};

static struct pair pairs[MYSELF_MAX];
static size_t npairs;
static int loaded;

static void add_pair(const char *p, size_t n)
{
	char host[64];
	const char *colon;
	size_t hl;
	if (n == 0 || npairs >= MYSELF_MAX) return;
	if (p[0] == '[') {
		const char *close = memchr(p, ']', n);
		if (!close || (size_t)(close - p) + 1 >= n || close[1] != ':') return;
		hl = (size_t)(close - p - 1);
		memcpy(host, p + 1, hl < sizeof host ? hl : 0);
		colon = close + 1;
	} else {
		colon = NULL;
		for (size_t i = n; i > 0; i--)
			if (p[i - 1] == ':') { colon = p + i - 1; break; }
		if (!colon) return;
		hl = (size_t)(colon - p);
		memcpy(host, p, hl < sizeof host ? hl : 0);
	}
	if (hl == 0 || hl >= sizeof host) return;
	host[hl] = 0;
	unsigned port = 0;
	size_t pl = n - (size_t)(colon + 1 - p);
	if (pl == 0 || pl > 5) return;
	for (size_t i = 0; i < pl; i++) {
		if (!isdigit((unsigned char)colon[1 + i])) return;
		port = port * 10 + (unsigned)(colon[1 + i] - '0');
	}
	if (port == 0 || port > 65535) return;
	struct pair *q = &pairs[npairs];
	memset(q, 0, sizeof *q);
	if (inet_pton(AF_INET, host, q->a.a) == 1) q->a.family = AF_INET;
	else if (inet_pton(AF_INET6, host, q->a.a) == 1) q->a.family = AF_INET6;
	else return;
	static const unsigned char zero[16];
	q->any = memcmp(q->a.a, zero, 16) == 0;
	q->port = port;
	npairs++;
}

static void add_list(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (isspace((unsigned char)s[i]) || s[i] == ',')) i++;
		size_t b = i;
		while (i < n && !isspace((unsigned char)s[i]) && s[i] != ',') i++;
		add_pair(s + b, i - b);
	}
}

static void load(void)
{
	const char *env = getenv("YUBIN_SMTP_LISTEN");
	char path[4096], text[4096];
	loaded = 1;
	if (env) add_list(env, strlen(env));
	if (root_path(path, sizeof path, "run/listen") == 0) {
		FILE *f = fopen(path, "re");
		if (f) {
			size_t n = fread(text, 1, sizeof text - 1, f);
			fclose(f);
			add_list(text, n);
		}
	}
}

static int is_loopback(const struct dns_addr *a)
{
	static const unsigned char v6lo[16] = { [15] = 1 };
	if (a->family == AF_INET) return a->a[0] == 127;
	return memcmp(a->a, v6lo, 16) == 0;
}

int myself_is(const struct dns_addr *a, unsigned port)
{
	if (!loaded) load();
	for (size_t i = 0; i < npairs; i++) {
		if (pairs[i].port != port) continue;
		if (pairs[i].any && is_loopback(a)) return 1;
		if (pairs[i].a.family == a->family &&
		    memcmp(pairs[i].a.a, a->a, a->family == AF_INET ? 4 : 16) == 0) return 1;
	}
	return 0;
}
