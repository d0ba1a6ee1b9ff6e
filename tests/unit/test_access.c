/*
 * test_access.c - unit tests for common/access.c and common/dnsbl.c: the
 * keys a client, a HELO name and a sender are looked up under (address
 * prefixes, parent domains, address literals, "local@", the null
 * sender), the values of the access
 * maps, the cleaning of map and DNS text, and the DNSBL site syntax,
 * answer filters and query names.
 * Trusts: nothing.  Never: leaves cfg changed (defaults restored).
 */
#include <CUnit/CUnit.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "access.h"
#include "config.h"
#include "dnsbl.h"
#include "ipc.h"
#include "resolver_client.h"
#include "suites.h"

static char keys[ACCESS_KEYS_MAX][LIM_MAP_KEY];

/* keys_are - the n keys, joined by " | ", are want */
static int
keys_are(int n, const char *want)
{
	char got[4096] = "";

	for (int i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
			 i ? " | " : "", keys[i]);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "\nkeys: got \"%s\"\n  want \"%s\"\n", got,
			want);
	return strcmp(got, want) == 0;
}

static const struct {
	const char *addr, *name, *want;
} client_cases[] = {
    {"192.0.2.1", "unknown", "192.0.2.1 | 192.0.2 | 192.0 | 192"},
    {"192.0.2.1", "mail.dsl.example.org",
     "192.0.2.1 | 192.0.2 | 192.0 | 192 | mail.dsl.example.org | "
     ".dsl.example.org | .example.org | .org"},
    {"::ffff:192.0.2.1", "", "192.0.2.1 | 192.0.2 | 192.0 | 192"},
    {"2001:DB8:1:2::5", "unknown",
     "2001:db8:1:2::5 | 2001:db8:1:2 | 2001:db8:1 | 2001:db8 | 2001"},
    {"2001:db8:1:2:3:4:5:6", "host",
     "2001:db8:1:2:3:4:5:6 | 2001:db8:1:2:3:4:5 | 2001:db8:1:2:3:4 | "
     "2001:db8:1:2:3 | 2001:db8:1:2 | 2001:db8:1 | 2001:db8 | 2001 | host"},
    {"::1", "unknown", "::1"},
    {"unknown", "unknown", ""},
    {"192.0.2", "unknown", ""},
};

static void
test_client_keys(void)
{
	for (size_t i = 0; i < sizeof(client_cases) / sizeof(client_cases[0]);
	     i++)
		CU_ASSERT(keys_are(access_client_keys(client_cases[i].addr,
						      client_cases[i].name,
						      keys, ACCESS_KEYS_MAX),
				   client_cases[i].want));
	/* the bound holds */
	CU_ASSERT_EQUAL(access_client_keys("192.0.2.1", "a.b.c", keys, 5), 5);
}

static const struct {
	const char *helo, *want;
} helo_cases[] = {
    {"mail.example.org", "mail.example.org | .example.org | .org"},
    {"localhost", "localhost"},
    {"[192.0.2.7]", "[192.0.2.7] | 192.0.2.7 | 192.0.2 | 192.0 | 192"},
    {"[IPv6:2001:db8::1]",
     "[IPv6:2001:db8::1] | 2001:db8::1 | 2001:db8 | 2001"},
    {"[junk]", "[junk]"},
    {"[", "["},
    {"", ""},
};

static void
test_helo_keys(void)
{
	for (size_t i = 0; i < sizeof(helo_cases) / sizeof(helo_cases[0]); i++)
		CU_ASSERT(keys_are(access_helo_keys(helo_cases[i].helo, keys,
						    ACCESS_KEYS_MAX),
				   helo_cases[i].want));
	CU_ASSERT_EQUAL(access_helo_keys("a.b.c.d", keys, 2), 2);
}

static const struct {
	const char *local, *domain, *want;
} sender_cases[] = {
    {"john", "mail.example.org",
     "john@mail.example.org | mail.example.org | .example.org | .org | "
     "john@"},
    {"john+list", "example.org",
     "john+list@example.org | john@example.org | example.org | .org | "
     "john+list@ | john@"},
    {"+x", "example.org", "+x@example.org | example.org | .org | +x@"},
    {"", "", "<>"},
    {"postmaster", "localhost",
     "postmaster@localhost | localhost | "
     "postmaster@"},
};

static void
test_sender_keys(void)
{
	for (size_t i = 0; i < sizeof(sender_cases) / sizeof(sender_cases[0]);
	     i++)
		CU_ASSERT(
		    keys_are(access_sender_keys(sender_cases[i].local,
						sender_cases[i].domain, '+',
						keys, ACCESS_KEYS_MAX),
			     sender_cases[i].want));
	/* no delimiter: "john+list" is one local part */
	CU_ASSERT(keys_are(access_sender_keys("john+list", "example.org", 0,
					      keys, ACCESS_KEYS_MAX),
			   "john+list@example.org | example.org | .org | "
			   "john+list@"));
}

static const struct {
	const char *value;
	enum access_action action;
	int code;
	const char *dsn, *text;
} value_cases[] = {
    {"OK", ACCESS_OK, 0, "", ""},
    {"ok", ACCESS_OK, 0, "", ""},
    {"  OK  ", ACCESS_OK, 0, "", ""},
    {"DUNNO", ACCESS_DUNNO, 0, "", ""},
    {"REJECT", ACCESS_REJECT, 554, "5.7.1", "Access denied"},
    {"reject go away", ACCESS_REJECT, 554, "5.7.1", "go away"},
    {"DEFER", ACCESS_REJECT, 450, "4.7.1", "Access denied"},
    {"DEFER\ttry later ", ACCESS_REJECT, 450, "4.7.1", "try later"},
    {"550 no spam here", ACCESS_REJECT, 550, "5.7.1", "no spam here"},
    {"521 5.7.0 closed", ACCESS_REJECT, 521, "5.7.0", "closed"},
    {"421", ACCESS_REJECT, 421, "4.7.1", "Access denied"},
    {"451 4.3.2 busy", ACCESS_REJECT, 451, "4.3.2", "busy"},
    {"REJECT bad\r\x01text\x7f\xe9", ACCESS_REJECT, 554, "5.7.1", "badtext?"},
    /* what is not understood is never an accept */
    {"OK please", ACCESS_BAD, 0, "", ""},
    {"PERMIT", ACCESS_BAD, 0, "", ""},
    {"REJECTED", ACCESS_BAD, 0, "", ""},
    {"250 fine", ACCESS_BAD, 0, "", ""},
    {"1", ACCESS_BAD, 0, "", ""},
    {"5501 x", ACCESS_BAD, 0, "", ""},
    {"550 4.7.1 mixed classes", ACCESS_BAD, 0, "", ""},
    {"450 4.7 short code", ACCESS_BAD, 0, "", ""},
    {"", ACCESS_BAD, 0, "", ""},
};

static void
test_values(void)
{
	for (size_t i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]);
	     i++) {
		struct access_verdict v;
		access_value_parse(value_cases[i].value, &v);
		if (v.action != value_cases[i].action)
			fprintf(stderr, "\nvalue \"%s\": action %d\n",
				value_cases[i].value, v.action);
		CU_ASSERT_EQUAL(v.action, value_cases[i].action);
		if (v.action != ACCESS_REJECT)
			continue;
		CU_ASSERT_EQUAL(v.code, value_cases[i].code);
		CU_ASSERT_STRING_EQUAL(v.dsn, value_cases[i].dsn);
		CU_ASSERT_STRING_EQUAL(v.text, value_cases[i].text);
	}
}

static void
test_clean(void)
{
	char big[1000], out[ACCESS_TEXT_MAX + 1], small[8];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	access_clean(big, out, sizeof(out));
	CU_ASSERT_EQUAL(strlen(out), ACCESS_TEXT_MAX);
	access_clean(" a\nb\tc\x1b[0m ", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "abc[0m");
	access_clean("abcdefghij", small, sizeof(small));
	CU_ASSERT_STRING_EQUAL(small, "abcdefg");
}

static const struct {
	const char *list;
	int ok;
} sites_cases[] = {
    {"", 1},
    {"zen.example", 1},
    {"zen.example=127.0.0.2, bl.example=127.0.0.[2..11]", 1},
    {"bl.example=127.0.[0;1].[2;4;10..11]", 1},
    {"bl.example=127.0.0", 0},
    {"bl.example=127.0.0.256", 0},
    {"bl.example=127.0.0.[5..2]", 0},
    {"bl.example=127.0.0.[2", 0},
    {"bl.example=127.0.0.2x", 0},
    {"bl.example=", 0},
    {"=127.0.0.2", 0},
    {"bad..zone..example=", 0},
    {"bl_ok.example", 1},
    {"bl!example", 0},
    {".bl.example", 0},
    {"a b c d e f g h i j k l m n o p", 1},
    {"a b c d e f g h i j k l m n o p q", 0},
};

static void
test_sites(void)
{
	struct dnsbl_sites s;
	char err[300];

	for (size_t i = 0; i < sizeof(sites_cases) / sizeof(sites_cases[0]);
	     i++) {
		int rc = dnsbl_sites_parse(sites_cases[i].list, &s, err,
					   sizeof(err));
		if ((rc == 0) != sites_cases[i].ok)
			fprintf(stderr, "\nsites \"%s\": rc %d\n",
				sites_cases[i].list, rc);
		CU_ASSERT_EQUAL(rc == 0, sites_cases[i].ok);
	}
	CU_ASSERT_EQUAL(dnsbl_sites_parse("Zen.Example=127.0.0.[2..3;9] "
					  "plain.example",
					  &s, err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_STRING_EQUAL(s.s[0].zone, "zen.example");
	CU_ASSERT(dnsbl_answer_matches(&s.s[0], "127.0.0.2"));
	CU_ASSERT(dnsbl_answer_matches(&s.s[0], "127.0.0.3"));
	CU_ASSERT(dnsbl_answer_matches(&s.s[0], "127.0.0.9"));
	CU_ASSERT(!dnsbl_answer_matches(&s.s[0], "127.0.0.4"));
	CU_ASSERT(!dnsbl_answer_matches(&s.s[0], "127.0.1.2"));
	CU_ASSERT(!dnsbl_answer_matches(&s.s[0], "not an address"));
	CU_ASSERT(dnsbl_answer_matches(&s.s[1], "127.0.0.4"));
	CU_ASSERT(dnsbl_answer_matches(&s.s[1], "127.1.2.3"));
	CU_ASSERT(!dnsbl_answer_matches(&s.s[1], "::1"));
	/* without a filter: not an address outside 127.0.0.0/8 (a parked
	 * zone's wildcard), not a list's error code (Spamhaus answers
	 * 127.255.255.254 to a public resolver): either would refuse
	 * every client */
	CU_ASSERT(!dnsbl_answer_matches(&s.s[1], "10.1.2.3"));
	CU_ASSERT(!dnsbl_answer_matches(&s.s[1], "127.255.255.254"));
	CU_ASSERT(!dnsbl_answer_matches(&s.s[1], "127.255.255.252"));
	CU_ASSERT(dnsbl_answer_matches(&s.s[1], "127.255.254.1"));
	/* a filter is the operator's word, error range or not */
	CU_ASSERT_EQUAL(dnsbl_sites_parse("x.example=127.255.255.254", &s, err,
					  sizeof(err)),
			0);
	CU_ASSERT(dnsbl_answer_matches(&s.s[0], "127.255.255.254"));
	/* the config key is checked when it is read */
	CU_ASSERT_EQUAL(config_set("smtpd_dnsbl_sites", "bl.example=127.0.0",
				   err, sizeof(err)),
			-1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "smtpd_dnsbl_sites: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad answer pattern"));
	config_defaults();
}

static void
test_query_names(void)
{
	char out[DNSBL_QUERY_MAX];

	CU_ASSERT_EQUAL(
	    dnsbl_query_name("192.0.2.1", "bl.example", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "1.2.0.192.bl.example");
	CU_ASSERT_EQUAL(dnsbl_query_name("::ffff:192.0.2.99", "bl.example", out,
					 sizeof(out)),
			0);
	CU_ASSERT_STRING_EQUAL(out, "99.2.0.192.bl.example");
	CU_ASSERT_EQUAL(
	    dnsbl_query_name("2001:db8::1:2", "bl.example", out, sizeof(out)),
	    0);
	CU_ASSERT_STRING_EQUAL(out, "2.0.0.0.1.0.0.0.0.0.0.0.0.0.0.0."
				    "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
				    "bl.example");
	CU_ASSERT_EQUAL(
	    dnsbl_query_name("unknown", "bl.example", out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(dnsbl_query_name("192.0.2.1", "bl.example", out, 10),
			-1);
	/* sender domains (smtpd_rhsbl_sender_sites) */
	CU_ASSERT_EQUAL(rhsbl_query_name("Mail-1.Example.ORG", "dbl.example",
					 out, sizeof(out)),
			0);
	CU_ASSERT_STRING_EQUAL(out, "mail-1.example.org.dbl.example");
	static const char *const not_names[] = {
	    "", "[192.0.2.1]", "example.org.", ".example.org", "a..b",
	    "a_b.example", "a b.example", "x@y.example",
	    /* a bare address is no domain (a HELO of 192.0.2.1) */
	    "192.0.2.1", "1234"};
	for (size_t i = 0; i < sizeof(not_names) / sizeof(not_names[0]); i++)
		CU_ASSERT_EQUAL(rhsbl_query_name(not_names[i], "dbl.example",
						 out, sizeof(out)),
				-1);
	char long_name[300];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	CU_ASSERT_EQUAL(rhsbl_query_name(long_name, "dbl.example", out,
					 sizeof(out)),
			-1);
}

/* allow lists: 127.0.0.255 (dnswl.org: over quota, public resolver)
 * is never a listing; the lists asked at connect fit one batch */
static void
test_dnswl_and_limits(void)
{
	struct dnsbl_sites s;
	char err[300], dir[200], path[300];
	char eight[200] = "", more[220];

	CU_ASSERT_EQUAL_FATAL(dnsbl_sites_parse("list.dnswl.example=127.0."
						"[0..255].[1..3] "
						"wl.example "
						"all.example=127.0.0.[0..255]",
						&s, err, sizeof(err)),
			      0);
	CU_ASSERT(dnswl_answer_matches(&s.s[0], "127.0.10.2"));
	CU_ASSERT(!dnswl_answer_matches(&s.s[0], "127.0.10.4"));
	CU_ASSERT(!dnswl_answer_matches(&s.s[0], "127.0.0.255"));
	CU_ASSERT(dnswl_answer_matches(&s.s[1], "127.0.5.1"));
	CU_ASSERT(!dnswl_answer_matches(&s.s[1], "127.0.0.255"));
	CU_ASSERT(!dnswl_answer_matches(&s.s[1], "127.255.255.254"));
	/* even where the filter admits it (a block list would count it) */
	CU_ASSERT(dnsbl_answer_matches(&s.s[2], "127.0.0.255"));
	CU_ASSERT(!dnswl_answer_matches(&s.s[2], "127.0.0.255"));
	CU_ASSERT(dnswl_answer_matches(&s.s[2], "127.0.0.254"));

	for (int i = 0; i < 8; i++)
		snprintf(eight + strlen(eight),
			 sizeof(eight) - strlen(eight), "z%d.example ", i);
	snprintf(more, sizeof(more), "%sone.example", eight);
	/* 8 + 8 + 0 fit; 8 + 8 + 1 do not */
	CU_ASSERT_EQUAL(dnsbl_connect_check(eight, eight, "", err,
					    sizeof(err)),
			0);
	CU_ASSERT_EQUAL(dnsbl_connect_check(eight, eight, "c.example",
					    err, sizeof(err)),
			-1);
	CU_ASSERT_STRING_EQUAL(err, "smtpd_dnswl_sites: 8 sites with the 8 of "
				    "smtpd_dnsbl_sites and the 1 of "
				    "smtpd_rhsbl_client_sites: more than the 16 "
				    "queries smtpd sends at connect in one "
				    "batch");
	CU_ASSERT_EQUAL(dnsbl_connect_check("", "bad=1", "", err, sizeof(err)),
			-1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "smtpd_dnswl_sites: "));

	/* and mta.conf says so as it is read, naming the file */
	/* (the HELO list, asked in a batch of its own, is not counted) */
	CU_ASSERT_EQUAL_FATAL(unit_tmpdir(dir, sizeof(dir), "dnswl"), 0);
	unit_path(path, sizeof(path), dir, "mta.conf");
	char text[800];
	snprintf(text, sizeof(text),
		 "smtpd_dnsbl_sites = %s\nsmtpd_dnswl_sites = %s\n"
		 "smtpd_rhsbl_client_sites = c.example\n"
		 "smtpd_rhsbl_helo_sites = %s\n",
		 eight, eight, more);
	CU_ASSERT_EQUAL_FATAL(unit_write_file(path, text, strlen(text)), 0);
	CU_ASSERT_EQUAL(config_load(path, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "mta.conf: smtpd_dnswl_sites: 8 "
					   "sites"));
	CU_ASSERT_EQUAL(config_set("smtpd_rhsbl_helo_sites", "x=127.0.0",
				   err, sizeof(err)),
			-1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "smtpd_rhsbl_helo_sites: "));
	config_defaults();
	CU_ASSERT_EQUAL(unlink(path), 0);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
}

/* fake_resolver - a child on private/resolver that takes n connections,
 * then answers each query but those for "slow.example" (held open) */
static pid_t
fake_resolver(int n)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", RESOLVER_SOCKET);
	if (l < 0 || bind(l, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(l, 16) != 0 || (pid = fork()) < 0)
		return -1;
	if (pid > 0) {
		close(l);
		return pid;
	}
	struct ipc *c[8];
	for (int i = 0; i < n && i < 8; i++)
		c[i] = ipc_new(accept(l, NULL, NULL), 5000);
	for (int i = 0; i < n && i < 8; i++) {
		struct attrs r;
		attrs_init(&r);
		if (ipc_read(c[i], &r) == IPC_OK &&
		    strcmp(attrs_get(&r, "name"), "slow.example") != 0) {
			ipc_put_str(c[i], "status", "ok");
			ipc_put_str(c[i], "rr", attrs_get(&r, "name"));
			if (ipc_end(c[i]) != IPC_OK)
				_exit(1);
		}
		attrs_free(&r);
	}
	pause(); /* held open until killed */
	_exit(0);
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* all queries sent at once; the slow one alone times out, in wait_ms */
static void
test_query_all(void)
{
	char dir[256], cwd[4096];
	const char *names[3] = {"a.example", "slow.example", "b.example"};
	struct dns_answer a[3];
	struct timespec t0;
	pid_t pid;

	CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
	CU_ASSERT_EQUAL_FATAL(unit_tmpdir(dir, sizeof(dir), "access"), 0);
	CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);
	CU_ASSERT_EQUAL(mkdir("private", 0700), 0);
	/* no resolver: a failure, never an answer */
	resolver_query_all("A", names, 1, 500, a);
	CU_ASSERT_EQUAL(a[0].status, DNS_TEMPFAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(a[0].why, "cannot connect"));
	pid = fake_resolver(3);
	CU_ASSERT(pid > 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	resolver_query_all("A", names, 3, 500, a);
	long ms = elapsed_ms(&t0);
	CU_ASSERT(ms >= 450 && ms < 3000);
	CU_ASSERT_EQUAL(a[0].status, DNS_OK);
	CU_ASSERT(a[0].n == 1 && strcmp(a[0].rr[0], "a.example") == 0);
	CU_ASSERT_EQUAL(a[1].status, DNS_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(a[1].why, "no answer from resolver in time");
	CU_ASSERT_EQUAL(a[2].status, DNS_OK);
	CU_ASSERT(a[2].n == 1 && strcmp(a[2].rr[0], "b.example") == 0);
	for (int i = 0; i < 3; i++)
		dns_answer_free(&a[i]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	CU_ASSERT_EQUAL(chdir(cwd), 0);
	unit_rm_rf(dir);
}

CU_ErrorCode
suite_access(void)
{
	CU_pSuite su = CU_add_suite("access", NULL, NULL);

	if (su == NULL || !CU_add_test(su, "client keys", test_client_keys) ||
	    !CU_add_test(su, "sender keys", test_sender_keys) ||
	    !CU_add_test(su, "helo keys", test_helo_keys) ||
	    !CU_add_test(su, "map values", test_values) ||
	    !CU_add_test(su, "text cleaning", test_clean) ||
	    !CU_add_test(su, "dnsbl sites and filters", test_sites) ||
	    !CU_add_test(su, "dnsbl query names", test_query_names) ||
	    !CU_add_test(su, "dnswl answers and batch limits",
			 test_dnswl_and_limits) ||
	    !CU_add_test(su, "parallel resolver queries", test_query_all))
		return CU_get_error();
	return CUE_SUCCESS;
}
