/*
 * test_log.c - common/log.c: the delay figures of delivery lines, which
 * log tools (pflogsumm, qshape) parse as Postfix writes them.
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "log.h"
#include "suites.h"

static void
test_delay(void)
{
	static const struct {
		double s;
		const char *out;
	} cases[] = {
	    {0, "0"},	  {0.004, "0"},	    {0.04, "0.04"},  {0.1, "0.1"},
	    {1.5, "1.5"}, {2.0, "2"},	    {9.994, "9.99"}, {10.4, "10"},
	    {12.6, "13"}, {86400, "86400"}, {-3, "0"},
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_STRING_EQUAL(log_delay(buf, sizeof(buf), cases[i].s),
				       cases[i].out);
	/* a short buffer is cut, never overrun */
	char small[3];
	CU_ASSERT(strlen(log_delay(small, sizeof(small), 1.25)) < 3);
}

CU_ErrorCode
suite_log(void)
{
	CU_pSuite s = CU_add_suite("log", NULL, NULL);

	if (s == NULL || !CU_add_test(s, "delay figures", test_delay))
		return CU_get_error();
	return CUE_SUCCESS;
}
