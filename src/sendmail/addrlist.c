/* addrlist.c — pull the addr-specs out of an RFC 5322 address list, as
 * `sendmail -t` needs: "Ann <a@x>, b@y (Bob), "Doe, J" <c@z>, grp: d@w;" */
#include "sendmail.h"

#include <string.h>

/* skip a comment starting at s[i] == '(' (nested); returns the index after it */
static size_t skip_comment(const char *s, size_t n, size_t i)
{
	int depth = 0;
	for (; i < n; i++) {
		if (s[i] == '\\') { i++; continue; }
		if (s[i] == '(') depth++;
		else if (s[i] == ')' && --depth == 0) return i + 1;
	}
	return n;
}

static size_t skip_quoted(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\') { i++; continue; }
		if (s[i] == '"') return i + 1;
	}
	return n;
}

/* One mailbox (between commas): the <...> part if any, else the text
 * without comments and whitespace. */
static void one_mailbox(const char *s, size_t n, void (*add)(const char *, size_t))
{
	char out[1024];
	size_t o = 0;
	const char *lt = NULL;
	for (size_t i = 0; i < n;) {
		if (s[i] == '"') { i = skip_quoted(s, n, i); continue; }
		if (s[i] == '(') { i = skip_comment(s, n, i); continue; }
		if (s[i] == '<') { lt = s + i; break; }
		i++;
	}
	if (lt) {
		const char *gt = memchr(lt, '>', (size_t)(s + n - lt));
		if (!gt) return;
		s = lt + 1;
		n = (size_t)(gt - s);
		const char *colon = memchr(s, ':', n); /* drop a source route */
		if (n && *s == '@' && colon) { n -= (size_t)(colon + 1 - s); s = colon + 1; }
	}
	for (size_t i = 0; i < n && o < sizeof out;) {
		if (s[i] == '(') { i = skip_comment(s, n, i); continue; }
		if (s[i] == '"') {
			size_t e = skip_quoted(s, n, i);
			while (i < e && o < sizeof out) out[o++] = s[i++];
			continue;
		}
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') out[o++] = s[i];
		i++;
	}
	if (o > 0 && o < sizeof out) add(out, o);
}

void address_list(const char *s, size_t n, void (*add)(const char *, size_t))
{
	size_t start = 0;
	int angle = 0;
	for (size_t i = 0; i <= n;) {
		if (i == n || (!angle && (s[i] == ',' || s[i] == ';'))) {
			one_mailbox(s + start, i - start, add);
			start = ++i;
			continue;
		}
		if (s[i] == '"') { i = skip_quoted(s, n, i); continue; }
		if (s[i] == '(') { i = skip_comment(s, n, i); continue; }
		if (s[i] == '<') angle = 1;
		else if (s[i] == '>') angle = 0;
		else if (s[i] == ':' && !angle) start = i + 1; /* "group:" or a display name */
		i++;
	}
}
