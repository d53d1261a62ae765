/* trigger.h — the queue/trigger FIFO that wakes yubin-qmgr. */
#ifndef YUBIN_QMGR_TRIGGER_H
#define YUBIN_QMGR_TRIGGER_H

void trigger_open(void);
int trigger_fd(void);
/* read what is there and act on each line ("n", "f", "fDOMAIN", "r") */
void trigger_read(void);

#endif
