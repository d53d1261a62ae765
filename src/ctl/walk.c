/* walk.c — find messages in the queue directories for yubin-ctl. */
#include "ctl.h"
#include "control.h"
#include "qfile.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const queue_states[] = { "incoming", "active", "deferred", "hold", NULL };

int queue_file(char *out, unsigned long max, const char *state, const char *id)
{
	char rel[256];
	int n = snprintf(rel, sizeof rel, "queue/%s/%s", state, id);
	if (n < 0 || (size_t)n >= sizeof rel) return -1;
	return root_path(out, max, rel);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int queue_each(int (*fn)(const char *, const char *, void *), void *arg)
{
	for (size_t s = 0; queue_states[s]; s++) {
		char dir[4096], rel[64];
		snprintf(rel, sizeof rel, "queue/%s", queue_states[s]);
		if (root_path(dir, sizeof dir, rel) < 0) continue;
		DIR *d = opendir(dir);
		if (!d) continue;
		char **ids = NULL;
		size_t n = 0;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!qid_valid(e->d_name)) continue;
			char **r = realloc(ids, (n + 1) * sizeof *r);
			if (!r) break;
			ids = r;
			ids[n] = strdup(e->d_name);
			if (ids[n]) n++;
		}
		closedir(d);
		if (n) qsort(ids, n, sizeof *ids, by_name);
		int ret = 0;
		for (size_t i = 0; i < n; i++) {
			if (!ret) ret = fn(queue_states[s], ids[i], arg);
			free(ids[i]);
		}
		free(ids);
		if (ret) return ret;
	}
	return 0;
}

const char *queue_find(const char *id)
{
	char path[4096];
	if (!qid_valid(id)) return NULL;
	for (size_t s = 0; queue_states[s]; s++)
		if (queue_file(path, sizeof path, queue_states[s], id) == 0 && access(path, F_OK) == 0)
			return queue_states[s];
	return NULL;
}
