/* unixsock.c — bind, listen and hand over a service's socket (unixsock.h). */
#include "unixsock.h"
#include "control.h"
#include "log.h"
#include "priv.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int unix_listen(const char *rel, int type, mode_t mode, const char *owner)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (root_path(sun.sun_path, sizeof sun.sun_path, rel) < 0)
		die(EXIT_TEMP, "%s: path too long for a socket", yubin_root());
	int ls = socket(AF_UNIX, type, 0);
	if (ls < 0) die_sys(EXIT_TEMP, "socket");
	unlink(sun.sun_path);
	/* no moment in which the socket is open to more than mode allows */
	mode_t old = umask(~mode & 0777);
	if (bind(ls, (struct sockaddr *)&sun, sizeof sun) < 0) die_sys(EXIT_TEMP, "bind %s", sun.sun_path);
	umask(old);
	if (chmod(sun.sun_path, mode) < 0) die_sys(EXIT_TEMP, "chmod %s", sun.sun_path);
	if (listen(ls, 512) < 0) die_sys(EXIT_TEMP, "listen %s", sun.sun_path);
	if (owner && geteuid() == 0) {
		struct priv_id id;
		if (priv_lookup(owner, &id) < 0 || chown(sun.sun_path, id.uid, id.gid) < 0)
			die_sys(EXIT_TEMP, "cannot give %s to %s", sun.sun_path, owner);
	}
	log_msg("listening on %s", sun.sun_path);
	return ls;
}
