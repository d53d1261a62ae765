/* instance.c — yubin-run's first start in a new root: control files for
 * localhost and example.test, the queue, a self-signed certificate and the
 * user demo@example.test (password "demo"). An existing root (one that
 * has control/) is used unchanged. */
#include "run.h"
#include "log.h"
#include "qclient.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int run_as_root;
extern char **environ;

static const struct { const char *name, *text; } defaults[] = {
	{ "myhostname", "localhost\n" },
	{ "virtual_mailbox_domains", "example.test\n" },
	{ "mynetworks", "127.0.0.0/8 [::1]/128\n" },
	{ "aliases",
	  "# /etc/aliases syntax; compile with: sendmail -bi (or newaliases)\n"
	  "postmaster: demo\n"
	  "abuse: postmaster\n"
	  "mailer-daemon: postmaster\n" },
};

static void write_file(const char *root, const char *name, const char *text, mode_t mode)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/control/%s", root, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0)
		die_sys(EXIT_TEMP, "cannot write %s", path);
}

/* Run argv to completion with stdin from `input` (may be NULL); 0 if it
 * exited 0. Output goes to our stderr. */
static int run_tool(char *const argv[], const char *input, int quiet)
{
	int p[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (input) {
		if (pipe(p) < 0) return -1;
		posix_spawn_file_actions_adddup2(&fa, p[0], 0);
		posix_spawn_file_actions_addclose(&fa, p[1]);
	}
	if (quiet) {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
	} else {
		posix_spawn_file_actions_adddup2(&fa, 2, 1);
	}
	pid_t pid;
	int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (input) {
		close(p[0]);
		if (!err && write(p[1], input, strlen(input)) < 0) log_sys("writing to %s", argv[0]);
		close(p[1]);
	}
	if (err) { errno = err; log_sys("cannot run %s", argv[0]); return -1; }
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) ;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void make_certificate(const char *root)
{
	char key[4096], cert[4096];
	snprintf(key, sizeof key, "%s/control/key.pem", root);
	snprintf(cert, sizeof cert, "%s/control/cert.pem", root);
	char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
	                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
	                 "-days", "3650", "-subj", "/CN=localhost", "-addext",
	                 "subjectAltName=DNS:localhost,IP:127.0.0.1", NULL };
	if (run_tool(argv, NULL, 1) < 0)
		log_msg("warning: could not make a self-signed certificate with openssl; TLS stays off");
	chmod(key, 0600);
}

void instance_create(const char *root)
{
	char path[4096], prog[4096];
	struct stat st;
	snprintf(path, sizeof path, "%s/control", root);
	if (stat(path, &st) == 0) return;

	fprintf(stderr, "yubin-run: creating a new instance in %s\n", root);
	snprintf(path, sizeof path, "%s/mail", root);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) die_sys(EXIT_TEMP, "mkdir %s", path);
	snprintf(path, sizeof path, "%s/log", root);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) die_sys(EXIT_TEMP, "mkdir %s", path);
	/* control/ appears last, so a half-made instance is made again */
	snprintf(path, sizeof path, "%s/control", root);
	if (mkdir(path, 0755) < 0) die_sys(EXIT_TEMP, "mkdir %s", path);

	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		write_file(root, defaults[i].name, defaults[i].text, 0644);

	if (prog_path(prog, sizeof prog, "yubin-create-queue") < 0) die(EXIT_TEMP, "cannot find yubin-create-queue");
	char *cq[] = { prog, (char *)root, NULL };
	if (run_tool(cq, NULL, 0) < 0) die(EXIT_TEMP, "queue creation failed");

	make_certificate(root);
	char text[4200];
	snprintf(text, sizeof text, "%s/control/cert.pem\n", root);
	write_file(root, "smtpd_tls_cert_file", text, 0644);
	snprintf(text, sizeof text, "%s/control/key.pem\n", root);
	write_file(root, "smtpd_tls_key_file", text, 0644);

	char aliases[4096];
	snprintf(aliases, sizeof aliases, "%s/control/aliases", root);
	if (prog_path(prog, sizeof prog, "yubin-map") == 0) {
		char *m[] = { prog, aliases, NULL };
		if (run_tool(m, NULL, 0) < 0) log_msg("warning: compiling %s failed", aliases);
	}
	if (prog_path(prog, sizeof prog, "yubin-user") == 0) {
		char *u[] = { prog, "add", "demo@example.test", NULL };
		if (run_tool(u, "demo\n", 0) < 0) log_msg("warning: could not add demo@example.test");
	}
}

void instance_setup(const char *root)
{
	char prog[4096];
	if (prog_path(prog, sizeof prog, "yubin-setup") < 0) die(EXIT_TEMP, "cannot find yubin-setup");
	char *argv[] = { prog, "--root", (char *)root, NULL };
	if (run_tool(argv, NULL, 0) < 0) die(EXIT_TEMP, "yubin-setup failed; see the lines above");
}

void instance_check(void)
{
	char prog[4096];
	if (prog_path(prog, sizeof prog, "yubin-ctl") < 0) return;
	char *argv[] = { prog, "check", NULL };
	if (run_tool(argv, NULL, 0) < 0) log_msg("warning: yubin-ctl check found problems (listed above); starting anyway");
}
