/* sasl.c — fuzz target: SASL as SMTP AUTH, POP3 AUTH and IMAP
 * AUTHENTICATE drive it (src/lib/sasl.c): strict base64 both ways, the
 * PLAIN message, LOGIN responses, and whole exchanges (mechanism, initial
 * response, then client lines) until they end. Beyond memory safety:
 * decoding is canonical (what decodes re-encodes to the same text),
 * encoding round-trips, and an accepted login is a non-empty
 * NUL-terminated string with no control bytes (it reaches logs and
 * Received: headers). */
#include "fuzz.h"
#include "sasl.h"

static void login_ok(const char *login, size_t max)
{
	size_t n = strnlen(login, max);
	FUZZ_ASSERT(n > 0 && n < max);
	for (size_t i = 0; i < n; i++) FUZZ_ASSERT((unsigned char)login[i] >= 32 && login[i] != 127);
}

static void base64(const uint8_t *p, size_t n)
{
	static unsigned char dec[4096];
	static char enc[8192];
	char *in = fuzz_dup(p, n, 0);
	long k = sasl_b64_decode(in, n, dec, sizeof dec);
	if (k >= 0) {
		FUZZ_ASSERT((size_t)k <= sizeof dec);
		long e = sasl_b64_encode(dec, (size_t)k, enc, sizeof enc);
		FUZZ_ASSERT(e >= 0 && (size_t)e == n && memcmp(enc, in, n) == 0);
	}
	if (n <= 3000) {
		long e = sasl_b64_encode(p, n, enc, sizeof enc);
		FUZZ_ASSERT(e >= 0 && enc[e] == 0);
		long d = sasl_b64_decode(enc, (size_t)e, dec, sizeof dec);
		FUZZ_ASSERT(d == (long)n && memcmp(dec, p, n) == 0);
	}
	(void)sasl_b64_encode(p, n, enc, (size_t)(n % 17)); /* too small: must refuse, not overflow */
	free(in);
}

static void plain(const uint8_t *p, size_t n)
{
	char login[SASL_LOGIN_MAX], pw[SASL_PASSWORD_MAX];
	if (sasl_plain_parse(p, n, login, sizeof login, pw, sizeof pw) == 0) {
		login_ok(login, sizeof login);
		FUZZ_ASSERT(strnlen(pw, sizeof pw) < sizeof pw);
	}
	char *b = fuzz_dup(p, n, 0);
	char out[64];
	if (sasl_login_decode(b, n, out, sizeof out) == 0) FUZZ_ASSERT(strnlen(out, sizeof out) < sizeof out);
	free(b);
}

/* mechanism SP [initial] LF line LF line ... */
static void exchange(struct fin *f)
{
	const uint8_t *mech, *init, *line;
	size_t ml = fin_piece(f, '\n', &mech);
	size_t sp = 0;
	while (sp < ml && mech[sp] != ' ') sp++;
	int has_init = sp < ml;
	init = has_init ? mech + sp + 1 : mech + ml;
	size_t il = has_init ? ml - sp - 1 : 0;
	struct sasl s;
	char chal[SASL_CHAL_MAX];
	char *m = fuzz_dup(mech, sp, 0), *i = fuzz_dup(init, il, 0);
	int r = sasl_begin(&s, m, sp, i, il, has_init, chal, sizeof chal);
	free(m);
	free(i);
	for (int steps = 0; r == SASL_CONTINUE && steps < 8; steps++) {
		FUZZ_ASSERT(strnlen(chal, sizeof chal) < sizeof chal);
		size_t ll = fin_piece(f, '\n', &line);
		if (ll > SASL_LINE_MAX) ll = SASL_LINE_MAX;
		char *l = fuzz_dup(line, ll, 0);
		r = sasl_step(&s, l, ll, chal, sizeof chal);
		free(l);
	}
	FUZZ_ASSERT(r == SASL_OK || r == SASL_CONTINUE || r == SASL_BAD || r == SASL_CANCEL || r == SASL_NOMECH);
	if (r == SASL_OK) {
		login_ok(s.login, sizeof s.login);
		FUZZ_ASSERT(strnlen(s.password, sizeof s.password) < sizeof s.password);
		FUZZ_ASSERT(strcmp(sasl_mech_name(&s), "-") != 0);
	}
	sasl_wipe(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin f = { data, size };
	switch (fin_byte(&f) % 3) {
	case 0: base64(f.p, f.n); break;
	case 1: plain(f.p, f.n); break;
	default: exchange(&f); break;
	}
	return 0;
}
