/* import.h — the parts of `yubin-ctl import-postfix DIR`: import.c reads
 * main.cf and master.cf and decides where each parameter goes;
 * importtab.c copies the tables they name into control/ and compiles
 * them. Everything the import does or cannot do is one line on stdout. */
#ifndef YUBIN_CTL_IMPORT_H
#define YUBIN_CTL_IMPORT_H

#include <stddef.h>

struct import {
	const char *dir;       /* the Postfix folder given on the command line */
	const char *confdir;   /* main.cf's config_directory (default /etc/postfix) */
	int dry_run;           /* -n: say what would be done, write nothing */
	int settings, tables;  /* counts of what was written */
	int unmapped;          /* parameters reported as not mapped */
	int failed;            /* tables or files that could not be written */
	/* tables written during this run: control name -> source, so a second
	 * table for the same fixed file appends and two sources never clash */
	struct written { char *name; char *source; } *done;
	size_t ndone;
};

/* How a table word is spelled in yubin, from a Postfix "type:path". */
enum table_kind { TK_NONE, TK_TEXT, TK_REGEXP, TK_UNSUPPORTED };
/* Classify one word of a value: TK_NONE when it is no table spec. */
enum table_kind table_word_kind(const char *w, size_t n);

/* Rewrite every table spec in value to yubin's spelling ("transport",
 * "regexp:virtual_regexp"), copying each table into control/ and
 * compiling it. Returns a malloc'd value, or NULL when a spec cannot be
 * imported (*why says why; the parameter is then reported unmapped). */
char *import_rewrite(struct import *im, const char *param, const char *value, const char **why);

/* Copy the tables of value into one fixed control file: hash-like tables
 * into control/text_name (compiled), regexp ones into control/re_name
 * (either may be NULL: that kind is then not accepted). Returns 0, or -1
 * with *why set. */
int import_fixed(struct import *im, const char *param, const char *value,
                 const char *text_name, const char *re_name, const char **why);

/* Write control/name = value atomically (or just say so with -n). */
int import_write(struct import *im, const char *name, const char *value);

/* Read a whole file (at most max bytes) into a NUL-terminated malloc'd
 * string; NULL with errno set on failure (E2BIG when larger). */
char *import_slurp(const char *path, size_t max, size_t *len);

#endif
