/*
 * test_srs.c - unit tests for common/srs.c (Sender Rewriting Scheme).
 *
 * Covers: forward then reverse round-trips; a changed hash, domain or
 * local part, a wrong key and an address older than the limit are
 * refused; the key file is created once (0600) and read back the same.
 * Trusts: libsodium; only the temporary directory it makes.
 * Never: writes outside that directory.
 */
#include <CUnit/CUnit.h>
#include <string.h>
#include <sys/stat.h>

#include "srs.h"
#include "suites.h"

static char tmpdir[256];

static int
init(void)
{
	return unit_tmpdir(tmpdir, sizeof(tmpdir), "srs");
}

static int
cleanup(void)
{
	return unit_rm_rf(tmpdir) == 0 ? 0 : -1;
}

static void
test_round_trip(void)
{
	unsigned char key[SRS_KEY_BYTES] = {1, 2, 3},
		      other[SRS_KEY_BYTES] = {9};
	char fwd[512], back[512], bad[512];

	CU_ASSERT_FATAL(srs_forward(key, "Carl@Example.org", "fwd.example",
				    20000, fwd, sizeof(fwd)) == 0);
	CU_ASSERT_EQUAL(strncmp(fwd, "SRS0=", 5), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fwd, "=Example.org=Carl@fwd.example"));
	*strrchr(fwd, '@') = 0; /* srs_reverse takes the local part */
	CU_ASSERT_EQUAL(srs_reverse(key, fwd, 20000, 21, back, sizeof(back)),
			0);
	CU_ASSERT_STRING_EQUAL(back, "Carl@Example.org");
	/* case does not matter to the hash (mail systems fold it) */
	snprintf(bad, sizeof(bad), "%s", fwd);
	for (char *p = bad; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	CU_ASSERT_EQUAL(srs_reverse(key, bad, 20000, 21, back, sizeof(back)),
			0);
	/* 21 days later still good, 22 not; wraps around day 1024 */
	CU_ASSERT_EQUAL(srs_reverse(key, fwd, 20021, 21, back, sizeof(back)),
			0);
	CU_ASSERT_EQUAL(srs_reverse(key, fwd, 20022, 21, back, sizeof(back)),
			-1);
	CU_ASSERT_EQUAL(srs_reverse(other, fwd, 20000, 21, back, sizeof(back)),
			-1);
	snprintf(bad, sizeof(bad), "%s", fwd);
	bad[strlen(bad) - 1] ^= 1; /* the local part */
	CU_ASSERT_EQUAL(srs_reverse(key, bad, 20000, 21, back, sizeof(back)),
			-1);
	snprintf(bad, sizeof(bad), "%s", fwd);
	bad[5] = bad[5] == 'a' ? 'b' : 'a'; /* the hash */
	CU_ASSERT_EQUAL(srs_reverse(key, bad, 20000, 21, back, sizeof(back)),
			-1);
	static const char *junk[] = {"SRS0=",
				     "SRS0=abcd",
				     "SRS0=abcd=aa",
				     "SRS0=abcd=aa=dom",
				     "SRS0=abcd=aa==x",
				     "srs1=abcd=aa=d=x",
				     "plain"};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		CU_ASSERT_EQUAL(
		    srs_reverse(key, junk[i], 20000, 21, back, sizeof(back)),
		    -1);
	CU_ASSERT_EQUAL(
	    srs_forward(key, "nodomain", "f.example", 1, fwd, sizeof(fwd)), -1);
}

static void
test_key_file(void)
{
	unsigned char k1[SRS_KEY_BYTES], k2[SRS_KEY_BYTES];
	char path[512], err[256];
	struct stat st;

	unit_path(path, sizeof(path), tmpdir, "srs.key");
	CU_ASSERT_FATAL(srs_load_key(path, k1, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(stat(path, &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(st.st_size, SRS_KEY_BYTES);
	CU_ASSERT_FATAL(srs_load_key(path, k2, err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL(memcmp(k1, k2, SRS_KEY_BYTES), 0);
	CU_ASSERT_EQUAL(
	    srs_load_key("/nonexistent/dir/key", k2, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/dir/key"));
}

CU_ErrorCode
suite_srs(void)
{
	CU_pSuite s = CU_add_suite("srs", init, cleanup);

	if (s == NULL ||
	    !CU_add_test(s, "forward and reverse", test_round_trip) ||
	    !CU_add_test(s, "key file", test_key_file))
		return CU_get_error();
	return CUE_SUCCESS;
}
