/* users.c — virtual users (control/users.cdb), password hashing and
 * checking with libxcrypt, and the Maildir path of a virtual user.
 * password_check always runs one full crypt: for an unknown user (or a
 * locked/garbage hash) against a fixed yescrypt hash with the default
 * cost, so a failed login takes the same time whether or not the user
 * exists. Passwords never reach a log line. */
#include "users.h"
#include "addr.h"
#include "control.h"
#include "log.h"
#include "table.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* yescrypt ($y$j9T$, libxcrypt's default cost) of a random throw-away password */
static const char dummy_hash[] =
	"$y$j9T$XbkzELVV83pEXfFEHyREL1$/G9v..5nJYUQJtE.RDI7xuwP438E6EUe1sRL.FkCUSA";

int users_get(const char *address, char **hash)
{
	return table_get("users", address, strlen(address), hash);
}

/* compare without an early exit */
static int same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;
	for (size_t i = 0; i < la && i < lb; i++) d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* a hash crypt(3) can verify: "$id$..." or the old DES form is not accepted */
static int usable(const char *h)
{
	return h && h[0] == '$' && strlen(h) < CRYPT_OUTPUT_SIZE;
}

int password_check(const char *hash_or_null, const char *password)
{
	int real = usable(hash_or_null);
	if (!password) password = "";
	const char *setting = real ? hash_or_null : dummy_hash;
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd) return -1;
	errno = 0;
	char *out = crypt_rn(password, setting, cd, sizeof *cd);
	int r;
	if (!out || out[0] == '*') {
		/* an unsupported or malformed hash is a bad login, not a crash */
		r = errno == ENOMEM ? -1 : 0;
		if (r == 0 && real) log_msg("warning: a password hash has an unsupported format");
	} else {
		r = same(out, setting) && real;
	}
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return r;
}

char *password_hash(const char *password)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt)) return NULL;
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd) return NULL;
	char *out = crypt_rn(password, salt, cd, sizeof *cd);
	char *r = out && out[0] != '*' ? strdup(out) : NULL;
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return r;
}

/* a path component we may create under mail/ */
static int safe_component(const char *s, size_t n)
{
	if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0;
	return 1;
}

int virtual_maildir(const char *address, char *out, size_t max)
{
	const char *local, *domain;
	size_t ll, dl;
	addr_split(address, &local, &ll, &domain, &dl);
	if (!safe_component(local, ll) || !safe_component(domain, dl)) { errno = EINVAL; return -1; }
	const char *base = control_get("virtual_mailbox_base");
	const char *root = base[0] == '/' ? "" : yubin_root();
	size_t rl = strlen(root), bl = strlen(base), need = 0;
	/* root "/" base "/" domain "/" local NUL */
	if (__builtin_add_overflow(rl, bl, &need) || __builtin_add_overflow(need, dl, &need) ||
	    __builtin_add_overflow(need, ll, &need) || __builtin_add_overflow(need, 4, &need) || need > max) {
		errno = ENAMETOOLONG;
		return -1;
	}
	size_t k = 0;
	if (rl) {
		memcpy(out, root, rl);
		k = rl;
		out[k++] = '/';
	}
	memcpy(out + k, base, bl);
	k += bl;
	out[k++] = '/';
	for (size_t i = 0; i < dl; i++) out[k++] = domain[i] >= 'A' && domain[i] <= 'Z' ? (char)(domain[i] + 32) : domain[i];
	out[k++] = '/';
	for (size_t i = 0; i < ll; i++) out[k++] = local[i] >= 'A' && local[i] <= 'Z' ? (char)(local[i] + 32) : local[i];
	out[k] = 0;
	return 0;
}
