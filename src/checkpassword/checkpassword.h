/* checkpassword.h — yubin-checkpassword's mailbox step: after a good login,
 * find the Maildir and the account that owns it, and become that account.
 * Every function here either succeeds or exits 111 with a log line naming
 * the setting or path at fault. */
#ifndef YUBIN_CHECKPASSWORD_H
#define YUBIN_CHECKPASSWORD_H

#include <sys/types.h>

struct mailbox {
	char maildir[4096];   /* absolute path, no trailing '/' */
	char home[4096];
	char user[256];       /* account to become when root (empty: stay) */
	int system;           /* a system account (else a virtual user) */
};

/* $YUBIN_ROOT/mail/DOM/USER, owned by control/virtual_user ("yubinv") */
void mailbox_virtual(const char *login, struct mailbox *mb);
/* ~/Maildir (home_mailbox) of the system account login */
void mailbox_system(const char *login, struct mailbox *mb);
/* drop privileges, make the Maildir, set the environment, chdir into it */
void mailbox_enter(const struct mailbox *mb, const char *login);

#endif
