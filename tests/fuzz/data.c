/* data.c — fuzz target: the SMTP DATA reader of yubin-smtpd
 * (src/smtpd/data.c, included whole so its static state machine is
 * tested as compiled, with no change to smtpd). The input is cut into
 * reads at points chosen by its first bytes, as a network would cut it.
 * The smuggling oracle: the message ends exactly after the first
 * "<CRLF>.<CRLF>" of the stream (or a leading ".<CRLF>"), never
 * anywhere else, and what goes to the queue (LF line ends) never holds
 * a CR, so no bare CR or LF can be replayed as a line end later. */
#include "fuzz.h"
#include "../../src/smtpd/data.c"

/* what smtpd's other files provide, reduced to what DATA needs */
static const char *forbid_bare = "yes";
static long long hop_limit = 50, header_limit = 102400;
const char *cfg_get(const char *name)
{
	return strcmp(name, "smtpd_forbid_bare_newline") == 0 ? forbid_bare : control_get(name);
}
long long cfg_int(const char *name) { return strcmp(name, "hopcount_limit") == 0 ? hop_limit : control_int(name); }
long long cfg_size(const char *name) { return strcmp(name, "header_size_limit") == 0 ? header_limit : control_size(name); }
long long cfg_time(const char *name) { return control_time(name); }
int cfg_bool(const char *name) { (void)name; return 0; }
size_t cfg_list(const char *name, const char *const **items) { return control_list(name, items); }
void reply(struct session *s, const char *fmt, ...) { (void)s; (void)fmt; }
void reply_err(struct session *s, const char *fmt, ...) { (void)s; (void)fmt; }
void reply_more(struct session *s, const char *fmt, ...) { (void)s; (void)fmt; }
void io_failed(struct session *s, int status) { (void)s; (void)status; abort(); }
void transaction_reset(struct session *s) { (void)s; }
const char *client_name(const struct session *s) { (void)s; return "fuzz[192.0.2.1]"; }
const char *received_protocol(const struct session *s) { return s->proto; }
void log_reject(struct session *s, const char *qid, const char *stage, const char *sender, const char *rcpt,
                const char *text)
{
	(void)s; (void)qid; (void)stage; (void)sender; (void)rcpt; (void)text;
}

/* the queue writer: every qclient.o symbol, so the real one is not linked */
static struct buf queued = { 0, 0, 0, 1 << 26 };
int qenv_add(struct buf *env, char type, const char *value) { (void)env; (void)type; (void)value; return 0; }
int qenv_add_rcpt(struct buf *env, const char *a, const char *n, const char *o)
{
	(void)env; (void)a; (void)n; (void)o;
	return 0;
}
int qclient_open(struct qclient *q) { (void)q; return 0; }
int qclient_begin(struct qclient *q, const struct buf *env) { (void)q; (void)env; return 0; }
int qclient_send_envelope(struct qclient *q, const struct buf *env) { (void)q; (void)env; return 0; }
int qclient_take_id(struct qclient *q) { (void)q; return 0; }
int qclient_write(struct qclient *q, const void *p, size_t n)
{
	(void)q;
	return buf_add(&queued, p, n);
}
int qclient_commit(struct qclient *q, char *r, size_t max) { (void)q; (void)r; (void)max; return 0; }
int qclient_hold(struct qclient *q) { (void)q; return 0; }
/* cleanup.c: no header/body checks here (the reader is the target) */
int inspect_begin(struct session *s, struct inspect *in, void (*out)(void *, const char *, size_t), void *arg)
{
	(void)s; (void)in; (void)out; (void)arg;
	return 0;
}
void qclient_close(struct qclient *q) { (void)q; }
/* authcheck.c: never on here (the setting is not read by the target) */
int authcheck_begin(struct session *s, struct authcheck *a) { (void)s; (void)a; return 0; }
void authcheck_input(struct authcheck *a, const char *p, size_t n) { (void)a; (void)p; (void)n; }
const char *authcheck_spool(struct authcheck *a, const char *p, size_t n) { (void)a; (void)p; (void)n; return NULL; }
int authcheck_end(struct session *s, struct authcheck *a, const char *qid) { (void)s; (void)a; (void)qid; return 0; }
void authcheck_free(struct authcheck *a) { (void)a; }
int prog_path(char *out, size_t max, const char *name) { (void)out; (void)max; (void)name; return -1; }

/* where the message must end: after the first CRLF "." CRLF, or 0 */
static size_t expected_end(const uint8_t *p, size_t n)
{
	if (n >= 3 && memcmp(p, ".\r\n", 3) == 0) return 3;
	for (size_t i = 0; i + 5 <= n; i++)
		if (memcmp(p + i, "\r\n.\r\n", 5) == 0) return i + 5;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin f = { data, size };
	unsigned opt = fin_byte(&f), seed = fin_byte(&f);
	static const char *const bare_modes[] = { "yes", "no", "normalize", "reject" };
	static struct session s;
	memset(&s, 0, sizeof s);
	s.role = (opt & 1) ? ROLE_SUBMISSION : ROLE_SMTPD;
	forbid_bare = bare_modes[(opt >> 1) & 3];
	hop_limit = (opt >> 3) & 3;
	header_limit = (opt & 32) ? 64 : 0;
	s.size_limit = (opt & 64) ? 256 : 0;
	memcpy(s.q.id, "FUZZ0001", 9);
	s.sender = (struct buf)BUF_INIT;
	if (opt & 128) buf_adds(&s.sender, "sender@example.test");

	static struct data d;
	data_init(&d, &s);
	buf_reset(&queued);
	const uint8_t *p = f.p;
	size_t n = f.n, at = 0;
	int end = 0;
	unsigned x = seed * 2654435761u + 1;
	while (at < n && !end) {
		x = x * 1103515245u + 12345u;
		size_t want = 1 + (x >> 16) % 97, used = 0;
		if (want > n - at) want = n - at;
		char *chunk = fuzz_dup(p + at, want, 0); /* one read, exactly sized */
		end = feed(&d, chunk, want, &used);
		free(chunk);
		FUZZ_ASSERT(used <= want && (end || used == want));
		at += used;
		d.bytes += (long long)used;
		if (s.size_limit > 0 && d.bytes > s.size_limit) refuse(&d, "552 5.3.4 Message size exceeds fixed limit");
	}
	FUZZ_ASSERT((size_t)(end ? at : 0) == expected_end(p, n));
	if (end) {
		if (d.fixups && !d.error) {
			d.line_start = d.hdr.len;
			header_done(&d);
		}
		buf_free(&d.hdr);
		to_queue(&d);
		if (!d.error) FUZZ_ASSERT(!queued.len || !memchr(queued.s, '\r', queued.len));
	} else {
		buf_free(&d.hdr);
	}
	buf_free(&s.sender);
	return 0;
}
