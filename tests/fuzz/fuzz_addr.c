/*
 * fuzz_addr.c - libFuzzer target for common/addr.c, the parser of the
 * paths MAIL FROM and RCPT TO carry.
 *
 * Input: one byte of flags (ADDR_ALLOW_NULL, _UTF8, _NODOMAIN, _LENIENT in
 * its low four bits), then the text of the path, cut at its first NUL as
 * smtpd would see it.  On success the result must keep the promises of
 * addr.h: the local part fits its buffer and RFC 5321's 64 octets, the
 * domain is lower-case and valid, *rest lies inside the input at its end
 * or at a space, and addr_format / addr_split / addr_unquote_local /
 * addr_mailbox_user accept what the parser produced.
 * Trusts: nothing in the input.  Never: writes outside its own buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"

#define FUZZ_ADDR_MAX 2048 /* longer than any SMTP line smtpd accepts */

/* check - abort (a crash libFuzzer records) when an invariant fails. */
#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

/* check_result - the promises of a successful addr_parse_path. */
static void
check_result(const char *in, size_t len, int flags, const struct addr *a,
	     const char *rest)
{
	size_t ll = strnlen(a->local, sizeof(a->local));
	size_t dl = strnlen(a->domain, sizeof(a->domain));

	check(ll < sizeof(a->local) && ll <= LIM_LOCAL_PART);
	check(dl < sizeof(a->domain) && dl <= LIM_DOMAIN);
	check(rest >= in && rest <= in + len);
	check(*rest == 0 || *rest == ' ');
	check((size_t)(rest - in) <= LIM_PATH);
	for (size_t i = 0; i < dl; i++)
		check(a->domain[i] < 'A' || a->domain[i] > 'Z');
	if (a->null) {
		check(flags & ADDR_ALLOW_NULL);
		check(ll == 0 && dl == 0);
		return;
	}
	check(ll > 0);
	if (dl == 0)
		check((flags & ADDR_ALLOW_NODOMAIN) &&
		      strcasecmp(a->local, "postmaster") == 0);
	else
		check(addr_domain_valid(a->domain, dl,
					(flags & ADDR_ALLOW_UTF8) != 0));
}

/* check_helpers - what the callers of the parser do with its result. */
static void
check_helpers(const struct addr *a)
{
	char text[sizeof(a->local) + sizeof(a->domain) + 1];
	char plain[sizeof(a->local)];
	struct addr back;

	check(addr_format(a, text, sizeof(text)) == 0);
	check(addr_split(text, &back) == 0);
	check(back.null == a->null);
	check(strcmp(back.local, a->local) == 0);
	check(strcmp(back.domain, a->domain) == 0);
	/* unquoting only ever shortens the local part */
	check(addr_unquote_local(a->local, plain, sizeof(plain)) == 0);
	check(strlen(plain) <= strlen(a->local));
	if (addr_mailbox_user(a->local, '+', plain, sizeof(plain)) == 0)
		check(addr_path_component_ok(plain));
	addr_mailbox_user(a->local, 0, plain, sizeof(plain));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[FUZZ_ADDR_MAX + 1];
	const char *rest = NULL, *why = NULL;
	struct addr a;
	int flags;

	if (size < 1 || size - 1 > FUZZ_ADDR_MAX)
		return -1; /* not added to the corpus */
	flags = data[0] & (ADDR_ALLOW_NULL | ADDR_ALLOW_UTF8 |
			   ADDR_ALLOW_NODOMAIN | ADDR_LENIENT);
	memcpy(in, data + 1, size - 1);
	in[size - 1] = 0;
	if (addr_parse_path(in, flags, &a, &rest, &why) == 0) {
		check_result(in, strlen(in), flags, &a, rest);
		check_helpers(&a);
	} else {
		check(why != NULL && *why != 0);
	}
	return 0;
}
