/* smtputf8.c — SMTPUTF8 (RFC 6531) in yubin-smtpd: an envelope address
 * with non-ASCII bytes must be well-formed UTF-8 and is allowed only in a
 * transaction whose MAIL FROM said SMTPUTF8 (3.7.4.1: 553 5.6.7 else);
 * such a message is marked in the queue (U record) so that yubin-remote
 * asks the next hop for SMTPUTF8 too, and its Received header says
 * "with UTF8SMTP" (3.7.3). U-labels are taken as the client sent them:
 * no IDNA mapping or NFC normalisation is done here. */
#include "smtpd.h"
#include "utf8.h"

#include <string.h>

const char *smtputf8_addr_check(int declared, const char *addr, int sender)
{
	size_t n = strlen(addr);
	if (!utf8_has_8bit(addr, n)) return NULL;
	if (!utf8_valid(addr, n))
		return sender ? "501 5.1.7 Bad sender address syntax: not valid UTF-8"
		              : "501 5.1.3 Bad recipient address syntax: not valid UTF-8";
	if (!declared) return "553 5.6.7 Must declare SMTPUTF8 to send unicode address";
	return NULL;
}

/* RFC 6531 3.7.3 registers UTF8SMTP, UTF8SMTPA, UTF8SMTPS, UTF8SMTPSA */
const char *received_protocol(const struct session *s)
{
	static const struct { const char *plain, *utf8; } words[] = {
		{ "ESMTP", "UTF8SMTP" }, { "ESMTPA", "UTF8SMTPA" },
		{ "ESMTPS", "UTF8SMTPS" }, { "ESMTPSA", "UTF8SMTPSA" },
	};
	if (s->smtputf8)
		for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
			if (strcmp(s->proto, words[i].plain) == 0) return words[i].utf8;
	return s->proto;
}
