/*
 * fuzz_mime_downgrade.c - libFuzzer target for remote/mime_downgrade.c,
 * the 8-bit to 7-bit MIME converter remote(8) runs over a queued
 * message for a peer without 8BITMIME.
 *
 * Input: the first octet picks the size of the pieces the rest is fed
 * in (1 to 256), the rest is the message.  Both passes run as remote
 * runs them (the second only after the first succeeded).  Checks: the
 * first pass writes nothing and refuses with a reason; the second, which
 * follows the plan, never fails; the copy holds no octet over 127 (every
 * 8-bit octet was encoded or refused) and stays within a fixed factor
 * of the input; nothing is encoded unless the input had 8-bit octets.
 * Trusts: nothing in the input.  Never: writes outside its own buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../remote/mime_downgrade.h"

#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

struct sink {
	size_t len, cap;
	char *buf;
	int emit;
};

static int
sink_out(void *ctx, const char *p, size_t n)
{
	struct sink *s = ctx;

	check(s->emit); /* the first pass writes nothing */
	check(s->len + n <= s->cap);
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

static struct mime_dg m;
static struct mime_dg_plan plan;

static int
pass(const char *in, size_t n, size_t chunk, struct sink *s)
{
	mime_dg_init(&m, &plan, s->emit, sink_out, s);
	for (size_t i = 0; i < n; i += chunk)
		if (mime_dg_feed(&m, in + i, n - i < chunk ? n - i : chunk) !=
		    0)
			return -1;
	return mime_dg_end(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	size_t n = size ? size - 1 : 0, chunk = size ? data[0] + 1u : 1;
	/* QP: 3 per octet and soft breaks; headers added per part */
	struct sink s = {.cap = 4 * n + 256 * (n / 4 + 2)};
	int rc;

	if (size == 0 || (s.buf = malloc(s.cap)) == NULL)
		return 0;
	rc = pass(in, n, chunk, &s);
	check(rc == 0 || (m.err == MIME_DG_REFUSE && m.why[0] != 0));
	if (rc == 0) {
		s.emit = 1;
		check(pass(in, n, chunk, &s) == 0);
		for (size_t i = 0; i < s.len; i++)
			check((unsigned char)s.buf[i] < 128);
		/* nothing encoded: the input was 7-bit, and only labels may
		 * have changed */
		if (plan.nconv == 0)
			for (size_t i = 0; i < n; i++)
				check((unsigned char)in[i] < 128);
	}
	free(s.buf);
	return 0;
}
