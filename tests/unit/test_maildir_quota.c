/*
 * test_maildir_quota.c - unit tests for local/maildir_quota.c, the
 * Maildir++ "maildirsize" file.
 *
 * Covers: maildir_quota_parse over a table of files (definitions "S",
 * "C", both, in either order; sums of lines with Courier's padding and
 * Dovecot's negative lines; a last line without its newline ignored;
 * broken definitions, bad lines, NUL bytes and negative totals refused);
 * the definition written for each pair of limits; the quota root of a
 * Maildir and of a Maildir++ folder (with and without maildirfolder);
 * the recalculation (",S=" sizes, stat for names without it, folders
 * and Trash counted, files and dot names in the root skipped); and
 * maildir_quota_check / maildir_quota_add: a missing file is made with
 * the configured first line, a delivery appends "SIZE 1", a file of
 * 5120 bytes or more, one of another definition, an old one, and one
 * that says over quota with several lines are all made again from the
 * walk, while one fresh line that says over quota is believed; a
 * maildirsize that is a symbolic link is replaced, its target untouched.
 * Trusts: only the temporary directory it makes.
 * Never: leaves cfg changed for the suites after it.
 */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "../../local/local.h"
#include "config.h"
#include "fsutil.h"
#include "suites.h"

static char tmpdir[256];

static int
init(void)
{
	config_defaults();
	return unit_tmpdir(tmpdir, sizeof(tmpdir), "maildir_quota");
}

static int
cleanup(void)
{
	config_defaults();
	return unit_rm_rf(tmpdir) == 0 ? 0 : -1;
}

/* clang-format off */
/* a maildirsize and what it says (ok -1: refused as broken) */
struct parse_case {
	const char *text;
	int ok;
	long long lb, lc, bytes, count;
	int lines;
};

static const struct parse_case parse_cases[] = {
	{"1000000S\n", 0, 1000000, 0, 0, 0, 0},
	{"1000000S\n0 0\n", 0, 1000000, 0, 0, 0, 1},
	{"1000000S,1000C\n500 2\n300 1\n", 0, 1000000, 1000, 800, 3, 2},
	{"1000C,5000S\n10 1\n", 0, 5000, 1000, 10, 1, 1},
	{"1000C\n10 1\n", 0, 0, 1000, 10, 1, 1},
	{"0S\n7 1\n", 0, 0, 0, 7, 1, 1},
	/* Dovecot: a removal; Courier: lines padded to 14 bytes */
	{"2048S\n1300 1\n-1300 -1\n", 0, 2048, 0, 0, 0, 2},
	{"2048S\n      1300 1\n  100    1  \n", 0, 2048, 0, 1400, 2, 2},
	/* a line still being written is not counted */
	{"2048S\n100 1\n200", 0, 2048, 0, 100, 1, 1},
	/* mailbox_quota goes to LONG_MAX / 2 */
	{"4611686018427387903S\n0 0\n", 0, 4611686018427387903LL, 0, 0, 0, 1},
	/* empty lines are skipped */
	{"2048S\n100 1\n\n200 1\n", 0, 2048, 0, 300, 2, 2},
	/* broken */
	{"", -1, 0, 0, 0, 0, 0},
	{"1000000S", -1, 0, 0, 0, 0, 0},      /* no newline: no definition */
	{"\n0 0\n", -1, 0, 0, 0, 0, 0},
	{"1000000\n0 0\n", -1, 0, 0, 0, 0, 0},
	{"1000000X\n0 0\n", -1, 0, 0, 0, 0, 0},
	{"S\n0 0\n", -1, 0, 0, 0, 0, 0},
	{"100S,\n0 0\n", -1, 0, 0, 0, 0, 0},
	{"100S 10C\n0 0\n", -1, 0, 0, 0, 0, 0},
	{"-100S\n0 0\n", -1, 0, 0, 0, 0, 0},
	{"100S\nabc 1\n", -1, 0, 0, 0, 0, 0},
	{"100S\n100\n", -1, 0, 0, 0, 0, 0},
	{"100S\n100 1 5\n", -1, 0, 0, 0, 0, 0},
	{"100S\n100 1x\n", -1, 0, 0, 0, 0, 0},
	{"100S\n-100 -1\n", -1, 0, 0, 0, 0, 0},  /* negative sums */
	{"100S\n99999999999999999999 1\n", -1, 0, 0, 0, 0, 0},
	{"100S\n1000000000000001 1\n", -1, 0, 0, 0, 0, 0},
	{"9223372036854775807S\n0 0\n", -1, 0, 0, 0, 0, 0},
};
/* clang-format on */

static void
test_parse_table(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	     i++) {
		const struct parse_case *c = &parse_cases[i];
		struct maildir_quota q;
		int rc = maildir_quota_parse(c->text, strlen(c->text), &q);
		if (rc != c->ok) {
			fprintf(stderr, "\ncase %zu \"%s\": %d\n", i, c->text,
				rc);
			CU_FAIL("maildir_quota_parse result");
			continue;
		}
		if (rc != 0)
			continue;
		CU_ASSERT_EQUAL(q.limit_bytes, c->lb);
		CU_ASSERT_EQUAL(q.limit_count, c->lc);
		CU_ASSERT_EQUAL(q.bytes, c->bytes);
		CU_ASSERT_EQUAL(q.count, c->count);
		CU_ASSERT_EQUAL(q.lines, c->lines);
	}
}

static void
test_parse_nul(void)
{
	static const char text[] = "100S\n10 1\n\0 1\n";
	struct maildir_quota q;

	CU_ASSERT_EQUAL(maildir_quota_parse(text, sizeof(text) - 1, &q), -1);
}

static void
test_definition(void)
{
	char out[64];

	CU_ASSERT_EQUAL(maildir_quota_definition(out, sizeof(out), 1000, 0), 0);
	CU_ASSERT_STRING_EQUAL(out, "1000S");
	CU_ASSERT_EQUAL(maildir_quota_definition(out, sizeof(out), 1000, 10),
			0);
	CU_ASSERT_STRING_EQUAL(out, "1000S,10C");
	CU_ASSERT_EQUAL(maildir_quota_definition(out, sizeof(out), 0, 10), 0);
	CU_ASSERT_STRING_EQUAL(out, "10C");
	CU_ASSERT_EQUAL(maildir_quota_definition(out, 5, 1000, 10), -1);
}

/* put - a file at dir/name holding text; 0 on success */
static int
put(const char *dir, const char *name, const char *text)
{
	char p[700];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return -1;
	int rc = write_all(fd, text, strlen(text));
	return close(fd) | rc;
}

/* get - the text of dir/name (at most len - 1 bytes); -1 when absent */
static int
get(const char *dir, const char *name, char *out, size_t len)
{
	char p[700];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((fd = open(p, O_RDONLY)) < 0)
		return -1;
	n = read(fd, out, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	out[n] = 0;
	return 0;
}

/* maildir - a fresh Maildir (tmp, new, cur) at tmpdir/name */
static void
maildir(char *out, size_t len, const char *name)
{
	char p[700];

	snprintf(out, len, "%s/%s", tmpdir, name);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", out,
			 i == 0	  ? "tmp"
			 : i == 1 ? "new"
				  : "cur");
		CU_ASSERT_EQUAL_FATAL(mkdir_p(p, 0700), 0);
	}
}

static void
test_root(void)
{
	char md[600], folder[700], out[800];

	maildir(md, sizeof(md), "root/Maildir");
	snprintf(folder, sizeof(folder), "%s/.Lists", md);
	CU_ASSERT_EQUAL_FATAL(mkdir_p(folder, 0700), 0);
	CU_ASSERT_EQUAL(maildir_quota_root(md, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, md);
	/* a dot directory without maildirfolder is a Maildir of its own */
	CU_ASSERT_EQUAL(maildir_quota_root(folder, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, folder);
	CU_ASSERT_EQUAL_FATAL(put(folder, "maildirfolder", ""), 0);
	CU_ASSERT_EQUAL(maildir_quota_root(folder, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, md);
	strcat(folder, "/");
	CU_ASSERT_EQUAL(maildir_quota_root(folder, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, md);
	CU_ASSERT_EQUAL(maildir_quota_root(md, out, 4), -1);
}

/* fill - the walk's test Maildir: sizes in names, one without, a
 * folder, Trash, and things in the root that are not folders */
static void
fill(char *md, size_t len)
{
	char p[800];

	maildir(md, len, "walk/Maildir");
	CU_ASSERT_EQUAL(put(md, "new/1.M1P1.h,S=100", "x"), 0);
	CU_ASSERT_EQUAL(put(md, "cur/2.M1P1.h,S=200:2,S", "x"), 0);
	CU_ASSERT_EQUAL(put(md, "cur/3.M1P1.h,S=300,W=310:2,", "x"), 0);
	CU_ASSERT_EQUAL(put(md, "cur/4.M1P1.h:2,", "12345"), 0);  /* stat */
	CU_ASSERT_EQUAL(put(md, "cur/5.M1P1.h,S=12x", "123"), 0); /* stat */
	CU_ASSERT_EQUAL(put(md, "tmp/6.M1P1.h,S=1000", "x"), 0);  /* no */
	CU_ASSERT_EQUAL(put(md, ".hidden_file", "x"), 0);
	CU_ASSERT_EQUAL(put(md, "dovecot-uidlist", "x"), 0);
	snprintf(p, sizeof(p), "%s/.Lists/cur", md);
	CU_ASSERT_EQUAL(mkdir_p(p, 0700), 0);
	CU_ASSERT_EQUAL(put(md, ".Lists/cur/7.M1P1.h,S=1000:2,S", "x"), 0);
	CU_ASSERT_EQUAL(put(md, ".Lists/maildirfolder", ""), 0);
	snprintf(p, sizeof(p), "%s/.Trash/new", md);
	CU_ASSERT_EQUAL(mkdir_p(p, 0700), 0);
	CU_ASSERT_EQUAL(put(md, ".Trash/new/8.M1P1.h,S=4000", "x"), 0);
	snprintf(p, sizeof(p), "%s/notafolder/cur", md);
	CU_ASSERT_EQUAL(mkdir_p(p, 0700), 0);
	CU_ASSERT_EQUAL(put(md, "notafolder/cur/9.M1P1.h,S=9", "x"), 0);
}

#define WALK_BYTES (100 + 200 + 300 + 5 + 3 + 1000 + 4000)
#define WALK_COUNT 7

static void
test_recalc(void)
{
	char md[600], text[256];
	struct maildir_quota q;

	cfg.mailbox_quota = 100000;
	cfg.mailbox_quota_count = 50;
	fill(md, sizeof(md));
	CU_ASSERT_EQUAL(maildir_quota_recalc(md, &q), 0);
	CU_ASSERT_EQUAL(q.bytes, WALK_BYTES);
	CU_ASSERT_EQUAL(q.count, WALK_COUNT);
	CU_ASSERT_EQUAL(get(md, "maildirsize", text, sizeof(text)), 0);
	snprintf(md, sizeof(md), "100000S,50C\n%d %d\n", WALK_BYTES,
		 WALK_COUNT);
	CU_ASSERT_STRING_EQUAL(text, md);
	config_defaults();
}

/* names that claim huge sizes: the sum stops where the file still
 * reads back */
static void
test_recalc_capped(void)
{
	char md[600], text[256];
	struct maildir_quota q;

	cfg.mailbox_quota = 1000;
	maildir(md, sizeof(md), "cap/Maildir");
	CU_ASSERT_EQUAL(put(md, "new/1.M1P1.h,S=999999999999999", "x"), 0);
	CU_ASSERT_EQUAL(put(md, "new/2.M1P1.h,S=999999999999999", "x"), 0);
	CU_ASSERT_EQUAL(maildir_quota_recalc(md, &q), 0);
	CU_ASSERT_EQUAL(q.bytes, 1000000000000000LL);
	CU_ASSERT_EQUAL(q.count, 2);
	CU_ASSERT_EQUAL(get(md, "maildirsize", text, sizeof(text)), 0);
	CU_ASSERT_EQUAL(maildir_quota_parse(text, strlen(text), &q), 0);
	config_defaults();
}

/* set_mtime - dir/name's times ago seconds back */
static int
set_mtime(const char *dir, const char *name, long ago)
{
	struct timeval tv[2];
	char p[700];

	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= ago;
	tv[1] = tv[0];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return utimes(p, tv);
}

static void
test_check_and_add(void)
{
	char md[600], text[6000], want[128], link[700];
	struct result r;

	cfg.mailbox_quota = 1000;
	maildir(md, sizeof(md), "check/Maildir");
	CU_ASSERT_EQUAL(put(md, "new/1.M1P1.h,S=300", "x"), 0);
	/* missing: made from the walk, with the configured definition */
	CU_ASSERT_EQUAL(maildir_quota_check(md, 500, 0, 0, &r), 0);
	CU_ASSERT_EQUAL(get(md, "maildirsize", text, sizeof(text)), 0);
	CU_ASSERT_STRING_EQUAL(text, "1000S\n300 1\n");
	maildir_quota_add(md, 500);
	CU_ASSERT_EQUAL(get(md, "maildirsize", text, sizeof(text)), 0);
	CU_ASSERT_STRING_EQUAL(text, "1000S\n300 1\n500 1\n");
	/* over quota by the file's sums with two lines: counted again;
	 * the 500 never reached new/, so 400 more fit after all */
	CU_ASSERT_EQUAL(maildir_quota_check(md, 400, 0, 0, &r), 0);
	CU_ASSERT_EQUAL(get(md, "maildirsize", text, sizeof(text)), 0);
	CU_ASSERT_STRING_EQUAL(text, "1000S\n300 1\n");
	/* what this process has not renamed yet counts too */
	CU_ASSERT_EQUAL(maildir_quota_check(md, 100, 650, 1, &r), 1);
	CU_ASSERT_EQUAL(r.code, 4);
	CU_ASSERT_STRING_EQUAL(r.dsn, "4.2.2");
	CU_ASSERT_STRING_EQUAL(r.text, "mailbox full: 950 bytes used, quota "
				       "1000");
	/* one fresh line that says full is believed without a walk */
	CU_ASSERT_EQUAL(put(md, "maildirsize", "1000S\n990 1\n"), 0);
	CU_ASSERT_EQUAL(maildir_quota_check(md, 100, 0, 0, &r), 1);
	CU_ASSERT_STRING_EQUAL(r.text, "mailbox full: 990 bytes used, quota "
				       "1000");
	/* the same line 15 minutes old is not */
	CU_ASSERT_EQUAL(set_mtime(md, "maildirsize", 15 * 60 + 5), 0);
	CU_ASSERT_EQUAL(maildir_quota_check(md, 100, 0, 0, &r), 0);
	CU_ASSERT_EQUAL(get(md, "maildirsize", text, sizeof(text)), 0);
	CU_ASSERT_STRING_EQUAL(text, "1000S\n300 1\n");
	/* mailbox_quota_bounce: 5.2.2 */
	cfg.mailbox_quota_bounce = 1;
	CU_ASSERT_EQUAL(maildir_quota_check(md, 800, 0, 0, &r), 1);
	CU_ASSERT_EQUAL(r.code, 5);
	CU_ASSERT_STRING_EQUAL(r.dsn, "5.2.2");
	cfg.mailbox_quota_bounce = 0;
	/* another definition: made again with ours */
	cfg.mailbox_quota_count = 1;
	CU_ASSERT_EQUAL(maildir_quota_check(md, 10, 0, 0, &r), 1);
	CU_ASSERT_STRING_EQUAL(r.dsn, "4.2.2");
	CU_ASSERT_STRING_EQUAL(r.text, "mailbox full: 1 messages, quota 1 "
				       "messages");
	CU_ASSERT_EQUAL(get(md, "maildirsize", text, sizeof(text)), 0);
	CU_ASSERT_STRING_EQUAL(text, "1000S,1C\n300 1\n");
	cfg.mailbox_quota_count = 0;
	/* 5120 bytes or more: made again, whatever it says */
	size_t n = (size_t)snprintf(text, sizeof(text), "1000S\n");
	while (n < 5120)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "0 0\n");
	CU_ASSERT_EQUAL(put(md, "maildirsize", text), 0);
	CU_ASSERT_EQUAL(maildir_quota_check(md, 10, 0, 0, &r), 0);
	CU_ASSERT_EQUAL(get(md, "maildirsize", text, sizeof(text)), 0);
	CU_ASSERT_STRING_EQUAL(text, "1000S\n300 1\n");
	/* broken: made again */
	CU_ASSERT_EQUAL(put(md, "maildirsize", "1000S\nfoo\n"), 0);
	CU_ASSERT_EQUAL(maildir_quota_check(md, 10, 0, 0, &r), 0);
	CU_ASSERT_EQUAL(get(md, "maildirsize", text, sizeof(text)), 0);
	snprintf(want, sizeof(want), "1000S\n300 1\n");
	CU_ASSERT_STRING_EQUAL(text, want);
	/* a symbolic link is not followed: replaced, its target kept */
	CU_ASSERT_EQUAL(put(md, "target", "1000S\n0 0\n"), 0);
	snprintf(link, sizeof(link), "%s/maildirsize", md);
	CU_ASSERT_EQUAL(unlink(link), 0);
	CU_ASSERT_EQUAL(symlink("target", link), 0);
	maildir_quota_add(md, 77);
	CU_ASSERT_EQUAL(maildir_quota_check(md, 10, 0, 0, &r), 0);
	CU_ASSERT_EQUAL(get(md, "target", text, sizeof(text)), 0);
	CU_ASSERT_STRING_EQUAL(text, "1000S\n0 0\n");
	CU_ASSERT_EQUAL(get(md, "maildirsize", text, sizeof(text)), 0);
	CU_ASSERT_STRING_EQUAL(text, "1000S\n300 1\n");
	/* nothing left in tmp/ */
	CU_ASSERT_EQUAL(rmdir(strcat(md, "/tmp")), 0);
	config_defaults();
}

static void
test_add_without_file(void)
{
	char md[600], text[64];

	cfg.mailbox_quota = 1000;
	maildir(md, sizeof(md), "nofile/Maildir");
	maildir_quota_add(md, 10); /* made by the next check, not here */
	CU_ASSERT_EQUAL(get(md, "maildirsize", text, sizeof(text)), -1);
	config_defaults();
}

CU_ErrorCode
suite_maildir_quota(void)
{
	CU_pSuite s = CU_add_suite("maildir_quota", init, cleanup);

	if (s == NULL ||
	    !CU_add_test(s, "maildirsize parse table", test_parse_table) ||
	    !CU_add_test(s, "maildirsize with NUL", test_parse_nul) ||
	    !CU_add_test(s, "quota definition", test_definition) ||
	    !CU_add_test(s, "quota root", test_root) ||
	    !CU_add_test(s, "recalculation walk", test_recalc) ||
	    !CU_add_test(s, "walk with huge sizes", test_recalc_capped) ||
	    !CU_add_test(s, "check and add", test_check_and_add) ||
	    !CU_add_test(s, "add without maildirsize", test_add_without_file))
		return CU_get_error();
	return CUE_SUCCESS;
}
