/* uidlist.h — the per-folder index "yubin-uidlist": UIDVALIDITY, the next
 * UID, the highest UID already shown as \Recent, the keyword names and one
 * "UID UNIQUE-NAME" line per message. Replaced atomically (temp file +
 * rename), so readers need no lock; writers hold an flock on
 * "yubin-uidlist.lock" from their re-read to their rename.
 *
 *   yubin-uidlist 1 V<uidvalidity> N<uidnext> R<recent>
 *   K<letter> <keyword>
 *   <uid> <unique name>            (sorted by uid)                      */
#ifndef YUBIN_UIDLIST_H
#define YUBIN_UIDLIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct uident {
	uint32_t uid;
	uint16_t len;
	const char *base;    /* not NUL-terminated */
};

struct uidlist {
	uint32_t uidvalidity, uidnext, recent;
	char *kw[26];
	size_t nkw;
	struct uident *e;
	size_t n, cap;
	char *text;          /* file content the bases point into */
	/* hash of bases -> entry index + 1 */
	uint32_t *slot;
	size_t mask;
	/* identity of the file read */
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int loaded;
};

/* Read dir/yubin-uidlist unless it is the file already loaded. A missing
 * file leaves an empty list with uidvalidity 0. 1 reread, 0 unchanged,
 * -1 error. */
int uidlist_load(const char *dir, struct uidlist *u);
void uidlist_free(struct uidlist *u);
/* entry index for base, or -1 */
long uidlist_find(const struct uidlist *u, const char *base, size_t len);
/* Write header + kw + entries (must be sorted by uid) atomically. */
int uidlist_write(const char *dir, uint32_t uidvalidity, uint32_t uidnext, uint32_t recent,
                  char *const *kw, size_t nkw, const struct uident *e, size_t n);
/* flock dir/yubin-uidlist.lock; returns the fd or -1 */
int uidlist_lock(const char *dir);
void uidlist_unlock(int fd);
/* a fresh UIDVALIDITY */
uint32_t uidlist_new_validity(void);

/* FNV-1a over a unique name, shared by the hash tables */
static inline uint32_t name_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 16777619u; }
	return h;
}

#endif
