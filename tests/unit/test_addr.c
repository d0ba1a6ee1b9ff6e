/*
 * test_addr.c - unit tests for common/addr.c (RFC 5321 paths).
 *
 * Covers: addr_parse_path over a table of paths and flags (input,
 * expected local part, domain, rest, or the reason it is refused), the
 * RFC 5321 4.5.3.1 length limits at and past their edges, addr_format,
 * addr_split, addr_unquote_local and addr_domain_valid.
 * Trusts: nothing; every input here is what a hostile client could send.
 * Never: depends on the resolver or the network.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "suites.h"

/* Inputs too long to write out, filled in by init(). */
static char local64[65], local65[66], label63[64], label64[65];
static char p_local64[128], p_local65[128], p_label63[128], p_label64[128];
static char dom189[190], dom190[191], dom191[192], dom255[256], dom256[257];
static char p_dom256[300], p_path256[300], p_path257[300], p_path258[300];
static char m_254[300], m_255[300];

static void
fill(char *p, int c, size_t n)
{
	memset(p, c, n);
	p[n] = 0;
}

/* domain_of - labels of 63 octets, the last one cut so the total is n. */
static void
domain_of(char *out, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t left = n - i, lab = left > 63 ? 63 : left;
		if (left > 63 && left - 63 < 2)
			lab = left - 2; /* leave room for a dot and a label */
		memset(out + i, 'd', lab);
		i += lab;
		if (i < n)
			out[i++] = '.';
	}
	out[n] = 0;
}

static int
init(void)
{
	fill(local64, 'a', 64);
	fill(local65, 'a', 65);
	fill(label63, 'b', 63);
	fill(label64, 'b', 64);
	snprintf(p_local64, sizeof(p_local64), "<%s@example.com>", local64);
	snprintf(p_local65, sizeof(p_local65), "<%s@example.com>", local65);
	snprintf(p_label63, sizeof(p_label63), "<u@%s.example>", label63);
	snprintf(p_label64, sizeof(p_label64), "<u@%s.example>", label64);
	domain_of(dom189, 189);
	domain_of(dom190, 190);
	domain_of(dom191, 191);
	domain_of(dom255, 255);
	domain_of(dom256, 256);
	snprintf(p_dom256, sizeof(p_dom256), "<u@%s>", dom256);
	/* "<" + 64 + "@" + domain + ">" */
	snprintf(p_path256, sizeof(p_path256), "<%s@%s>", local64, dom189);
	snprintf(p_path257, sizeof(p_path257), "<%s@%s>", local64, dom190);
	snprintf(p_path258, sizeof(p_path258), "<%s@%s>", local64, dom191);
	/* bare mailboxes (ADDR_LENIENT): 254 octets is a 256-octet path */
	snprintf(m_254, sizeof(m_254), "%s@%s", local64, dom189);
	snprintf(m_255, sizeof(m_255), "%s@%s", local64, dom190);
	if (strlen(dom189) != 189 || strlen(dom255) != 255 ||
	    strlen(dom256) != 256 || strlen(p_path256) != 256 ||
	    strlen(p_path257) != 257 || strlen(m_254) != 254)
		return -1;
	return 0;
}

/* clang-format off */
enum { N = ADDR_ALLOW_NULL, U = ADDR_ALLOW_UTF8, D = ADDR_ALLOW_NODOMAIN,
       L = ADDR_LENIENT };

/*
 * One path: the flags, then either rc 0 with what must come out, or rc -1
 * with the reason (why NULL: any reason will do).
 */
struct path_case {
	const char *in;
	int flags, rc;
	const char *local, *domain;
	int null;
	const char *rest, *why;
};

#define OK(in, fl, lo, dom, rest) {in, fl, 0, lo, dom, 0, rest, NULL}
#define BAD(in, fl, why) {in, fl, -1, NULL, NULL, 0, NULL, why}
#define NUL_OK(in, fl, rest) {in, fl, 0, "", "", 1, rest, NULL}
/* clang-format on */

/* clang-format off */
static const struct path_case path_cases[] = {
	OK("<user@example.com>", 0, "user", "example.com", ""),
	OK("<User@EXAMPLE.com>", 0, "User", "example.com", ""),
	OK("<first.last+tag@sub.example.com>", 0, "first.last+tag",
	   "sub.example.com", ""),
	OK("<!#$%&'*+-/=?^_`{|}~@x.example>", 0, "!#$%&'*+-/=?^_`{|}~",
	   "x.example", ""),
	OK("<a@b>", 0, "a", "b", ""),
	OK("<a@123.example>", 0, "a", "123.example", ""),
	/* the null path */
	NUL_OK("<>", N, ""),
	NUL_OK("<> SIZE=10", N, " SIZE=10"),
	BAD("<>", 0, "null address not allowed here"),
	BAD("<>", D | L | U, "null address not allowed here"),
	BAD("", N, "path must be enclosed in <>"),
	BAD("", N | L, "bad local part"),
	/* source routes are skipped */
	OK("<@a.example,@b.example:user@c.example>", 0, "user", "c.example",
	   ""),
	OK("<@a.example:user@c.example>", 0, "user", "c.example", ""),
	BAD("<@a..example:user@c.example>", 0, "bad source route"),
	BAD("<@a.example user@c.example>", 0, "bad source route"),
	BAD("<@a.example,b.example:user@c.example>", 0, "bad source route"),
	BAD("<@:user@c.example>", 0, "bad source route"),
	/* quoted local parts are kept as written */
	OK("<\"john doe\"@example.com>", 0, "\"john doe\"", "example.com", ""),
	OK("<\"john\\\"doe\"@example.com>", 0, "\"john\\\"doe\"",
	   "example.com", ""),
	OK("<\"a@b\"@example.com>", 0, "\"a@b\"", "example.com", ""),
	OK("<\"\"@example.com>", 0, "\"\"", "example.com", ""),
	BAD("<\"john doe@example.com>", 0, "bad local part"),
	BAD("<\"a\\\x01\"@example.com>", 0, "bad local part"),
	BAD("<\"a\x01\"@example.com>", 0, "bad local part"),
	BAD("<\"a\x7f\"@example.com>", 0, "bad local part"),
	BAD("<\"j\xc3\xb6rg\"@example.com>", 0, "bad local part"),
	OK("<\"j\xc3\xb6rg\"@example.com>", U, "\"j\xc3\xb6rg\"",
	   "example.com", ""),
	/* RFC 5321 4.5.3.1: local part 64, label 63, domain 255, path 256 */
	OK(p_local64, 0, local64, "example.com", ""),
	BAD(p_local65, 0, "local part longer than 64 octets"),
	OK(p_label63, 0, "u", NULL, ""),
	BAD(p_label64, 0, "bad domain"),
	BAD(p_dom256, 0, "domain longer than 255 octets"),
	OK(p_path256, 0, local64, dom189, ""),
	BAD(p_path257, 0, "path longer than 256 octets"),
	BAD(p_path258, 0, "path longer than 256 octets"),
	OK(m_254, L, local64, dom189, ""),
	BAD(m_255, L, "path longer than 256 octets"),
	/* address literals */
	OK("<u@[192.0.2.1]>", 0, "u", "[192.0.2.1]", ""),
	OK("<u@[IPv6:2001:db8::1]>", 0, "u", "[ipv6:2001:db8::1]", ""),
	OK("<u@[ipv6:::1]>", 0, "u", "[ipv6:::1]", ""),
	BAD("<u@[192.0.2.256]>", 0, "bad domain"),
	BAD("<u@[192.0.2]>", 0, "bad domain"),
	BAD("<u@[2001:db8::1]>", 0, "bad domain"),
	BAD("<u@[IPv6:2001:db8::g]>", 0, "bad domain"),
	BAD("<u@[IPv6:192.0.2.1]>", 0, "bad domain"),
	BAD("<u@[]>", 0, "bad domain"),
	BAD("<u@[192.0.2.1>", 0, "bad domain"),
	BAD("<u@192.0.2.1]>", 0, "bad domain"),
	/* postmaster without a domain, for RCPT only */
	OK("<postmaster>", D, "postmaster", "", ""),
	OK("<PostMaster>", D, "PostMaster", "", ""),
	BAD("<postmaster>", 0, "address must have a domain"),
	BAD("<abuse>", D, "address must have a domain"),
	BAD("<user>", 0, "address must have a domain"),
	/* angle brackets */
	BAD("<user@example.com", 0, "missing closing >"),
	BAD("<user@example.com SIZE=1", 0, "missing closing >"),
	BAD("<user@example.com >", 0, "missing closing >"),
	BAD("user@example.com>", 0, "path must be enclosed in <>"),
	BAD("user@example.com", 0, "path must be enclosed in <>"),
	BAD(" <user@example.com>", 0, "path must be enclosed in <>"),
	OK("user@example.com", L, "user", "example.com", ""),
	OK("user@example.com SIZE=1", L, "user", "example.com", " SIZE=1"),
	OK("<user@example.com>", L, "user", "example.com", ""),
	BAD("user@example.com>", L, "junk after the path"),
	/* dots */
	BAD("<a..b@x.example>", 0, "bad local part"),
	BAD("<.a@x.example>", 0, "bad local part"),
	BAD("<a.@x.example>", 0, "bad local part"),
	BAD("<@x.example>", 0, "bad source route"),
	BAD("<a@example.com.>", 0, "bad domain"),
	BAD("<a@.example.com>", 0, "bad domain"),
	BAD("<a@example..com>", 0, "bad domain"),
	BAD("<a@>", 0, "bad domain"),
	/* hyphens */
	BAD("<a@-ex.com>", 0, "bad domain"),
	BAD("<a@ex-.com>", 0, "bad domain"),
	BAD("<a@ex.-com>", 0, "bad domain"),
	OK("<a@e-x.com>", 0, "a", "e-x.com", ""),
	BAD("<a@ex_ample.com>", 0, "bad domain"),
	/* 8-bit bytes need SMTPUTF8 */
	BAD("<j\xc3\xb6rg@example.com>", 0, NULL),
	OK("<j\xc3\xb6rg@example.com>", U, "j\xc3\xb6rg", "example.com", ""),
	BAD("<u@b\xc3\xbc" "cher.example>", 0, "bad domain"),
	OK("<u@b\xc3\xbc" "cher.example>", U, "u", "b\xc3\xbc" "cher.example",
	   ""),
	/* control characters and white space */
	BAD("<a\x01" "b@example.com>", 0, NULL),
	BAD("<a\x01" "b@example.com>", U, NULL),
	BAD("<a\tb@example.com>", 0, NULL),
	BAD("<a b@example.com>", 0, NULL),
	BAD("<a\x7f@example.com>", 0, NULL),
	BAD("<a@exa\x01mple.com>", 0, "bad domain"),
	BAD("<a@exa\rmple.com>", 0, "bad domain"),
	BAD("<a@example.com\r\n>", 0, "bad domain"),
	/* what follows the path */
	OK("<a@b.example> SIZE=100", 0, "a", "b.example", " SIZE=100"),
	OK("<a@b.example> SIZE=100 BODY=8BITMIME", 0, "a", "b.example",
	   " SIZE=100 BODY=8BITMIME"),
	BAD("<a@b.example>x", 0, "junk after the path"),
	BAD("<a@b.example>>", 0, "junk after the path"),
	BAD("<a@b.example>\tSIZE=1", 0, "junk after the path"),
	BAD("<a@b.example,c@d.example>", 0, NULL),
	BAD("<", 0, "bad local part"),
};
/* clang-format on */

static void
test_parse_path(void)
{
	for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]);
	     i++) {
		const struct path_case *c = &path_cases[i];
		struct addr a;
		const char *rest = NULL, *why = NULL;
		int rc = addr_parse_path(c->in, c->flags, &a, &rest, &why);
		int good = rc == c->rc;

		CU_ASSERT_EQUAL(rc, c->rc);
		if (rc == 0 && c->rc == 0) {
			CU_ASSERT_EQUAL(a.null, c->null);
			CU_ASSERT_STRING_EQUAL(a.local, c->local);
			good &= strcmp(a.local, c->local) == 0;
			if (c->domain != NULL) {
				CU_ASSERT_STRING_EQUAL(a.domain, c->domain);
				good &= strcmp(a.domain, c->domain) == 0;
			}
			CU_ASSERT_PTR_NOT_NULL(rest);
			if (rest != NULL) {
				CU_ASSERT_STRING_EQUAL(rest, c->rest);
				/* rest points into the input */
				CU_ASSERT(rest >= c->in &&
					  rest <= c->in + strlen(c->in));
				good &= strcmp(rest, c->rest) == 0;
			}
		}
		if (rc != 0 && c->rc != 0) {
			CU_ASSERT_PTR_NOT_NULL(why);
			if (c->why != NULL && why != NULL) {
				CU_ASSERT_STRING_EQUAL(why, c->why);
				good &= strcmp(why, c->why) == 0;
			}
		}
		if (!good)
			fprintf(stderr,
				"\naddr_parse_path case %zu \"%.40s%s\" "
				"flags %d: rc %d why \"%s\"\n",
				i, c->in, strlen(c->in) > 40 ? "..." : "",
				c->flags, rc, rc ? (why ? why : "(null)") : "");
	}
}

/* the label-63 case's domain, checked here as it is built at run time */
static void
test_parse_long_domain(void)
{
	struct addr a;
	const char *rest, *why;
	char want[80];

	snprintf(want, sizeof(want), "%s.example", label63);
	CU_ASSERT_EQUAL_FATAL(addr_parse_path(p_label63, 0, &a, &rest, &why),
			      0);
	CU_ASSERT_STRING_EQUAL(a.domain, want);
	/* upper case in a long domain is folded too */
	char in[300];
	snprintf(in, sizeof(in), "<u@%s.EXAMPLE>", label63);
	CU_ASSERT_EQUAL_FATAL(addr_parse_path(in, 0, &a, &rest, &why), 0);
	CU_ASSERT_STRING_EQUAL(a.domain, want);
}

static void
test_format(void)
{
	struct addr a;
	char out[LIM_PATH + 8], small[6];

	memset(&a, 0, sizeof(a));
	a.null = 1;
	CU_ASSERT_EQUAL(addr_format(&a, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "");

	memset(&a, 0, sizeof(a));
	strcpy(a.local, "postmaster");
	CU_ASSERT_EQUAL(addr_format(&a, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "postmaster");

	strcpy(a.local, "\"john doe\"");
	strcpy(a.domain, "example.com");
	CU_ASSERT_EQUAL(addr_format(&a, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "\"john doe\"@example.com");

	/* "ab@cd" needs 6 bytes; 5 is too few */
	strcpy(a.local, "ab");
	strcpy(a.domain, "cd");
	CU_ASSERT_EQUAL(addr_format(&a, small, 6), 0);
	CU_ASSERT_STRING_EQUAL(small, "ab@cd");
	CU_ASSERT_EQUAL(addr_format(&a, small, 5), -1);
}

static void
test_split(void)
{
	static const struct {
		const char *in;
		int rc, null;
		const char *local, *domain;
	} cases[] = {
	    {"user@Example.COM", 0, 0, "user", "example.com"},
	    {"User@example.com", 0, 0, "User", "example.com"},
	    {"\"a@b\"@x.example", 0, 0, "\"a@b\"", "x.example"},
	    {"postmaster", 0, 0, "postmaster", ""},
	    {"", 0, 1, "", ""},
	    {"u@[IPv6:::1]", 0, 0, "u", "[ipv6:::1]"},
	};
	struct addr a;
	char big[400];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(addr_split(cases[i].in, &a), cases[i].rc);
		CU_ASSERT_EQUAL(a.null, cases[i].null);
		CU_ASSERT_STRING_EQUAL(a.local, cases[i].local);
		CU_ASSERT_STRING_EQUAL(a.domain, cases[i].domain);
	}
	/* too long for the buffers: refused, not cut */
	memset(big, 'a', sizeof(a.local));
	strcpy(big + sizeof(a.local), "@x");
	CU_ASSERT_EQUAL(addr_split(big, &a), -1);
	big[0] = 'u';
	big[1] = '@';
	memset(big + 2, 'd', LIM_DOMAIN + 1);
	big[2 + LIM_DOMAIN + 1] = 0;
	CU_ASSERT_EQUAL(addr_split(big, &a), -1);
	big[2 + LIM_DOMAIN] = 0; /* exactly 255 fits */
	CU_ASSERT_EQUAL(addr_split(big, &a), 0);
	CU_ASSERT_EQUAL(strlen(a.domain), LIM_DOMAIN);
}

/* parse, format and split give back the same address */
static void
test_round_trip(void)
{
	static const char *const in[] = {
	    "<User@EXAMPLE.com>",
	    "<\"a@b c\"@x.example>",
	    "<u@[IPv6:2001:db8::1]>",
	    "<postmaster>",
	    "<>",
	};
	struct addr a, b;
	const char *rest, *why;
	char text[LIM_PATH + 8];

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(
		    addr_parse_path(in[i], N | D, &a, &rest, &why), 0);
		CU_ASSERT_EQUAL_FATAL(addr_format(&a, text, sizeof(text)), 0);
		CU_ASSERT_EQUAL_FATAL(addr_split(text, &b), 0);
		CU_ASSERT_EQUAL(a.null, b.null);
		CU_ASSERT_STRING_EQUAL(a.local, b.local);
		CU_ASSERT_STRING_EQUAL(a.domain, b.domain);
	}
}

static void
test_unquote_local(void)
{
	static const struct {
		const char *in;
		size_t len;
		int rc;
		const char *out;
	} cases[] = {
	    {"user", 64, 0, "user"},
	    {"first.last", 64, 0, "first.last"},
	    {"\"john doe\"", 64, 0, "john doe"},
	    {"\"john\\\"doe\"", 64, 0, "john\"doe"},
	    {"\"a\\\\b\"", 64, 0, "a\\b"},
	    {"\"\\a\\b\"", 64, 0, "ab"},
	    {"\"\"", 64, 0, ""},
	    {"\"a@b\"", 64, 0, "a@b"},
	    {"user", 5, 0, "user"},
	    {"user", 4, -1, NULL},
	    {"\"ab\"", 3, 0, "ab"},
	    {"\"ab\"", 2, -1, NULL},
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = addr_unquote_local(cases[i].in, out, cases[i].len);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0 && cases[i].out != NULL)
			CU_ASSERT_STRING_EQUAL(out, cases[i].out);
	}
}

static void
test_domain_valid(void)
{
	static const struct {
		const char *d;
		int utf8, ok;
	} cases[] = {
	    {"example.com", 0, 1},
	    {"EXAMPLE.COM", 0, 1},
	    {"localhost", 0, 1},
	    {"[192.0.2.1]", 0, 1},
	    {"[IPv6:::1]", 0, 1},
	    {"", 0, 0},
	    {".", 0, 0},
	    {"example.com.", 0, 0},
	    {"exa mple.com", 0, 0},
	    {"b\xc3\xbc"
	     "cher.de",
	     0, 0},
	    {"b\xc3\xbc"
	     "cher.de",
	     1, 1},
	    {"[1.2.3.4", 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(addr_domain_valid(cases[i].d,
						  strlen(cases[i].d),
						  cases[i].utf8),
				cases[i].ok);
	/* the length given is what counts, not the NUL */
	CU_ASSERT_EQUAL(addr_domain_valid("example.com junk", 11, 0), 1);
	CU_ASSERT_EQUAL(addr_domain_valid(dom256, 256, 0), 0);
	CU_ASSERT_EQUAL(addr_domain_valid(dom255, 255, 0), 1);
	CU_ASSERT_EQUAL(addr_domain_valid(dom256, 255, 0), 0); /* ends in . */
}

CU_ErrorCode
suite_addr(void)
{
	CU_pSuite s = CU_add_suite("addr", init, NULL);

	if (s == NULL ||
	    !CU_add_test(s, "addr_parse_path table", test_parse_path) ||
	    !CU_add_test(s, "long labels are lower-cased",
			 test_parse_long_domain) ||
	    !CU_add_test(s, "addr_format", test_format) ||
	    !CU_add_test(s, "addr_split", test_split) ||
	    !CU_add_test(s, "parse, format, split", test_round_trip) ||
	    !CU_add_test(s, "addr_unquote_local", test_unquote_local) ||
	    !CU_add_test(s, "addr_domain_valid", test_domain_valid))
		return CU_get_error();
	return CUE_SUCCESS;
}
