/* control.h — the instance ($YUBIN_ROOT) and its control files.
 * One setting per file in $YUBIN_ROOT/control, Postfix value syntax:
 * '#' comment lines, lists split on commas/spaces/newlines, $name and
 * ${name} expand to another setting (loops detected), times take
 * s m h d w suffixes, sizes are bytes. A missing file means the default
 * from the one table in settings.c. Values are cached per process;
 * control_reload() forgets them (yubin-qmgr on SIGHUP). */
#ifndef YUBIN_CONTROL_H
#define YUBIN_CONTROL_H

#include <stddef.h>

enum setting_kind { SK_STRING, SK_LIST, SK_TIME, SK_SIZE, SK_BOOL, SK_INT };

struct setting {
	const char *name;
	const char *def;       /* default in Postfix syntax; may hold $name */
	enum setting_kind kind;
	char unit;             /* default time unit for SK_TIME: 's', 'd', or 'M' (milliseconds) */
	const char *meaning;   /* one line for yubin-ctl config and the man page */
};

extern const struct setting settings[];
extern const size_t settings_count;
const struct setting *setting_find(const char *name);

/* $YUBIN_ROOT, default /var/yubin */
const char *yubin_root(void);
/* ROOT "/" rel into out; -1 (ENAMETOOLONG) if it does not fit */
int root_path(char *out, size_t max, const char *rel);

/* Raw value as written (comment lines dropped, lines joined by a space,
 * trimmed), or the default; NULL when neither exists. */
const char *control_raw(const char *name);
/* 1 when control/NAME exists */
int control_is_set(const char *name);
/* Value with $name expanded; never NULL (unknown -> ""). */
const char *control_get(const char *name);
/* Expanded value split into items; the array and strings are cached and
 * owned by the module. Returns the count. */
size_t control_list(const char *name, const char *const **items);
/* 1 when item equals (ASCII case-insensitively) one of the list's items */
int control_list_has(const char *name, const char *item);
/* Parsed values; on a bad value they log "control/NAME: ..." and use the
 * default. */
long long control_time(const char *name);   /* seconds; milliseconds for unit 'M' */
long long control_size(const char *name);   /* bytes, 0 = unlimited */
long long control_int(const char *name);
int control_bool(const char *name);
void control_reload(void);
/* For long-running programs, before each unit of work: when any control
 * file read so far has changed (checked at most once a second, one stat
 * per file), forget every cached value, so a change takes effect at the
 * next delivery without a reload. Returns 1 when values were dropped. */
int control_refresh(void);
/* 1 when control/ differs from what the cache was read from: a file read
 * so far changed, or one was made or removed (the directory changed).
 * One stat per file that existed, plus one. Caches stay as they are. */
int control_changed(void);

/* The value parsers, exposed for the tests and yubin-ctl check. Each takes
 * (pointer, length) and returns 0 on success, -1 on a malformed value. */
/* parse_time: a number with an optional s/m/h/d/w suffix, in seconds; with
 * unit 'M' in milliseconds, where "ms" is a suffix too and no suffix means ms */
int parse_time(const char *s, size_t n, char unit, long long *out);
int parse_size(const char *s, size_t n, long long *out);
int parse_bool(const char *s, size_t n, int *out);
int parse_int(const char *s, size_t n, long long *out);
/* Split on commas, spaces, tabs, newlines; calls fn for each item. */
void list_split(const char *s, size_t n, void (*fn)(const char *item, size_t len, void *arg), void *arg);
/* Expand $name / ${name} in s using lookup(name) -> raw value or NULL.
 * Depth-limited: returns -1 (errno ELOOP) on a loop. */
struct buf;
int expand_value(const char *s, size_t n, const char *(*lookup)(const char *name, void *arg),
                 void *arg, struct buf *out);

#endif
