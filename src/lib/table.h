/* table.h — lookup tables in control/: NAME (postmap text) compiled to
 * NAME.cdb by yubin-map, and NAME.regexp (/pattern/flags result).
 * A table "spec" is how a setting names a table: "access" means
 * control/access.cdb, "regexp:access" means control/access.regexp; Postfix
 * spellings "hash:/etc/postfix/access" and "regexp:/etc/postfix/x.regexp"
 * are accepted and mean the same file names in control/.
 * Lookups return 1 found (*value malloc'd, caller frees), 0 not found,
 * -1 on a temporary error (unreadable or corrupt table: logged, naming
 * the file). Keys are matched case-insensitively (stored lower-case). */
#ifndef YUBIN_TABLE_H
#define YUBIN_TABLE_H

#include <stddef.h>

/* exact key in a compiled table control/NAME.cdb */
int table_get(const char *name, const char *key, size_t keylen, char **value);
/* 1 when name[0..n) may name a table: a plain file name inside control/
 * (letters, digits, '.', '_', '-'; not starting with '.'; at most 200) */
int table_name_ok(const char *name, size_t n);
/* first matching rule of control/NAME.regexp, with $1..$9 substituted */
int table_regexp(const char *name, const char *subject, size_t len, char **value);
/* by spec (cdb or regexp), exact key */
int table_lookup(const char *spec, const char *key, char **value);
/* address lookup in Postfix order: user+ext@domain, user@domain,
 * user+ext, user (only when domain is local), @domain.
 * For regexp specs the whole address is the subject (then, when it has
 * an extension, the address without it). */
int table_lookup_addr(const char *spec, const char *addr, char **value);
/* the same; *unext is set to 1 when the key that matched was the address
 * without its extension (user@domain, user), so the caller may carry the
 * extension over (propagate_unmatched_extensions) */
int table_lookup_addr_ext(const char *spec, const char *addr, char **value, int *unext);

/* yubin-map -q: exact key in the table whose text file is path (path.cdb),
 * or, when path ends in ".regexp", the first matching rule of path. */
int table_query_file(const char *path, const char *key, size_t keylen, char **value);

/* yubin-ctl check: parse the regexp table at path as lookups do, going on
 * past bad lines: each problem goes to report (line 0: the whole file),
 * each rule's result to result (may be NULL). Returns the number of
 * problems, or -1 when the file cannot be read (errno). */
typedef void regexp_report_fn(void *arg, unsigned long line, const char *problem);
typedef void regexp_result_fn(void *arg, unsigned long line, const char *result);
int regexp_check_rules(const char *path, regexp_report_fn *report, regexp_result_fn *result, void *arg);

/* Compile the text table at path into path.cdb atomically (temp file,
 * fsync, rename). Aliases files (basename "aliases") use "name: value"
 * syntax. A path ending in ".regexp" is only checked (no .cdb is made).
 * Returns 0, or -1 after logging "path:line: problem" (errno EINVAL for a
 * syntax error or a missing file, else the system error). */
int table_compile(const char *path);

#endif
