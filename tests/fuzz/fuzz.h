/* fuzz.h — what the fuzz targets share: an instance root with an empty
 * control/ (every setting at its default, nothing on disk to trust), a
 * scratch directory for targets that must write files, and a cursor that
 * splits one fuzz input into choices and pieces. Included by each
 * tests/fuzz/TARGET.c; the targets run under libFuzzer (make fuzz) and
 * under tests/fuzz/replay.c (make check). */
#ifndef YUBIN_FUZZ_H
#define YUBIN_FUZZ_H

#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* a fuzz finding that is not a memory error: report it the loud way */
#define FUZZ_ASSERT(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "fuzz assertion failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
			abort(); \
		} \
	} while (0)

static char fuzz_dir[64];

/* $YUBIN_ROOT = a fresh empty instance; fuzz_dir/scratch for files */
__attribute__((unused)) static void fuzz_setup(void)
{
	if (fuzz_dir[0]) return;
	char tmpl[] = "/tmp/yubin-fuzz-XXXXXX";
	if (!mkdtemp(tmpl)) abort();
	memcpy(fuzz_dir, tmpl, sizeof tmpl);
	char p[128];
	snprintf(p, sizeof p, "%s/control", fuzz_dir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/scratch", fuzz_dir);
	mkdir(p, 0755);
	setenv("YUBIN_ROOT", fuzz_dir, 1);
	setenv("TZ", "UTC", 1);
	log_init("fuzz");
}

/* Remove the scratch root when the process ends normally. */
__attribute__((unused)) static void fuzz_cleanup(void)
{
	char cmd[128];
	if (!fuzz_dir[0] || strncmp(fuzz_dir, "/tmp/yubin-fuzz-", 16) != 0) return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir);
	if (system(cmd) != 0) return;
}

/* libFuzzer's entry points: every target's setup is fuzz_setup (each
 * target is its own program, so this definition is made once per target);
 * the target defines LLVMFuzzerTestOneInput. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	fuzz_setup();
	atexit(fuzz_cleanup);
	return 0;
}

/* Input cursor: choices come from the front, pieces are separated by a
 * byte the caller names (a piece never includes the separator). */
struct fin {
	const uint8_t *p;
	size_t n;
};

__attribute__((unused)) static unsigned fin_byte(struct fin *f)
{
	if (!f->n) return 0;
	f->n--;
	return *f->p++;
}

__attribute__((unused)) static size_t fin_piece(struct fin *f, uint8_t sep, const uint8_t **piece)
{
	const uint8_t *e = f->n ? memchr(f->p, sep, f->n) : NULL;
	size_t k = e ? (size_t)(e - f->p) : f->n;
	*piece = f->p;
	f->p += k;
	f->n -= k;
	if (e) { f->p++; f->n--; }
	return k;
}

/* a malloc'd copy of exactly n bytes (so overreads trip ASan), plus a
 * NUL when nul is set */
static char *fuzz_dup(const uint8_t *p, size_t n, int nul)
{
	char *s = malloc(n + (nul || n == 0 ? 1 : 0));
	if (!s) abort();
	if (n) memcpy(s, p, n);
	else s[0] = 0;
	if (nul) s[n] = 0;
	return s;
}

#endif
