/* sasl.h — base64 and the server side of SASL PLAIN and LOGIN, shared by
 * SMTP AUTH (RFC 4954), POP3 AUTH (RFC 5034) and IMAP AUTHENTICATE (RFC
 * 3501/4959). Pure parsing: no I/O, no password checks (auth.h does those).
 * Everything takes (pointer, length); decoding is strict (canonical base64,
 * no whitespace) and bounded by the fixed buffers in struct sasl.
 *
 * Usage in a protocol engine (SMTP shown; IMAP/POP3 send "+ " instead of
 * "334 " and read the same lines):
 *
 *   struct sasl s;  char chal[SASL_CHAL_MAX];
 *   int r = sasl_begin(&s, mech, mlen, init, ilen, has_init, chal, sizeof chal);
 *   while (r == SASL_CONTINUE) {
 *       reply("334 %s", chal);              // chal may be "" (send "334 ")
 *       read one line (limit SASL_LINE_MAX; longer -> 500 5.5.6 and stop)
 *       r = sasl_step(&s, line, len, chal, sizeof chal);
 *   }
 *   SASL_OK      -> auth_check_mech(s.login, s.password, svc, ip, sasl_mech_name(&s))
 *   SASL_CANCEL  -> "501 5.0.0 Authentication aborted"
 *   SASL_BAD     -> "501 5.5.2 Cannot decode response" (counts as a failure)
 *   SASL_NOMECH  -> "504 5.5.4 Unrecognized authentication type"
 *   sasl_wipe(&s) afterwards, always. */
#ifndef YUBIN_SASL_H
#define YUBIN_SASL_H

#include <stddef.h>

#define SASL_LOGIN_MAX 256          /* bytes of login, including the NUL */
#define SASL_PASSWORD_MAX 256       /* bytes of password, including the NUL */
#define SASL_LINE_MAX 2048          /* longest base64 response line worth reading */
#define SASL_CHAL_MAX 64            /* room for any challenge we send */

enum sasl_mech { SASL_MECH_NONE = 0, SASL_MECH_PLAIN, SASL_MECH_LOGIN };
enum sasl_status {
	SASL_OK = 0,        /* s->login and s->password are set */
	SASL_CONTINUE = 1,  /* send chal as a continuation, read one line, call sasl_step */
	SASL_BAD = -1,      /* malformed response (bad base64, bad PLAIN, too long) */
	SASL_CANCEL = -2,   /* client sent "*" */
	SASL_NOMECH = -3,   /* mechanism not offered */
};

struct sasl {
	enum sasl_mech mech;
	int step;
	char login[SASL_LOGIN_MAX];
	char password[SASL_PASSWORD_MAX];
};

/* Base64 (RFC 4648 alphabet, padded). Encode returns the text length (out
 * is NUL-terminated) or -1 if max is too small. Decode is strict: length a
 * multiple of 4, padding only at the end, unused bits zero, no whitespace;
 * returns the byte count or -1. n == 0 decodes to 0 bytes. */
long sasl_b64_encode(const void *in, size_t n, char *out, size_t max);
long sasl_b64_decode(const char *in, size_t n, void *out, size_t max);

/* SASL PLAIN message (already decoded): authzid NUL authcid NUL passwd.
 * authzid must be empty or equal to authcid (no proxy logins); login must
 * be non-empty and printable, no field may hold another NUL. 0 or -1. */
int sasl_plain_parse(const void *msg, size_t n, char *login, size_t lmax,
                     char *password, size_t pmax);
/* One base64 response of SASL LOGIN (a user name or a password) decoded
 * into a NUL-terminated string; -1 on bad base64, NUL inside or too long. */
int sasl_login_decode(const char *b64, size_t n, char *out, size_t max);

/* The mechanisms we offer, for EHLO / CAPA / CAPABILITY: "PLAIN LOGIN". */
#define SASL_MECHS "PLAIN LOGIN"
/* Start an exchange. mech is the name the client sent (case-insensitive).
 * has_initial: the client sent an initial response (SMTP "AUTH PLAIN xxx",
 * IMAP SASL-IR); "=" is the empty initial response; "*" cancels. */
int sasl_begin(struct sasl *s, const char *mech, size_t mlen, const char *initial,
               size_t ilen, int has_initial, char *chal, size_t cmax);
/* Feed one client line (without CRLF). */
int sasl_step(struct sasl *s, const char *line, size_t n, char *chal, size_t cmax);
/* "PLAIN" / "LOGIN" / "-" */
const char *sasl_mech_name(const struct sasl *s);
/* Forget the password (explicit_bzero of the whole struct). */
void sasl_wipe(struct sasl *s);

#endif
