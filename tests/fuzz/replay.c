/* replay.c — runs a fuzz target over files without libFuzzer, so `make
 * check` can replay the checked-in corpus with the ordinary compiler (and
 * with ASan+UBSan under SANITIZE=1). Arguments are files or directories
 * (every regular file inside, in name order). Each input is copied into a
 * buffer of exactly its size, so an overread is caught by the sanitizers
 * as it would be under libFuzzer. Exit 0 after all inputs ran. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned long ran;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) { perror(path); return -1; }
	size_t cap = 4096, n = 0;
	uint8_t *p = malloc(cap);
	for (;;) {
		if (!p) { fclose(f); return -1; }
		n += fread(p + n, 1, cap - n, f);
		if (n < cap) break;
		cap *= 2;
		p = realloc(p, cap);
	}
	fclose(f);
	uint8_t *exact = malloc(n ? n : 1); /* exactly n bytes: overreads are caught */
	if (!exact) { free(p); return -1; }
	memcpy(exact, p, n);
	free(p);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	ran++;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) { perror(dir); return -1; }
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.') continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof *nn);
			if (!nn) break;
			names = nn;
		}
		size_t len = strlen(dir) + strlen(e->d_name) + 2;
		names[n] = malloc(len);
		if (!names[n]) break;
		snprintf(names[n], len, "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (n) qsort(names, n, sizeof *names, by_name);
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) && run_file(names[i]) < 0) r = -1;
		free(names[i]);
	}
	free(names);
	return r;
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
	int r = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) { perror(argv[i]); r = 1; continue; }
		if ((S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i])) < 0) r = 1;
	}
	printf("replayed %lu inputs\n", ran);
	return r;
}
