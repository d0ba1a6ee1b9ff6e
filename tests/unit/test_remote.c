/*
 * test_remote.c - unit tests for remote(8)'s parsers: SMTP replies
 * (remote/smtp_reply.c), EHLO keywords and dot-stuffing
 * (remote/smtp_ehlo.c), and MX ordering (remote/remote_route.c).
 *
 * Trusts: nothing; every case is a table row.
 * Never: opens a socket or asks a resolver.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "../../remote/remote.h"
#include "config.h"
#include "suites.h"

/* feed - lines separated by '|' into a reply; the last smtp_reply_line
 * result */
static int
feed(struct smtp_reply *r, const char *lines)
{
	char buf[8192];
	int rc = 0;

	snprintf(buf, sizeof(buf), "%s", lines);
	smtp_reply_init(r);
	for (char *save, *l = strtok_r(buf, "|", &save); l;
	     l = strtok_r(NULL, "|", &save)) {
		rc = smtp_reply_line(r, l, strlen(l));
		if (rc != 0)
			break;
	}
	return rc;
}

static void
test_reply(void)
{
	static const struct {
		const char *in;
		int rc, code;
		const char *dsn, *flat;
	} cases[] = {
	    {"250 2.1.5 Ok", 1, 250, "2.1.5", "250 2.1.5 Ok"},
	    {"250", 1, 250, "2.0.0", "250"},
	    {"220-mx ESMTP|220-more|220 end", 1, 220, "2.0.0",
	     "220 mx ESMTP more end"},
	    {"550 5.1.1 <x>: no such user", 1, 550, "5.1.1",
	     "550 5.1.1 <x>: no such user"},
	    {"550 4.1.1 class mismatch", 1, 550, "5.0.0",
	     "550 4.1.1 class mismatch"},
	    {"451 4.3.0", 1, 451, "4.3.0", "451 4.3.0"},
	    {"452 4.5.3.9 too many digits", 1, 452, "4.0.0", NULL},
	    {"421 4.1234.0 bad", 1, 421, "4.0.0", NULL},
	    {"250-a|251 b", -1, 0, NULL, NULL},
	    {"25", -1, 0, NULL, NULL},
	    {"abc hello", -1, 0, NULL, NULL},
	    {"650 six", -1, 0, NULL, NULL},
	    {"125 no 1yz replies in SMTP", -1, 0, NULL, NULL},
	    {"250_x", -1, 0, NULL, NULL},
	    {"250-only continuation", 0, 250, NULL, NULL},
	    {"250 bell\a", 1, 250, "2.0.0", "250 bell?"},
	};
	struct smtp_reply r;
	char dsn[16], flat[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = feed(&r, cases[i].in);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc != cases[i].rc)
			fprintf(stderr, "\ncase %zu: rc %d\n", i, rc);
		if (cases[i].rc < 0)
			continue;
		CU_ASSERT_EQUAL(r.code, cases[i].code);
		if (cases[i].dsn) {
			smtp_reply_dsn(&r, dsn, sizeof(dsn));
			CU_ASSERT_STRING_EQUAL(dsn, cases[i].dsn);
		}
		if (cases[i].flat) {
			smtp_reply_flat(&r, flat, sizeof(flat));
			CU_ASSERT_STRING_EQUAL(flat, cases[i].flat);
		}
	}
}

static void
test_reply_limits(void)
{
	struct smtp_reply r;
	char line[300];
	int rc = 0, n = 0;

	/* a reply of endless continuation lines is refused, not kept */
	smtp_reply_init(&r);
	memset(line, 'x', sizeof(line));
	memcpy(line, "250-", 4);
	while (rc == 0 && n < 1000)
		rc = smtp_reply_line(&r, line, sizeof(line)), n++;
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_EQUAL(n, SMTP_REPLY_LINES + 1);
	CU_ASSERT(r.len < sizeof(r.text));
}

static void
test_ehlo(void)
{
	static const struct {
		const char *in;
		struct smtp_ext want;
	} cases[] = {
	    {"250-mx.example|250-PIPELINING|250-SIZE 1000|250-8BITMIME|"
	     "250-DSN|250-SMTPUTF8|250 STARTTLS",
	     {1, 1, 1, 1, 1, 1, 1000, 0, 0}},
	    {"250-mx|250-size|250 pipelining", {1, 0, 0, 0, 0, 1, 0, 0, 0}},
	    {"250-mx|250-SIZE 12x|250-PIPELININGX|250 8BITMIMEY",
	     {0, 0, 0, 0, 0, 1, 0, 0, 0}},
	    {"250 PIPELINING on the greeting line only", {0, 0, 0, 0, 0, 0, 0, 0, 0}},
	    {"250-mx|250-SIZE 99999999999999999999|250 DSN",
	     {0, 0, 0, 1, 0, 1, 0, 0, 0}},
	};
	struct smtp_reply r;
	struct smtp_ext x;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(feed(&r, cases[i].in), 1);
		smtp_ehlo_parse(&r, &x);
		if (memcmp(&x, &cases[i].want, sizeof(x)) != 0) {
			fprintf(stderr, "\nehlo case %zu differs\n", i);
			CU_FAIL("ehlo");
		}
	}
}

static void
test_stuff(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"a\nb\n", "a\r\nb\r\n"},
	    {".\n", "..\r\n"},
	    {"x\n.y\n..\n", "x\r\n..y\r\n...\r\n"},
	    {"a.b\n", "a.b\r\n"},
	    {"", ""},
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtp_stuff st = {.bol = 1, .limit = 998};
		size_t n =
		    smtp_stuff(&st, cases[i].in, strlen(cases[i].in), out);
		out[n] = 0;
		CU_ASSERT_STRING_EQUAL(out, cases[i].out);
	}
	/* a line start split across two reads */
	struct smtp_stuff st = {.bol = 1, .limit = 998};
	size_t n = smtp_stuff(&st, "ab\n", 3, out);
	n += smtp_stuff(&st, ".c\n", 3, out + n);
	out[n] = 0;
	CU_ASSERT_STRING_EQUAL(out, "ab\r\n..c\r\n");
}

/* lines over smtp_line_length_limit are broken with CRLF SPACE, counted
 * across reads, never at a line's own end, and a dot after a break is
 * not doubled (the line goes on, it does not start) */
static void
test_smtp_stuff_long_lines(void)
{
	static const struct {
		const char *in, *out;
		size_t limit;
	} cases[] = {
	    {"abcd\n", "abcd\r\n", 4},
	    {"abcde\n", "abcd\r\n e\r\n", 4},
	    {"abcdefghij\n", "abcd\r\n efg\r\n hij\r\n", 4},
	    {"abcd.x\n", "abcd\r\n .x\r\n", 4},
	    {".bcde\n", "..bcd\r\n e\r\n", 4},
	    {"abcdefghij\n", "abcdefghij\r\n", 0},
	};
	char out[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtp_stuff st = {.bol = 1, .limit = cases[i].limit};
		size_t n =
		    smtp_stuff(&st, cases[i].in, strlen(cases[i].in), out);
		out[n] = 0;
		CU_ASSERT_STRING_EQUAL(out, cases[i].out);
	}
	/* the count goes on across reads */
	struct smtp_stuff st = {.bol = 1, .limit = 4};
	size_t n = smtp_stuff(&st, "abc", 3, out);
	n += smtp_stuff(&st, "de\nfg\n", 6, out + n);
	out[n] = 0;
	CU_ASSERT_STRING_EQUAL(out, "abcd\r\n e\r\nfg\r\n");
	/* the worst case fits SMTP_STUFF_OUT */
	char in[16], big[SMTP_STUFF_OUT(sizeof(in))];
	memset(in, '.', sizeof(in));
	st = (struct smtp_stuff){.bol = 1, .limit = 1};
	CU_ASSERT(smtp_stuff(&st, in, sizeof(in), big) <= sizeof(big));
}

static void
test_mx_order(void)
{
	char *rr[] = {"20 b.example", "10 a.example", "30 c.example",
		      "20 d.example", "junk",	      "10 A2.example"};
	struct route rt;
	struct result r;
	int seen_b_first = 0, seen_d_first = 0;

	for (int round = 0; round < 64; round++) {
		CU_ASSERT_EQUAL_FATAL(
		    route_parse_mx("example", rr, 6, "me.example", &rt, &r), 0);
		CU_ASSERT_EQUAL(rt.n, 5);
		for (int i = 1; i < rt.n; i++)
			CU_ASSERT(rt.hosts[i - 1].pref <= rt.hosts[i].pref);
		CU_ASSERT_STRING_EQUAL(rt.hosts[4].name, "c.example");
		seen_b_first |= strcmp(rt.hosts[2].name, "b.example") == 0;
		seen_d_first |= strcmp(rt.hosts[2].name, "d.example") == 0;
	}
	/* equal preferences come in both orders */
	CU_ASSERT(seen_b_first && seen_d_first);
}

static void
test_mx_special(void)
{
	char *nullmx[] = {"0 ."};
	char *self[] = {"10 me.example", "20 backup.example"};
	char *backup[] = {"10 primary.example", "20 ME.example",
			  "30 worse.example"};
	struct route rt;
	struct result r;

	CU_ASSERT_EQUAL(route_parse_mx("d", nullmx, 1, "me.example", &rt, &r),
			-1);
	CU_ASSERT_EQUAL(r.code, 5);
	CU_ASSERT_STRING_EQUAL(r.dsn, "5.1.10");
	CU_ASSERT_EQUAL(route_parse_mx("d", self, 2, "me.example", &rt, &r),
			-1);
	CU_ASSERT_STRING_EQUAL(r.dsn, "5.4.6");
	/* we are a backup MX: only the better host is left */
	CU_ASSERT_EQUAL(route_parse_mx("d", backup, 3, "me.example", &rt, &r),
			0);
	CU_ASSERT_EQUAL(rt.n, 1);
	CU_ASSERT_STRING_EQUAL(rt.hosts[0].name, "primary.example");
}

CU_ErrorCode
suite_remote(void)
{
	CU_pSuite s = CU_add_suite("remote", NULL, NULL);

	config_defaults();
	if (s == NULL || !CU_add_test(s, "SMTP replies", test_reply) ||
	    !CU_add_test(s, "SMTP reply limits", test_reply_limits) ||
	    !CU_add_test(s, "EHLO keywords", test_ehlo) ||
	    !CU_add_test(s, "dot-stuffing and CRLF", test_stuff) ||
	    !CU_add_test(s, "long lines broken with CRLF SPACE",
			 test_smtp_stuff_long_lines) ||
	    !CU_add_test(s, "MX order and shuffle", test_mx_order) ||
	    !CU_add_test(s, "null MX, loops, backup MX", test_mx_special))
		return CU_get_error();
	return CUE_SUCCESS;
}
