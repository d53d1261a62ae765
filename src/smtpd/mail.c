/* mail.c — MAIL FROM and RCPT TO: the path, the ESMTP parameters of the
 * extensions we advertise (SIZE, BODY, DSN's RET/ENVID/NOTIFY/ORCPT,
 * AUTH=, SMTPUTF8), the recipient limit, and the recipient policy (policy.c). */
#include "smtpd.h"
#include "addr.h"
#include "control.h"
#include "esmtp.h"
#include "log.h"
#include "qfile.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ENVID_MAX 100 /* RFC 3461 4.4 */

/* "FROM:" / "TO:" and the spaces some clients put after the colon */
static int strip_keyword(char **arg, size_t *len, const char *kw)
{
	size_t k = strlen(kw);
	if (*len < k || strncasecmp(*arg, kw, k) != 0) return -1;
	*arg += k;
	*len -= k;
	while (*len && **arg == ' ') { (*arg)++; (*len)--; }
	return *len ? 0 : -1;
}

/* An address may reach a queue record, a log line and a header: no
 * control bytes, no tab (the record separator). */
static int addr_safe(const struct buf *a)
{
	for (size_t i = 0; i < a->len; i++)
		if ((unsigned char)a->s[i] < 32 || a->s[i] == 127) return 0;
	return 1;
}

/* allow_min_user = no: "-user" would look like an option to a program */
static int min_user_ok(const char *addr)
{
	return *addr != '-' || cfg_bool("allow_min_user");
}

static void unsupported(struct session *s, const struct esmtp_param *p)
{
	reply_err(s, "555 5.5.4 Unsupported option: %.*s", (int)(p->klen > 64 ? 64 : p->klen), p->key);
}

void cmd_mail(struct session *s, char *arg, size_t len)
{
	if (!s->helo[0]) { reply_err(s, "503 5.5.1 Error: send HELO/EHLO first"); return; }
	if (s->in_mail) { reply_err(s, "503 5.5.1 Error: nested MAIL command"); return; }
	/* submission: smtpd_client_restrictions = permit_sasl_authenticated, reject */
	if (s->role == ROLE_SUBMISSION && !s->login) { reply_err(s, "530 5.7.0 Authentication required"); return; }
	if (strip_keyword(&arg, &len, "FROM:") < 0) {
		reply_err(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	struct buf a = BUF_INIT;
	size_t used = 0;
	if (addr_parse_path(arg, len, 1, &a, &used) != ADDR_OK || buf_add(&a, "", 0) < 0 || !addr_safe(&a) ||
	    !min_user_ok(a.s) || (used < len && arg[used] != ' ')) {
		buf_free(&a);
		reply_err(s, "501 5.1.7 Bad sender address syntax");
		return;
	}
	long long size = 0;
	char body[10] = "", ret[5] = "";
	int utf8 = 0;
	struct buf envid = BUF_INIT;
	envid.max = ENVID_MAX;
	struct esmtp_param p;
	int r;
	while ((r = esmtp_param_next(arg, len, &used, &p)) == 1) {
		const char *bad = NULL;
		if (!s->esmtp) {
			unsupported(s, &p);
			goto out;
		} else if (esmtp_key_is(&p, "SIZE")) {
			if (!p.val || esmtp_size_parse(p.val, p.vlen, &size) < 0) bad = "501 5.5.4 Bad message size syntax";
		} else if (esmtp_key_is(&p, "BODY")) {
			if (p.val && p.vlen == 4 && strncasecmp(p.val, "7BIT", 4) == 0)
				memcpy(body, "7BIT", 5);
			else if (p.val && p.vlen == 8 && strncasecmp(p.val, "8BITMIME", 8) == 0)
				memcpy(body, "8BITMIME", 9);
			else
				bad = "501 5.5.4 Unsupported BODY parameter";
		} else if (esmtp_key_is(&p, "RET")) {
			if (p.val && p.vlen == 4 && strncasecmp(p.val, "FULL", 4) == 0)
				memcpy(ret, "FULL", 5);
			else if (p.val && p.vlen == 4 && strncasecmp(p.val, "HDRS", 4) == 0)
				memcpy(ret, "HDRS", 5);
			else
				bad = "501 5.5.4 Bad RET parameter syntax";
		} else if (esmtp_key_is(&p, "ENVID")) {
			buf_reset(&envid);
			if (!p.val || xtext_decode(p.val, p.vlen, &envid) < 0 || envid.len == 0)
				bad = "501 5.5.4 Bad ENVID parameter syntax";
		} else if (esmtp_key_is(&p, "SMTPUTF8")) {
			if (p.val) bad = "501 5.5.4 Bad SMTPUTF8 parameter syntax";
			utf8 = 1;
		} else if (esmtp_key_is(&p, "AUTH")) {
			/* RFC 4954 5: the submitter's identity as the client claims it;
			 * we only trust our own AUTH, so it is accepted and ignored */
		} else {
			unsupported(s, &p);
			goto out;
		}
		if (bad) {
			reply_err(s, "%s", bad);
			goto out;
		}
	}
	if (r < 0) {
		reply_err(s, "501 5.5.4 Bad MAIL parameter syntax");
		goto out;
	}
	const char *u8 = smtputf8_addr_check(utf8, a.s, 1);
	if (u8) {
		log_reject(s, NULL, "MAIL", a.s, "", u8);
		reply_err(s, "%s", u8);
		goto out;
	}
	if (s->size_limit > 0 && size > s->size_limit) {
		log_reject(s, NULL, "MAIL", a.s, "", "552 5.3.4 Message size exceeds fixed limit");
		reply_err(s, "552 5.3.4 Message size exceeds fixed limit");
		goto out;
	}
	if (limits_mail(s) < 0) goto out;
	char why[600];
	if (sender_login_check(s, a.s, why, sizeof why)) {
		log_reject(s, NULL, "MAIL", a.s, "", why);
		reply_err(s, "%s", why);
		goto out;
	}
	/* canonical_maps: the queue gets the rewritten sender; the policy
	 * checks at RCPT see the one the client gave, as in Postfix */
	struct buf canon = BUF_INIT;
	int cr = canonical_envelope(s, 1, a.s, &canon);
	if (cr < 0 || (cr > 0 && !addr_safe(&canon))) {
		buf_free(&canon);
		reply_err(s, "451 4.3.0 <%s>: Sender address rejected: Temporary lookup failure", a.s);
		goto out;
	}
	transaction_reset(s);
	buf_set(&s->sender, a.s, a.len);
	buf_add(&s->sender, "", 0);
	if (cr > 0) {
		buf_set(&s->sender_canon, canon.s, canon.len);
		buf_add(&s->sender_canon, "", 0);
	}
	buf_free(&canon);
	if (envid.len) {
		buf_set(&s->envid, envid.s, envid.len);
		buf_add(&s->envid, "", 0);
	}
	s->size = size;
	s->smtputf8 = utf8;
	memcpy(s->body, body, sizeof body);
	memcpy(s->ret, ret, sizeof ret);
	s->in_mail = 1;
	reply(s, "250 2.1.0 Ok");
out:
	buf_free(&a);
	buf_free(&envid);
}

static int add_rcpt(struct session *s, const char *addr, const char *notify, const char *orcpt)
{
	if (s->nrcpt == s->caprcpt) {
		size_t nc = s->caprcpt ? s->caprcpt * 2 : 8;
		char **a = realloc(s->rcpt, nc * sizeof *a);
		if (a) s->rcpt = a;
		char **b = realloc(s->rcpt_notify, nc * sizeof *b);
		if (b) s->rcpt_notify = b;
		char **c = realloc(s->rcpt_orcpt, nc * sizeof *c);
		if (c) s->rcpt_orcpt = c;
		if (!a || !b || !c) return -1;
		s->caprcpt = nc;
	}
	char *x = strdup(addr), *y = strdup(notify), *z = strdup(orcpt);
	if (!x || !y || !z) {
		free(x), free(y), free(z);
		return -1;
	}
	s->rcpt[s->nrcpt] = x;
	s->rcpt_notify[s->nrcpt] = y;
	s->rcpt_orcpt[s->nrcpt] = z;
	s->nrcpt++;
	return 0;
}

void cmd_rcpt(struct session *s, char *arg, size_t len)
{
	if (!s->in_mail) { reply_err(s, "503 5.5.1 Error: need MAIL command"); return; }
	if (s->bdat) { reply_err(s, "503 5.5.1 Error: RCPT after BDAT"); return; } /* the envelope is in the queue */
	if (strip_keyword(&arg, &len, "TO:") < 0) {
		reply_err(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	struct buf raw = BUF_INIT, a = BUF_INIT, orcpt = BUF_INIT;
	size_t used = 0;
	char notify[32] = "";
	if (addr_parse_path(arg, len, 0, &raw, &used) != ADDR_OK || buf_add(&raw, "", 0) < 0 ||
	    (used < len && arg[used] != ' ')) {
		reply_err(s, "501 5.1.3 Bad recipient address syntax");
		goto out;
	}
	/* RFC 5321 4.5.1: <postmaster> without a domain must work */
	if (addr_qualify(raw.s, &a) < 0 || buf_add(&a, "", 0) < 0 || !addr_safe(&a) || !min_user_ok(a.s) ||
	    a.len > QREC_MAX / 2) {
		reply_err(s, "501 5.1.3 Bad recipient address syntax");
		goto out;
	}
	struct esmtp_param p;
	int r;
	while ((r = esmtp_param_next(arg, len, &used, &p)) == 1) {
		if (s->esmtp && esmtp_key_is(&p, "NOTIFY")) {
			if (!p.val || esmtp_notify_parse(p.val, p.vlen, notify, sizeof notify) < 0) {
				reply_err(s, "501 5.5.4 Bad NOTIFY parameter syntax");
				goto out;
			}
		} else if (s->esmtp && esmtp_key_is(&p, "ORCPT")) {
			buf_reset(&orcpt);
			orcpt.max = QREC_MAX / 2;
			if (!p.val || esmtp_orcpt_parse(p.val, p.vlen, &orcpt) < 0 || memchr(orcpt.s, '\t', orcpt.len)) {
				reply_err(s, "501 5.5.4 Bad ORCPT parameter syntax");
				goto out;
			}
		} else {
			unsupported(s, &p);
			goto out;
		}
	}
	if (r < 0) {
		reply_err(s, "501 5.5.4 Bad RCPT parameter syntax");
		goto out;
	}
	if (buf_add(&orcpt, "", 0) < 0) die_nomem();
	const char *u8 = smtputf8_addr_check(s->smtputf8, a.s, 0);
	if (u8) {
		log_reject(s, NULL, "RCPT", NULL, a.s, u8);
		reply_err(s, "%s", u8);
		goto out;
	}
	if (limits_rcpt(s) < 0) goto out;
	if (s->rcpt_limit > 0 && s->nrcpt >= (unsigned long long)s->rcpt_limit) {
		/* not the client's error to count: RFC 5321 4.5.3.1.10 says retry later */
		reply(s, "452 4.5.3 Error: too many recipients");
		goto out;
	}
	/* recipient_canonical_maps, canonical_maps: the queue gets the new
	 * address, with the client's as ORCPT unless it gave one */
	struct buf canon = BUF_INIT;
	int cr = canonical_envelope(s, 0, a.s, &canon);
	if (cr < 0 || (cr > 0 && (!addr_safe(&canon) || canon.len > QREC_MAX / 2))) {
		buf_free(&canon);
		log_reject(s, NULL, "RCPT", NULL, a.s, "451 4.3.0 Temporary lookup failure");
		reply_err(s, "451 4.3.0 <%s>: Recipient address rejected: Temporary lookup failure", a.s);
		goto out;
	}
	const char *final = cr > 0 ? canon.s : a.s;
	if (cr > 0 && orcpt.len == 0 && (buf_adds(&orcpt, "rfc822;") < 0 || buf_adds(&orcpt, a.s) < 0)) die_nomem();
	char why[600];
	if (policy_rcpt(s, a.s, final, why, sizeof why) != 0) {
		log_reject(s, NULL, "RCPT", NULL, a.s, why);
		reply_err(s, "%s", why);
		buf_free(&canon);
		goto out;
	}
	for (size_t i = 0; i < s->nrcpt; i++)
		if (strcmp(s->rcpt[i], final) == 0) { /* the same recipient twice gets one copy */
			reply(s, "250 2.1.5 Ok");
			buf_free(&canon);
			goto out;
		}
	int added = add_rcpt(s, final, notify, orcpt.s);
	buf_free(&canon);
	if (added < 0) {
		reply(s, "452 4.3.1 Insufficient system storage");
		goto out;
	}
	reply(s, "250 2.1.5 Ok");
out:
	buf_free(&raw);
	buf_free(&a);
	buf_free(&orcpt);
}
