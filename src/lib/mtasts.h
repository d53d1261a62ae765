/* mtasts.h — MTA-STS (RFC 8461) parsers for yubin-remote: the
 * _mta-sts.DOMAIN TXT record, the policy file, the HTTP/1.1 response that
 * carries it, MX pattern matching, and the cache file the policy is kept
 * in. Every parser takes (pointer, length), treats the bytes as hostile
 * (a NUL, a control byte, an overlong line or field is an error, never a
 * truncation) and fills caller-owned, fixed-size structures. The fetch
 * itself (TCP, yubin-tlsd -c, the cache directory) is src/remote/mtasts.c. */
#ifndef YUBIN_MTASTS_H
#define YUBIN_MTASTS_H

#include <stddef.h>
#include <time.h>

#define STS_BODY_MAX 65536        /* a policy file larger than this is refused */
#define STS_HEAD_MAX 8192         /* HTTP status line and headers */
#define STS_LINE_MAX 1024         /* one policy line */
#define STS_MX_MAX 64             /* mx patterns kept; more is an error */
#define STS_PATTERN_MAX 256       /* "*.example.com", NUL included */
#define STS_ID_MAX 33             /* 1-32 letters and digits, NUL included */
#define STS_MAX_AGE_MAX 31557600  /* one year (RFC 8461 3.2) */

enum sts_mode { STS_NONE = 0, STS_TESTING = 1, STS_ENFORCE = 2 };

struct sts_policy {
	int mode;
	long long max_age;
	size_t nmx;
	char mx[STS_MX_MAX][STS_PATTERN_MAX];   /* lower case, "*." kept */
};

/* One TXT record's text: "v=STSv1; id=ID[; ext=value...]". 0 with id set;
 * 1 not an MTA-STS record (does not start with v=STSv1); -1 malformed. */
int sts_txt_parse(const char *s, size_t n, char *id, size_t idmax);

/* The policy file (RFC 8461 3.2). 0 ok; -1 with why ("line 3: ..."). */
int sts_policy_parse(const char *s, size_t n, struct sts_policy *p, char *why, size_t wmax);

/* 1 when host (case-insensitive, one trailing dot ignored) matches one of
 * the policy's mx patterns; "*.example.com" matches exactly one label. */
int sts_mx_match(const struct sts_policy *p, const char *host);

const char *sts_mode_name(int mode);

/* An HTTP/1.1 response to GET /.well-known/mta-sts.txt, as read so far
 * (eof: the server closed). Accepts only status 200, Content-Type
 * text/plain, a body delimited by Content-Length, chunked encoding or the
 * end of the connection, at most STS_BODY_MAX bytes. Redirects are not
 * followed (RFC 8461 3.3). STS_HTTP_OK with the body in body[bmax >=
 * STS_BODY_MAX], *blen set; STS_HTTP_MORE: read more; STS_HTTP_BAD: why. */
enum { STS_HTTP_OK = 0, STS_HTTP_MORE = 1, STS_HTTP_BAD = -1 };
int sts_http_parse(const char *buf, size_t len, int eof, char *body, size_t bmax, size_t *blen, char *why,
                   size_t wmax);

/* The cache file: "yubin-mta-sts 1\nid ID\nfetched UNIXTIME\n\n" then the
 * policy file as fetched. sts_cache_make writes it into out (returns its
 * length, 0 when it does not fit); sts_cache_parse reads it back, policy
 * included: 0 ok, -1 damaged. */
size_t sts_cache_make(char *out, size_t max, const char *id, time_t fetched, const char *body, size_t blen);
int sts_cache_parse(const char *s, size_t n, char *id, size_t idmax, time_t *fetched, struct sts_policy *p);

#endif
