/* yubin-map — postmap(1) for yubin.
 *   yubin-map FILE...          compile each text table FILE into FILE.cdb
 *                              (atomically); FILE.regexp is only checked
 *   yubin-map -q KEY FILE      print KEY's value (exit 0) or nothing (exit 1)
 * Any path works (control/aliases uses "name: value" syntax by its name).
 * Exits 100 on a syntax error or bad usage, 111 on a system error. */
#include "io.h"
#include "log.h"
#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
	die(EXIT_PERM, "usage: yubin-map FILE... | yubin-map -q KEY FILE");
}

static int query(const char *key, const char *file)
{
	char *value;
	int r = table_query_file(file, key, strlen(key), &value);
	if (r < 0) die(EXIT_TEMP, "%s: lookup failed", file);
	if (r == 0) return 1;
	size_t n = strlen(value);
	value[n] = '\n'; /* the NUL becomes the newline */
	if (write_all(1, value, n + 1) < 0) die_sys(EXIT_TEMP, "write");
	free(value);
	return 0;
}

int main(int argc, char **argv)
{
	log_init("yubin-map");
	if (argc >= 2 && strcmp(argv[1], "-q") == 0) {
		if (argc != 4) usage();
		return query(argv[2], argv[3]);
	}
	if (argc < 2 || argv[1][0] == '-') usage();
	int code = 0;
	for (int i = 1; i < argc; i++)
		if (table_compile(argv[i]) < 0) {
			int c = errno == EINVAL ? EXIT_PERM : EXIT_TEMP;
			if (c > code) code = c;
		}
	return code;
}
