/* limits.c — the per-client limits Postfix's smtpd asks anvil about:
 * smtpd_client_connection_count_limit and _connection_rate_limit at
 * connect (421 4.7.0 and goodbye), _message_rate_limit at MAIL and
 * _recipient_rate_limit at RCPT (450 4.7.1), _auth_rate_limit at AUTH,
 * all per anvil_rate_time_unit, never for
 * smtpd_client_event_limit_exceptions. A client that is an exception,
 * or a configuration without limits, costs nothing: anvil is not asked.
 * When anvil is down the session goes on without limits (anvil.c logs
 * it once), so the limiter can never cost a message. */
#include "smtpd.h"
#include "anvil.h"
#include "control.h"
#include "log.h"

#include <string.h>

static int ready;          /* anvil may be asked (an ident, not exempt) */
static char ident[ANVIL_IDENT_MAX];

/* the service names in the ident and the logs, as in Postfix's master.cf */
static const char *service(const struct session *s)
{
	return s->role == ROLE_SUBMISSION ? "submission" : "smtp";
}

/* ready and ident for this client: 1 when anvil is to be asked */
static int set_ident(struct session *s)
{
	int any = cfg_int("smtpd_client_connection_count_limit") > 0 ||
	          cfg_int("smtpd_client_connection_rate_limit") > 0 || cfg_int("smtpd_client_message_rate_limit") > 0 ||
	          cfg_int("smtpd_client_recipient_rate_limit") > 0 || cfg_int("smtpd_client_auth_rate_limit") > 0;
	ready = 0; /* the previous client's, when this process served one */
	ident[0] = 0;
	if (!any || !s->addr.family || anvil_exempt(&s->addr)) return 0;
	if (anvil_ident(ident, sizeof ident, service(s), &s->addr) < 0) return 0;
	ready = 1;
	return 1;
}

void limits_wake(struct session *s)
{
	set_ident(s);
}

const char *limits_ident(void)
{
	return ident;
}

void limits_connect(struct session *s)
{
	long long count_limit = cfg_int("smtpd_client_connection_count_limit");
	long long rate_limit = cfg_int("smtpd_client_connection_rate_limit");
	if (!set_ident(s)) return;
	long count, rate;
	/* the connection is counted even when no count or rate limit is set:
	 * anvil's statistics then still show who is busy */
	if (!anvil_request(ANVIL_CONNECT, ident, &count, &rate)) return;
	const char *what = NULL;
	long value = 0;
	if (count_limit > 0 && count > count_limit) {
		what = "Connection concurrency";
		value = count;
	} else if (rate_limit > 0 && rate > rate_limit) {
		what = "Connection rate";
		value = rate;
	}
	if (!what) return;
	log_msg("warning: %s limit exceeded: %ld from %s for service %s", what, value, client_name(s), service(s));
	reply(s, "421 4.7.0 %s Error: too many connections from %s", control_get("myhostname"), s->ip);
	session_end(s, 0);
}

/* one event against its limit: 0 go on, -1 refused (reply given) */
static int event(struct session *s, char op, const char *setting, const char *logname, const char *text)
{
	long long limit = cfg_int(setting);
	long rate;
	if (!ready || limit <= 0 || !anvil_request(op, ident, NULL, &rate) || rate <= limit) return 0;
	log_msg("warning: %s rate limit exceeded: %ld from %s for service %s", logname, rate, client_name(s),
	        service(s));
	reply_err(s, "450 4.7.1 Error: too %s from %s", text, s->ip);
	return -1;
}

int limits_mail(struct session *s)
{
	return event(s, ANVIL_MAIL, "smtpd_client_message_rate_limit", "Message delivery request", "much mail");
}

int limits_rcpt(struct session *s)
{
	return event(s, ANVIL_RCPT, "smtpd_client_recipient_rate_limit", "Recipient address", "many recipients");
}

int limits_auth(struct session *s)
{
	return event(s, ANVIL_AUTH, "smtpd_client_auth_rate_limit", "AUTH command", "many AUTH commands");
}
