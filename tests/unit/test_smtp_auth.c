/*
 * test_smtp_auth.c - unit tests for remote(8)'s SMTP AUTH client
 * (remote/smtp_auth.c, remote/smtp_ehlo.c): the AUTH keyword of an EHLO
 * reply in both its forms, the choice of mechanism, the credentials of
 * a map value, the PLAIN and LOGIN encodings (checked against base64
 * worked out by hand and by Python's base64 module, not by the code under
 * test), the order of the map lookups, and that a map compiled from a
 * text only its owner may read is only its owner's too.
 *
 * Trusts: nothing; every case is a table row.
 * Never: opens a socket.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../../remote/remote.h"
#include "config.h"
#include "map.h"
#include "suites.h"

static char tmpdir[256];

/* feed - lines separated by '|' into a complete reply; 0 when it is */
static int
feed(struct smtp_reply *r, const char *lines)
{
	char buf[8192];
	int rc = 0;

	snprintf(buf, sizeof(buf), "%s", lines);
	smtp_reply_init(r);
	for (char *save, *l = strtok_r(buf, "|", &save); l;
	     l = strtok_r(NULL, "|", &save))
		if ((rc = smtp_reply_line(r, l, strlen(l))) != 0)
			break;
	return rc == 1 ? 0 : -1;
}

static void
test_ehlo_auth(void)
{
	static const struct {
		const char *in;
		int auth;
		unsigned mechs;
	} cases[] = {
	    {"250-mx|250-AUTH PLAIN LOGIN|250 8BITMIME", 1,
	     SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN},
	    {"250-mx|250 AUTH LOGIN", 1, SMTP_AUTH_LOGIN},
	    /* the form of servers from before RFC 2554 */
	    {"250-mx|250-AUTH=LOGIN|250 HELP", 1, SMTP_AUTH_LOGIN},
	    {"250-mx|250-AUTH=PLAIN LOGIN|250 HELP", 1,
	     SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN},
	    /* both forms: the union */
	    {"250-mx|250-AUTH GSSAPI PLAIN|250 AUTH=LOGIN", 1,
	     SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN},
	    {"250-mx|250-auth  login   plain|250 DSN", 1,
	     SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN},
	    /* offered, but nothing we speak */
	    {"250-mx|250-AUTH CRAM-MD5 DIGEST-MD5|250 DSN", 1, 0},
	    {"250-mx|250-AUTH|250 DSN", 1, 0},
	    {"250-mx|250-AUTH LOGINX PLAINY XPLAIN|250 DSN", 1, 0},
	    /* not AUTH */
	    {"250-mx|250-AUTHX PLAIN|250 XAUTH LOGIN", 0, 0},
	    {"250 AUTH PLAIN on the greeting line only", 0, 0},
	    {"250-mx|250 PIPELINING", 0, 0},
	};
	struct smtp_reply r;
	struct smtp_ext x;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(feed(&r, cases[i].in), 0);
		smtp_ehlo_parse(&r, &x);
		CU_ASSERT_EQUAL(x.auth, cases[i].auth);
		CU_ASSERT_EQUAL(x.auth_mechs, cases[i].mechs);
		if (x.auth != cases[i].auth || x.auth_mechs != cases[i].mechs)
			fprintf(stderr, "\nehlo auth case %zu: %d %u\n", i,
				x.auth, x.auth_mechs);
	}
	/* the other keywords are still read beside AUTH */
	CU_ASSERT_EQUAL_FATAL(
	    feed(&r, "250-mx|250-AUTH PLAIN|250-SIZE 100|250 PIPELINING"), 0);
	smtp_ehlo_parse(&r, &x);
	CU_ASSERT(x.pipelining && x.size && x.size_limit == 100 && x.auth);
}

static void
test_pick(void)
{
	const unsigned both = SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN;
	static const struct {
		const char *prefs;
		unsigned offered, want;
	} cases[] = {
	    {"PLAIN LOGIN", SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN, SMTP_AUTH_PLAIN},
	    {"LOGIN PLAIN", SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN, SMTP_AUTH_LOGIN},
	    {"PLAIN LOGIN", SMTP_AUTH_LOGIN, SMTP_AUTH_LOGIN},
	    {"plain, login", SMTP_AUTH_LOGIN, SMTP_AUTH_LOGIN},
	    {"PLAIN", SMTP_AUTH_LOGIN, 0},
	    {"LOGIN", SMTP_AUTH_PLAIN, 0},
	    {"PLAIN LOGIN", 0, 0},
	    {"", SMTP_AUTH_PLAIN, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(
		    smtp_auth_pick(cases[i].prefs, cases[i].offered),
		    cases[i].want);
	CU_ASSERT_EQUAL(smtp_auth_pick("LOGIN", both), SMTP_AUTH_LOGIN);
}

static void
test_cred_parse(void)
{
	static const struct {
		const char *value;
		int rc;
		const char *user, *pass;
	} cases[] = {
	    {"ann:s3cret pass", 0, "ann", "s3cret pass"},
	    /* the first colon splits: the password may hold more */
	    {"ann@example.net:pa:ss:", 0, "ann@example.net", "pa:ss:"},
	    {":secret", -1, NULL, NULL},
	    {"ann:", -1, NULL, NULL},
	    {"ann", -1, NULL, NULL},
	    {"", -1, NULL, NULL},
	};
	struct smtp_cred c, d;
	char big[2 * LIM_SASL_CRED];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(smtp_cred_parse(cases[i].value, &c),
				cases[i].rc);
		CU_ASSERT_EQUAL(c.set, cases[i].rc == 0);
		if (cases[i].rc == 0) {
			CU_ASSERT_STRING_EQUAL(c.user, cases[i].user);
			CU_ASSERT_STRING_EQUAL(c.pass, cases[i].pass);
		}
	}
	/* each part up to LIM_SASL_FIELD (RFC 4616), and not one more */
	memset(big, 'u', LIM_SASL_FIELD);
	big[LIM_SASL_FIELD] = ':';
	memset(big + LIM_SASL_FIELD + 1, 'p', LIM_SASL_FIELD);
	big[2 * LIM_SASL_FIELD + 1] = 0;
	CU_ASSERT_EQUAL(strlen(big), LIM_SASL_CRED - 1);
	CU_ASSERT_EQUAL(smtp_cred_parse(big, &c), 0);
	CU_ASSERT_EQUAL(strlen(c.user), LIM_SASL_FIELD);
	CU_ASSERT_EQUAL(strlen(c.pass), LIM_SASL_FIELD);
	big[2 * LIM_SASL_FIELD + 1] = 'p';
	big[2 * LIM_SASL_FIELD + 2] = 0;
	CU_ASSERT_EQUAL(smtp_cred_parse(big, &c), -1);
	memset(big, 'u', LIM_SASL_FIELD + 1);
	big[LIM_SASL_FIELD + 1] = ':';
	big[LIM_SASL_FIELD + 2] = 'p';
	big[LIM_SASL_FIELD + 3] = 0;
	CU_ASSERT_EQUAL(smtp_cred_parse(big, &c), -1);
	CU_ASSERT_EQUAL(c.set, 0);
	/* the hash tells credentials apart (reuse of connections) */
	CU_ASSERT_EQUAL_FATAL(smtp_cred_parse("ann:one", &c), 0);
	CU_ASSERT_EQUAL_FATAL(smtp_cred_parse("ann:one", &d), 0);
	CU_ASSERT_EQUAL(memcmp(c.id, d.id, sizeof(c.id)), 0);
	CU_ASSERT_EQUAL_FATAL(smtp_cred_parse("ann:two", &d), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(c.id, d.id, sizeof(c.id)), 0);
	CU_ASSERT_EQUAL_FATAL(smtp_cred_parse("bob:one", &d), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(c.id, d.id, sizeof(c.id)), 0);
	smtp_cred_clear(&d);
	CU_ASSERT(d.set == 0 && d.pass[0] == 0);
}

static void
test_encodings(void)
{
	struct smtp_cred c;
	char out[SMTP_AUTH_B64(LIM_SASL_CRED + 1)], big[LIM_SASL_CRED];

	/* printf '\0ann\0s3cret pass' | base64 */
	CU_ASSERT_EQUAL_FATAL(smtp_cred_parse("ann:s3cret pass", &c), 0);
	CU_ASSERT_EQUAL(smtp_auth_plain(&c, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "AGFubgBzM2NyZXQgcGFzcw==");
	/* printf '\0relay@example.net\0pa:ss' | base64 */
	CU_ASSERT_EQUAL_FATAL(smtp_cred_parse("relay@example.net:pa:ss", &c),
			      0);
	CU_ASSERT_EQUAL(smtp_auth_plain(&c, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "AHJlbGF5QGV4YW1wbGUubmV0AHBhOnNz");
	/* LOGIN: each field alone; the challenges servers send */
	CU_ASSERT_EQUAL(smtp_auth_b64("ann", 3, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "YW5u");
	CU_ASSERT_EQUAL(smtp_auth_b64("s3cret pass", 11, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "czNjcmV0IHBhc3M=");
	CU_ASSERT_EQUAL(smtp_auth_b64("Username:", 9, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "VXNlcm5hbWU6");
	CU_ASSERT_EQUAL(smtp_auth_b64("", 0, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	/* too small a buffer is refused, not overrun: "YW5u" needs 5 */
	CU_ASSERT_EQUAL(smtp_auth_b64("ann", 3, out, 4), -1);
	CU_ASSERT_EQUAL(smtp_auth_b64("ann", 3, out, 5), 0);
	/* the longest credentials fit the buffer sized from the limit */
	memset(big, 'u', LIM_SASL_FIELD);
	big[LIM_SASL_FIELD] = ':';
	memset(big + LIM_SASL_FIELD + 1, 'p', LIM_SASL_FIELD);
	big[2 * LIM_SASL_FIELD + 1] = 0;
	CU_ASSERT_EQUAL_FATAL(smtp_cred_parse(big, &c), 0);
	CU_ASSERT_EQUAL(smtp_auth_plain(&c, out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(strlen(out), 4 * ((2 + 2 * LIM_SASL_FIELD + 2) / 3));
	CU_ASSERT_EQUAL(smtp_auth_plain(&c, out, 100), -1);
	smtp_cred_clear(&c);
}

/* test_lookup - the keys in order, the first hit wins; a bad value
 * defers without the password in the text */
static void
test_lookup(void)
{
	static const char text[] = "[smtp.example.net]:587 relay:by-route\n"
				   "[mx1.example.net]:25 bracket:by-host-port\n"
				   "mx2.example.net plain:by-host\n"
				   "dest.example nexthop:by-domain\n"
				   "bad.example no-colon-here\n";
	static const struct {
		const char *route, *host;
		int port;
		const char *nexthop;
		int rc, set;
		const char *user, *key;
	} cases[] = {
	    {"[smtp.example.net]:587", "smtp.example.net", 587, "dest.example",
	     0, 1, "relay", "[smtp.example.net]:587"},
	    /* keys are folded to lower case, as the map's */
	    {"[SMTP.Example.NET]:587", "smtp.example.net", 587, "x.example", 0,
	     1, "relay", "[SMTP.Example.NET]:587"},
	    {"example.net", "mx1.example.net", 25, "dest.example", 0, 1,
	     "bracket", "[mx1.example.net]:25"},
	    {"example.net", "mx2.example.net", 25, "dest.example", 0, 1,
	     "plain", "mx2.example.net"},
	    {"example.net", "mx3.example.net", 25, "dest.example", 0, 1,
	     "nexthop", "dest.example"},
	    {"example.net", "mx3.example.net", 25, "other.example", 0, 0, "",
	     ""},
	    /* a port other than the key's is another key */
	    {"example.net", "mx1.example.net", 587, "other.example", 0, 0, "",
	     ""},
	    {"example.net", "mx9.example.net", 25, "bad.example", -1, 0, "",
	     ""},
	};
	char src[512], db[600], err[256];
	struct smtp_cred c;
	struct result r;
	struct stat st;

	unit_path(src, sizeof(src), tmpdir, "sasl_passwd");
	CU_ASSERT_EQUAL_FATAL(unit_write_file(src, text, sizeof(text) - 1), 0);
	CU_ASSERT_EQUAL_FATAL(map_db_path(src, db, sizeof(db)), 0);
	CU_ASSERT_FATAL(
	    map_compile(src, db, MAP_SYNTAX_PLAIN, err, sizeof(err)) == 5);
	/* the text is 0600 (unit_write_file): so is the compiled map */
	CU_ASSERT_EQUAL(stat(db, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL_FATAL(
	    config_set("smtp_sasl_password_map", src, err, sizeof(err)), 0);
	smtp_auth_open();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0, sizeof(r));
		int rc =
		    smtp_cred_lookup(cases[i].route, cases[i].host,
				     cases[i].port, cases[i].nexthop, &c, &r);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		CU_ASSERT_EQUAL(c.set, cases[i].set);
		CU_ASSERT_STRING_EQUAL(c.user, cases[i].user);
		CU_ASSERT_STRING_EQUAL(c.key, cases[i].key);
		if (rc == 0 && c.set)
			CU_ASSERT(strncmp(c.pass, "by-", 3) == 0);
		if (rc != 0) {
			CU_ASSERT_EQUAL(r.code, 4);
			CU_ASSERT_STRING_EQUAL(r.dsn, "4.3.5");
			CU_ASSERT(strstr(r.text, "bad.example") != NULL);
			CU_ASSERT(strstr(r.text, "no-colon") == NULL);
		}
	}
	smtp_cred_clear(&c);
	CU_ASSERT_EQUAL(
	    config_set("smtp_sasl_password_map", "", err, sizeof(err)), 0);
}

static int
setup(void)
{
	return unit_tmpdir(tmpdir, sizeof(tmpdir), "smtp_auth");
}

static int
teardown(void)
{
	return unit_rm_rf(tmpdir);
}

CU_ErrorCode
suite_smtp_auth(void)
{
	CU_pSuite s = CU_add_suite("smtp_auth", setup, teardown);

	if (s == NULL ||
	    !CU_add_test(s, "EHLO AUTH and AUTH=", test_ehlo_auth) ||
	    !CU_add_test(s, "mechanism choice", test_pick) ||
	    !CU_add_test(s, "credentials of a map value", test_cred_parse) ||
	    !CU_add_test(s, "PLAIN and LOGIN encodings", test_encodings) ||
	    !CU_add_test(s, "map keys in order", test_lookup))
		return CU_get_error();
	return CUE_SUCCESS;
}
