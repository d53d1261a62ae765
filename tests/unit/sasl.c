/* sasl.c — unit tests for src/lib/sasl.c: strict base64, PLAIN and LOGIN
 * decoding, the exchange state machine, and garbage of every shape. */
#include "tap.h"
#include "sasl.h"

#include <stdlib.h>

static int dec(const char *s, char *out, size_t max)
{
	long n = sasl_b64_decode(s, strlen(s), out, max);
	if (n >= 0 && (size_t)n < max) out[n] = 0;
	return (int)n;
}

static int begin(struct sasl *s, const char *mech, const char *init, char *chal)
{
	return sasl_begin(s, mech, strlen(mech), init, init ? strlen(init) : 0, init != NULL,
	                  chal, SASL_CHAL_MAX);
}

static int step(struct sasl *s, const char *line, char *chal)
{
	return sasl_step(s, line, strlen(line), chal, SASL_CHAL_MAX);
}

int main(void)
{
	char out[256], chal[SASL_CHAL_MAX];
	struct sasl s;

	/* base64 */
	ok(sasl_b64_encode("", 0, out, sizeof out) == 0 && out[0] == 0, "encode empty");
	ok(sasl_b64_encode("f", 1, out, sizeof out) == 4 && !strcmp(out, "Zg=="), "encode 1 byte");
	ok(sasl_b64_encode("fo", 2, out, sizeof out) == 4 && !strcmp(out, "Zm8="), "encode 2 bytes");
	ok(sasl_b64_encode("foobar", 6, out, sizeof out) == 8 && !strcmp(out, "Zm9vYmFy"), "encode 6 bytes");
	ok(sasl_b64_encode("foobar", 6, out, 8) < 0, "encode refuses a too-small buffer (no room for NUL)");
	ok(dec("Zm9vYmFy", out, sizeof out) == 6 && !strcmp(out, "foobar"), "decode");
	ok(dec("Zg==", out, sizeof out) == 1 && !strcmp(out, "f"), "decode with two pads");
	ok(dec("Zm8=", out, sizeof out) == 2 && !strcmp(out, "fo"), "decode with one pad");
	ok(dec("", out, sizeof out) == 0, "decode empty");
	ok(dec("Zg", out, sizeof out) < 0, "unpadded refused");
	ok(dec("Zh==", out, sizeof out) < 0, "non-zero hidden bits refused");
	ok(dec("Zm9=", out, sizeof out) < 0, "non-zero hidden bits refused (one pad)");
	ok(dec("Z===", out, sizeof out) < 0, "three pads refused");
	ok(dec("Zg==Zg==", out, sizeof out) < 0, "pad in the middle refused");
	ok(dec("Zm=v", out, sizeof out) < 0, "data after pad refused");
	ok(dec("Zm9v YmFy", out, sizeof out) < 0, "whitespace refused");
	ok(dec("Zm9vYmF\n", out, sizeof out) < 0, "newline refused");
	ok(dec("Zm9-YmFy", out, sizeof out) < 0, "url alphabet refused");
	ok(sasl_b64_decode("Zm9vYmFy", 8, out, 5) < 0, "decode bounded by max");
	ok(sasl_b64_decode("Zm\0vYmFy", 8, out, sizeof out) < 0, "NUL in base64 refused");
	{
		unsigned char all[256], back[256];
		char text[400];
		for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
		long n = sasl_b64_encode(all, 256, text, sizeof text);
		ok(n == 344 && sasl_b64_decode(text, (size_t)n, back, sizeof back) == 256 &&
		   !memcmp(all, back, 256), "all byte values round-trip");
	}

	/* PLAIN message */
	char login[SASL_LOGIN_MAX], pw[SASL_PASSWORD_MAX];
	ok(sasl_plain_parse("\0demo@example.test\0demo", 23, login, sizeof login, pw, sizeof pw) == 0 &&
	   !strcmp(login, "demo@example.test") && !strcmp(pw, "demo"), "PLAIN without authzid");
	ok(sasl_plain_parse("bob\0bob\0pw", 10, login, sizeof login, pw, sizeof pw) == 0 &&
	   !strcmp(login, "bob") && !strcmp(pw, "pw"), "PLAIN with authzid equal to authcid");
	ok(sasl_plain_parse("root\0bob\0pw", 11, login, sizeof login, pw, sizeof pw) < 0,
	   "PLAIN proxy authzid refused");
	ok(sasl_plain_parse("\0\0pw", 4, login, sizeof login, pw, sizeof pw) < 0, "PLAIN empty login refused");
	ok(sasl_plain_parse("\0bob", 4, login, sizeof login, pw, sizeof pw) < 0, "PLAIN one NUL refused");
	ok(sasl_plain_parse("bob", 3, login, sizeof login, pw, sizeof pw) < 0, "PLAIN no NUL refused");
	ok(sasl_plain_parse("\0bob\0p\0w", 8, login, sizeof login, pw, sizeof pw) < 0, "PLAIN third NUL refused");
	ok(sasl_plain_parse("\0b b\0pw", 7, login, sizeof login, pw, sizeof pw) < 0, "PLAIN space in login refused");
	ok(sasl_plain_parse("\0b\rb\0pw", 7, login, sizeof login, pw, sizeof pw) < 0, "PLAIN control in login refused");
	ok(sasl_plain_parse("\0bob\0", 5, login, sizeof login, pw, sizeof pw) == 0 && pw[0] == 0,
	   "PLAIN empty password decodes (and will not match)");
	{
		char big[600];
		big[0] = 0;
		memset(big + 1, 'a', 300);
		big[301] = 0;
		memcpy(big + 302, "pw", 2);
		ok(sasl_plain_parse(big, 304, login, sizeof login, pw, sizeof pw) < 0, "PLAIN overlong login refused");
		big[0] = 0; memcpy(big + 1, "bob", 3); big[4] = 0;
		memset(big + 5, 'p', 300);
		ok(sasl_plain_parse(big, 305, login, sizeof login, pw, sizeof pw) < 0 && login[0] == 0,
		   "PLAIN overlong password refused and login cleared");
	}

	/* LOGIN pieces */
	ok(sasl_login_decode("ZGVtbw==", 8, out, sizeof out) == 0 && !strcmp(out, "demo"), "LOGIN response decodes");
	ok(sasl_login_decode("AGRlbW8=", 8, out, sizeof out) < 0, "LOGIN response with NUL refused");
	ok(sasl_login_decode("ZGVtbw==", 8, out, 4) < 0, "LOGIN response too long for buffer refused");

	/* exchanges */
	ok(begin(&s, "PLAIN", "AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8=", chal) == SASL_OK &&
	   !strcmp(s.login, "demo@example.test") && !strcmp(s.password, "demo") &&
	   !strcmp(sasl_mech_name(&s), "PLAIN"), "PLAIN with initial response");
	ok(begin(&s, "plain", NULL, chal) == SASL_CONTINUE && chal[0] == 0, "PLAIN without initial response asks with an empty challenge");
	ok(step(&s, "AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8=", chal) == SASL_OK && !strcmp(s.password, "demo"),
	   "PLAIN continuation");
	ok(begin(&s, "PLAIN", "=", chal) == SASL_BAD, "PLAIN empty initial response is malformed");
	ok(begin(&s, "PLAIN", "*", chal) == SASL_CANCEL, "'*' as initial response cancels");
	ok(begin(&s, "PLAIN", NULL, chal) == SASL_CONTINUE && step(&s, "*", chal) == SASL_CANCEL, "'*' cancels PLAIN");
	ok(begin(&s, "PLAIN", "!!!!", chal) == SASL_BAD, "PLAIN garbage base64");
	ok(begin(&s, "PLAIN", "Zm9vYmFy", chal) == SASL_BAD, "PLAIN valid base64 without NULs");
	ok(begin(&s, "LOGIN", NULL, chal) == SASL_CONTINUE && !strcmp(chal, "VXNlcm5hbWU6"), "LOGIN asks Username:");
	ok(step(&s, "ZGVtb0BleGFtcGxlLnRlc3Q=", chal) == SASL_CONTINUE && !strcmp(chal, "UGFzc3dvcmQ6"), "then Password:");
	ok(step(&s, "ZGVtbw==", chal) == SASL_OK && !strcmp(s.login, "demo@example.test") &&
	   !strcmp(s.password, "demo") && !strcmp(sasl_mech_name(&s), "LOGIN"), "LOGIN completes");
	ok(step(&s, "ZGVtbw==", chal) == SASL_BAD, "a step after completion is refused");
	ok(begin(&s, "LOGIN", "ZGVtbw==", chal) == SASL_CONTINUE && !strcmp(chal, "UGFzc3dvcmQ6") &&
	   !strcmp(s.login, "demo"), "LOGIN with initial response skips Username:");
	ok(step(&s, "*", chal) == SASL_CANCEL, "'*' cancels LOGIN");
	ok(begin(&s, "LOGIN", "=", chal) == SASL_CONTINUE && !strcmp(chal, "VXNlcm5hbWU6"), "LOGIN '=' asks for the user");
	ok(begin(&s, "LOGIN", NULL, chal) == SASL_CONTINUE && step(&s, "", chal) == SASL_BAD, "LOGIN empty user refused");
	ok(begin(&s, "LOGIN", NULL, chal) == SASL_CONTINUE && step(&s, "ZGVt", chal) == SASL_CONTINUE &&
	   step(&s, "", chal) == SASL_OK && s.password[0] == 0, "LOGIN empty password decodes");
	ok(begin(&s, "CRAM-MD5", NULL, chal) == SASL_NOMECH, "unknown mechanism");
	ok(begin(&s, "PLAINX", NULL, chal) == SASL_NOMECH, "prefix of a mechanism is not it");
	ok(sasl_begin(&s, "PLAIN", 5, "AGJvYgBwdw==", 12, 1, chal, 0) == SASL_OK, "zero-size challenge buffer is fine when none is needed");
	{
		char longline[SASL_LINE_MAX + 8];
		memset(longline, 'A', sizeof longline);
		ok(begin(&s, "PLAIN", NULL, chal) == SASL_CONTINUE &&
		   sasl_step(&s, longline, sizeof longline, chal, sizeof chal) == SASL_BAD, "overlong response refused");
	}
	/* random garbage never crashes and never succeeds unless it decodes */
	srand(7);
	int crashes_free = 1;
	for (int i = 0; i < 20000; i++) {
		char g[64];
		size_t n = (size_t)(rand() % 64);
		for (size_t k = 0; k < n; k++) g[k] = (char)(rand() % 256);
		int r = begin(&s, i % 2 ? "PLAIN" : "LOGIN", NULL, chal);
		r = sasl_step(&s, g, n, chal, sizeof chal);
		if (r == SASL_OK && s.login[0] == 0 && s.mech == SASL_MECH_PLAIN) crashes_free = 0;
	}
	ok(crashes_free, "20000 random responses handled");
	sasl_wipe(&s);
	ok(s.password[0] == 0 && s.mech == SASL_MECH_NONE, "wipe clears the state");
	return done_testing();
}
