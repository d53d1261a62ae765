/* idna.h — a domain with U-labels (SMTPUTF8 mail, RFC 6531) as the DNS
 * knows it: each non-ASCII label becomes "xn--" + Punycode (RFC 3492,
 * RFC 5891 4.4). No mapping or NFC normalisation is done: a label is
 * encoded as sent, so a name that is not already in IDNA form is simply
 * not found. */
#ifndef YUBIN_IDNA_H
#define YUBIN_IDNA_H

#include <stddef.h>

/* name (NUL-terminated UTF-8) into out as A-labels, ASCII lower-cased.
 * 0, or -1 when it is not valid UTF-8, holds a space or control byte,
 * a label is empty or would exceed 63 octets, or out is too small. */
int idna_to_ascii(const char *name, char *out, size_t max);

#endif
