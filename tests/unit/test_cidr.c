/*
 * test_cidr.c - unit tests for common/cidr.c: parsing CIDR entries and
 * lists (mynetworks), and matching IPv4, IPv6 and IPv4-mapped addresses.
 * Also the syntax checks of mynetworks and smtpd_bare_lf in config_set.
 * Trusts: nothing.  Never: leaves cfg changed (defaults restored).
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "cidr.h"
#include "config.h"
#include "suites.h"

static const struct {
	const char *in;
	int ok;
} parse_cases[] = {
    {"127.0.0.0/8", 1},	  {"::1/128", 1},
    {"10.1.2.3", 1},	  {"0.0.0.0/0", 1},
    {"2001:db8::/32", 1}, {"fe80::/10", 1},
    {"127.0.0.1/8", 0},	  {"10.0.0.0/33", 0},
    {"::/129", 0},	  {"10.0.0.0/", 0},
    {"10.0.0.0/-1", 0},	  {"10.0.0/8", 0},
    {"host.example", 0},  {"/8", 0},
    {"10.0.0.0/8x", 0},	  {"2001:db8::1/32", 0},
    {"1.2.3.4/0032", 0},
};

static void
test_parse(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	     i++) {
		struct cidr c;
		const char *why = NULL;
		int rc = cidr_parse(parse_cases[i].in, &c, &why);
		if ((rc == 0) != parse_cases[i].ok)
			fprintf(stderr, "cidr %s: rc %d\n", parse_cases[i].in,
				rc);
		CU_ASSERT_EQUAL(rc == 0, parse_cases[i].ok);
		if (rc != 0)
			CU_ASSERT_PTR_NOT_NULL(why);
	}
}

static const struct {
	const char *list, *addr;
	int match;
} match_cases[] = {
    {"127.0.0.0/8, ::1/128", "127.0.0.1", 1},
    {"127.0.0.0/8, ::1/128", "127.255.1.2", 1},
    {"127.0.0.0/8, ::1/128", "128.0.0.1", 0},
    {"127.0.0.0/8, ::1/128", "::1", 1},
    {"127.0.0.0/8, ::1/128", "::2", 0},
    {"127.0.0.0/8, ::1/128", "::ffff:127.0.0.1", 1},
    {"127.0.0.0/8, ::1/128", "unknown", 0},
    {"127.0.0.0/8, ::1/128", "", 0},
    {"192.0.2.0/25", "192.0.2.127", 1},
    {"192.0.2.0/25", "192.0.2.128", 0},
    {"10.0.0.0/12", "10.15.255.255", 1},
    {"10.0.0.0/12", "10.16.0.0", 0},
    {"2001:db8::/32", "2001:db8:ffff::1", 1},
    {"2001:db8::/32", "2001:db9::1", 0},
    {"0.0.0.0/0", "203.0.113.9", 1},
    {"0.0.0.0/0", "2001:db8::1", 0},
    {"", "127.0.0.1", 0},
    {"192.0.2.7", "192.0.2.7", 1},
    {"192.0.2.7", "192.0.2.8", 0},
};

static void
test_match(void)
{
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]);
	     i++) {
		struct cidr_list l;
		char err[128];
		CU_ASSERT_EQUAL_FATAL(
		    cidr_list_parse(match_cases[i].list, &l, err, sizeof(err)),
		    0);
		int m = cidr_match(&l, match_cases[i].addr);
		if (m != match_cases[i].match)
			fprintf(stderr, "cidr %s in %s: %d\n",
				match_cases[i].addr, match_cases[i].list, m);
		CU_ASSERT_EQUAL(m, match_cases[i].match);
	}
}

static void
test_list_errors(void)
{
	struct cidr_list l;
	char err[128];

	CU_ASSERT_EQUAL(
	    cidr_list_parse("127.0.0.0/8, bogus", &l, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"bogus\": bad address"));
	CU_ASSERT_EQUAL(cidr_list_parse("10.0.0.1/8", &l, err, sizeof(err)),
			-1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "host bits"));
}

/* the config keys whose syntax cidr.c and smtpd define */
static void
test_config_keys(void)
{
	char err[256];

	CU_ASSERT_EQUAL(config_set("mynetworks", "10.0.0.0/8, bogus", err,
				   sizeof(err)),
			-1);
	CU_ASSERT_STRING_EQUAL(err, "mynetworks: \"bogus\": bad address");
	CU_ASSERT_EQUAL(config_set("mynetworks", "10.0.0.0/8 ::1", err,
				   sizeof(err)),
			0);
	CU_ASSERT_EQUAL(config_set("smtpd_bare_lf", "maybe", err, sizeof(err)),
			-1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "expected normalize or reject"));
	CU_ASSERT_EQUAL(config_set("smtpd_bare_lf", "reject", err, sizeof(err)),
			0);
	config_defaults();
}

CU_ErrorCode
suite_cidr(void)
{
	CU_pSuite su = CU_add_suite("cidr", NULL, NULL);

	if (su == NULL || !CU_add_test(su, "parse entries", test_parse) ||
	    !CU_add_test(su, "match addresses", test_match) ||
	    !CU_add_test(su, "list errors", test_list_errors) ||
	    !CU_add_test(su, "config keys", test_config_keys))
		return CU_get_error();
	return CUE_SUCCESS;
}
