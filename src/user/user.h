/* user.h — yubin-user's pieces shared between its files. */
#ifndef YUBIN_USER_USER_H
#define YUBIN_USER_USER_H

#include <stddef.h>
#include <sys/types.h>

struct buf;

/* whole file into out (NUL-terminated); a missing file is empty. 0 / -1 */
int file_read(const char *path, struct buf *out);
/* replace path atomically with data; new files get new_mode. 0 / -1 */
int file_replace(const char *path, const char *data, size_t len, mode_t new_mode);
/* one line from stdin into pw (max bytes with NUL): length, or
 * -1 read error, -2 too long, -3 NUL byte */
int read_password(char *pw, size_t max);

#endif
