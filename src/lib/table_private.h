/* table_private.h — shared by the table modules only: the logical lines of a text
 * table as postmap(1) reads them. Blank lines and lines whose first
 * non-blank byte is '#' are skipped; a line starting with whitespace
 * continues the previous one (joined with one space); a trailing CR is
 * dropped. NUL bytes and lines over TABLE_LINE_MAX are errors. */
#ifndef YUBIN_TABLE_PRIVATE_H
#define YUBIN_TABLE_PRIVATE_H

#include <stddef.h>

#define TABLE_LINE_MAX ((size_t)1 << 20)

/* fn gets each logical line (NUL-terminated, trimmed) and the number of its
 * first physical line; it returns 0, or -1 to stop (errno set; EINVAL when
 * it has logged a syntax error). table_lines returns 0, or -1 with errno:
 * EINVAL after logging "path:line: problem", else the open/read error. */
typedef int table_line_fn(const char *line, size_t len, unsigned long lineno, void *arg);
int table_lines(const char *path, table_line_fn *fn, void *arg);

/* ASCII lower-case in place */
void table_lower(char *s, size_t n);

/* regexp tables by file path (table_regexp.c): lookup as table_regexp();
 * check parses the whole file and logs every problem (yubin-map). */
int regexp_lookup_path(const char *path, const char *subject, size_t len, char **value);
int regexp_check_file(const char *path);

#endif
