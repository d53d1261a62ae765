/* authcache.c — the verified-login cache of authcache.h: a small table of
 * HMACs, the oldest entry replaced when it is full. */
#include "authcache.h"
#include "control.h"

#include <bearssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

struct entry {
	unsigned char mac[32];
	time_t when;
};

static struct entry cache[AUTHCACHE_SIZE];
static unsigned char key[32];
static pid_t key_owner;   /* a forked worker draws its own key */

static long long ttl(void)
{
	long long t = control_time("auth_cache_ttl");
	return t > 0 ? t : 0;
}

static int mac_of(const char *login, const char *password, const char *hash, unsigned char out[32])
{
	pid_t me = getpid();
	if (key_owner != me) {
		if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key) return -1;
		memset(cache, 0, sizeof cache);
		key_owner = me;
	}
	br_hmac_key_context kc;
	br_hmac_context hc;
	br_hmac_key_init(&kc, &br_sha256_vtable, key, sizeof key);
	br_hmac_init(&hc, &kc, 0);
	/* the NULs keep ("ab","c") and ("a","bc") apart */
	br_hmac_update(&hc, login, strlen(login) + 1);
	br_hmac_update(&hc, password, strlen(password) + 1);
	br_hmac_update(&hc, hash, strlen(hash) + 1);
	br_hmac_out(&hc, out);
	explicit_bzero(&hc, sizeof hc);
	return 0;
}

/* compare without an early exit */
static int same(const unsigned char *a, const unsigned char *b)
{
	unsigned char d = 0;
	for (size_t i = 0; i < 32; i++) d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int authcache_hit(const char *login, const char *password, const char *stored_hash)
{
	long long t = ttl();
	unsigned char mac[32];
	if (!t || mac_of(login, password, stored_hash, mac) < 0) return 0;
	time_t now = time(NULL);
	int hit = 0;
	for (size_t i = 0; i < AUTHCACHE_SIZE; i++)
		if (cache[i].when && now - cache[i].when < t && now >= cache[i].when && same(cache[i].mac, mac)) hit = 1;
	explicit_bzero(mac, sizeof mac);
	return hit;
}

void authcache_add(const char *login, const char *password, const char *stored_hash)
{
	unsigned char mac[32];
	if (!ttl() || mac_of(login, password, stored_hash, mac) < 0) return;
	size_t oldest = 0;
	for (size_t i = 0; i < AUTHCACHE_SIZE; i++) {
		if (same(cache[i].mac, mac)) { oldest = i; break; }
		if (cache[i].when < cache[oldest].when) oldest = i;
	}
	memcpy(cache[oldest].mac, mac, sizeof mac);
	cache[oldest].when = time(NULL);
	explicit_bzero(mac, sizeof mac);
}
