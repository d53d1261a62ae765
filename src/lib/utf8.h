/* utf8.h — is a byte string well-formed UTF-8 (RFC 3629)? For SMTPUTF8
 * addresses (RFC 6531): overlong forms, UTF-16 surrogates (U+D800..DFFF),
 * code points above U+10FFFF and truncated sequences are all refused. */
#ifndef YUBIN_UTF8_H
#define YUBIN_UTF8_H

#include <stddef.h>

/* 1 when p[0..n) is well-formed UTF-8 (NUL bytes count as valid: callers
 * refuse control bytes themselves), 0 otherwise */
int utf8_valid(const char *p, size_t n);
/* 1 when p[0..n) holds a byte >= 0x80 */
int utf8_has_8bit(const char *p, size_t n);

#endif
