/*
 * test_fsutil.c - unit tests for common/fsutil.c.
 *
 * Covers: mkdir_p (nested, existing, trailing slash, umask, a file in the
 * way), write_all (files, a pipe far over its capacity, bad fd),
 * fsync_dir (a directory, a missing path, a file), rfc2822_date (its
 * shape, and exact text in fixed time zones), now_us.
 * Trusts: only the temporary directory it makes; POSIX TZ strings, so no
 * time zone database is needed.
 * Never: leaves TZ or the umask changed.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "suites.h"

static char tmpdir[256];

static int
init(void)
{
	return unit_tmpdir(tmpdir, sizeof(tmpdir), "fsutil");
}

static int
cleanup(void)
{
	return unit_rm_rf(tmpdir) == 0 ? 0 : -1;
}

static int
is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void
test_mkdir_p(void)
{
	char path[600], file[600];
	struct stat st;
	mode_t old;

	unit_path(path, sizeof(path), tmpdir, "a/b/c/d");
	CU_ASSERT_EQUAL(mkdir_p(path, 0755), 0);
	CU_ASSERT(is_dir(path));
	/* again: it exists, which is fine */
	CU_ASSERT_EQUAL(mkdir_p(path, 0755), 0);
	/* a trailing slash and doubled slashes */
	unit_path(path, sizeof(path), tmpdir, "x//y/z/");
	CU_ASSERT_EQUAL(mkdir_p(path, 0755), 0);
	unit_path(path, sizeof(path), tmpdir, "x/y/z");
	CU_ASSERT(is_dir(path));

	/* the mode, less the umask, on every level made */
	old = umask(022);
	unit_path(path, sizeof(path), tmpdir, "m1/m2");
	CU_ASSERT_EQUAL(mkdir_p(path, 0777), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0755);
	unit_path(path, sizeof(path), tmpdir, "m1");
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0755);
	unit_path(path, sizeof(path), tmpdir, "p1/p2");
	CU_ASSERT_EQUAL(mkdir_p(path, 0700), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0700);
	umask(old);

	/* a regular file in the way of a parent */
	unit_path(file, sizeof(file), tmpdir, "plainfile");
	CU_ASSERT_EQUAL_FATAL(unit_write_file(file, "x", 1), 0);
	unit_path(path, sizeof(path), tmpdir, "plainfile/sub");
	errno = 0;
	CU_ASSERT_EQUAL(mkdir_p(path, 0755), -1);
	CU_ASSERT_EQUAL(errno, ENOTDIR);
	/* a regular file where the directory should be is not a directory */
	errno = 0;
	CU_ASSERT_EQUAL(mkdir_p(file, 0755), -1);
	CU_ASSERT_NOT_EQUAL(errno, 0);

	/* nothing to make */
	errno = 0;
	CU_ASSERT_EQUAL(mkdir_p("", 0755), -1);
	/* a path too long for the buffer */
	char *longp = malloc(5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(longp);
	memset(longp, 'l', 4999);
	longp[0] = '/';
	longp[4999] = 0;
	errno = 0;
	CU_ASSERT_EQUAL(mkdir_p(longp, 0755), -1);
	CU_ASSERT_EQUAL(errno, ENAMETOOLONG);
	free(longp);
}

static void
test_write_all(void)
{
	enum { BIG = 1 << 20 }; /* 16 times a pipe's default capacity */
	char path[600];
	unsigned char *buf = malloc(BIG), *back;
	size_t n;
	int fd, p[2];

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	for (size_t i = 0; i < BIG; i++)
		buf[i] = (unsigned char)(i ^ (i >> 8));

	/* to a file */
	unit_path(path, sizeof(path), tmpdir, "written");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write_all(fd, buf, BIG), 0);
	CU_ASSERT_EQUAL(write_all(fd, buf, 0), 0);
	close(fd);
	back = (unsigned char *)unit_read_file(path, &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT_EQUAL(n, BIG);
	CU_ASSERT_EQUAL(memcmp(back, buf, BIG), 0);
	free(back);

	/* to a pipe: short writes; a child writes, we read */
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		_exit(write_all(p[1], buf, BIG) == 0 ? 0 : 1);
	}
	close(p[1]);
	back = malloc(BIG + 1); /* room to see a byte too many */
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	n = 0;
	while (n < BIG + 1) {
		ssize_t r = read(p[0], back + n, BIG + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(p[0]);
	int st;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_EQUAL(n, BIG);
	CU_ASSERT_EQUAL(memcmp(back, buf, BIG), 0);
	free(back);

	/* a bad descriptor, and a pipe nobody reads (SIGPIPE is ignored) */
	errno = 0;
	CU_ASSERT_EQUAL(write_all(-1, buf, 10), -1);
	CU_ASSERT_EQUAL(errno, EBADF);
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	close(p[0]);
	errno = 0;
	CU_ASSERT_EQUAL(write_all(p[1], buf, 10), -1);
	CU_ASSERT_EQUAL(errno, EPIPE);
	close(p[1]);
	free(buf);
}

static void
test_fsync_dir(void)
{
	char path[600];

	CU_ASSERT_EQUAL(fsync_dir(tmpdir), 0);
	CU_ASSERT_EQUAL(fsync_dir("."), 0);
	unit_path(path, sizeof(path), tmpdir, "no-such-dir");
	errno = 0;
	CU_ASSERT_EQUAL(fsync_dir(path), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	unit_path(path, sizeof(path), tmpdir, "a-file");
	CU_ASSERT_EQUAL_FATAL(unit_write_file(path, "", 0), 0);
	errno = 0;
	CU_ASSERT_EQUAL(fsync_dir(path), -1);
	CU_ASSERT_EQUAL(errno, ENOTDIR);
}

/* date_in - run rfc2822_date under a POSIX TZ, then put TZ back. */
static void
date_in(const char *tz, long t, char *out, size_t len)
{
	char *old = getenv("TZ"), saved[256];
	int had = old != NULL;

	if (had)
		snprintf(saved, sizeof(saved), "%s", old);
	setenv("TZ", tz, 1);
	tzset();
	rfc2822_date(t, out, len);
	if (had)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
}

static void
test_rfc2822_date(void)
{
	static const struct {
		const char *tz;
		long t;
		const char *want;
	} cases[] = {
	    {"UTC0", 0, "Thu, 1 Jan 1970 00:00:00 +0000"},
	    {"UTC0", 1234567890, "Fri, 13 Feb 2009 23:31:30 +0000"},
	    {"UTC0", 951782400, "Tue, 29 Feb 2000 00:00:00 +0000"},
	    {"UTC0", 1798761599, "Thu, 31 Dec 2026 23:59:59 +0000"},
	    {"<+0530>-5:30", 1234567890, "Sat, 14 Feb 2009 05:01:30 +0530"},
	    {"<-0330>3:30", 1234567890, "Fri, 13 Feb 2009 20:01:30 -0330"},
	    {"<-10>10", 0, "Wed, 31 Dec 1969 14:00:00 -1000"},
	    {"<+14>-14", 1234567890, "Sat, 14 Feb 2009 13:31:30 +1400"},
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		date_in(cases[i].tz, cases[i].t, out, sizeof(out));
		CU_ASSERT_STRING_EQUAL(out, cases[i].want);
	}

	/* now, in whatever zone the host has: the shape only */
	regex_t re;
	CU_ASSERT_EQUAL_FATAL(
	    regcomp(&re,
		    "^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [1-9][0-9]? "
		    "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
		    "[0-9]{4} [0-2][0-9]:[0-5][0-9]:[0-6][0-9] [+-][0-9]{4}$",
		    REG_EXTENDED | REG_NOSUB),
	    0);
	rfc2822_date((long)time(NULL), out, sizeof(out));
	CU_ASSERT_EQUAL(regexec(&re, out, 0, NULL, 0), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(regexec(&re, cases[i].want, 0, NULL, 0), 0);
	regfree(&re);

	/* a short buffer is cut and terminated, not overrun */
	char small[11];
	memset(small, 'Z', sizeof(small));
	date_in("UTC0", 0, small, 10);
	CU_ASSERT_STRING_EQUAL(small, "Thu, 1 Ja");
	CU_ASSERT_EQUAL(small[10], 'Z');
}

static void
test_now_us(void)
{
	long long a = now_us();
	long long t = (long long)time(NULL) * 1000000;
	long long b = now_us();

	CU_ASSERT(b >= a);
	/* within a few seconds of time(2): the unit is microseconds */
	CU_ASSERT(a > t - 5000000LL && a < t + 5000000LL);
}

CU_ErrorCode
suite_fsutil(void)
{
	CU_pSuite s = CU_add_suite("fsutil", init, cleanup);

	if (s == NULL || !CU_add_test(s, "mkdir_p", test_mkdir_p) ||
	    !CU_add_test(s, "write_all", test_write_all) ||
	    !CU_add_test(s, "fsync_dir", test_fsync_dir) ||
	    !CU_add_test(s, "rfc2822_date", test_rfc2822_date) ||
	    !CU_add_test(s, "now_us", test_now_us))
		return CU_get_error();
	return CUE_SUCCESS;
}
