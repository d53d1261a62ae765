/* log.h — one line per event on stderr, and the exits that end a program.
 * Every line is "PROGRAM: text"; callers put the queue id first in text
 * ("ID: to=<...>, status=sent") so a message's life greps as one thread.
 * Exit codes follow qmail/skarnet: 0 ok, 100 permanent/usage, 111 temporary. */
#ifndef YUBIN_LOG_H
#define YUBIN_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum { EXIT_PERM = 100, EXIT_TEMP = 111 };

void log_init(const char *program);
const char *log_program(void);
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_vmsg(const char *fmt, va_list ap);
/* log_sys appends ": strerror(errno)" */
void log_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void die_sys(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void die_nomem(void) __attribute__((noreturn));
/* For functions that report failure in a caller's buffer instead of the
 * log: format into err (when emax > 0) and return -1. */
int fail_msg(char *err, size_t emax, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
