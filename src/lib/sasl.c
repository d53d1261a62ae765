/* sasl.c — strict base64 and the PLAIN / LOGIN server exchanges (see
 * sasl.h). Network bytes only ever land in fixed buffers; anything that
 * does not fit or does not decode canonically is refused, and decoded
 * credentials are wiped from temporaries. */
#include "sasl.h"

#include <string.h>
#include <strings.h>

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

long sasl_b64_encode(const void *in, size_t n, char *out, size_t max)
{
	const unsigned char *p = in;
	size_t groups = n / 3 + (n % 3 != 0), need;
	if (__builtin_mul_overflow(groups, 4, &need) || need >= max || need > (size_t)0x7fffffff)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n) v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n) v |= p[i + 2];
		out[o++] = b64chars[(v >> 18) & 63];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
	}
	out[o] = 0;
	return (long)o;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

long sasl_b64_decode(const char *in, size_t n, void *out, size_t max)
{
	unsigned char *o = out;
	size_t len = 0;
	if (n % 4 != 0 || n / 4 > (size_t)0x7fffffff / 3) return -1;
	for (size_t i = 0; i < n; i += 4) {
		int last = i + 4 == n;
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];
			if (c == '=' && last && k >= 2) {
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad) return -1;          /* data after '=' */
			v[k] = b64val(c);
			if (v[k] < 0) return -1;
		}
		unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
		/* canonical only: the bits the padding hides must be zero */
		if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff))) return -1;
		size_t k = 3 - (size_t)pad;
		if (len + k > max) return -1;
		o[len++] = (unsigned char)(w >> 16);
		if (k > 1) o[len++] = (unsigned char)(w >> 8);
		if (k > 2) o[len++] = (unsigned char)w;
	}
	return (long)len;
}

/* a login is printable: no controls, no spaces (UTF-8 allowed) */
static int login_ok(const unsigned char *p, size_t n)
{
	if (n == 0) return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] == 0x7f) return 0;
	return 1;
}

static int copy_field(const unsigned char *p, size_t n, char *out, size_t max)
{
	if (n >= max || memchr(p, 0, n)) return -1;
	memcpy(out, p, n);
	out[n] = 0;
	return 0;
}

int sasl_plain_parse(const void *msg, size_t n, char *login, size_t lmax,
                     char *password, size_t pmax)
{
	const unsigned char *p = msg, *end = p + n;
	const unsigned char *z1 = memchr(p, 0, n);
	if (!z1) return -1;
	const unsigned char *c = z1 + 1;
	const unsigned char *z2 = memchr(c, 0, (size_t)(end - c));
	if (!z2) return -1;
	const unsigned char *pw = z2 + 1;
	size_t zlen = (size_t)(z1 - p), clen = (size_t)(z2 - c), plen = (size_t)(end - pw);
	if (!login_ok(c, clen)) return -1;
	if (zlen && (zlen != clen || memcmp(p, c, clen) != 0)) return -1;  /* no proxy auth */
	if (copy_field(c, clen, login, lmax) < 0) return -1;
	if (copy_field(pw, plen, password, pmax) < 0) {
		login[0] = 0;
		return -1;
	}
	return 0;
}

int sasl_login_decode(const char *b64, size_t n, char *out, size_t max)
{
	unsigned char tmp[SASL_LINE_MAX];
	if (n > sizeof tmp) return -1;
	long k = sasl_b64_decode(b64, n, tmp, sizeof tmp);
	int r = k < 0 ? -1 : copy_field(tmp, (size_t)k, out, max);
	explicit_bzero(tmp, sizeof tmp);
	return r;
}

static int set_chal(char *chal, size_t cmax, const char *text)
{
	size_t n = strlen(text);
	if (n >= cmax) return SASL_BAD;
	memcpy(chal, text, n + 1);
	return SASL_CONTINUE;
}

/* LOGIN's prompts, base64 of "Username:" and "Password:" as every client expects */
#define LOGIN_USER "VXNlcm5hbWU6"
#define LOGIN_PASS "UGFzc3dvcmQ6"

static int plain_finish(struct sasl *s, const char *b64, size_t n)
{
	unsigned char tmp[SASL_LINE_MAX];
	if (n > sizeof tmp) return SASL_BAD;
	long k = sasl_b64_decode(b64, n, tmp, sizeof tmp);
	int r = k <= 0 ? -1 : sasl_plain_parse(tmp, (size_t)k, s->login, sizeof s->login,
	                                        s->password, sizeof s->password);
	explicit_bzero(tmp, sizeof tmp);
	return r < 0 ? SASL_BAD : SASL_OK;
}

static int login_user(struct sasl *s, const char *b64, size_t n, char *chal, size_t cmax)
{
	if (sasl_login_decode(b64, n, s->login, sizeof s->login) < 0 ||
	    !login_ok((const unsigned char *)s->login, strlen(s->login)))
		return SASL_BAD;
	s->step = 2;
	return set_chal(chal, cmax, LOGIN_PASS);
}

int sasl_begin(struct sasl *s, const char *mech, size_t mlen, const char *initial,
               size_t ilen, int has_initial, char *chal, size_t cmax)
{
	memset(s, 0, sizeof *s);
	if (cmax) chal[0] = 0;
	if (mlen == 5 && strncasecmp(mech, "PLAIN", 5) == 0) s->mech = SASL_MECH_PLAIN;
	else if (mlen == 5 && strncasecmp(mech, "LOGIN", 5) == 0) s->mech = SASL_MECH_LOGIN;
	else return SASL_NOMECH;
	if (has_initial && ilen == 1 && initial[0] == '*') return SASL_CANCEL;
	int empty = has_initial && ilen == 1 && initial[0] == '=';
	s->step = 1;
	if (s->mech == SASL_MECH_PLAIN) {
		if (!has_initial) return set_chal(chal, cmax, "");
		return empty ? SASL_BAD : plain_finish(s, initial, ilen);
	}
	if (!has_initial || empty) return set_chal(chal, cmax, LOGIN_USER);
	return login_user(s, initial, ilen, chal, cmax);
}

int sasl_step(struct sasl *s, const char *line, size_t n, char *chal, size_t cmax)
{
	if (cmax) chal[0] = 0;
	if (n == 1 && line[0] == '*') return SASL_CANCEL;
	if (s->mech == SASL_MECH_PLAIN && s->step == 1) return plain_finish(s, line, n);
	if (s->mech == SASL_MECH_LOGIN && s->step == 1) return login_user(s, line, n, chal, cmax);
	if (s->mech == SASL_MECH_LOGIN && s->step == 2) {
		s->step = 3;
		return sasl_login_decode(line, n, s->password, sizeof s->password) < 0 ? SASL_BAD : SASL_OK;
	}
	return SASL_BAD;
}

const char *sasl_mech_name(const struct sasl *s)
{
	switch (s->mech) {
	case SASL_MECH_PLAIN: return "PLAIN";
	case SASL_MECH_LOGIN: return "LOGIN";
	default: return "-";
	}
}

void sasl_wipe(struct sasl *s) { explicit_bzero(s, sizeof *s); }
