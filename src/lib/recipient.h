/* recipient.h — where an address lives: which domains are ours, and
 * whether a local address exists. Used by yubin-smtpd (RCPT checks),
 * yubin-qmgr (local or remote) and yubin-local (resolution).
 * Local domains: mydestination (system accounts and aliases),
 * virtual_mailbox_domains (virtual users), and virtual alias domains
 * (domains that are keys of control/virtual, e.g. "example.net anything"). */
#ifndef YUBIN_RECIPIENT_H
#define YUBIN_RECIPIENT_H

enum domain_class {
	DOMAIN_REMOTE = 0,
	DOMAIN_SYSTEM,      /* in mydestination */
	DOMAIN_VIRTUAL,     /* in virtual_mailbox_domains */
	DOMAIN_ALIAS,       /* a virtual alias domain */
};

enum domain_class domain_classify(const char *domain);
int domain_is_local(const char *domain);
/* 1 when domain is in relay_domains (or a subdomain when listed as .dom) */
int domain_is_relay(const char *domain);

enum recipient_status {
	RCPT_REMOTE = 0,    /* not ours: relay or refuse */
	RCPT_LOCAL,         /* ours and known (user, alias, virtual alias) */
	RCPT_UNKNOWN,       /* ours but nobody: 550 5.1.1 */
	RCPT_TEMPFAIL = -1, /* a table could not be read: 451 4.3.0 */
};

/* Does this address exist? Checks, in order: control/virtual (+.regexp),
 * for system domains control/aliases and the passwd database, for virtual
 * domains control/users. Extensions (user+ext) are tried without ext. */
enum recipient_status recipient_check(const char *addr);

#endif
