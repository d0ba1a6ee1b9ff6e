/*
 * test_smtpd_vrfy.c - unit tests for the argument parser of VRFY and
 * EXPN (smtpd/smtpd_vrfy.c) and for the alias value splitter both
 * smtpd(8) and local(8) use (common/alias_list.c).
 *
 * Covers: "<a@b>", "a@b", a bare name (at the first mydestination), a
 * missing argument, text after the address, bad address syntax; alias
 * values with commas, white space, quoted targets and local parts, an
 * unbalanced quote, empty items; qualifying bare alias targets.
 * Trusts: common/addr.c (tested in its own suite).
 * Never: leaves cfg changed for the suites after it.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/smtpd.h"
#include "alias_list.h"
#include "config.h"
#include "suites.h"

static int
init(void)
{
	char err[256];

	config_defaults();
	if (config_set("myhostname", "mx.example.com", err, sizeof(err)) ||
	    config_set("mydestination", "localhost, example.com", err,
		       sizeof(err)))
		return -1;
	return 0;
}

static int
cleanup(void)
{
	config_defaults();
	return 0;
}

/* clang-format off */
static const struct {
	const char *arg;
	int rc;
	const char *addr; /* when rc is VRFY_OK */
} vrfy_cases[] = {
	{"<alice@example.com>", VRFY_OK, "alice@example.com"},
	{"alice@Example.COM", VRFY_OK, "alice@example.com"},
	{"  <bob@far.example>  ", VRFY_OK, "bob@far.example"},
	{"alice", VRFY_OK, "alice@localhost"},
	{"<postmaster>", VRFY_OK, "postmaster@localhost"},
	{"\"a b\"@example.com", VRFY_OK, "\"a b\"@example.com"},
	{"", VRFY_SYNTAX, NULL},
	{"   ", VRFY_SYNTAX, NULL},
	{"alice@example.com junk", VRFY_SYNTAX, NULL},
	{"<alice@example.com> <bob@example.com>", VRFY_SYNTAX, NULL},
	{"<>", VRFY_BAD_ADDRESS, NULL},
	{"<alice@@example.com>", VRFY_BAD_ADDRESS, NULL},
	{"<alice@example.com", VRFY_BAD_ADDRESS, NULL},
	{"alice@", VRFY_BAD_ADDRESS, NULL},
	{"@example.com", VRFY_BAD_ADDRESS, NULL},
	{"a..b@example.com", VRFY_BAD_ADDRESS, NULL},
};
/* clang-format on */

static void
test_vrfy_addr(void)
{
	for (size_t i = 0; i < sizeof(vrfy_cases) / sizeof(vrfy_cases[0]);
	     i++) {
		char out[LIM_PATH + 1] = "";
		const char *why = NULL;
		int rc = smtpd_vrfy_addr(vrfy_cases[i].arg, out, sizeof(out),
					 &why);
		if (rc != vrfy_cases[i].rc)
			fprintf(stderr, "\nVRFY %s: %d, want %d\n",
				vrfy_cases[i].arg, rc, vrfy_cases[i].rc);
		CU_ASSERT_EQUAL(rc, vrfy_cases[i].rc);
		if (vrfy_cases[i].rc == VRFY_OK) {
			CU_ASSERT_STRING_EQUAL(out, vrfy_cases[i].addr);
		} else {
			CU_ASSERT_PTR_NOT_NULL(why);
		}
	}
}

#define MAX_TARGETS 6
static const struct {
	const char *value;
	const char *targets[MAX_TARGETS]; /* NULL-ended */
	int bad; /* ends with an unbalanced quote */
} list_cases[] = {
	{"alice, bob,\n   carol", {"alice", "bob", "carol", NULL}, 0},
	{"alice bob\tcarol", {"alice", "bob", "carol", NULL}, 0},
	{" , ,, ", {NULL}, 0},
	{"", {NULL}, 0},
	{"\"|/bin/cat -n\", alice", {"|/bin/cat -n", "alice", NULL}, 0},
	{"\"a b\"@example.com", {"\"a b\"@example.com", NULL}, 0},
	{":include:/etc/list, \\alice", {":include:/etc/list", "\\alice",
					 NULL}, 0},
	{"alice, \"bob", {"alice", NULL}, 1},
	{"\"\" alice", {"alice", NULL}, 0}, /* an empty target is none */
};

static void
test_alias_list(void)
{
	for (size_t i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]);
	     i++) {
		char *copy = strdup(list_cases[i].value), *p = copy, *t;
		int n = 0, r;

		CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
		while ((r = alias_list_next(&p, &t)) == 1) {
			CU_ASSERT_FATAL(n < MAX_TARGETS - 1);
			CU_ASSERT_PTR_NOT_NULL_FATAL(list_cases[i].targets[n]);
			CU_ASSERT_STRING_EQUAL(t, list_cases[i].targets[n]);
			n++;
		}
		CU_ASSERT_PTR_NULL(list_cases[i].targets[n]);
		CU_ASSERT_EQUAL(r, list_cases[i].bad ? -1 : 0);
		/* the end stays the end */
		if (r == 0) {
			CU_ASSERT_EQUAL(alias_list_next(&p, &t), 0);
		}
		free(copy);
	}
}

static void
test_alias_qualify(void)
{
	char out[LIM_PATH + 8];

	alias_target_qualify("alice", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "alice@localhost");
	alias_target_qualify("bob@far.example", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "bob@far.example");
}

CU_ErrorCode
suite_smtpd_vrfy(void)
{
	CU_pSuite su = CU_add_suite("smtpd_vrfy", init, cleanup);

	if (su == NULL ||
	    !CU_add_test(su, "VRFY/EXPN argument", test_vrfy_addr) ||
	    !CU_add_test(su, "alias value targets", test_alias_list) ||
	    !CU_add_test(su, "bare alias targets", test_alias_qualify))
		return CU_get_error();
	return CUE_SUCCESS;
}
