/* table.c — fuzz target: table sources as yubin-map and the programs read
 * them. The input is a table file (text, aliases, regexp or cidr) and a
 * key; the file is written into a scratch instance and compiled
 * (table_compile: postmap syntax, aliases syntax), checked and looked up
 * (regexp: patterns, flags, $1..$9 substitution), or looked up as a
 * cidr: table. Beyond memory safety: lookups return 1, 0 or -1 and a
 * found value is a string. Regexp patterns are POSIX ERE (glibc), so a
 * slow pattern is the admin's choice; the fuzzer reports it as a timeout.
 * Input: selector byte, table text, 0xFF, key. */
#include "fuzz.h"
#include "cidr.h"
#include "cidrtable.h"
#include "table.h"
#include "table_private.h"

#include <fcntl.h>

/* write atomically (a new inode each time, so caches see a new file) */
static void put_file(const char *path, const uint8_t *p, size_t n)
{
	char tmp[256];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) abort();
	if (n && write(fd, p, n) != (ssize_t)n) abort();
	close(fd);
	if (rename(tmp, path) < 0) abort();
}

static void found(int r, char **vp)
{
	char *value = *vp;
	*vp = NULL;
	FUZZ_ASSERT(r == 0 || r == 1 || r == -1);
	if (r == 1) {
		FUZZ_ASSERT(value != NULL);
		(void)strlen(value);
		free(value);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin f = { data, size };
	unsigned sel = fin_byte(&f);
	const uint8_t *text;
	size_t tn = fin_piece(&f, 0xff, &text);
	char *key = fuzz_dup(f.p, f.n, 1);
	char path[256];
	char *value = NULL;
	switch (sel % 4) {
	case 0:
	case 1: {
		snprintf(path, sizeof path, "%s/control/%s", fuzz_dir, sel % 4 ? "aliases" : "access");
		put_file(path, text, tn);
		if (table_compile(path) == 0) {
			int r = table_query_file(path, key, f.n, &value);
			found(r, &value);
			r = table_get(sel % 4 ? "aliases" : "access", key, f.n, &value);
			found(r, &value);
			r = table_lookup_addr(sel % 4 ? "aliases" : "access", key, &value);
			found(r, &value);
		}
		break;
	}
	case 2:
		snprintf(path, sizeof path, "%s/control/fz.regexp", fuzz_dir);
		put_file(path, text, tn);
		(void)regexp_check_file(path);
		{
		int r = regexp_lookup_path(path, key, f.n, &value);
		found(r, &value);
		}
		break;
	default: {
		snprintf(path, sizeof path, "%s/control/fz.cidr", fuzz_dir);
		put_file(path, text, tn);
		struct ipaddr ip;
		if (ip_parse(key, f.n, &ip) < 0) ip_parse("192.0.2.1", 9, &ip);
		int r = cidr_table_lookup("fz", 2, &ip, &value);
		found(r, &value);
		break;
	}
	}
	free(key);
	return 0;
}
