/*
 * test_fsync_pair.c - unit tests for common/fsync_pair.c.
 *
 * Covers: both fsyncs made and 0 returned for a directory and a file in
 * it (many times over, so a lost wake-up of the worker would hang the
 * run); -1 with EBADF when either descriptor is bad, the worker still
 * answering afterwards; the worker takes no signal (a handled SIGUSR1
 * reaches the main thread while fsync_pair runs in a loop).
 * Trusts: only the temporary directory it makes.
 * Never: leaves a signal handler installed.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fsync_pair.h"
#include "suites.h"

static char tmpdir[256];

static int
init(void)
{
	return unit_tmpdir(tmpdir, sizeof(tmpdir), "fsync_pair");
}

static int
cleanup(void)
{
	return unit_rm_rf(tmpdir) == 0 ? 0 : -1;
}

/* open_pair - tmpdir and a new file in it with a few bytes */
static int
open_pair(int *dir, int *fd)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/f", tmpdir);
	*dir = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	return *dir >= 0 && *fd >= 0 && write(*fd, "data\n", 5) == 5 ? 0 : -1;
}

static void
test_pair_ok(void)
{
	int dir, fd, bad = 0;

	CU_ASSERT_FATAL(open_pair(&dir, &fd) == 0);
	for (int i = 0; i < 200; i++) {
		if (write(fd, "more\n", 5) != 5 || fsync_pair(dir, fd) != 0)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	close(fd);
	close(dir);
}

static void
test_pair_errors(void)
{
	int dir, fd;

	CU_ASSERT_FATAL(open_pair(&dir, &fd) == 0);
	errno = 0;
	CU_ASSERT_EQUAL(fsync_pair(dir, 9999), -1);
	CU_ASSERT_EQUAL(errno, EBADF);
	errno = 0;
	CU_ASSERT_EQUAL(fsync_pair(9999, fd), -1);
	CU_ASSERT_EQUAL(errno, EBADF);
	/* the worker answers again after a failure */
	CU_ASSERT_EQUAL(fsync_pair(dir, fd), 0);
	close(fd);
	close(dir);
}

static volatile sig_atomic_t got_thread_ok, got_count;
static pthread_t main_thread;

static void
on_usr1(int sig)
{
	(void)sig; /* the handler's signature */
	got_count++;
	if (pthread_equal(pthread_self(), main_thread))
		got_thread_ok++;
}

static void
test_worker_takes_no_signal(void)
{
	struct sigaction sa, old;
	int dir, fd;

	CU_ASSERT_FATAL(open_pair(&dir, &fd) == 0);
	main_thread = pthread_self();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	CU_ASSERT_FATAL(sigaction(SIGUSR1, &sa, &old) == 0);
	got_thread_ok = got_count = 0;
	for (int i = 0; i < 50; i++) {
		CU_ASSERT(kill(getpid(), SIGUSR1) == 0);
		CU_ASSERT(fsync_pair(dir, fd) == 0);
	}
	CU_ASSERT(sigaction(SIGUSR1, &old, NULL) == 0);
	CU_ASSERT_EQUAL(got_count, 50);
	CU_ASSERT_EQUAL(got_thread_ok, 50);
	close(fd);
	close(dir);
}

CU_ErrorCode
suite_fsync_pair(void)
{
	CU_pSuite s = CU_add_suite("fsync_pair", init, cleanup);

	if (s == NULL || !CU_add_test(s, "both made", test_pair_ok) ||
	    !CU_add_test(s, "errors", test_pair_errors) ||
	    !CU_add_test(s, "no signal in the worker",
			 test_worker_takes_no_signal))
		return CU_get_error();
	return CUE_SUCCESS;
}
