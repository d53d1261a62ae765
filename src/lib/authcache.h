/* authcache.h — logins verified a moment ago, so a client that logs in
 * again and again (a script sending through submission, a phone that
 * reconnects) costs one crypt(3) per control/auth_cache_ttl instead of one
 * per login, as saslauthd -c and Dovecot's auth_cache do.
 *
 * Kept in the memory of one process (a reused smtpd or submission worker,
 * serve.h), never on disk, at most AUTHCACHE_SIZE entries. An entry is
 * HMAC-SHA256, under a key drawn at random by this process, of (login,
 * password, stored hash): it shows that a password was right without
 * holding the password, is worthless outside this process, and stops
 * matching the moment the stored hash changes, so a new password, a
 * locked or a removed account takes effect at once. Only successes are
 * kept: a wrong password and an unknown user always cost a full crypt(3).
 * auth_cache_ttl = 0 turns it off. */
#ifndef YUBIN_AUTHCACHE_H
#define YUBIN_AUTHCACHE_H

#define AUTHCACHE_SIZE 64

/* 1 when login/password was verified against stored_hash within the TTL */
int authcache_hit(const char *login, const char *password, const char *stored_hash);
/* remember a successful verification */
void authcache_add(const char *login, const char *password, const char *stored_hash);

#endif
