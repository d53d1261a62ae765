/* yubin-local — local delivery, long-running, fed by yubin-qmgr on
 * stdin/stdout (src/lib/deliver.h), in qmail-lspawn's role: when run as
 * root it only switches identities (virtual mailboxes in persistent
 * workers running as control/virtual_user, everything else in a child
 * that becomes the user). With N = max(2, local_ and virtual_destination_
 * concurrency_limit) mailbox workers (at most 64), so one delivery's
 * fsyncs overlap another's. */
#include "local.h"
#include "control.h"
#include "log.h"

#include <signal.h>


int main(int argc, char **argv)
{
	(void)argc;
	log_init(argv[0] ? argv[0] : "yubin-local");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	config_load();
	long long n = control_int("local_destination_concurrency_limit");
	long long v = control_int("virtual_destination_concurrency_limit");
	if (n < v) n = v; /* a virtual domain's deliveries run in parallel too */
	if (n < 2) n = 2;
	if (n > 64) n = 64;
	workers_init((int)n);
	jobs_run((int)n);
	return 0;
}
