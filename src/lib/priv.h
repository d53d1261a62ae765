/* priv.h — least privilege, the qmail way: each program runs as its own
 * unprivileged account when the system is run by root. The accounts are
 * made by yubin-setup (or yubin-run as root):
 *   yubind  network daemons (smtpd, submission, pop3d/imapd front ends)
 *   yubinq  the queue: yubin-queue (setuid) and yubin-qmgr
 *   yubinr  remote delivery (member of group yubinq to read queue files)
 *   yubinv  owner of the virtual mailboxes (control/virtual_user)
 *   yubint  (a group) the TLS key's: yubin-tlsd alone has it
 * When not root, nothing changes: every program runs as the invoker. */
#ifndef YUBIN_PRIV_H
#define YUBIN_PRIV_H

#define USER_DAEMON "yubind"
#define USER_QUEUE "yubinq"
#define USER_REMOTE "yubinr"
#define USER_VIRTUAL "yubinv"
#define TLS_KEY_GROUP "yubint"

/* As root: become user (its groups from /etc/group, then gid, then uid)
 * and check that root cannot be regained. Not root: does nothing.
 * Returns 0, or -1 after logging why (unknown account: run yubin-setup). */
int priv_drop(const char *user);

/* An account looked up once, for programs that switch to it often
 * (yubin-run, once per connection): no passwd/group lookups per switch. */
#include <sys/types.h>
struct priv_id {
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[64];
};
int priv_lookup(const char *user, struct priv_id *id);
/* Become id with raw system calls only, so it is safe in a vfork child;
 * returns -1 on failure (the caller _exits). */
int priv_become(const struct priv_id *id);

#endif
