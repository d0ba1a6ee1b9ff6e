/*
 * test_config.c - unit tests for common/config.c (mta.conf(5)).
 *
 * Covers: defaults; "key = value" files with comments and continuation
 * lines; every error shape "file:line: message"; the time, size and
 * boolean parsers; lists; config_print with and without only_changed.
 * Trusts: nothing but the temporary directory it makes with mkdtemp().
 * Never: reads /etc/mta; leaves cfg other than at its defaults.
 */
#include <CUnit/CUnit.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "suites.h"

static char tmpdir[256];
static char conf_path[512];

static int
init(void)
{
	if (unit_tmpdir(tmpdir, sizeof(tmpdir), "config") != 0)
		return -1;
	unit_path(conf_path, sizeof(conf_path), tmpdir, "mta.conf");
	return 0;
}

static int
cleanup(void)
{
	config_defaults();
	return unit_rm_rf(tmpdir) == 0 ? 0 : -1;
}

/* load - write text as the config file and load it. */
static int
load(const char *text, char *err, size_t errlen)
{
	err[0] = 0;
	if (unit_write_file(conf_path, text, strlen(text)) != 0)
		return -2;
	return config_load(conf_path, err, errlen);
}

static void
test_defaults(void)
{
	config_defaults();
	CU_ASSERT_STRING_EQUAL(cfg.run_mode, "root");
	CU_ASSERT_STRING_EQUAL(cfg.queue_directory, "/var/spool/mta");
	CU_ASSERT_STRING_EQUAL(cfg.daemon_directory, "/usr/libexec/mta");
	CU_ASSERT_STRING_EQUAL(cfg.maillog_file, "");
	CU_ASSERT_STRING_EQUAL(cfg.mydestination, "localhost");
	CU_ASSERT_STRING_EQUAL(cfg.mailbox_template, "%d/%u/Maildir");
	CU_ASSERT_STRING_EQUAL(cfg.recipient_delimiter, "+");
	CU_ASSERT_STRING_EQUAL(cfg.smtpd_listen, "0.0.0.0:25");
	CU_ASSERT_STRING_EQUAL(cfg.mail_owner, "mta");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg.myhostname);
	CU_ASSERT(cfg.myhostname[0] != 0); /* gethostname() or localhost */
	CU_ASSERT_EQUAL(cfg.message_size_limit, 52428800L);
	CU_ASSERT_EQUAL(cfg.header_size_limit, 102400L);
	CU_ASSERT_EQUAL(cfg.hop_count_limit, 100L);
	CU_ASSERT_EQUAL(cfg.smtpd_recipient_limit, 1000L);
	CU_ASSERT_EQUAL(cfg.smtpd_timeout, 300L);
	CU_ASSERT_EQUAL(cfg.smtpd_data_timeout, 600L);
	CU_ASSERT_EQUAL(cfg.max_idle, 100L);
	CU_ASSERT_EQUAL(cfg.minimal_backoff_time, 300L);
	CU_ASSERT_EQUAL(cfg.maximal_backoff_time, 3600L);
	CU_ASSERT_EQUAL(cfg.queue_run_delay, 60L);
	CU_ASSERT_EQUAL(cfg.lmdb_map_size, 16L << 20);
	CU_ASSERT_EQUAL(cfg.maildir_size_in_name, 1L);
	CU_ASSERT_EQUAL(cfg.service_restart_delay, 1L);
	CU_ASSERT_EQUAL(cfg.verbose, 0L);
}

static void
test_load_good(void)
{
	static const char text[] =
	    "# mta.conf for the unit tests\n"
	    "\n"
	    "   # an indented comment\n"
	    "myhostname = mx.example.com\n"
	    "mydestination = example.com,\n"
	    "    example.net\n"
	    "\texample.org\n"
	    "# a comment between a value and its continuation\n"
	    "  example.info\n"
	    "hop_count_limit=25\n"
	    "smtpd_timeout = 5m\n"
	    "smtpd_data_timeout = 1h   \n"
	    "maximal_backoff_time = 1d\n"
	    "message_size_limit = 10m\n"
	    "header_size_limit = 512k\n"
	    "lmdb_map_size = 1g\n"
	    "verbose = Yes\n"
	    "maildir_size_in_name = off\n"
	    "smtpd_banner = ESMTP ready = yes\n"
	    "run_mode = user\n"
	    "service_restart_delay = 0\n";
	char err[512];

	CU_ASSERT_EQUAL_FATAL(load(text, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_STRING_EQUAL(cfg.myhostname, "mx.example.com");
	CU_ASSERT_STRING_EQUAL(cfg.mydestination,
			       "example.com, example.net example.org "
			       "example.info");
	CU_ASSERT_EQUAL(cfg.hop_count_limit, 25L);
	CU_ASSERT_EQUAL(cfg.smtpd_timeout, 300L);
	CU_ASSERT_EQUAL(cfg.smtpd_data_timeout, 3600L);
	CU_ASSERT_EQUAL(cfg.maximal_backoff_time, 86400L);
	CU_ASSERT_EQUAL(cfg.message_size_limit, 10L << 20);
	CU_ASSERT_EQUAL(cfg.header_size_limit, 512L << 10);
	CU_ASSERT_EQUAL(cfg.lmdb_map_size, 1L << 30);
	CU_ASSERT_EQUAL(cfg.verbose, 1L);
	CU_ASSERT_EQUAL(cfg.maildir_size_in_name, 0L);
	/* only the first '=' separates key from value */
	CU_ASSERT_STRING_EQUAL(cfg.smtpd_banner, "ESMTP ready = yes");
	CU_ASSERT_STRING_EQUAL(cfg.run_mode, "user");
	CU_ASSERT_EQUAL(cfg.service_restart_delay, 0L);
	/* keys not in the file keep their defaults */
	CU_ASSERT_STRING_EQUAL(cfg.queue_directory, "/var/spool/mta");
	CU_ASSERT_EQUAL(cfg.smtpd_recipient_limit, 1000L);
	CU_ASSERT_EQUAL(cfg.minimal_backoff_time, 300L);
	/* config_file is the absolute path */
	CU_ASSERT_EQUAL(config_file[0], '/');
	CU_ASSERT_PTR_NOT_NULL(strstr(config_file, "/mta.conf"));

	/* a second load starts again from the defaults */
	CU_ASSERT_EQUAL_FATAL(load("verbose = no\n", err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(cfg.mydestination, "localhost");
	CU_ASSERT_EQUAL(cfg.hop_count_limit, 100L);
	CU_ASSERT_STRING_EQUAL(cfg.run_mode, "root");

	/* an empty file, and one without a final newline */
	CU_ASSERT_EQUAL(load("", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(load("max_use = 7", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg.max_use, 7L);
	config_defaults();
}

/* A config file that must be refused, and the message it must give. */
struct bad_case {
	const char *text;
	int line;	 /* 0: the message has no line number */
	const char *msg; /* after "file:line: " or "file: " */
};

/* clang-format off */
static const struct bad_case bad_cases[] = {
	{"foo = bar\n", 1, "unknown key \"foo\""},
	{"# comment\n\nmyhostname = a\nqueue_dir = /x\n", 4,
	 "unknown key \"queue_dir\""},
	{"myhostname\n", 1, "missing \"=\" in \"myhostname\""},
	{"verbose = no\n\nhop_count_limit 5\n", 3,
	 "missing \"=\" in \"hop_count_limit 5\""},
	{"verbose = no\n  yes\n", 1,
	 "verbose: bad value \"no yes\": expected yes or no"},
	{"hop_count_limit = ten\n", 1,
	 "hop_count_limit: bad value \"ten\": expected a number"},
	{"hop_count_limit = -1\n", 1,
	 "hop_count_limit: bad value \"-1\": expected a number"},
	{"hop_count_limit =\n", 1,
	 "hop_count_limit: bad value \"\": expected a number"},
	{"hop_count_limit = 99999999999999999999\n", 1,
	 "hop_count_limit: bad value \"99999999999999999999\": "
	 "expected a number"},
	{"smtpd_timeout = 5x\n", 1,
	 "smtpd_timeout: bad value \"5x\": expected a time (e.g. 300s, 5m, "
	 "4h, 5d)"},
	{"smtpd_timeout = 5mm\n", 1,
	 "smtpd_timeout: bad value \"5mm\": expected a time (e.g. 300s, 5m, "
	 "4h, 5d)"},
	{"message_size_limit = 5t\n", 1,
	 "message_size_limit: bad value \"5t\": expected a size (e.g. "
	 "1048576, 512k, 50m)"},
	{"verbose = maybe\n", 1,
	 "verbose: bad value \"maybe\": expected yes or no"},
	{"hop_count_limit = 0\n", 1,
	 "hop_count_limit: value \"0\" out of range [1..1000]"},
	{"myhostname = a\n\nhop_count_limit = 1001\n", 3,
	 "hop_count_limit: value \"1001\" out of range [1..1000]"},
	{"hop_count_limit = 1k\n", 1,
	 "hop_count_limit: value \"1k\" out of range [1..1000]"},
	{"smtpd_timeout = 2h\n", 1,
	 "smtpd_timeout: value \"2h\" out of range [1..3600]"},
	{"lmdb_map_size = 512k\n", 1,
	 "lmdb_map_size: value \"512k\" out of range "
	 "[1048576..1099511627776]"},
	/* a continued value is reported at the line where it starts */
	{"verbose = no\nsmtpd_timeout = 5\n   m\n", 2,
	 "smtpd_timeout: bad value \"5 m\": expected a time (e.g. 300s, 5m, "
	 "4h, 5d)"},
	/* checks across keys name the file only */
	{"run_mode = nobody\n", 0,
	 "run_mode: bad value \"nobody\": expected root or user"},
	{"queue_directory = spool\n", 0,
	 "queue_directory: \"spool\" is not an absolute path"},
	{"recipient_delimiter = +-\n", 0,
	 "recipient_delimiter: \"+-\" must be one character or empty"},
	{"minimal_backoff_time = 2h\nmaximal_backoff_time = 1h\n", 0,
	 "minimal_backoff_time is greater than maximal_backoff_time"},
	{"smtp_sasl_mechanisms = PLAIN CRAM-MD5\n", 0,
	 "smtp_sasl_mechanisms: unknown mechanism \"CRAM-MD5\": expected "
	 "PLAIN or LOGIN"},
	{"smtp_sasl_mechanisms = ,\n", 0,
	 "smtp_sasl_mechanisms: empty: expected PLAIN and/or LOGIN"},
};
/* clang-format on */

static void
test_load_errors(void)
{
	char err[1024], want[1024];

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		int rc = load(c->text, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, -1);
		if (c->line > 0)
			snprintf(want, sizeof(want), "%s:%d: %s", conf_path,
				 c->line, c->msg);
		else
			snprintf(want, sizeof(want), "%s: %s", conf_path,
				 c->msg);
		CU_ASSERT_STRING_EQUAL(err, want);
		if (strcmp(err, want) != 0)
			fprintf(stderr,
				"\ncase %zu: got  \"%s\"\n"
				"         want \"%s\"\n",
				i, err, want);
	}
	config_defaults();
}

/* the same line test at the 4096-byte line buffer's edge */
static void
test_load_long_lines(void)
{
	char err[1024], want[1024];
	size_t n = 5000;
	char *text = malloc(n + 64);

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	/* 4094 bytes and a newline: the longest line accepted */
	memset(text, 0, n + 64);
	strcpy(text, "smtpd_banner = ");
	memset(text + strlen(text), 'b', 4094 - strlen(text));
	strcat(text, "\n");
	CU_ASSERT_EQUAL(load(text, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(strlen(cfg.smtpd_banner), 4094 - 15);

	/* 4095 bytes on line 2 */
	memset(text, 0, n + 64);
	strcpy(text, "verbose = no\nsmtpd_banner = ");
	memset(text + strlen(text), 'b', 13 + 4095 - strlen(text));
	strcat(text, "\nverbose = yes\n");
	CU_ASSERT_EQUAL(load(text, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: line longer than 4094 bytes",
		 conf_path);
	CU_ASSERT_STRING_EQUAL(err, want);

	/* a 5000-byte comment is still a line too long */
	memset(text, '#', n);
	text[n] = '\n';
	text[n + 1] = 0;
	CU_ASSERT_EQUAL(load(text, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:1: line longer than 4094 bytes",
		 conf_path);
	CU_ASSERT_STRING_EQUAL(err, want);

	/* continuation lines may not make a value longer than a line */
	memset(text, 0, n + 64);
	strcpy(text, "smtpd_banner = ");
	memset(text + strlen(text), 'b', 3000);
	strcat(text, "\n ");
	memset(text + strlen(text), 'c', 1500);
	strcat(text, "\n");
	CU_ASSERT_EQUAL(load(text, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: value longer than 4094 bytes",
		 conf_path);
	CU_ASSERT_STRING_EQUAL(err, want);
	free(text);
	config_defaults();
}

/*
 * More than CONFIG_LINES_MAX (10000) lines is refused; the message must
 * say so, not that a line is too long.
 */
static void
test_load_too_many_lines(void)
{
	size_t lines = 10001;
	char *text = malloc(lines * 2 + 1), err[1024], want[1024];

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (size_t i = 0; i < lines; i++)
		memcpy(text + 2 * i, "#\n", 2);
	text[lines * 2] = 0;
	CU_ASSERT_EQUAL(load(text, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:10001: ", conf_path);
	CU_ASSERT_EQUAL(strncmp(err, want, strlen(want)), 0);
	CU_ASSERT_PTR_NULL(strstr(err, "line longer than"));
	/* 10000 lines are fine */
	text[(lines - 1) * 2] = 0;
	CU_ASSERT_EQUAL(load(text, err, sizeof(err)), 0);
	free(text);
	config_defaults();
}

static void
test_load_missing_file(void)
{
	char err[512], path[600], want[700];

	unit_path(path, sizeof(path), tmpdir, "no-such.conf");
	CU_ASSERT_EQUAL(config_load(path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	CU_ASSERT_STRING_EQUAL(err, want);
	/* cfg still holds the defaults */
	CU_ASSERT_EQUAL(cfg.hop_count_limit, 100L);
	config_defaults();
}

static void
test_set(void)
{
	char err[256];

	config_defaults();
	CU_ASSERT_EQUAL(config_set("max_use", "5", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg.max_use, 5L);
	CU_ASSERT_EQUAL(config_set("nope", "5", err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "unknown key \"nope\"");
	CU_ASSERT_EQUAL(config_set("max_use", "0", err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(
	    err, "max_use: value \"0\" out of range [1..1000000]");
	CU_ASSERT_EQUAL(cfg.max_use, 5L); /* a refused value changes nothing */
	CU_ASSERT_EQUAL(config_set("mail_owner", "postman", err, sizeof(err)),
			0);
	CU_ASSERT_STRING_EQUAL(cfg.mail_owner, "postman");
	config_defaults();
}

/* A parser case: input, expected rc, expected value when rc is 0. */
struct num_case {
	const char *in;
	int rc;
	long out;
};

/* clang-format off */
static const struct num_case time_cases[] = {
	{"0", 0, 0},          {"300", 0, 300},     {"300s", 0, 300},
	{"5m", 0, 300},       {"4h", 0, 14400},    {"5d", 0, 432000},
	{"2w", 0, 1209600},   {"1S", 0, 1},        {"5M", 0, 300},
	{"1W", 0, 604800},    {"007", 0, 7},       {"", -1, 0},
	{"s", -1, 0},         {"5x", -1, 0},       {"5mm", -1, 0},
	{"5 m", -1, 0},       {" 5", -1, 0},       {"-5", -1, 0},
	{"+5", -1, 0},        {"5.5h", -1, 0},     {"0x10", -1, 0},
	{"9223372036854775807", 0, LONG_MAX},
	{"9223372036854775808", -1, 0},
	{"15250284452472w", -1, 0}, /* overflows when multiplied */
	{"15250284452471w", 0, 15250284452471L * 604800},
};

static const struct num_case size_cases[] = {
	{"0", 0, 0},          {"1048576", 0, 1048576},
	{"512k", 0, 524288},  {"50m", 0, 52428800},
	{"1g", 0, 1073741824}, {"2K", 0, 2048},
	{"3G", 0, 3221225472L}, {"1t", -1, 0},   {"1b", -1, 0},
	{"1s", -1, 0},        {"k", -1, 0},       {"", -1, 0},
	{"1kk", -1, 0},       {"-1k", -1, 0},     {"1 k", -1, 0},
	{"8589934592g", -1, 0}, /* 2^33 g overflows a long */
	{"8589934591g", 0, 8589934591L << 30},
};

static const struct num_case bool_cases[] = {
	{"yes", 0, 1},  {"YES", 0, 1},  {"true", 0, 1},  {"On", 0, 1},
	{"1", 0, 1},    {"no", 0, 0},   {"False", 0, 0}, {"off", 0, 0},
	{"0", 0, 0},    {"", -1, 0},    {"y", -1, 0},    {"2", -1, 0},
	{"yes ", -1, 0}, {"nope", -1, 0},
};
/* clang-format on */

static void
run_num_cases(const struct num_case *c, size_t n,
	      int (*parse)(const char *, long *), const char *what)
{
	for (size_t i = 0; i < n; i++) {
		long v = -12345;
		int rc = parse(c[i].in, &v);
		CU_ASSERT_EQUAL(rc, c[i].rc);
		if (rc == 0) {
			CU_ASSERT_EQUAL(v, c[i].out);
		} else {
			CU_ASSERT_EQUAL(v, -12345); /* untouched on error */
		}
		if (rc != c[i].rc || (rc == 0 && v != c[i].out))
			fprintf(stderr, "\n%s(\"%s\"): rc %d value %ld\n", what,
				c[i].in, rc, v);
	}
}

static void
test_parse_time(void)
{
	run_num_cases(time_cases, sizeof(time_cases) / sizeof(time_cases[0]),
		      config_parse_time, "config_parse_time");
}

static void
test_parse_size(void)
{
	run_num_cases(size_cases, sizeof(size_cases) / sizeof(size_cases[0]),
		      config_parse_size, "config_parse_size");
}

static void
test_parse_bool(void)
{
	run_num_cases(bool_cases, sizeof(bool_cases) / sizeof(bool_cases[0]),
		      config_parse_bool, "config_parse_bool");
}

static void
test_list(void)
{
	static const struct {
		const char *list, *item;
		int has;
	} cases[] = {
	    {"localhost", "localhost", 1},
	    {"localhost", "LocalHost", 1},
	    {"a.example, b.example\tc.example,,d.example", "c.example", 1},
	    {"a.example, b.example\tc.example,,d.example", "d.example", 1},
	    {"a.example, b.example", "example", 0},
	    {"a.example, b.example", "a.example,", 0},
	    {"a.example b.example", "", 0},
	    {"", "localhost", 0},
	    {" , ,\t", "", 0},
	    {"  x.example  ", "x.example", 1},
	};
	char item[64];
	const char *p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(config_list_has(cases[i].list, cases[i].item),
				cases[i].has);

	/* config_list_next walks the items in order */
	static const char *const want[] = {"a", "bb", "ccc", "d"};
	size_t n = 0;
	p = " a,bb\n\tccc ,, d ";
	while ((p = config_list_next(p, item, sizeof(item))) != NULL) {
		CU_ASSERT_FATAL(n < 4);
		CU_ASSERT_STRING_EQUAL(item, want[n]);
		n++;
	}
	CU_ASSERT_EQUAL(n, 4);
	/* an item longer than the buffer is cut, not overrun */
	p = config_list_next("abcdefgh", item, 4);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_STRING_EQUAL(item, "abc");

	/* the 64th entry of a list still counts */
	char list[64 * 8 + 16] = "";
	for (int k = 1; k <= CONFIG_LIST_MAX; k++) {
		char one[16];
		snprintf(one, sizeof(one), "d%d,", k);
		strcat(list, one);
	}
	CU_ASSERT_EQUAL(config_list_has(list, "d1"), 1);
	CU_ASSERT_EQUAL(config_list_has(list, "d64"), 1);

	/*
	 * An entry longer than a domain must not match its own prefix:
	 * "aaa...a" (300) does not hold "aaa...a" (255).
	 */
	char longlist[301], prefix[256];
	memset(longlist, 'a', 300);
	longlist[300] = 0;
	memset(prefix, 'a', 255);
	prefix[255] = 0;
	CU_ASSERT_EQUAL(config_list_has(longlist, prefix), 0);
}

/* print_to_string - config_print into a temporary file, read back. */
static char *
print_to_string(int only_changed)
{
	char path[600];
	int fd;
	char *s;

	unit_path(path, sizeof(path), tmpdir, "print.out");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	config_print(fd, only_changed);
	close(fd);
	s = unit_read_file(path, NULL);
	unlink(path);
	return s;
}

static int
count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* lines_well_formed - each line "key = value", no key twice; 0 if so. */
static int
lines_well_formed(const char *s)
{
	char seen[256][64];
	int n = 0;

	while (*s) {
		const char *nl = strchr(s, '\n'), *sp = strstr(s, " = ");
		size_t kl = sp ? (size_t)(sp - s) : 0;
		if (nl == NULL || sp == NULL || sp > nl || kl == 0 ||
		    kl >= sizeof(seen[0]) || n == 256)
			return -1;
		for (size_t i = 0; i < kl; i++)
			if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') ||
			      (s[i] >= '0' && s[i] <= '9')))
				return -1;
		memcpy(seen[n], s, kl);
		seen[n][kl] = 0;
		for (int i = 0; i < n; i++)
			if (strcmp(seen[i], seen[n]) == 0)
				return -1;
		n++;
		s = nl + 1;
	}
	return 0;
}

static void
test_print_all(void)
{
	char *s, err[512], path[600];

	config_defaults();
	s = print_to_string(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT(count_lines(s) >= 34); /* every key, once */
	CU_ASSERT_EQUAL(lines_well_formed(s), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "run_mode = root\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nmaillog_file = \n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nhop_count_limit = 100\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nsmtpd_timeout = 300s\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nmessage_size_limit = 52428800\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nlmdb_map_size = 16777216\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nmaildir_size_in_name = yes\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nverbose = no\n"));

	/* what config_print writes, config_load reads back unchanged */
	CU_ASSERT_EQUAL_FATAL(
	    config_set("smtpd_timeout", "7m", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(config_set("mydestination",
					 "a.example, "
					 "b.example",
					 err, sizeof(err)),
			      0);
	free(s);
	s = print_to_string(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	unit_path(path, sizeof(path), tmpdir, "round.conf");
	CU_ASSERT_EQUAL_FATAL(unit_write_file(path, s, strlen(s)), 0);
	config_defaults();
	CU_ASSERT_EQUAL(config_load(path, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg.smtpd_timeout, 420L);
	CU_ASSERT_STRING_EQUAL(cfg.mydestination, "a.example, b.example");
	char *again = print_to_string(0);
	CU_ASSERT_PTR_NOT_NULL(again);
	if (again != NULL)
		CU_ASSERT_STRING_EQUAL(again, s);
	free(again);
	free(s);
	unlink(path);
	config_defaults();
}

static void
test_print_changed(void)
{
	char *s, err[256];

	/* nothing changed from the defaults: nothing printed */
	config_defaults();
	s = print_to_string(1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "");
	if (*s)
		fprintf(stderr, "\nonly_changed after defaults printed:\n%s",
			s);
	free(s);

	CU_ASSERT_EQUAL(config_set("hop_count_limit", "60", err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(config_set("smtpd_banner", "hi", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_set("verbose", "yes", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(config_set("queue_run_delay", "2m", err, sizeof(err)),
			0);
	/* set to its default value: not a change */
	CU_ASSERT_EQUAL(config_set("smtpd_timeout", "5m", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(
	    config_set("myhostname", "mx.example.com", err, sizeof(err)), 0);
	s = print_to_string(1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "myhostname = mx.example.com\n"
				  "smtpd_banner = hi\n"
				  "hop_count_limit = 60\n"
				  "queue_run_delay = 120s\n"
				  "verbose = yes\n");
	free(s);
	config_defaults();
}

CU_ErrorCode
suite_config(void)
{
	CU_pSuite s = CU_add_suite("config", init, cleanup);

	if (s == NULL || !CU_add_test(s, "defaults", test_defaults) ||
	    !CU_add_test(s, "load a good file", test_load_good) ||
	    !CU_add_test(s, "load errors: file:line: message",
			 test_load_errors) ||
	    !CU_add_test(s, "over-long lines", test_load_long_lines) ||
	    !CU_add_test(s, "too many lines", test_load_too_many_lines) ||
	    !CU_add_test(s, "missing file", test_load_missing_file) ||
	    !CU_add_test(s, "config_set", test_set) ||
	    !CU_add_test(s, "time values", test_parse_time) ||
	    !CU_add_test(s, "size values", test_parse_size) ||
	    !CU_add_test(s, "boolean values", test_parse_bool) ||
	    !CU_add_test(s, "lists", test_list) ||
	    !CU_add_test(s, "config_print all", test_print_all) ||
	    !CU_add_test(s, "config_print only_changed", test_print_changed))
		return CU_get_error();
	return CUE_SUCCESS;
}
