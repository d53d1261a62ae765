/* sendmail — the sendmail-compatible front end (also mailq, newaliases).
 *   sendmail [-t] [-i|-oi] [-f sender] [-F name] [-N dsn] [-R ret] [-V envid] [rcpt...]
 *   sendmail -bp (= mailq)   -bi (= newaliases)   -q (flush)   -bs (SMTP on stdin)
 * Reads a message on stdin, adds Date, Message-ID and From when missing,
 * removes Bcc, and hands it to yubin-queue. Exit codes are sendmail's
 * (sysexits): 0, 64 usage, 75 temporary failure. */
#include "sendmail.h"
#include "addr.h"
#include "control.h"
#include "io.h"
#include "log.h"
#include "qclient.h"
#include "table.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum { EX_USAGE_ = 64, EX_SOFTWARE_ = 70, EX_TEMPFAIL_ = 75 };

static struct {
	int extract, dot_ends;
	const char *sender, *fullname, *notify, *ret, *envid;
	const char *mode; /* NULL deliver, "bp", "bi", "q", "bs" */
} opt = { 0, 1, NULL, NULL, "", NULL, NULL, NULL };

static char **rcpts;
static char **orig;    /* the address as given, when canonical maps changed it */
static size_t nrcpts;

static void add_recipient(const char *a, size_t n)
{
	struct buf raw = BUF_INIT, q = BUF_INIT;
	if (buf_add(&raw, a, n) < 0 || addr_qualify(raw.s, &q) < 0 || !q.len) {
		buf_free(&raw);
		buf_free(&q);
		return;
	}
	buf_free(&raw);
	for (size_t i = 0; i < nrcpts; i++)
		if (strcasecmp(rcpts[i], q.s) == 0) { buf_free(&q); return; } /* named twice: once */
	char **r = realloc(rcpts, (nrcpts + 1) * sizeof *r);
	if (!r) die_nomem();
	rcpts = r;
	rcpts[nrcpts++] = q.s;
}

/* recipient_canonical_maps, canonical_maps; two that now name the same
 * address are one recipient */
static void canonical_recipients(void)
{
	orig = calloc(nrcpts, sizeof *orig);
	if (!orig) die_nomem();
	size_t k = 0;
	for (size_t i = 0; i < nrcpts; i++) {
		struct buf out = BUF_INIT;
		char *given = rcpts[i];
		if (canonical_address(0, given, &out) > 0) {
			rcpts[i] = out.s;
			orig[i] = given;
		}
		int dup = 0;
		for (size_t j = 0; j < k && !dup; j++) dup = strcasecmp(rcpts[j], rcpts[i]) == 0;
		if (dup) {
			free(rcpts[i]);
			free(orig[i]);
			continue;
		}
		rcpts[k] = rcpts[i];
		orig[k++] = orig[i];
	}
	nrcpts = k;
}

static void add_arg(const char *a) { add_recipient(a, strlen(a)); }

static void __attribute__((noreturn)) usage(void)
{
	die(EX_USAGE_, "usage: sendmail [-t] [-i] [-f sender] [-F name] [rcpt...] | -bp | -bi | -q | -bs");
}

/* options take their value glued (-fuser) or as the next argument */
static const char *value(int argc, char **argv, int *i, const char *glued)
{
	if (*glued) return glued;
	if (*i + 1 >= argc) usage();
	return argv[++*i];
}

static void parse_args(int argc, char **argv)
{
	const char *me = strrchr(argv[0], '/');
	me = me ? me + 1 : argv[0];
	if (strcmp(me, "mailq") == 0) opt.mode = "bp";
	if (strcmp(me, "newaliases") == 0) opt.mode = "bi";
	int i;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		char *a = argv[i];
		if (strcmp(a, "--") == 0) { i++; break; }
		switch (a[1]) {
		case 't': opt.extract = 1; break;
		case 'i': opt.dot_ends = 0; break;
		case 'f': case 'r': opt.sender = value(argc, argv, &i, a + 2); break;
		case 'F': opt.fullname = value(argc, argv, &i, a + 2); break;
		case 'N': opt.notify = value(argc, argv, &i, a + 2); break;
		case 'R': opt.ret = value(argc, argv, &i, a + 2); break;
		case 'V': opt.envid = value(argc, argv, &i, a + 2); break;
		case 'q': opt.mode = "q"; break;
		case 'b':
			if (!strcmp(a, "-bp") || !strcmp(a, "-bi") || !strcmp(a, "-bs")) opt.mode = a + 1;
			else if (strcmp(a, "-bm") != 0) usage();
			break;
		case 'o':
			if (strcmp(a, "-oi") == 0) opt.dot_ends = 0;
			else if (a[2] == 0) i++; /* -o X: an option with a value we ignore */
			break; /* -odb, -oem, -om ... accepted and ignored, as Postfix does */
		case 'v': case 'm': case 'n': case 'U': case 'G': break;
		case 'X': case 'C': case 'O': case 'L': case 'h': (void)value(argc, argv, &i, a + 2); break;
		default: usage();
		}
	}
	for (; i < argc; i++) add_arg(argv[i]);
}

static void exec_sibling(const char *prog, char *const argv[])
{
	char path[4096];
	if (prog_path(path, sizeof path, prog) < 0) die(EX_SOFTWARE_, "cannot find %s", prog);
	execv(path, argv);
	die_sys(EX_TEMPFAIL_, "cannot run %s", path);
}

static int other_modes(void)
{
	if (!opt.mode) return 0;
	if (strcmp(opt.mode, "bp") == 0) {
		char *argv[] = { "yubin-ctl", "queue", NULL };
		exec_sibling("yubin-ctl", argv);
	}
	if (strcmp(opt.mode, "bs") == 0) {
		char *argv[] = { "yubin-smtpd", NULL };
		exec_sibling("yubin-smtpd", argv);
	}
	if (strcmp(opt.mode, "q") == 0) {
		qtrigger("f");
		return 1;
	}
	char path[4096]; /* bi */
	if (root_path(path, sizeof path, "control/aliases") < 0 || table_compile(path) < 0)
		die(EX_TEMPFAIL_, "%s: newaliases failed", path);
	return 1;
}

static char *sender_address(void)
{
	struct buf out = BUF_INIT;
	const char *s = opt.sender;
	char name[256];
	if (!s) {
		struct passwd *pw = getpwuid(getuid());
		snprintf(name, sizeof name, "%s", pw ? pw->pw_name : "nobody");
		s = name;
	}
	if (!*s || strcmp(s, "<>") == 0) return strdup("");
	if (addr_qualify(s, &out) < 0) die(EX_USAGE_, "bad sender address: %s", s);
	struct buf canon = BUF_INIT;
	if (out.s && canonical_address(1, out.s, &canon) > 0) {
		buf_free(&out);
		return canon.s;
	}
	return out.s ? out.s : strdup("");
}

static void date_now(char *out, size_t max)
{
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, max, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

int main(int argc, char **argv)
{
	log_init("sendmail");
	parse_args(argc, argv);
	if (other_modes()) return 0;

	static struct rbuf in;
	rbuf_init(&in, 0, 0);
	struct headers h = { BUF_INIT, 0, 0, 0 };
	struct buf pending = BUF_INIT;
	int ended;
	if (headers_read(&in, &h, opt.extract, opt.dot_ends, add_recipient, &pending, &ended) < 0)
		die(EX_TEMPFAIL_, "the message's header section is too large");
	if (!nrcpts) die(EX_USAGE_, "no recipients given");

	/* canonical maps (canonical.c): the sender before From is made from it */
	char *sender = sender_address();
	canonical_recipients();
	canonical_headers(&h.text);
	struct buf env = BUF_INIT, orcpt = BUF_INIT;
	if (qenv_add(&env, 'S', sender) < 0) die(EX_USAGE_, "bad sender address");
	for (size_t i = 0; i < nrcpts; i++) {
		/* a rewritten recipient keeps the given one as ORCPT, as smtpd does */
		buf_reset(&orcpt);
		if (orig[i] && (buf_adds(&orcpt, "rfc822;") < 0 || buf_adds(&orcpt, orig[i]) < 0)) die_nomem();
		if (qenv_add_rcpt(&env, rcpts[i], opt.notify, orcpt.len ? orcpt.s : "") < 0)
			die(EX_USAGE_, "bad recipient %s", rcpts[i]);
	}
	buf_free(&orcpt);
	if (opt.envid && qenv_add(&env, 'E', opt.envid) < 0) die(EX_USAGE_, "bad -V value");
	if (opt.ret && qenv_add(&env, 'N', opt.ret) < 0) die(EX_USAGE_, "bad -R value");

	struct qclient q;
	if (qclient_open(&q) < 0 || qclient_begin(&q, &env) < 0)
		die(EX_TEMPFAIL_, "cannot start yubin-queue (is the queue created under %s?)", yubin_root());

	const char *host = control_get("myhostname");
	char date[64];
	date_now(date, sizeof date);
	struct buf head = BUF_INIT;
	buf_addf(&head, "Received: by %s (yubin sendmail, from userid %lu)\n\tid %s; %s\n", host,
	         (unsigned long)getuid(), q.id, date);
	if (!h.has_from) {
		if (opt.fullname) buf_addf(&head, "From: %s <%s>\n", opt.fullname, sender);
		else buf_addf(&head, "From: %s\n", *sender ? sender : "MAILER-DAEMON");
	}
	if (!h.has_date) buf_addf(&head, "Date: %s\n", date);
	if (!h.has_message_id) buf_addf(&head, "Message-ID: <%lld.%s@%s>\n", (long long)time(NULL), q.id, host);
	qclient_write(&q, head.s, head.len);
	qclient_write(&q, h.text.s, h.text.len);
	qclient_write(&q, "\n", 1);
	qclient_write(&q, pending.s, pending.len);

	if (!ended && body_copy(&in, &q, opt.dot_ends) < 0)
		die(EX_TEMPFAIL_, "message not queued: yubin-queue went away");
	char reply[256];
	if (qclient_commit(&q, reply, sizeof reply) < 0) die(EX_TEMPFAIL_, "message not queued: %s", reply);
	qclient_close(&q);
	return 0;
}
