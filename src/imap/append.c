/* append.c — APPEND (with MULTIAPPEND: several messages in one command,
 * all or nothing numbered in one index write) and the IMAP date-time
 * parser. Messages are stored with LF line ends, as Maildir readers
 * expect; the INTERNALDATE becomes the file's mtime. */
#include "imap.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* "17-Jul-1996 02:44:25 -0700" (day may be space-padded) */
static int parse_datetime(const char *s, size_t n, time_t *t)
{
	static const char mon[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	if (n != 26 && n != 25) return -1;
	size_t i = 0;
	int d = 0;
	if (s[0] == ' ') i = 1;
	while (i < n && s[i] >= '0' && s[i] <= '9' && i < 2) d = d * 10 + (s[i++] - '0');
	if (!d || d > 31 || s[i++] != '-') return -1;
	int m = 0;
	for (int k = 0; k < 12; k++)
		if (strncasecmp(s + i, mon + 3 * k, 3) == 0) m = k + 1;
	if (!m || s[i + 3] != '-') return -1;
	i += 4;
	int v[6] = { 0 };
	static const int width[6] = { 4, 2, 2, 2, 0, 4 };
	static const char after[6] = { ' ', ':', ':', ' ', 0, 0 };
	for (int k = 0; k < 6; k++) {
		if (k == 4) {
			if (s[i] != '+' && s[i] != '-') return -1;
			v[4] = s[i++] == '-' ? -1 : 1;
			continue;
		}
		for (int w = 0; w < width[k]; w++) {
			if (i >= n || s[i] < '0' || s[i] > '9') return -1;
			v[k] = v[k] * 10 + (s[i++] - '0');
		}
		if (after[k] && (i >= n || s[i++] != after[k])) return -1;
	}
	if (i != n || v[1] > 23 || v[2] > 59 || v[3] > 60) return -1;
	struct tm tm = { 0 };
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = v[1];
	tm.tm_min = v[2];
	tm.tm_sec = v[3];
	int zone = v[4] * ((v[5] / 100) * 60 + v[5] % 100);
	*t = timegm(&tm) - (time_t)zone * 60;
	return 0;
}

/* CRLF -> LF into a new buffer */
static char *to_lf(const char *p, size_t n, size_t *out)
{
	char *d = malloc(n ? n : 1);
	if (!d) return NULL;
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') continue;
		d[w++] = p[i];
	}
	*out = w;
	return d;
}

#define MAX_APPEND 1000

void cmd_append(struct session *s, struct imap_parser *ps)
{
	char *name;
	size_t nn;
	if (ip_sp(ps) < 0 || ip_astring(ps, &name, &nn) < 0) return bad(s, "Missing mailbox name.");
	char nm[1024], dir[1100];
	if (nn >= sizeof nm || folder_dir(name, nn, dir, sizeof dir) < 0) return no(s, "Invalid mailbox name.");
	memcpy(nm, name, nn);
	nm[nn] = 0;
	struct newmsg *msgs = calloc(MAX_APPEND, sizeof *msgs);
	if (!msgs) return no(s, "[SERVERBUG] Out of memory.");
	size_t count = 0;
	const char *err = NULL;
	while (ip_sp(ps) == 0) {
		if (count == MAX_APPEND) { err = "Too many messages."; break; }
		struct newmsg *x = &msgs[count];
		if (ip_peek(ps) == '(') {
			uint32_t kw;
			if (flags_parse(ps, NULL, 0, &x->flags, &kw, &x->kwnames, &x->nkw) < 0 || ip_sp(ps) < 0) {
				err = "Invalid flags.";
				break;
			}
		}
		if (ip_peek(ps) == '"') {
			char *d;
			size_t dn;
			if (ip_quoted(ps, &d, &dn) < 0 || parse_datetime(d, dn, &x->mtime) < 0 || ip_sp(ps) < 0) {
				err = "Invalid date-time.";
				break;
			}
		}
		char *lit;
		size_t ln;
		if (ip_literal(ps, &lit, &ln) < 0) { err = "Missing message literal."; break; }
		x->data = to_lf(lit, ln, &x->len);
		if (!x->data) { err = "Out of memory."; break; }
		count++;
	}
	if (!err && (!count || !ip_eol(ps))) err = "Invalid arguments.";
	uint32_t validity = 0;
	int rc = 0;
	if (!err && !folder_exists(nm)) {
		rc = -2;
	} else if (!err) {
		rc = folder_add(dir, msgs, count, &validity);
	}
	struct buf code = BUF_INIT;
	if (!err && rc == 0) {
		buf_addf(&code, "[APPENDUID %u ", validity);
		for (size_t i = 0; i < count; i++) {
			if (i) buf_addc(&code, ',');
			buf_addnum(&code, msgs[i].uid);
		}
		buf_addc(&code, ']');
	}
	for (size_t i = 0; i <= count && i < MAX_APPEND; i++) {
		free((char *)msgs[i].data);
		for (size_t k = 0; k < msgs[i].nkw; k++) free(msgs[i].kwnames[k]);
		free(msgs[i].kwnames);
	}
	free(msgs);
	if (err) { buf_free(&code); return bad(s, err); }
	if (rc == -2) { buf_free(&code); return no(s, "[TRYCREATE] Mailbox doesn't exist."); }
	if (rc < 0) { buf_free(&code); return no(s, "[SERVERBUG] Cannot store the message."); }
	if (s->sel && strcmp(s->sel->dir, dir) == 0) {
		folder_sync(s->sel, 1);
		report_changes(s, 0);
	}
	tagged(s, "OK", "%s Append completed.", code.s);
	buf_free(&code);
}
