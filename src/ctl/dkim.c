/* dkim.c — yubin-ctl dkim-keygen DOMAIN SELECTOR: make the signing key
 * control/dkim/DOMAIN.SELECTOR.key (2048-bit RSA by `openssl genrsa`, run
 * without a shell; an existing key is kept, so the command is safe to
 * repeat), set "DOMAIN SELECTOR:dkim/DOMAIN.SELECTOR.key" in
 * control/dkim_keys, compile the table, and print the DNS TXT record to
 * publish. As root the key is given to group yubinr (yubin-remote, which
 * signs) with mode 0640; otherwise it is 0600. */
#include "ctl.h"
#include "buf.h"
#include "control.h"
#include "dkim.h"
#include "log.h"
#include "table.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int name_ok(const char *s, int dots)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 * (dots ? 4 : 1) || s[0] == '.' || s[0] == '-' || s[n - 1] == '.') return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || (c == '.' && dots)))
			return 0;
		if (c == '.' && s[i + 1] == '.') return 0;
	}
	return 1;
}

static int genrsa(const char *out)
{
	pid_t pid = fork();
	if (pid < 0) return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) dup2(null, 2);
		umask(077);
		execlp("openssl", "openssl", "genrsa", "-traditional", "-out", out, "2048", (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* as root: the signer's group may read the key */
static void give_to_signer(const char *path, mode_t mode)
{
	if (geteuid() != 0) return;
	struct group *g = getgrnam("yubinr");
	if (!g) return;
	if (chown(path, 0, g->gr_gid) < 0 || chmod(path, mode) < 0) log_sys("warning: %s", path);
}

/* replace or add the "domain value" line of the text table at path */
static int table_set(const char *path, const char *domain, const char *value)
{
	struct buf old = BUF_INIT, out = BUF_INIT;
	char tmp[4200], line[2048];
	FILE *f = fopen(path, "r");
	int done = 0;
	size_t dl = strlen(domain);
	if (f) {
		while (fgets(line, sizeof line, f)) {
			size_t k = strspn(line, " \t");
			if (strncasecmp(line + k, domain, dl) == 0 && (line[k + dl] == ' ' || line[k + dl] == '\t')) {
				if (!done) buf_addf(&out, "%s %s\n", domain, value);
				done = 1;
				continue;
			}
			buf_adds(&out, line);
		}
		fclose(f);
	}
	if (!done) buf_addf(&out, "%s %s\n", domain, value);
	buf_free(&old);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, out.s, out.len) != (ssize_t)out.len || fsync(fd) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		log_sys("%s", path);
		buf_free(&out);
		return -1;
	}
	buf_free(&out);
	return 0;
}

int cmd_dkim_keygen(int argc, char **argv)
{
	char dir[4096], key[4096], tmp[4200], table[4096], rel[600], err[400];
	if (argc != 3) die(EXIT_PERM, "usage: yubin-ctl dkim-keygen DOMAIN SELECTOR");
	char *domain = argv[1], *sel = argv[2];
	for (char *c = domain; *c; c++) if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
	if (!name_ok(domain, 1) || !strchr(domain, '.')) die(EXIT_PERM, "dkim-keygen: bad domain \"%s\"", domain);
	if (!name_ok(sel, 1)) die(EXIT_PERM, "dkim-keygen: bad selector \"%s\"", sel);
	snprintf(rel, sizeof rel, "dkim/%s.%s.key", domain, sel);
	if (root_path(dir, sizeof dir, "control/dkim") < 0 || root_path(table, sizeof table, "control/dkim_keys") < 0 ||
	    snprintf(key, sizeof key, "%s/%s.%s.key", dir, domain, sel) >= (int)sizeof key)
		die(EXIT_PERM, "dkim-keygen: path too long");
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) die_sys(EXIT_TEMP, "dkim-keygen: mkdir %s", dir);
	give_to_signer(dir, 0750);
	if (access(key, F_OK) == 0) {
		printf("# keeping the existing key %s\n", key);
	} else {
		snprintf(tmp, sizeof tmp, "%s.tmp", key);
		unlink(tmp);
		if (genrsa(tmp) < 0) die(EXIT_TEMP, "dkim-keygen: openssl genrsa failed (is openssl installed?)");
		give_to_signer(tmp, 0640);
		if (rename(tmp, key) < 0) die_sys(EXIT_TEMP, "dkim-keygen: rename %s", key);
	}
	struct dkim_key k;
	if (dkim_key_load(&k, key, err, sizeof err) < 0) die(EXIT_TEMP, "dkim-keygen: %s", err);
	struct buf rec = BUF_INIT;
	if (dkim_key_record_make(&k, &rec) < 0) die(EXIT_TEMP, "dkim-keygen: cannot make the key record");
	dkim_key_free(&k);
	/* the key is relative to control/, which the table names are too */
	char value[700];
	snprintf(value, sizeof value, "%s:control/%s", sel, rel);
	if (table_set(table, domain, value) < 0) return EXIT_TEMP;
	if (table_compile(table) < 0) return EXIT_TEMP;
	printf("# control/dkim_keys: %s %s\n", domain, value);
	printf("# publish this TXT record (split into strings of at most 255 bytes):\n");
	printf("%s._domainkey.%s. IN TXT (", sel, domain);
	for (size_t i = 0; i < rec.len; i += 250)
		printf(" \"%.*s\"", (int)(rec.len - i < 250 ? rec.len - i : 250), rec.s + i);
	printf(" )\n");
	buf_free(&rec);
	return 0;
}
