/* tap.h — a tiny TAP harness for the C unit tests (prove reads it).
 *   ok(cond, "name") ... return done_testing();  */
#ifndef YUBIN_TAP_H
#define YUBIN_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

__attribute__((format(printf, 4, 5)))
static inline int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	tap_n++;
	printf("%s %d - ", pass ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		tap_failed++;
		printf("#   failed at %s line %d\n", file, line);
	}
	fflush(stdout);
	return pass;
}

#define is_str(got, want, ...) \
	(ok((got) && strcmp((got), (want)) == 0, __VA_ARGS__) || \
	 (printf("#   got \"%s\", want \"%s\"\n", (got) ? (got) : "(null)", (want)), 0))

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
