/*
 * test_auth_limit.c - unit tests for common/auth_limit.c.
 *
 * Covers: the doubling delay and its ceiling, per client and per account,
 * forgetting after the memory time, success resetting only the account,
 * and the bounded table evicting the oldest entry.
 * Trusts: nothing.  Never: sleeps (time is passed in).
 */
#include <CUnit/CUnit.h>
#include <stdio.h>

#include "auth_limit.h"
#include "suites.h"

static void
test_growth(void)
{
	struct auth_limit l;

	CU_ASSERT_FATAL(auth_limit_init(&l, 16, 1, 30, 600) == 0);
	CU_ASSERT_EQUAL(auth_limit_delay(&l, "192.0.2.1", "alice", 100), 0);
	long want[] = {1, 2, 4, 8, 16, 30, 30};
	for (int i = 0; i < 7; i++) {
		auth_limit_fail(&l, "192.0.2.1", "alice", 100);
		CU_ASSERT_EQUAL(auth_limit_delay(&l, "192.0.2.1", NULL, 100),
				want[i]);
	}
	/* the account is slowed down from another address too */
	CU_ASSERT_EQUAL(auth_limit_delay(&l, "198.51.100.7", "alice", 101), 30);
	CU_ASSERT_EQUAL(auth_limit_delay(&l, "198.51.100.7", "bob", 101), 0);
	/* success forgets the account, not the guessing client */
	auth_limit_success(&l, "alice");
	CU_ASSERT_EQUAL(auth_limit_delay(&l, "198.51.100.7", "alice", 102), 0);
	CU_ASSERT_EQUAL(auth_limit_delay(&l, "192.0.2.1", "alice", 102), 30);
	/* and everything is forgotten after the memory time */
	CU_ASSERT_EQUAL(auth_limit_delay(&l, "192.0.2.1", NULL, 700), 0);
	auth_limit_free(&l);
}

static void
test_bounded(void)
{
	struct auth_limit l;
	char a[32];

	CU_ASSERT_FATAL(auth_limit_init(&l, 4, 2, 60, 600) == 0);
	for (int i = 0; i < 10; i++) {
		snprintf(a, sizeof(a), "192.0.2.%d", i);
		auth_limit_fail(&l, a, NULL, 100 + i);
		CU_ASSERT(l.n <= 4);
	}
	/* the newest four are kept */
	CU_ASSERT_EQUAL(auth_limit_delay(&l, "192.0.2.9", NULL, 120), 2);
	CU_ASSERT_EQUAL(auth_limit_delay(&l, "192.0.2.6", NULL, 120), 2);
	CU_ASSERT_EQUAL(auth_limit_delay(&l, "192.0.2.0", NULL, 120), 0);
	auth_limit_free(&l);
	/* within one second, or with the clock stepping back, the first
	 * failure is still the first to go */
	CU_ASSERT_FATAL(auth_limit_init(&l, 4, 2, 60, 600) == 0);
	for (int i = 0; i < 6; i++) {
		snprintf(a, sizeof(a), "198.51.100.%d", i);
		auth_limit_fail(&l, a, NULL, i < 2 ? 100 : 100 - i);
	}
	CU_ASSERT_EQUAL(auth_limit_delay(&l, "198.51.100.0", NULL, 100), 0);
	CU_ASSERT_EQUAL(auth_limit_delay(&l, "198.51.100.1", NULL, 100), 0);
	CU_ASSERT_EQUAL(auth_limit_delay(&l, "198.51.100.2", NULL, 100), 2);
	CU_ASSERT_EQUAL(auth_limit_delay(&l, "198.51.100.5", NULL, 100), 2);
	auth_limit_free(&l);
}

/* the address's failures within the window, for smtpd's 421 */
static void
test_failures(void)
{
	struct auth_limit l;

	CU_ASSERT_FATAL(auth_limit_init(&l, 16, 1, 16, 600) == 0);
	CU_ASSERT_EQUAL(auth_limit_failures(&l, "192.0.2.1", 100), 0);
	auth_limit_fail(&l, "192.0.2.1", "alice", 100);
	auth_limit_fail(&l, "192.0.2.1", "bob", 200);
	auth_limit_fail(&l, "198.51.100.7", "alice", 200);
	CU_ASSERT_EQUAL(auth_limit_failures(&l, "192.0.2.1", 201), 2);
	CU_ASSERT_EQUAL(auth_limit_failures(&l, "198.51.100.7", 201), 1);
	/* a success does not clear the address */
	auth_limit_success(&l, "bob");
	CU_ASSERT_EQUAL(auth_limit_failures(&l, "192.0.2.1", 201), 2);
	/* the window counts from the last failure */
	CU_ASSERT_EQUAL(auth_limit_failures(&l, "192.0.2.1", 799), 2);
	CU_ASSERT_EQUAL(auth_limit_failures(&l, "192.0.2.1", 800), 0);
	/* the count stops at its ceiling */
	for (int i = 0; i < AUTH_LIMIT_FAILURES_MAX + 5; i++)
		auth_limit_fail(&l, "203.0.113.9", NULL, 900);
	CU_ASSERT_EQUAL(auth_limit_failures(&l, "203.0.113.9", 900),
			AUTH_LIMIT_FAILURES_MAX);
	auth_limit_free(&l);
}

CU_ErrorCode
suite_auth_limit(void)
{
	CU_pSuite s = CU_add_suite("auth_limit", NULL, NULL);

	if (s == NULL || !CU_add_test(s, "growing delay", test_growth) ||
	    !CU_add_test(s, "bounded table", test_bounded) ||
	    !CU_add_test(s, "failures per address", test_failures))
		return CU_get_error();
	return CUE_SUCCESS;
}
