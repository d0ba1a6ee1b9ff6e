/*
 * fuzz_sasl.c - libFuzzer target for common/sasl.c, the decoder of the
 * AUTH PLAIN and AUTH LOGIN responses an unauthenticated client sends.
 *
 * Input: the response line as smtpd would pass it (without CRLF).  Both
 * decoders run on it.  On success the results must keep the promises of
 * sasl.h: fields NUL-terminated within LIM_SASL_FIELD, authcid and passwd
 * not empty, and the decoded octets re-encode to the input (strictness:
 * one canonical text per message).  On failure every field is wiped.
 * Trusts: nothing in the input.  Never: writes outside its own buffers.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"

#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

/* canonical - decoding then encoding gives the input back */
static void
canonical(const char *in, size_t len)
{
	static unsigned char bin[LIM_SASL_LINE];
	static char again[LIM_SASL_LINE + 8];
	size_t n;

	if (sasl_b64_decode(in, len, bin, sizeof(bin), &n) != SASL_OK)
		return;
	check(n <= len / 4 * 3);
	sodium_bin2base64(again, sizeof(again), bin, n,
			  sodium_base64_VARIANT_ORIGINAL);
	check(strlen(again) == len && memcmp(again, in, len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct sasl_cred c;
	char field[LIM_SASL_FIELD + 1];

	canonical(line, size);
	int rc = sasl_plain(line, size, &c);
	if (rc == SASL_OK) {
		check(strlen(c.authcid) >= 1 && strlen(c.passwd) >= 1);
		check(strnlen(c.authzid, sizeof(c.authzid)) <= LIM_SASL_FIELD);
		check(strnlen(c.passwd, sizeof(c.passwd)) <= LIM_SASL_FIELD);
	} else {
		check(c.authcid[0] == 0 && c.passwd[0] == 0);
		check(sasl_reply(rc) != NULL);
	}
	rc = sasl_login_field(line, size, field);
	if (rc == SASL_OK)
		check(strlen(field) >= 1 && strlen(field) <= LIM_SASL_FIELD);
	return 0;
}
