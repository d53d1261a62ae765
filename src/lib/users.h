/* users.h — virtual users (control/users, compiled to users.cdb by
 * yubin-user) and password checks shared by every login.
 * control/users lines: "user@domain HASH" with a crypt(3) hash
 * (yescrypt $y$ by default; $6$ sha512-crypt and $2b$ bcrypt verify too). */
#ifndef YUBIN_USERS_H
#define YUBIN_USERS_H

#include <stddef.h>

/* 1 found (*hash malloc'd), 0 unknown, -1 temporary error */
int users_get(const char *address, char **hash);
/* Constant-shape check: an unknown user is checked against a dummy hash
 * so the time taken does not tell whether the user exists.
 * 1 good password, 0 bad or unknown, -1 temporary error. */
int password_check(const char *hash_or_null, const char *password);
/* New hash for password (yescrypt); NULL on failure. Caller frees. */
char *password_hash(const char *password);
/* $YUBIN_ROOT/mail/DOMAIN/USER (a Maildir), into out. -1 if unsafe
 * (a component empty, '.', '..', or holding '/'). */
int virtual_maildir(const char *address, char *out, size_t max);

#endif
