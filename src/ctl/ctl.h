/* ctl.h — yubin-ctl's commands, one file each. Each returns the exit code. */
#ifndef YUBIN_CTL_H
#define YUBIN_CTL_H

int cmd_config(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_hold(int argc, char **argv);
int cmd_release(int argc, char **argv);
int cmd_requeue(int argc, char **argv);
int cmd_flush(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_import_postfix(int argc, char **argv);
int cmd_auth_test(int argc, char **argv);
int cmd_dkim_keygen(int argc, char **argv);   /* dkim.c */
int cmd_dns_check(int argc, char **argv);     /* dnscheck.c */
/* yubin-ctl config --man: the mdoc source of yubin-control(5) */
int config_man(void);

/* Queue walking shared by the queue commands. */
extern const char *const queue_states[]; /* incoming active deferred hold, NULL */
/* Calls fn(state, id) for every message (sorted by id within a state);
 * stops and returns fn's value when it is non-zero. */
int queue_each(int (*fn)(const char *state, const char *id, void *arg), void *arg);
/* Path of queue/STATE/ID into out. */
int queue_file(char *out, unsigned long max, const char *state, const char *id);
/* Find which state holds id; NULL when none. */
const char *queue_find(const char *id);

#endif
