/* imap.c — fuzz target: IMAP commands as yubin-imapd and yubin-imap read
 * them. imap_read_command collects a command with its literals ({n},
 * {n+}) from a byte stream under small limits; the result is parsed the
 * way the command handlers do: tag, command name, then arguments with
 * every parser of the grammar (astring, list-mailbox, nstring, string,
 * numbers, parenthesised lists, sequence sets, SEARCH keys). The output
 * side is checked too: a string written by imap_put_string or
 * imap_put_astring reads back unchanged. */
#include "fuzz.h"
#include "buf.h"
#include "imap.h"
#include "imapparse.h"
#include "io.h"
#include "search.h"

#include <fcntl.h>
#include <sys/mman.h>

/* what search.c needs from the rest of yubin-imap; parsing touches none */
void bad(struct session *s, const char *text) { (void)s; (void)text; }
void no(struct session *s, const char *text) { (void)s; (void)text; }
void tagged(struct session *s, const char *status, const char *fmt, ...) { (void)s; (void)status; (void)fmt; }
void out_buf(struct session *s, const struct buf *b) { (void)s; (void)b; }
int folder_keyword(struct folder *f, const char *name, size_t n, int add)
{
	(void)f; (void)name; (void)n; (void)add;
	return -1;
}
size_t header_length(const char *s, size_t n) { (void)s; return n; }
int message_load(struct folder *f, struct msg *m, struct message *msg) { (void)f; (void)m; (void)msg; return -1; }
int message_head(struct folder *f, struct msg *m, const char **h, size_t *hlen)
{
	(void)f; (void)m; (void)h; (void)hlen;
	return -1;
}
void message_free(struct message *msg) { (void)msg; }
uint64_t message_vsize(struct folder *f, struct msg *m) { (void)f; (void)m; return 0; }
int message_internaldate(struct folder *f, struct msg *m, time_t *t) { (void)f; (void)m; *t = 0; return -1; }

static int parse_value(struct imap_parser *ps, int depth);

static int parse_list(struct imap_parser *ps, int depth)
{
	if (depth > 20 || ip_char(ps, '(') < 0) return -1;
	while (ip_peek(ps) != ')') {
		if (ip_eol(ps) || parse_value(ps, depth + 1) < 0) return -1;
		if (ip_peek(ps) == ' ') ps->pos++;
	}
	ps->pos++;
	return 0;
}

static int parse_value(struct imap_parser *ps, int depth)
{
	char *s;
	size_t n;
	int c = ip_peek(ps);
	size_t save = ps->pos;
	if (c == '(') return parse_list(ps, depth);
	if (c == '"' || c == '{') return ip_string(ps, &s, &n);
	if ((c >= '0' && c <= '9') || c == '*' || c == '$') {
		struct seqset set = { 0 };
		uint32_t v;
		if (ip_atom(ps, "*:,$", &s, &n) == 0) {
			int r = seqset_parse(s, n, &set);
			if (r == 0) FUZZ_ASSERT(set.n > 0);
			seqset_free(&set);
			struct imap_parser sub;
			ip_init(&sub, s, n);
			(void)ip_number(&sub, &v);
			return 0;
		}
		ps->pos = save;
	}
	if (ip_listmailbox(ps, &s, &n) == 0) return 0;
	ps->pos = save;
	if (ip_nstring(ps, &s, &n) == 0) return 0;
	ps->pos = save;
	return ip_atom(ps, "[]\\<>.", &s, &n);
}

static void parse_command(char *p, size_t n)
{
	struct imap_parser ps;
	char *tag, *cmd;
	size_t tn, cn;
	ip_init(&ps, p, n);
	if (ip_tag(&ps, &tag, &tn) < 0 || ip_sp(&ps) < 0 || ip_atom(&ps, NULL, &cmd, &cn) < 0) return;
	FUZZ_ASSERT(tn > 0 && cn > 0);
	if (imap_word_is(cmd, cn, "UID") && ip_sp(&ps) == 0 && ip_atom(&ps, NULL, &cmd, &cn) < 0) return;
	if (imap_word_is(cmd, cn, "SEARCH") && ip_sp(&ps) == 0) {
		static struct session s;
		struct search_opts o;
		struct search q;
		memset(&q, 0, sizeof q);
		if (search_return_opts(&ps, &o) == 0) {
			(void)search_parse(&s, &ps, &q);
			search_free(&q); /* after a failed parse too, as the handlers do */
		}
		return;
	}
	for (int k = 0; k < 64 && !ip_eol(&ps); k++) {
		if (ip_sp(&ps) < 0 || parse_value(&ps, 0) < 0) return;
		FUZZ_ASSERT(ps.pos <= ps.len);
	}
}

static void reader(struct fin *f, unsigned opt)
{
	int in = memfd_create("imap-in", MFD_CLOEXEC), out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (in < 0 || out < 0) abort();
	if (f->n && write(in, f->p, f->n) != (ssize_t)f->n) abort();
	lseek(in, 0, SEEK_SET);
	static struct rbuf r;
	static struct wbuf w;
	rbuf_init(&r, in, 0);
	wbuf_init(&w, out, 0);
	struct imap_reader rd = { .in = &r, .out = &w, .max_line = 64 + (opt & 7) * 200,
	                          .max_literal = 16 + (opt >> 3 & 3) * 500, .max_total = 4000,
	                          .literal_plus = opt & 32 };
	struct buf cmd = BUF_INIT;
	for (int k = 0; k < 200; k++) {
		buf_reset(&cmd);
		int st = imap_read_command(&rd, &cmd);
		if (st == IR_OK) {
			FUZZ_ASSERT(cmd.len <= rd.max_total + 64);
			char *c = fuzz_dup((const uint8_t *)(cmd.s ? cmd.s : ""), cmd.len, 0);
			parse_command(c, cmd.len);
			free(c);
		} else if (st != IR_LONG && (st != IR_TOOBIG || rd.broken)) {
			break;
		}
	}
	buf_free(&cmd);
	close(in);
	close(out);
}

/* what the server writes reads back as the same bytes */
static void writer(const uint8_t *p, size_t n)
{
	struct buf b = BUF_INIT;
	for (int astring = 0; astring < 2; astring++) {
		buf_reset(&b);
		FUZZ_ASSERT((astring ? imap_put_astring(&b, (const char *)p, n) : imap_put_string(&b, (const char *)p, n)) == 0);
		struct imap_parser ps;
		char *s;
		size_t sn;
		ip_init(&ps, b.s, b.len);
		FUZZ_ASSERT((astring ? ip_astring(&ps, &s, &sn) : ip_string(&ps, &s, &sn)) == 0);
		FUZZ_ASSERT(ip_eol(&ps) && sn == n && (n == 0 || memcmp(s, p, n) == 0));
	}
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin f = { data, size };
	unsigned opt = fin_byte(&f);
	if (opt & 64) writer(f.p, f.n);
	else reader(&f, opt);
	return 0;
}
