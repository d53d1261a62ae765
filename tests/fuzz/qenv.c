/* qenv.c — fuzz target: the queue file envelope (qfile.h). Every queue
 * reader trusts qenv_parse to reject anything malformed, so beyond memory
 * safety it checks what readers rely on: the message offset lies inside
 * the input, each recipient's state byte is where state_off says, and no
 * parsed value holds a byte a record may not hold. It also checks that a
 * value qenv_add accepts comes back unchanged from qenv_parse. */
#include "fuzz.h"
#include "buf.h"
#include "qclient.h"
#include "qfile.h"

static void value_ok(const char *v)
{
	FUZZ_ASSERT(v != NULL);
	FUZZ_ASSERT(strchr(v, '\n') == NULL && strchr(v, '\r') == NULL);
}

static void check_parsed(const char *p, size_t n, const struct qenv *e)
{
	FUZZ_ASSERT(e->msg_off > 0 && (size_t)e->msg_off <= n);
	FUZZ_ASSERT(p[e->msg_off - 1] == '\n');
	FUZZ_ASSERT(e->nrcpt > 0);
	value_ok(e->sender);
	for (size_t i = 0; i < e->nrcpt; i++) {
		const struct qrcpt *r = &e->rcpt[i];
		FUZZ_ASSERT(r->state == ' ' || r->state == 'D');
		FUZZ_ASSERT(r->state_off >= 0 && (size_t)r->state_off < (size_t)e->msg_off);
		FUZZ_ASSERT(p[r->state_off] == r->state);
		value_ok(r->addr);
		value_ok(r->notify);
		value_ok(r->orcpt);
	}
}

/* qenv_add then qenv_parse: what a caller's envelope may carry, the queue
 * file (the same records, R lines with the state byte yubin-queue adds)
 * gives back unchanged */
static void roundtrip(const uint8_t *data, size_t size)
{
	char *v = fuzz_dup(data, size, 1);
	size_t vn = strlen(v);
	struct buf env = BUF_INIT, r = BUF_INIT;
	int ok = buf_adds(&env, "V1\n") == 0 && qenv_add(&env, 'S', v) == 0 && qenv_add_rcpt(&r, v, "", "") == 0;
	FUZZ_ASSERT(!qrec_value_ok(v, vn) || vn + 3 >= QREC_MAX || memchr(v, '\t', vn) || ok);
	if (ok && buf_adds(&env, "R ") == 0 && buf_add(&env, r.s + 1, r.len - 1) == 0 &&
	    buf_adds(&env, "\nbody\n") == 0) {
		struct qenv e;
		FUZZ_ASSERT(qenv_parse(env.s, env.len, &e) == 0);
		FUZZ_ASSERT(strcmp(e.sender, v) == 0);
		FUZZ_ASSERT(e.nrcpt == 1 && strcmp(e.rcpt[0].addr, v) == 0 && e.rcpt[0].state == ' ');
		FUZZ_ASSERT(strcmp(env.s + e.msg_off, "body\n") == 0);
		qenv_free(&e);
	}
	buf_free(&env);
	buf_free(&r);
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = fuzz_dup(data, size, 0);
	struct qenv e;
	if (qenv_parse(p, size, &e) == 0) {
		check_parsed(p, size, &e);
		qenv_free(&e);
	}
	free(p);
	if (size < 512) roundtrip(data, size);
	char id[QID_MAX + 8];
	size_t k = size < sizeof id - 1 ? size : sizeof id - 1;
	memcpy(id, data, k);
	id[k] = 0;
	(void)qid_valid(id);
	return 0;
}
