/* sort.c — SORT and THREAD (RFC 5256). */
#include "imap.h"

void cmd_sort(struct session *s, struct imap_parser *ps)
{
	(void)ps;
	bad(s, "SORT is not supported.");
}

void cmd_thread(struct session *s, struct imap_parser *ps)
{
	(void)ps;
	bad(s, "THREAD is not supported.");
}
