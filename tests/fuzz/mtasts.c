/* mtasts.c — fuzz target: the MTA-STS parsers of yubin-remote
 * (src/lib/mtasts.c). The TXT record, the policy file and the HTTP
 * response come from DNS and a web server anyone may run; the cache file
 * from disk. Beyond memory safety: an accepted TXT id is 1-32 letters and
 * digits; an accepted policy has a known mode, max_age within a year,
 * at most STS_MX_MAX lower-case patterns, each exact one matching itself;
 * an accepted HTTP body is at most STS_BODY_MAX bytes; a policy written to
 * the cache reads back the same. Input: one selector byte, then the data. */
#include "fuzz.h"
#include "mtasts.h"

#include <ctype.h>

static struct sts_policy p, q;
static char body[STS_BODY_MAX];
static char file[STS_BODY_MAX + 256];

static void policy_ok(const struct sts_policy *x)
{
	FUZZ_ASSERT(x->mode >= STS_NONE && x->mode <= STS_ENFORCE);
	FUZZ_ASSERT(x->max_age >= 0 && x->max_age <= STS_MAX_AGE_MAX);
	FUZZ_ASSERT(x->nmx <= STS_MX_MAX);
	for (size_t i = 0; i < x->nmx; i++) {
		size_t n = strnlen(x->mx[i], STS_PATTERN_MAX);
		FUZZ_ASSERT(n > 0 && n < STS_PATTERN_MAX);
		for (size_t k = 0; k < n; k++) FUZZ_ASSERT(!isupper((unsigned char)x->mx[i][k]));
		if (x->mx[i][0] != '*') FUZZ_ASSERT(sts_mx_match(x, x->mx[i]));
	}
}

static void check_policy(const char *s, size_t n)
{
	char why[200];
	if (sts_policy_parse(s, n, &p, why, sizeof why) != 0) {
		FUZZ_ASSERT(strnlen(why, sizeof why) < sizeof why);
		return;
	}
	policy_ok(&p);
	time_t t = 0;
	char id[STS_ID_MAX];
	size_t m = sts_cache_make(file, sizeof file, "fuzz1", 1234, s, n);
	FUZZ_ASSERT(m > 0);
	FUZZ_ASSERT(sts_cache_parse(file, m, id, sizeof id, &t, &q) == 0);
	FUZZ_ASSERT(t == 1234 && strcmp(id, "fuzz1") == 0 && q.mode == p.mode && q.nmx == p.nmx && q.max_age == p.max_age);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin f = { data, size };
	unsigned sel = fin_byte(&f);
	char *s = fuzz_dup(f.p, f.n, 0);
	char why[200], id[STS_ID_MAX];
	size_t blen = 0;
	time_t t;
	switch (sel % 4) {
	case 0:
		if (sts_txt_parse(s, f.n, id, sizeof id) == 0) {
			size_t n = strlen(id);
			FUZZ_ASSERT(n >= 1 && n <= 32);
			for (size_t i = 0; i < n; i++) FUZZ_ASSERT(isalnum((unsigned char)id[i]));
		}
		break;
	case 1:
		check_policy(s, f.n);
		break;
	case 2: {
		int r = sts_http_parse(s, f.n, (sel >> 2) & 1, body, sizeof body, &blen, why, sizeof why);
		FUZZ_ASSERT(r == STS_HTTP_OK || r == STS_HTTP_MORE || r == STS_HTTP_BAD);
		if (r == STS_HTTP_OK) {
			FUZZ_ASSERT(blen <= STS_BODY_MAX);
			check_policy(body, blen);
		}
		if (r == STS_HTTP_MORE) FUZZ_ASSERT(!((sel >> 2) & 1));
		break;
	}
	default:
		if (sts_cache_parse(s, f.n, id, sizeof id, &t, &p) == 0) policy_ok(&p);
		break;
	}
	free(s);
	return 0;
}
