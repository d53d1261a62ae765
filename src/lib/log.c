/* log.c — stderr logging, one write(2) per line so concurrent writers to
 * the same maillog never interleave inside a line. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *prog = "yubin";

void log_init(const char *program)
{
	const char *slash = strrchr(program, '/');
	prog = slash ? slash + 1 : program;
}

const char *log_program(void) { return prog; }

static void emit(const char *fmt, va_list ap, int err)
{
	char line[2048];
	int n = snprintf(line, sizeof line, "%s: ", prog);
	if (n < 0) return;
	size_t len = (size_t)n;
	int m = vsnprintf(line + len, sizeof line - len, fmt, ap);
	if (m < 0) return;
	len += (size_t)m;
	if (len >= sizeof line - 1) len = sizeof line - 2; /* truncated */
	if (err) {
		m = snprintf(line + len, sizeof line - len, ": %s", strerror(err));
		if (m > 0) len += (size_t)m;
		if (len >= sizeof line - 1) len = sizeof line - 2;
	}
	/* a log line never carries control characters from the network */
	for (size_t i = (size_t)n; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) line[i] = '?';
	line[len++] = '\n';
	ssize_t w = write(2, line, len);
	(void)w;
}

void log_vmsg(const char *fmt, va_list ap) { emit(fmt, ap, 0); }

void log_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(fmt, ap, 0);
	va_end(ap);
}

void log_sys(const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	emit(fmt, ap, err);
	va_end(ap);
}

void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(fmt, ap, 0);
	va_end(ap);
	_exit(code);
}

void die_sys(int code, const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	emit(fmt, ap, err);
	va_end(ap);
	_exit(code);
}

void die_nomem(void) { die(EXIT_TEMP, "out of memory"); }

int fail_msg(char *err, size_t emax, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (emax) vsnprintf(err, emax, fmt, ap);
	va_end(ap);
	return -1;
}
