/* control.c — fuzz target: control-file values (Postfix syntax) and the
 * client-network lists. parse_time/size/bool/int, list_split, $name
 * expansion against a table of settings taken from the input (so loops
 * and deep chains are tried), and IP/CIDR parsing as mynetworks reads it.
 * Beyond memory safety: a parsed time or size is never negative, list
 * items are non-empty and hold no separator, expansion terminates, and an
 * IP address formats to text that parses back to the same address. */
#include "fuzz.h"
#include "buf.h"
#include "cidr.h"
#include "control.h"

#include <errno.h>

static void item(const char *s, size_t n, void *arg)
{
	(void)arg;
	FUZZ_ASSERT(n > 0);
	for (size_t i = 0; i < n; i++) FUZZ_ASSERT(s[i] != ',' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n');
}

/* settings for expansion: lines "name=value" of the input */
struct vars {
	char *name[16], *val[16];
	size_t n;
};

static const char *lookup(const char *name, void *arg)
{
	struct vars *v = arg;
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->name[i], name) == 0) return v->val[i];
	return NULL;
}

static void expand(struct fin *f)
{
	const uint8_t *s, *line;
	size_t sn = fin_piece(f, '\n', &s);
	struct vars v = { .n = 0 };
	while (f->n && v.n < 16) {
		size_t ln = fin_piece(f, '\n', &line);
		const uint8_t *eq = memchr(line, '=', ln);
		if (!eq) continue;
		v.name[v.n] = fuzz_dup(line, (size_t)(eq - line), 1);
		v.val[v.n] = fuzz_dup(eq + 1, ln - (size_t)(eq - line) - 1, 1);
		v.n++;
	}
	struct buf out = BUF_INIT;
	out.max = 1 << 20;
	char *t = fuzz_dup(s, sn, 0);
	int r = expand_value(t, sn, lookup, &v, &out);
	FUZZ_ASSERT(r == 0 || r == -1);
	free(t);
	buf_free(&out);
	for (size_t i = 0; i < v.n; i++) { free(v.name[i]); free(v.val[i]); }
}

static void addresses(const char *s, size_t n)
{
	struct ipaddr ip, back;
	char text[80];
	if (ip_parse(s, n, &ip) == 0) {
		FUZZ_ASSERT(ip.family == 4 || ip.family == 6);
		FUZZ_ASSERT(ip_format(&ip, text, sizeof text) == 0);
		FUZZ_ASSERT(ip_parse(text, strlen(text), &back) == 0);
		FUZZ_ASSERT(back.family == ip.family && memcmp(back.a, ip.a, ip.family == 4 ? 4 : 16) == 0);
		(void)ip_is_loopback(&ip);
	}
	(void)ip_format(&ip, text, (size_t)(n % 8)); /* small buffers refused, not overrun */
	struct cidr c;
	if (cidr_parse(s, n, &c) >= 0) {
		FUZZ_ASSERT(c.bits <= (c.net.family == 4 ? 32u : 128u));
		FUZZ_ASSERT(cidr_match(&c, &c.net) == 1);
	}
	const char *items[2] = { "127.0.0.0/8", "[::1]/128" };
	if (ip_parse(s, n, &ip) == 0) (void)cidr_list_match(items, 2, &ip, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin f = { data, size };
	unsigned sel = fin_byte(&f);
	char *s = fuzz_dup(f.p, f.n, 0);
	long long v;
	int b;
	switch (sel % 6) {
	case 0:
		if (parse_time(s, f.n, (sel & 8) ? 'd' : 's', &v) == 0) FUZZ_ASSERT(v >= 0);
		break;
	case 1:
		if (parse_size(s, f.n, &v) == 0) FUZZ_ASSERT(v >= 0);
		break;
	case 2:
		if (parse_bool(s, f.n, &b) == 0) FUZZ_ASSERT(b == 0 || b == 1);
		(void)parse_int(s, f.n, &v);
		break;
	case 3: list_split(s, f.n, item, NULL); break;
	case 4: expand(&f); break;
	default: addresses(s, f.n); break;
	}
	free(s);
	return 0;
}
