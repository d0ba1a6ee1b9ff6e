/*
 * test_stats.c - unit tests for common/stats.c and common/log_level.c.
 *
 * Covers: a counter file made, mapped, counted into (also from a child
 * process, as daemons do) and read back with its "since"; a second
 * create resets it; files that are not counter files are refused (by
 * the reader and by a daemon, which then counts nothing); the shared log
 * level seen by a read-only follower when master changes it.
 * Trusts: only the temporary directory it makes.
 * Never: leaves the process following a log level file.
 */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#include "log.h"
#include "log_level.h"
#include "stats.h"
#include "suites.h"

static char tmpdir[256];

static int
init(void)
{
	return unit_tmpdir(tmpdir, sizeof(tmpdir), "stats");
}

static int
cleanup(void)
{
	return unit_rm_rf(tmpdir) == 0 ? 0 : -1;
}

static void
test_count_and_read(void)
{
	char path[512];
	uint64_t v[ST_COUNT];
	int64_t since = 0;
	time_t before = time(NULL);
	pid_t pid;
	int status;

	unit_path(path, sizeof(path), tmpdir, "stats");
	CU_ASSERT_EQUAL_FATAL(stats_create(path, -1), 0);
	stats_attach(path);
	stats_inc(ST_SMTPD_CONNECT);
	stats_inc(ST_SMTPD_CONNECT);
	stats_inc(ST_QMGR_DELIVERED);
	stats_inc(ST_COUNT); /* out of range: nothing */
	/* another process's adds land in the same file */
	if ((pid = fork()) == 0) {
		stats_inc(ST_REJECT_RELAY);
		_exit(0);
	}
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_EQUAL(stats_read(path, v, ST_COUNT, &since), 0);
	CU_ASSERT_EQUAL(v[ST_SMTPD_CONNECT], 2);
	CU_ASSERT_EQUAL(v[ST_QMGR_DELIVERED], 1);
	CU_ASSERT_EQUAL(v[ST_REJECT_RELAY], 1);
	CU_ASSERT_EQUAL(v[ST_QMGR_BOUNCED], 0);
	CU_ASSERT(since >= before && since <= time(NULL));
	/* a reader of another layout is refused, not misled */
	CU_ASSERT_EQUAL(stats_read(path, v, ST_COUNT - 1, &since), -1);
	/* a new start: a new file, counters at zero; the old mapping
	 * counts into the old inode only */
	CU_ASSERT_EQUAL(stats_create(path, -1), 0);
	stats_inc(ST_SMTPD_CONNECT);
	CU_ASSERT_EQUAL(stats_read(path, v, ST_COUNT, &since), 0);
	CU_ASSERT_EQUAL(v[ST_SMTPD_CONNECT], 0);
}

static void
test_not_a_counter_file(void)
{
	char path[512];
	uint64_t v[ST_COUNT];
	int64_t since;
	FILE *f;

	unit_path(path, sizeof(path), tmpdir, "other");
	CU_ASSERT_FATAL((f = fopen(path, "w")) != NULL);
	for (size_t i = 0; i < STATS_SIZE; i++)
		fputc('x', f);
	CU_ASSERT_EQUAL(fclose(f), 0);
	CU_ASSERT_EQUAL(stats_read(path, v, ST_COUNT, &since), -1);
	unit_path(path, sizeof(path), tmpdir, "missing");
	CU_ASSERT_EQUAL(stats_read(path, v, ST_COUNT, &since), -1);
}

static void
test_names(void)
{
	for (int i = 0; i < ST_COUNT; i++) {
		CU_ASSERT_PTR_NOT_NULL(stat_names[i].group);
		CU_ASSERT_PTR_NOT_NULL(stat_names[i].key);
		CU_ASSERT_PTR_NOT_NULL(stat_names[i].text);
		/* a group's counters together: --json makes one object each */
		for (int j = i + 2; stat_names[i].group && j < ST_COUNT; j++)
			if (strcmp(stat_names[i].group, stat_names[j].group) ==
			    0)
				CU_ASSERT_STRING_EQUAL(stat_names[j - 1].group,
						       stat_names[i].group);
	}
}

static void
test_log_level(void)
{
	char path[512];

	unit_path(path, sizeof(path), tmpdir, "log_level");
	CU_ASSERT_EQUAL_FATAL(log_level_create(path, 0), 0);
	CU_ASSERT_EQUAL(log_level_get(), 0);
	CU_ASSERT_EQUAL(log_level_set(1), 0);
	CU_ASSERT_EQUAL(log_level_get(), 1);
	/* a follower (as a daemon: read-only) sees the change */
	int fd = open(path, O_RDONLY);
	char b = 0;
	CU_ASSERT(fd >= 0 && pread(fd, &b, 1, 0) == 1 && b == '1');
	CU_ASSERT_EQUAL(log_level_set(0), 0);
	CU_ASSERT(pread(fd, &b, 1, 0) == 1 && b == '0');
	close(fd);
	log_level_attach(path);
	CU_ASSERT_EQUAL(log_level_get(), 0);
	log_follow(NULL); /* back to the process's own flag */
}

CU_ErrorCode
suite_stats(void)
{
	CU_pSuite s = CU_add_suite("stats", init, cleanup);

	if (s == NULL ||
	    !CU_add_test(s, "count_and_read", test_count_and_read) ||
	    !CU_add_test(s, "not_a_counter_file", test_not_a_counter_file) ||
	    !CU_add_test(s, "names", test_names) ||
	    !CU_add_test(s, "log_level", test_log_level))
		return CU_get_error();
	return CUE_SUCCESS;
}
