/* settings.c — every control file yubin reads: name, default, kind and
 * meaning. This table is the one place defaults live: the programs,
 * `yubin-ctl config -d` and the yubin-control(5) page all read it.
 * Names and defaults mirror Postfix (and Dovecot where noted). */
#include "control.h"

#include <string.h>

#define S(n, d, m)  { n, d, SK_STRING, 's', m }
#define L(n, d, m)  { n, d, SK_LIST, 's', m }
#define T(n, d, m)  { n, d, SK_TIME, 's', m }
#define TD(n, d, m) { n, d, SK_TIME, 'd', m }
#define TM(n, d, m) { n, d, SK_TIME, 'M', m }
#define Z(n, d, m)  { n, d, SK_SIZE, 's', m }
#define B(n, d, m)  { n, d, SK_BOOL, 's', m }
#define I(n, d, m)  { n, d, SK_INT, 's', m }

const struct setting settings[] = {
	/* identity and domains */
	S("myhostname", "", "this host's name; empty means the host's FQDN"),
	S("mydomain", "", "this host's domain; empty means myhostname minus its first label"),
	S("myorigin", "$myhostname", "domain appended to bare sender addresses"),
	L("mydestination", "$myhostname, localhost.$mydomain, localhost", "domains of system accounts and aliases"),
	L("virtual_mailbox_domains", "", "domains of virtual users (mail/DOMAIN/USER)"),
	L("relay_domains", "$mydestination", "other domains we accept mail for and relay"),
	L("mynetworks", "", "trusted client networks (CIDR); empty means derive from mynetworks_style"),
	S("mynetworks_style", "host", "host or subnet: what mynetworks means when it is empty"),
	L("inet_protocols", "all", "ipv4, ipv6 or all: address families tried when sending"),
	S("recipient_delimiter", "+", "characters that start an address extension (user+ext)"),
	B("allow_min_user", "no", "accept addresses whose local part starts with '-'"),
	S("home_mailbox", "Maildir/", "system users' mailbox: a path ending in / is a Maildir, else mbox"),
	S("mail_spool_directory", "/var/mail", "where mbox files live when home_mailbox is empty"),
	S("virtual_mailbox_base", "mail", "virtual mailboxes, relative to YUBIN_ROOT"),
	S("virtual_user", "", "account that owns virtual mailboxes when run as root"),
	S("default_privs", "nobody", "account for alias |command and /file deliveries when the aliases belong to root"),
	T("command_time_limit", "1000s", "time limit for a |command delivery"),
	S("double_bounce_recipient", "postmaster", "who gets bounces that cannot be delivered"),
	S("checkpassword", "", "external checkpassword program for logins"),
	/* smtpd */
	S("smtpd_banner", "$myhostname ESMTP", "greeting text after 220"),
	L("smtpd_recipient_restrictions", "permit_mynetworks, reject_unauth_destination", "RCPT TO policy"),
	L("smtpd_client_restrictions", "", "policy at connect"),
	L("smtpd_helo_restrictions", "", "policy at HELO/EHLO"),
	L("smtpd_sender_restrictions", "", "policy at MAIL FROM"),
	I("unknown_local_recipient_reject_code", "550", "reply code for unknown local users"),
	I("smtpd_recipient_limit", "1000", "recipients per message"),
	Z("message_size_limit", "10240000", "bytes per message (0 = no limit)"),
	T("smtpd_timeout", "300s", "idle time before the server gives up on a client"),
	TM("smtpd_hibernate_timeout", "1s",
	   "silence of a client after which its session leaves the worker and waits in the pool; sooner when "
	   "the pool has no idle worker (0 = never)"),
	I("smtpd_soft_error_limit", "10", "errors before each reply is delayed"),
	T("smtpd_error_sleep_time", "1s", "delay per error past the soft limit"),
	I("smtpd_hard_error_limit", "20", "errors before the server disconnects"),
	B("smtpd_peername_lookup", "yes", "look up the client's verified reverse name (else \"unknown\")"),
	I("hopcount_limit", "50", "Received headers before a message is a loop"),
	Z("header_size_limit", "102400", "bytes of headers per message"),
	Z("line_length_limit", "2048", "bytes per SMTP command line"),
	B("disable_vrfy_command", "no", "refuse VRFY"),
	B("smtpd_forbid_bare_newline", "yes", "reject bare LF/CR in DATA instead of normalising"),
	B("smtpd_sasl_auth_enable", "yes", "offer AUTH"),
	B("smtpd_tls_auth_only", "yes", "offer AUTH only after TLS (loopback exempt when no)"),
	B("broken_sasl_auth_clients", "no", "also advertise AUTH=LOGIN for old Outlook"),
	I("smtpd_auth_failure_limit", "3", "failed AUTH attempts per connection before 421"),
	T("auth_cache_ttl", "3600s", "how long a worker trusts a login it verified (0 = verify every time)"),
	B("smtpd_sasl_authenticated_header", "no", "name the login in the Received header"),
	S("smtpd_tls_cert_file", "", "PEM certificate chain, server first"),
	S("smtpd_tls_key_file", "$smtpd_tls_cert_file", "PEM private key"),
	S("smtpd_tls_eccert_file", "", "optional second certificate chain; one pair RSA, the other EC, chosen per client"),
	S("smtpd_tls_eckey_file", "$smtpd_tls_eccert_file", "PEM private key of smtpd_tls_eccert_file"),
	S("smtpd_tls_security_level", "may", "none, may or encrypt"),
	S("smtpd_sender_login_maps", "", "table: sender address -> logins allowed to use it"),
	B("disable_plaintext_auth", "yes", "plain-text logins only over TLS or from loopback"),
	B("submission_hide_client", "no", "leave the client's IP out of the submission Received header"),
	/* per-client limits (yubin-anvil) and the policy and rewriting tables */
	T("anvil_rate_time_unit", "60s", "the time unit of the client rate limits"),
	T("anvil_status_update_time", "600s", "how often yubin-anvil logs its peak counts and busiest clients"),
	I("smtpd_client_connection_count_limit", "50", "simultaneous connections per client (0 = no limit)"),
	I("smtpd_client_connection_rate_limit", "0", "connections per client and time unit (0 = no limit)"),
	I("smtpd_client_message_rate_limit", "0", "MAIL commands per client and time unit (0 = no limit)"),
	I("smtpd_client_recipient_rate_limit", "0", "RCPT commands per client and time unit (0 = no limit)"),
	I("smtpd_client_auth_rate_limit", "0", "AUTH commands per client and time unit (0 = no limit)"),
	L("smtpd_client_event_limit_exceptions", "$mynetworks", "clients the limits above never apply to (CIDR)"),
	I("smtpd_client_ipv6_prefix_length", "64", "IPv6 clients are counted per network of this prefix"),
	I("auth_failure_rate_limit", "30", "failed logins (POP3, IMAP, AUTH) per client and time unit (0 = no limit)"),
	L("canonical_maps", "canonical", "tables: address -> address, for senders and recipients of received mail"),
	L("sender_canonical_maps", "sender_canonical", "the same for senders only"),
	L("recipient_canonical_maps", "recipient_canonical", "the same for recipients only"),
	L("propagate_unmatched_extensions", "canonical, virtual",
	  "lookups (canonical, virtual, generic) where user+ext@dom matched as user@dom keep +ext in the result"),
	L("canonical_classes", "envelope_sender, envelope_recipient, header_sender, header_recipient",
	  "which addresses the canonical tables rewrite"),
	L("local_header_rewrite_clients", "permit_inet_interfaces",
	  "clients whose message headers are rewritten (permit_mynetworks, permit_sasl_authenticated, static:all)"),
	L("relocated_maps", "relocated", "tables: address -> new location, refused with 550 5.1.6"),
	L("smtp_generic_maps", "generic", "tables: address -> address, rewritten on the way out by yubin-remote"),
	Z("body_checks_size_limit", "51200", "bytes of each message body that body_checks look at"),
	L("smtpd_authentication_checks", "",
	  "any of spf dkim dmarc (dmarc implies the other two): check received mail, add Authentication-Results"),
	L("smtpd_authentication_checks_exceptions", "$mynetworks",
	  "clients whose mail is not checked (CIDR); logged-in clients never are"),
	B("smtpd_dmarc_enforce", "no",
	  "yes: DMARC p=reject fails get 550 5.7.1, p=quarantine goes to queue/hold, temperror 451; no: advice only"),
	/* queue and scheduling */
	TD("maximal_queue_lifetime", "5d", "how long a message may stay deferred before it bounces"),
	TD("bounce_queue_lifetime", "5d", "the same for bounces"),
	T("queue_run_delay", "300s", "how often the deferred queue is scanned"),
	TM("qmgr_gather_time", "20ms",
	   "how long yubin-qmgr collects new mail after a wake-up before it starts delivering, so a stream of "
	   "single messages reaches the delivery agents a few at a time (0 = at once, at most 1s)"),
	T("minimal_backoff_time", "300s", "first retry delay"),
	T("maximal_backoff_time", "4000s", "longest retry delay"),
	T("delay_warning_time", "0h", "send a delay warning after this long (0 = never)"),
	I("local_destination_concurrency_limit", "2", "parallel local deliveries per recipient"),
	I("default_destination_concurrency_limit", "20", "parallel deliveries per destination"),
	I("virtual_destination_concurrency_limit", "$default_destination_concurrency_limit",
	  "parallel deliveries into one virtual mailbox domain (Postfix's virtual(8) transport)"),
	I("default_process_limit", "100",
	  "parallel deliveries in all; and per listening service, the connections served at once"),
	I("max_use", "100", "sessions one smtpd worker serves before it exits (plain, unauthenticated ones)"),
	T("max_idle", "100s", "how long an idle smtpd/pop3d/imapd worker waits for a connection"),
	I("qmgr_message_active_limit", "20000", "messages yubin-qmgr works on at once"),
	Z("bounce_size_limit", "50000", "larger originals are returned as headers only in bounces"),
	S("double_bounce_sender", "double-bounce", "sender of postmaster notices; mail from it never bounces"),
	/* remote delivery */
	S("relayhost", "", "smart host: [host]:port skips MX, host looks it up"),
	L("transport_maps", "transport", "tables of per-domain routes (local:, smtp:[host]:port, error:, discard:)"),
	L("smtp_host_lookup", "dns", "dns, native or both: how next-hop host addresses are found"),
	I("default_destination_recipient_limit", "50", "recipients per delivery transaction"),
	S("smtp_helo_name", "$myhostname", "name sent in EHLO/HELO"),
	T("smtp_connect_timeout", "30s", "TCP connect timeout"),
	T("smtp_helo_timeout", "300s", "greeting and EHLO timeout"),
	T("smtp_mail_timeout", "300s", "MAIL FROM timeout"),
	T("smtp_rcpt_timeout", "300s", "RCPT TO timeout"),
	T("smtp_data_init_timeout", "120s", "DATA command timeout"),
	T("smtp_data_xfer_timeout", "180s", "timeout per write of message data"),
	T("smtp_data_done_timeout", "600s", "timeout for the reply after the final dot"),
	T("smtp_connection_cache_time_limit", "2s", "how long an idle outgoing connection is kept"),
	S("smtp_tls_security_level", "may", "none, may, encrypt or verify for outgoing STARTTLS"),
	S("smtp_tls_CAfile", "", "CA bundle for verify; empty means the system bundle"),
	B("smtp_mta_sts", "yes", "MTA-STS (RFC 8461) for mail sent by MX: fetch and cache (in mta-sts/) each domain's policy and, in mode enforce, send only to its listed MX hosts with a certificate valid for them (checked against smtp_tls_CAfile)"),
	B("smtp_sasl_auth_enable", "no", "log in to the next hop"),
	S("smtp_sasl_password_maps", "sasl_passwd", "table: [host]:port or host -> user:password"),
	L("smtp_sasl_security_options", "noplaintext, noanonymous", "what AUTH may do without TLS"),
	/* mail access */
	T("pop3d_timeout", "600s", "POP3 idle timeout"),
	T("imapd_timeout", "1800s", "IMAP idle timeout"),
	Z("imap_max_line_length", "65536", "bytes per IMAP command line"),
};

const size_t settings_count = sizeof settings / sizeof settings[0];

const struct setting *setting_find(const char *name)
{
	for (size_t i = 0; i < settings_count; i++)
		if (strcmp(settings[i].name, name) == 0) return &settings[i];
	return NULL;
}
