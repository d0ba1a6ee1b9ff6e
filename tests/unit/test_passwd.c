/*
 * test_passwd.c - unit tests for common/passwd.c (the AUTH password map).
 *
 * Covers: hash and verify, a wrong password, an unknown user, a missing
 * map (temporary error), replace, delete, list order, bad user names.
 * Trusts: nothing outside its temporary directory.
 * Never: leaves the map behind.
 */
#include <CUnit/CUnit.h>
#include <sodium.h>
#include <string.h>

#include "passwd.h"
#include "suites.h"

static char dir[512], map[600];

static int
init(void)
{
	if (unit_tmpdir(dir, sizeof(dir), "passwd") != 0)
		return -1;
	unit_path(map, sizeof(map), dir, "passwd");
	return 0;
}

static int
fini(void)
{
	return unit_rm_rf(dir);
}

static void
test_hash(void)
{
	char h[PASSWD_HASH_MAX];

	CU_ASSERT_EQUAL(passwd_hash("secret", h), 0);
	CU_ASSERT_NSTRING_EQUAL(h, "$argon2id$", 10);
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "m=65536,t=3,"));
	CU_ASSERT_EQUAL(crypto_pwhash_str_verify(h, "secret", 6), 0);
	CU_ASSERT_NOT_EQUAL(crypto_pwhash_str_verify(h, "Secret", 6), 0);
}

static void
test_missing(void)
{
	char err[512] = "", nomap[700];

	unit_path(nomap, sizeof(nomap), dir, "nothere");
	CU_ASSERT_EQUAL(passwd_verify(nomap, "alice", "pw", err, sizeof(err)),
			PASSWD_TEMP);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "nothere"));
	CU_ASSERT_EQUAL(passwd_verify("", "alice", "pw", err, sizeof(err)),
			PASSWD_TEMP);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "smtpd_passwd_map"));
}

static void
collect(const char *user, void *arg)
{
	strcat(arg, user);
	strcat(arg, ",");
}

static void
test_map(void)
{
	char err[512] = "", seen[256] = "";

	CU_ASSERT_EQUAL(passwd_set(map, "bob", "pw1", err, sizeof(err)), PASSWD_OK);
	CU_ASSERT_EQUAL(passwd_set(map, "alice@example.com", "secret", err,
				   sizeof(err)), PASSWD_OK);
	CU_ASSERT_EQUAL(passwd_verify(map, "alice@example.com", "secret", err,
				      sizeof(err)), PASSWD_OK);
	CU_ASSERT_EQUAL(passwd_verify(map, "alice@example.com", "secreT", err,
				      sizeof(err)), PASSWD_BAD);
	CU_ASSERT_EQUAL(passwd_verify(map, "carol", "secret", err, sizeof(err)),
			PASSWD_BAD);
	CU_ASSERT_EQUAL(passwd_verify(map, "", "secret", err, sizeof(err)),
			PASSWD_BAD);
	/* replace */
	CU_ASSERT_EQUAL(passwd_set(map, "bob", "pw2", err, sizeof(err)), PASSWD_OK);
	CU_ASSERT_EQUAL(passwd_verify(map, "bob", "pw1", err, sizeof(err)),
			PASSWD_BAD);
	CU_ASSERT_EQUAL(passwd_verify(map, "bob", "pw2", err, sizeof(err)),
			PASSWD_OK);
	CU_ASSERT_EQUAL(passwd_list(map, collect, seen, err, sizeof(err)),
			PASSWD_OK);
	CU_ASSERT_STRING_EQUAL(seen, "alice@example.com,bob,");
	/* delete */
	CU_ASSERT_EQUAL(passwd_del(map, "bob", err, sizeof(err)), PASSWD_OK);
	CU_ASSERT_EQUAL(passwd_del(map, "bob", err, sizeof(err)), PASSWD_NOUSER);
	CU_ASSERT_EQUAL(passwd_verify(map, "bob", "pw2", err, sizeof(err)),
			PASSWD_BAD);
	/* bad names and passwords */
	CU_ASSERT_EQUAL(passwd_set(map, "a b", "pw", err, sizeof(err)), PASSWD_BAD);
	CU_ASSERT_EQUAL(passwd_set(map, "a\tb", "pw", err, sizeof(err)), PASSWD_BAD);
	CU_ASSERT_EQUAL(passwd_set(map, "dave", "", err, sizeof(err)), PASSWD_BAD);
}

CU_ErrorCode
suite_passwd(void)
{
	CU_pSuite s = CU_add_suite("passwd", init, fini);

	if (s == NULL || !CU_add_test(s, "Argon2id hash", test_hash) ||
	    !CU_add_test(s, "map missing", test_missing) ||
	    !CU_add_test(s, "set, verify, delete, list", test_map))
		return CU_get_error();
	return CUE_SUCCESS;
}
