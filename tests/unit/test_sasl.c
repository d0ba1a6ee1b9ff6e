/*
 * test_sasl.c - unit tests for common/sasl.c (AUTH PLAIN and LOGIN).
 *
 * Covers: strict base64 (padding, alphabet, white space, non-canonical
 * bits), PLAIN with and without authzid, missing/extra NULs, empty and
 * over-long fields, "*" and "=", the 12288-octet line limit, LOGIN fields.
 * Trusts: nothing; every input is what a hostile client could send.
 * Never: touches files or the network.
 */
#include <CUnit/CUnit.h>
#include <sodium.h>
#include <string.h>

#include "sasl.h"
#include "suites.h"

/* b64 - encode n octets of p into out (a test helper, libsodium's). */
static const char *
b64(char *out, size_t cap, const void *p, size_t n)
{
	return sodium_bin2base64(out, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
}

static void
test_b64(void)
{
	unsigned char out[64];
	size_t n;

	CU_ASSERT_EQUAL(sasl_b64_decode("Zm9v", 4, out, sizeof(out), &n), SASL_OK);
	CU_ASSERT(n == 3 && memcmp(out, "foo", 3) == 0);
	CU_ASSERT_EQUAL(sasl_b64_decode("Zm8=", 4, out, sizeof(out), &n), SASL_OK);
	CU_ASSERT(n == 2 && memcmp(out, "fo", 2) == 0);
	CU_ASSERT_EQUAL(sasl_b64_decode("Zg==", 4, out, sizeof(out), &n), SASL_OK);
	CU_ASSERT(n == 1 && out[0] == 'f');
	CU_ASSERT_EQUAL(sasl_b64_decode("", 0, out, sizeof(out), &n), SASL_OK);
	CU_ASSERT_EQUAL(n, 0);
	/* refused: no padding, bad characters, padding inside, spaces,
	 * non-zero bits under the padding */
	const char *bad[] = {"Zg", "Zm8", "Zm9v!", "Zg==Zm9v", "Zm 9v", "Z===",
			     "Zh==", "Zm9=", "=Zm9", "Zm9v\r\n", "Zm-v", "Zm_v"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(sasl_b64_decode(bad[i], strlen(bad[i]), out,
						sizeof(out), &n), SASL_BADB64);
	/* output too small */
	CU_ASSERT_EQUAL(sasl_b64_decode("Zm9vYmFy", 8, out, 4, &n), SASL_TOOLONG);
}

static void
test_plain(void)
{
	struct sasl_cred c;
	char line[1024];

	b64(line, sizeof(line), "\0alice\0secret", 13);
	CU_ASSERT_EQUAL(sasl_plain(line, strlen(line), &c), SASL_OK);
	CU_ASSERT_STRING_EQUAL(c.authzid, "");
	CU_ASSERT_STRING_EQUAL(c.authcid, "alice");
	CU_ASSERT_STRING_EQUAL(c.passwd, "secret");
	b64(line, sizeof(line), "bob\0alice\0pw", 12);
	CU_ASSERT_EQUAL(sasl_plain(line, strlen(line), &c), SASL_OK);
	CU_ASSERT_STRING_EQUAL(c.authzid, "bob");
	sasl_cred_clear(&c);
	CU_ASSERT_EQUAL(c.passwd[0], 0);

	/* malformed messages */
	struct { const char *p; size_t n; } bad[] = {
		{"alice\0secret", 12},     /* one NUL */
		{"\0\0secret", 8},         /* empty authcid */
		{"\0alice\0", 7},          /* empty password */
		{"\0alice\0se\0cret", 15}, /* third NUL */
		{"alicesecret", 11},       /* no NUL */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b64(line, sizeof(line), bad[i].p, bad[i].n);
		CU_ASSERT_EQUAL(sasl_plain(line, strlen(line), &c), SASL_BADMSG);
		CU_ASSERT_EQUAL(c.authcid[0], 0);
	}
	CU_ASSERT_EQUAL(sasl_plain("*", 1, &c), SASL_CANCEL);
	CU_ASSERT_EQUAL(sasl_plain("=", 1, &c), SASL_BADMSG);
	CU_ASSERT_EQUAL(sasl_plain("AGFsaWNl!HNlY3JldA==", 20, &c), SASL_BADB64);
}

static void
test_plain_limits(void)
{
	struct sasl_cred c;
	static char msg[1024], line[LIM_SASL_LINE + 16];
	size_t n;

	/* fields of exactly 255 octets pass, 256 fail */
	memset(msg, 'a', sizeof(msg));
	msg[255] = 0;
	msg[511] = 0;
	n = 512 + 255;
	b64(line, sizeof(line), msg, n);
	CU_ASSERT_EQUAL(sasl_plain(line, strlen(line), &c), SASL_OK);
	CU_ASSERT_EQUAL(strlen(c.passwd), 255);
	b64(line, sizeof(line), msg, n + 1);
	CU_ASSERT_EQUAL(sasl_plain(line, strlen(line), &c), SASL_BADMSG);
	msg[255] = 'a';
	msg[256] = 0;
	b64(line, sizeof(line), msg, n);
	CU_ASSERT_EQUAL(sasl_plain(line, strlen(line), &c), SASL_BADMSG);
	/* a line past the RFC 4954 limit */
	memset(line, 'A', LIM_SASL_LINE + 4);
	CU_ASSERT_EQUAL(sasl_plain(line, LIM_SASL_LINE + 4, &c), SASL_TOOLONG);
	CU_ASSERT_EQUAL(sasl_login_field(line, LIM_SASL_LINE + 4, c.authcid),
			SASL_TOOLONG);
	/* within the line limit but too long for PLAIN */
	CU_ASSERT_EQUAL(sasl_plain(line, LIM_SASL_LINE, &c), SASL_BADMSG);
}

static void
test_login(void)
{
	char f[LIM_SASL_FIELD + 1], line[1024];

	CU_ASSERT_EQUAL(sasl_login_field("YWxpY2U=", 8, f), SASL_OK);
	CU_ASSERT_STRING_EQUAL(f, "alice");
	CU_ASSERT_EQUAL(sasl_login_field("*", 1, f), SASL_CANCEL);
	CU_ASSERT_EQUAL(sasl_login_field("", 0, f), SASL_BADMSG);
	CU_ASSERT_EQUAL(sasl_login_field("YQBi", 4, f), SASL_BADMSG); /* a\0b */
	CU_ASSERT_EQUAL(sasl_login_field("YWxp Y2U=", 9, f), SASL_BADB64);
	b64(line, sizeof(line), "Username:", 9);
	CU_ASSERT_STRING_EQUAL(line, SASL_LOGIN_USER_CHALLENGE);
	b64(line, sizeof(line), "Password:", 9);
	CU_ASSERT_STRING_EQUAL(line, SASL_LOGIN_PASS_CHALLENGE);
	char big[300];
	memset(big, 'x', 256);
	b64(line, sizeof(line), big, 256);
	CU_ASSERT_EQUAL(sasl_login_field(line, strlen(line), f), SASL_BADMSG);
	b64(line, sizeof(line), big, 255);
	CU_ASSERT_EQUAL(sasl_login_field(line, strlen(line), f), SASL_OK);
}

static void
test_replies(void)
{
	CU_ASSERT_NSTRING_EQUAL(sasl_reply(SASL_CANCEL), "501 5.0.0", 9);
	CU_ASSERT_NSTRING_EQUAL(sasl_reply(SASL_BADB64), "501 5.5.2", 9);
	CU_ASSERT_NSTRING_EQUAL(sasl_reply(SASL_TOOLONG), "500 5.5.6", 9);
	CU_ASSERT_NSTRING_EQUAL(sasl_reply(SASL_BADMSG), "501 5.5.2", 9);
}

CU_ErrorCode
suite_sasl(void)
{
	CU_pSuite s = CU_add_suite("sasl", NULL, NULL);

	if (s == NULL || !CU_add_test(s, "strict base64", test_b64) ||
	    !CU_add_test(s, "AUTH PLAIN", test_plain) ||
	    !CU_add_test(s, "AUTH PLAIN limits", test_plain_limits) ||
	    !CU_add_test(s, "AUTH LOGIN", test_login) ||
	    !CU_add_test(s, "replies", test_replies))
		return CU_get_error();
	return CUE_SUCCESS;
}
