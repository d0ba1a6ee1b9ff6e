/*
 * fuzz_smtp_reply.c - libFuzzer target for remote/smtp_reply.c and
 * remote/smtp_ehlo.c, the parsers of what a remote SMTP server says.
 *
 * Input: the peer's bytes, cut into lines at LF (a CR before it dropped,
 * as smtp_io does).  Lines go into one reply after another; each finished
 * reply is read back with smtp_reply_dsn, smtp_reply_flat and
 * smtp_ehlo_parse; the bytes are also dot-stuffed.  Checks: the text stays
 * NUL-terminated inside its buffer, holds no control characters but '\n',
 * the code is 200..599, the enhanced code has the reply's class, stuffed
 * output never exceeds twice the input.
 * Trusts: nothing in the input.  Never: writes outside its own buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../remote/remote.h"

#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

static void
check_reply(const struct smtp_reply *r)
{
	char dsn[16], flat[600];
	struct smtp_ext x;

	check(r->code >= 200 && r->code <= 599);
	check(r->len < sizeof(r->text) && r->text[r->len] == 0);
	check(strlen(r->text) == r->len);
	for (size_t i = 0; i < r->len; i++)
		check((unsigned char)r->text[i] >= 32 || r->text[i] == '\n');
	smtp_reply_dsn(r, dsn, sizeof(dsn));
	check(dsn[0] == '0' + r->code / 100 && dsn[1] == '.');
	smtp_reply_flat(r, flat, sizeof(flat));
	check(strchr(flat, '\n') == NULL && strlen(flat) < sizeof(flat));
	smtp_ehlo_parse(r, &x);
	check(x.size_limit >= 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	const char *p = (const char *)data, *end = p + size;
	char *out = malloc(SMTP_STUFF_OUT(size) + 1);
	/* a short limit from the first octet: folding is exercised too */
	struct smtp_stuff st = {.bol = 1, .limit = size ? data[0] % 100 : 0};

	if (out == NULL)
		return 0;
	check(smtp_stuff(&st, p, size, out) <= SMTP_STUFF_OUT(size));
	free(out);
	smtp_reply_init(&r);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len < SMTP_LINE_MAX) {
			int rc = smtp_reply_line(&r, p, len);
			if (rc == 1)
				check_reply(&r);
			if (rc != 0)
				smtp_reply_init(&r);
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}
