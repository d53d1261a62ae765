/* items.c — split the value of an alias, an :include: file or a .forward
 * into items. Items are separated by commas and newlines; "double quotes"
 * protect commas and spaces ("|/usr/bin/vacation joe"); '#' starts a
 * comment line. A |command, /file or :include: item keeps its spaces;
 * plain addresses are also split on spaces ("a b" is two addresses). */
#include "local.h"

#include <string.h>
#include <strings.h>

static int blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static void emit(const char *s, size_t n, void (*fn)(const char *, size_t, void *), void *arg)
{
	char tmp[4096];
	size_t k = 0;
	int quoted = 0;
	while (n && blank(*s)) { s++; n--; }
	while (n && blank(s[n - 1])) n--;
	if (!n) return;
	/* drop the quotes, keep what they protect */
	for (size_t i = 0; i < n && k < sizeof tmp - 1; i++) {
		if (s[i] == '"') { quoted = 1; continue; }
		tmp[k++] = s[i];
	}
	if (k == 0) return;
	int special = tmp[0] == '|' || tmp[0] == '/' ||
	              (k >= 9 && strncasecmp(tmp, ":include:", 9) == 0);
	if (special || quoted) {
		fn(tmp, k, arg);
		return;
	}
	size_t i = 0;
	while (i < k) {
		while (i < k && blank(tmp[i])) i++;
		size_t b = i;
		while (i < k && !blank(tmp[i])) i++;
		if (i > b) fn(tmp + b, i - b, arg);
	}
}

void items_split(const char *s, size_t n, void (*fn)(const char *, size_t, void *), void *arg)
{
	size_t i = 0, start = 0;
	int inq = 0, bol = 1;
	while (i < n) {
		char c = s[i];
		if (bol && c == '#') { /* comment line */
			while (i < n && s[i] != '\n') i++;
			start = i;
			continue;
		}
		if (c == '"') inq = !inq;
		if ((c == ',' || c == '\n') && !inq) {
			emit(s + start, i - start, fn, arg);
			start = i + 1;
		}
		if (c == '\n') inq = 0;
		bol = c == '\n' || (bol && blank(c));
		i++;
	}
	emit(s + start, n - start, fn, arg);
}
