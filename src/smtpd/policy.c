/* policy.c — the Postfix restriction lists, evaluated at RCPT time
 * (smtpd_delay_reject = yes): smtpd_client_restrictions,
 * smtpd_helo_restrictions, smtpd_sender_restrictions, then
 * smtpd_recipient_restrictions. In each list the first permit ends that
 * list and the first reject ends them all. After the lists, an unknown
 * user in a local domain is refused even for trusted clients
 * (smtpd_reject_unlisted_recipient = yes). */
#include "smtpd.h"
#include "addr.h"
#include "control.h"
#include "dns.h"
#include "log.h"
#include "recipient.h"
#include "rewrite.h"
#include "table.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { DUNNO = 0, PERMIT = 1, REJECT = 2 };

struct check {
	struct session *s;
	const char *rcpt;
	const char *final;     /* rcpt after canonical maps: what must exist */
	const char *what;      /* "<x>: Recipient address rejected" ... */
	const char *subject;   /* "<x>: Recipient address" */
	char *reply;
	size_t max;
};

static int say(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(struct check *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->reply, c->max, fmt, ap);
	va_end(ap);
	return REJECT;
}

/* Mail to this address stays here or goes to a domain we relay for.
 * Sender-specified routing (user%host@, host!user@, "a@b"@, @a:b@c) never
 * counts, whatever domain follows it. */
static int auth_destination(const char *rcpt)
{
	if (addr_has_route_tricks(rcpt)) return 0;
	const char *d = addr_domain(rcpt);
	return *d && (domain_is_local(d) || domain_is_relay(d));
}

/* 1 exists, 0 no such domain, 2 null MX, -1 temporary failure */
static int domain_exists(const char *domain)
{
	struct dns_mx mx[4];
	struct dns_addr a[4];
	size_t n;
	if (!*domain) return 0;
	if (domain[0] == '[') return 1; /* address literal */
	if (domain_is_local(domain)) return 1;
	int r = dns_mx(domain, mx, 4, &n);
	if (r == DNS_OK) return 1;
	if (r == DNS_NULLMX) return 2;
	if (r == DNS_TEMP || r == DNS_BAD) return -1;
	if (r == DNS_NXDOMAIN) return 0;
	r = dns_addrs(domain, DNS_V4 | DNS_V6, a, 4, &n);
	if (r == DNS_OK) return 1;
	return r == DNS_TEMP || r == DNS_BAD ? -1 : 0;
}

static int unknown_domain(struct check *c, const char *addr, const char *kind, char sub)
{
	if (!*addr) return DUNNO; /* the null sender */
	int r = domain_exists(addr_domain(addr));
	if (r == 1) return DUNNO;
	if (r < 0) return say(c, "450 4.1.%c <%s>: %s address rejected: Domain not found", sub, addr, kind);
	if (r == 2)
		return say(c, "556 5.1.10 <%s>: %s address rejected: Domain %s does not accept mail (nullMX)", addr,
		           kind, addr_domain(addr));
	return say(c, "550 5.1.%c <%s>: %s address rejected: Domain not found", sub, addr, kind);
}

/* HOLD, DISCARD and WARN: logged as Postfix does, "<x>: Sender address
 * triggers HOLD action" unless the table gives a text */
static void note_action(struct check *c, const char *action, const char *word, const char *text)
{
	char line[700];
	if (*text)
		snprintf(line, sizeof line, "%s: %s", c->subject, text);
	else
		snprintf(line, sizeof line, "%s triggers %s action", c->subject, word);
	log_action(c->s, NULL, action, "RCPT", NULL, c->rcpt, line);
	struct session *s = c->s;
	if (word[0] == 'H') {
		s->hold = 1;
		snprintf(s->hold_why, sizeof s->hold_why, "%.250s", line);
	} else if (word[0] == 'D') {
		s->discard = 1;
		snprintf(s->discard_why, sizeof s->discard_why, "%.250s", line);
	}
}

/* check_*_access: OK/PERMIT, REJECT [text], DEFER [text], DUNNO, "NNN
 * text" with a 4xx/5xx code, DISCARD [text] (accept, then drop the whole
 * message; ends the lists as OK does), HOLD [text] (the message waits in
 * queue/hold) and WARN text (logged only); the last two go on. */
static int access_result(struct check *c, const char *value)
{
	const char *sp = strchr(value, ' ');
	size_t wl = sp ? (size_t)(sp - value) : strlen(value);
	const char *text = sp ? sp + 1 : "";
	while (*text == ' ') text++;
	if ((wl == 2 && strncasecmp(value, "OK", 2) == 0) || (wl == 6 && strncasecmp(value, "PERMIT", 6) == 0))
		return PERMIT;
	if (wl == 5 && strncasecmp(value, "DUNNO", 5) == 0) return DUNNO;
	if (wl == 7 && strncasecmp(value, "DISCARD", 7) == 0) {
		note_action(c, "discard", "DISCARD", text);
		return PERMIT;
	}
	if (wl == 4 && strncasecmp(value, "HOLD", 4) == 0) {
		note_action(c, "hold", "HOLD", text);
		return DUNNO;
	}
	if (wl == 4 && strncasecmp(value, "WARN", 4) == 0) {
		note_action(c, "warn", "WARN", text);
		return DUNNO;
	}
	if (wl == 6 && strncasecmp(value, "REJECT", 6) == 0)
		return say(c, "554 5.7.1 %s: %s", c->what, *text ? text : "Access denied");
	if (wl == 5 && strncasecmp(value, "DEFER", 5) == 0)
		return say(c, "450 4.7.1 %s: %s", c->what, *text ? text : "Access denied");
	if (wl == 3 && (value[0] == '4' || value[0] == '5') && value[1] >= '0' && value[1] <= '9' &&
	    value[2] >= '0' && value[2] <= '9') {
		/* keep an enhanced code the table gives, else make one */
		if (text[0] == value[0] && text[1] == '.')
			return say(c, "%.3s %s", value, text);
		return say(c, "%.3s %c.7.1 %s: %s", value, value[0], c->what, *text ? text : "Access denied");
	}
	log_msg("warning: access table result \"%.100s\" not understood; ignored", value);
	return DUNNO;
}

/* A table's verdict names what it looked at, whichever list it is in:
 * "<x>: Sender address rejected" for check_sender_access, as Postfix. */
static int check_access(struct check *c, const char *spec, enum access_kind kind, const char *addr)
{
	static const char *const label[] = { "Client host", "Helo command", "Sender address", "Recipient address" };
	char subject[400], what[sizeof subject + 10];
	struct session *s = c->s;
	const char *who = kind == ACCESS_CLIENT ? client_name(s) : kind == ACCESS_HELO ? s->helo
	                : kind == ACCESS_SENDER ? (s->sender.len ? s->sender.s : "") : addr;
	snprintf(subject, sizeof subject, "<%.300s>: %s", who, label[kind]);
	snprintf(what, sizeof what, "%s rejected", subject);
	struct check k = *c;
	k.subject = subject;
	k.what = what;
	char *v = NULL;
	int r = access_lookup(s, kind, spec, addr, &v);
	if (r < 0) return say(&k, "451 4.3.0 %s: Temporary lookup failure", k.what);
	int out = r > 0 ? access_result(&k, v) : DUNNO;
	free(v);
	return out;
}

/* One restriction word; *skip is set when it used the next item (a table). */
static int word(struct check *c, const char *w, const char *next, int *skip)
{
	struct session *s = c->s;
	const char *rcpt = c->rcpt;
	if (!strcasecmp(w, "permit")) return PERMIT;
	if (!strcasecmp(w, "reject")) return say(c, "554 5.7.1 %s: Access denied", c->what);
	if (!strcasecmp(w, "defer")) return say(c, "450 4.7.1 %s: Access denied", c->what);
	if (!strcasecmp(w, "permit_mynetworks")) return s->trusted ? PERMIT : DUNNO;
	if (!strcasecmp(w, "permit_sasl_authenticated")) return s->login ? PERMIT : DUNNO;
	if (!strcasecmp(w, "permit_auth_destination")) return auth_destination(rcpt) ? PERMIT : DUNNO;
	if (!strcasecmp(w, "reject_unauth_destination") || !strcasecmp(w, "defer_unauth_destination")) {
		if (auth_destination(rcpt)) return DUNNO;
		if (w[0] == 'd' || w[0] == 'D') return say(c, "454 4.7.1 <%s>: Relay access denied", rcpt);
		return say(c, "554 5.7.1 <%s>: Relay access denied", rcpt);
	}
	if (!strcasecmp(w, "reject_non_fqdn_recipient"))
		return addr_is_fqdn(rcpt) ? DUNNO
		                          : say(c, "504 5.5.2 <%s>: Recipient address rejected: need fully-qualified address", rcpt);
	if (!strcasecmp(w, "reject_non_fqdn_sender"))
		return !s->sender.len || addr_is_fqdn(s->sender.s)
		           ? DUNNO
		           : say(c, "504 5.5.2 <%s>: Sender address rejected: need fully-qualified address", s->sender.s);
	if (!strcasecmp(w, "reject_unknown_recipient_domain")) return unknown_domain(c, rcpt, "Recipient", '2');
	if (!strcasecmp(w, "reject_unknown_sender_domain"))
		return unknown_domain(c, s->sender.len ? s->sender.s : "", "Sender", '8');
	if (!strcasecmp(w, "reject_unlisted_recipient")) {
		enum recipient_status r = recipient_check(c->final);
		if (r == RCPT_TEMPFAIL) return say(c, "451 4.3.0 <%s>: Temporary lookup failure", rcpt);
		if (r == RCPT_UNKNOWN) return -1; /* the unlisted reply, made by the caller */
		return DUNNO;
	}
	if (!strcasecmp(w, "reject_unauth_pipelining")) return DUNNO; /* our reads never act ahead */
	if (!strcasecmp(w, "reject_sender_login_mismatch")) return DUNNO; /* checked at MAIL (login.c) */
	if (!strcasecmp(w, "check_client_access") || !strcasecmp(w, "check_helo_access") ||
	    !strcasecmp(w, "check_sender_access") || !strcasecmp(w, "check_recipient_access")) {
		if (!next) {
			log_msg("warning: restriction %s needs a table name", w);
			return say(c, "451 4.3.5 Server configuration error");
		}
		*skip = 1;
		switch (w[6]) {
		case 'c': case 'C': return check_access(c, next, ACCESS_CLIENT, NULL);
		case 'h': case 'H': return s->helo[0] ? check_access(c, next, ACCESS_HELO, NULL) : DUNNO;
		/* the null sender is looked up as smtpd_null_access_lookup_key, <> */
		case 's': case 'S': return check_access(c, next, ACCESS_SENDER, s->sender.len ? s->sender.s : "<>");
		default: return check_access(c, next, ACCESS_RECIPIENT, rcpt);
		}
	}
	log_msg("warning: unknown smtpd restriction \"%s\"", w);
	return say(c, "451 4.3.5 Server configuration error");
}

static int unlisted_reply(struct check *c)
{
	const char *d = addr_domain(c->rcpt);
	enum domain_class dc = domain_classify(d);
	long long code = 550;
	const char *table = "virtual alias table";
	if (dc == DOMAIN_SYSTEM) {
		code = control_int("unknown_local_recipient_reject_code");
		if (code < 400 || code > 599) code = 550;
		table = "local recipient table";
	} else if (dc == DOMAIN_VIRTUAL) {
		table = "virtual mailbox table";
	}
	return say(c, "%lld %d.1.1 <%s>: Recipient address rejected: User unknown in %s", code, (int)(code / 100),
	           c->rcpt, table);
}

static int eval_list(struct check *c, const char *setting)
{
	const char *const *items;
	size_t n = cfg_list(setting, &items);
	for (size_t i = 0; i < n; i++) {
		int skip = 0;
		int r = word(c, items[i], i + 1 < n ? items[i + 1] : NULL, &skip);
		if (r < 0) return unlisted_reply(c);
		if (r != DUNNO) return r;
		i += (size_t)skip;
	}
	return DUNNO;
}

/* relocated_maps: "550 5.1.6 ... User has moved to <new place>" */
static int relocated(struct check *c)
{
	if (!rewrite_tables_exist("relocated_maps")) return DUNNO;
	const char *const *specs;
	size_t n = cfg_list("relocated_maps", &specs);
	for (size_t i = 0; i < n; i++) {
		char *v = NULL;
		int r = table_lookup_addr(specs[i], c->rcpt, &v);
		if (r < 0) return say(c, "451 4.3.0 <%s>: Recipient address rejected: Temporary lookup failure", c->rcpt);
		if (r > 0) {
			int out = say(c, "550 5.1.6 <%s>: Recipient address rejected: User has moved to %.300s", c->rcpt, v);
			free(v);
			return out;
		}
	}
	return DUNNO;
}

int policy_rcpt(struct session *s, const char *rcpt, const char *final, char *reply, size_t max)
{
	char subj[4][400], what[4][sizeof subj[0] + 10];
	snprintf(subj[0], sizeof subj[0], "<%s>: Client host", client_name(s));
	snprintf(subj[1], sizeof subj[1], "<%s>: Helo command", s->helo);
	snprintf(subj[2], sizeof subj[2], "<%s>: Sender address", s->sender.len ? s->sender.s : "");
	snprintf(subj[3], sizeof subj[3], "<%s>: Recipient address", rcpt);
	static const char *const lists[] = { "smtpd_client_restrictions", "smtpd_helo_restrictions",
		                             "smtpd_sender_restrictions", "smtpd_recipient_restrictions" };
	struct check c = { s, rcpt, final, NULL, NULL, reply, max };
	for (size_t i = 0; i < 4; i++) {
		snprintf(what[i], sizeof what[i], "%.399s rejected", subj[i]);
		c.what = what[i];
		c.subject = subj[i];
		if (eval_list(&c, lists[i]) == REJECT) return 1;
	}
	if (relocated(&c) == REJECT) return 1;
	enum recipient_status r = recipient_check(final);
	if (r == RCPT_TEMPFAIL) return say(&c, "451 4.3.0 <%s>: Temporary lookup failure", rcpt), 1;
	if (r == RCPT_UNKNOWN) {
		c.rcpt = final;
		return unlisted_reply(&c), 1;
	}
	return 0;
}
