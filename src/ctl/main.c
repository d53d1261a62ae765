/* yubin-ctl — administration: the Postfix commands admins know, in one
 * place (postconf, postqueue, postsuper, postcat, postfix reload/flush).
 *   yubin-ctl config [-n|-d|-x] [NAME...]   queue   cat ID
 *   delete ID|ALL|deferred   hold ID|ALL   release ID|ALL   requeue ID|ALL
 *   flush [DOMAIN]   reload   status   check
 *   import-postfix [-n] DIR   auth-test [-s SERVICE] LOGIN < password
 *   dkim-keygen DOMAIN SELECTOR   dns-check DOMAIN */
#include "ctl.h"
#include "log.h"

#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
	{ "config", cmd_config }, { "queue", cmd_queue }, { "cat", cmd_cat },
	{ "delete", cmd_delete }, { "hold", cmd_hold }, { "release", cmd_release },
	{ "requeue", cmd_requeue }, { "flush", cmd_flush }, { "reload", cmd_reload },
	{ "status", cmd_status }, { "check", cmd_check },
	{ "import-postfix", cmd_import_postfix }, { "auth-test", cmd_auth_test },
	{ "dkim-keygen", cmd_dkim_keygen }, { "dns-check", cmd_dns_check },
};

int main(int argc, char **argv)
{
	log_init("yubin-ctl");
	if (argc < 2)
		die(EXIT_PERM, "usage: yubin-ctl check|config|queue|cat|delete|hold|release|requeue|flush|reload|status|import-postfix|auth-test|dkim-keygen|dns-check ...");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
	die(EXIT_PERM, "unknown command \"%s\"; try: yubin-ctl check|config|queue|cat|delete|hold|release|requeue|flush|reload|status|import-postfix|auth-test|dkim-keygen|dns-check", argv[1]);
}
