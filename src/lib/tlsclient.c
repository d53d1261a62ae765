/* tlsclient.c — start yubin-tlsd in client mode on an SMTP connection
 * (see tlsclient.h); the CA file comes from smtp_tls_CAfile. */
#include "tlsclient.h"
#include "control.h"
#include "starttls.h"

#include <stdio.h>
#include <strings.h>

#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

int tls_level_verifies(const char *level)
{
	return strcasecmp(level, "verify") == 0 || strcasecmp(level, "secure") == 0;
}

int tls_start_client(int sock, const char *host, const char *level, int *rfd, int *wfd,
                     pid_t *pid, char *info, size_t max)
{
	char cafile[4096];
	const char *ca = control_get("smtp_tls_CAfile");
	if (!*ca) ca = SYSTEM_CA_BUNDLE;
	if (ca[0] == '/') snprintf(cafile, sizeof cafile, "%s", ca);
	else if (root_path(cafile, sizeof cafile, ca) < 0) {
		snprintf(info, max, "smtp_tls_CAfile: path too long");
		return -1;
	}
	char *argv[] = { "yubin-tlsd", "-c", (char *)host,
	                 tls_level_verifies(level) ? "verify" : "encrypt", cafile, NULL };
	return tlsd_spawn(argv, sock, sock, rfd, wfd, pid, info, max);
}
