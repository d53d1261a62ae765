/* maildir.c — unit tests for src/lib/maildir.c: names, creation, the
 * exactly-once check in new/ and cur/, and the bytes written. */
#include "tap.h"
#include "maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d) return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') n++;
	closedir(d);
	return n;
}

static char *slurp(const char *path, size_t *len)
{
	static char data[8192];
	int fd = open(path, O_RDONLY);
	if (fd < 0) return NULL;
	ssize_t n = read(fd, data, sizeof data - 1);
	close(fd);
	if (n < 0) return NULL;
	data[n] = 0;
	*len = (size_t)n;
	return data;
}

int main(void)
{
	char top[] = "/tmp/maildir-test-XXXXXX", dir[256], path[1024], u[MAILDIR_NAME_MAX], u2[MAILDIR_NAME_MAX];
	char name[MAILDIR_NAME_MAX], name2[MAILDIR_NAME_MAX];
	ok(mkdtemp(top) != NULL, "temp dir");
	snprintf(dir, sizeof dir, "%s/mail/example.test/demo", top);

	ok(maildir_uniq(u, sizeof u, 1700000000, "ABCDEF0123", "demo@example.test", "mx.example") == 0,
	   "unique name built");
	ok(strncmp(u, "1700000000.YABCDEF0123R", 23) == 0 && strstr(u, ".mx.example"), "name shape %s", u);
	maildir_uniq(u2, sizeof u2, 1700000000, "ABCDEF0123", "other@example.test", "mx.example");
	ok(strcmp(u, u2) != 0, "another recipient gets another name");
	maildir_uniq(u2, sizeof u2, 1700000000, "ABCDEF0123", "demo@example.test", "a/b:c");
	ok(strstr(u2, ".a\\057b\\072c") != NULL, "'/' and ':' in the host are escaped");
	ok(maildir_uniq(u2, 20, 1700000000, "ABCDEF0123", "x", "host") < 0 && errno == ENAMETOOLONG,
	   "too small a buffer refused");

	/* the message source: a file with a prefix we skip */
	char src_path[300];
	snprintf(src_path, sizeof src_path, "%s/q", top);
	int qfd = open(src_path, O_RDWR | O_CREAT, 0600);
	const char *qtext = "ENVELOPE\n\nSubject: hi\n\nbody \xe9\n";
	ok(write(qfd, qtext, strlen(qtext)) == (ssize_t)strlen(qtext), "source written");
	struct maildir_src s = { "Delivered-To: demo@example.test\n", 32, qfd, 10, (off_t)strlen(qtext) - 10 };

	int r = maildir_deliver(dir, u, 1700000000, &s, name, sizeof name);
	ok(r == 1, "first delivery writes (r=%d errno=%d)", r, errno);
	struct stat st;
	ok(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "missing Maildir created mode 700");
	snprintf(path, sizeof path, "%s/new", dir);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700 && count_dir(path) == 1, "one file in new/");
	snprintf(path, sizeof path, "%s/cur", dir);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700, "cur/ made");
	snprintf(path, sizeof path, "%s/tmp", dir);
	ok(count_dir(path) == 0, "tmp/ left empty");
	char want_size[32];
	snprintf(want_size, sizeof want_size, ",S=%zu", 32 + strlen(qtext) - 10);
	ok(strstr(name, want_size) != NULL, "name carries the size (%s)", name);

	size_t len;
	snprintf(path, sizeof path, "%s/new/%s", dir, name);
	char *got = slurp(path, &len);
	ok(got && len == 32 + strlen(qtext) - 10 &&
	   memcmp(got, "Delivered-To: demo@example.test\nSubject: hi\n\nbody \xe9\n", len) == 0,
	   "bytes are head + message");

	ok(maildir_deliver(dir, u, 1700000000, &s, name2, sizeof name2) == 0, "second attempt finds it in new/");
	snprintf(path, sizeof path, "%s/new", dir);
	ok(count_dir(path) == 1, "still one file");

	/* a reader moves it to cur/ with flags */
	char from[1024], to[1024];
	snprintf(from, sizeof from, "%s/new/%s", dir, name);
	snprintf(to, sizeof to, "%s/cur/%s:2,S", dir, name);
	ok(rename(from, to) == 0, "reader renames into cur/");
	ok(maildir_present(dir, name, u, 1700000000) == 1, "present in cur/");
	ok(maildir_deliver(dir, u, 1700000000, &s, NULL, 0) == 0, "retry after the reader still delivers nothing");
	snprintf(path, sizeof path, "%s/new", dir);
	ok(count_dir(path) == 0, "nothing new in new/");

	/* a power loss during the first attempt's fsync can leave the name
	 * with torn bytes; the retry compares and replaces such a copy */
	FILE *f = fopen(to, "r+");
	ok(f && fseek(f, 40, SEEK_SET) == 0 && fputc('X', f) != EOF && fclose(f) == 0, "a byte of the cur/ copy torn");
	ok(maildir_deliver(dir, u, 1700000000, &s, NULL, 0) == 2, "retry replaces the torn copy (r=2)");
	snprintf(path, sizeof path, "%s/cur", dir);
	ok(count_dir(path) == 0, "the torn copy in cur/ is gone");
	snprintf(path, sizeof path, "%s/new/%s", dir, name);
	got = slurp(path, &len);
	ok(got && len == 32 + strlen(qtext) - 10 &&
	   memcmp(got, "Delivered-To: demo@example.test\nSubject: hi\n\nbody \xe9\n", len) == 0,
	   "new/ holds the whole message again");
	ok(truncate(path, 10) == 0, "the copy in new/ cut short");
	ok(maildir_deliver(dir, u, 1700000000, &s, NULL, 0) == 2, "retry replaces a short copy");
	struct stat whole;
	ok(stat(path, &whole) == 0 && whole.st_size == (off_t)(32 + strlen(qtext) - 10), "whole size again");
	ok(maildir_deliver(dir, u, 1700000000, &s, NULL, 0) == 0, "a whole copy is left alone");
	snprintf(to, sizeof to, "%s/cur/%s:2,S", dir, name);
	ok(rename(path, to) == 0, "back into cur/ for the next checks");

	/* an old arrival with a cur/ unchanged since: the scan is skipped,
	 * so only a far older arrival than cur/'s change can miss it */
	ok(maildir_present(dir, name, u, (long long)time(NULL) + 100000) == 0, "cur/ older than arrival is not scanned");

	ok(maildir_deliver(dir, u2, 1700000000, &s, NULL, 0) == 1, "another name delivers");
	ok(maildir_present("/nonexistent/x", "n", "u", 0) == 0, "missing Maildir: not present");

	close(qfd);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
	ok(system(cmd) == 0, "cleanup");
	return done_testing();
}
