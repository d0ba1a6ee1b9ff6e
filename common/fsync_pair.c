/*
 * fsync_pair.c - fsync a directory and a file in it at the same time.
 *
 * Why: on ext4 a directory's fsync commits the running journal
 * transaction, and a file's fsync made after that commit finds nothing
 * to commit but still sends the disk a cache flush of its own (the
 * commit it depends on is over, so jbd2 cannot promise it a barrier).
 * Made while that commit is still running, the file's fsync waits for
 * it and needs no flush.  So the file's fsync runs in a worker thread
 * started when the directory's begins: one commit and no extra flush
 * per message instead of a commit and a flush (the cleanup(8) hot path).
 * Both fsyncs are still made, and both must succeed, on every file
 * system; only their order is left open, which POSIX allows.
 *
 * Trusts: the descriptors it is given.  Never: returns before both
 * fsyncs have returned, or lets the worker take a signal (it blocks
 * them all, so that the main thread's handlers and EINTR work as
 * before).
 */
#include "fsync_pair.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

enum { IDLE, QUEUED, DONE, QUIT };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;
static int state = IDLE, job_fd = -1, job_rc, job_errno;
static int worker; /* 1 running, -1 could not be started */
static pthread_t worker_thread;

/* must - a mutex or condition call that cannot fail unless memory is
 * corrupt: then the process ends (master restarts it) */
static void
must(int rc, const char *what)
{
	if (rc != 0)
		log_fatal("fsync worker: %s: %s", what, strerror(rc));
}

static void *
run(void *arg)
{
	(void)arg; /* pthread's signature */
	for (;;) {
		int fd, rc, e;

		must(pthread_mutex_lock(&mu), "lock");
		while (state != QUEUED && state != QUIT)
			must(pthread_cond_wait(&go, &mu), "wait");
		if (state == QUIT) {
			must(pthread_mutex_unlock(&mu), "unlock");
			return NULL;
		}
		fd = job_fd;
		must(pthread_mutex_unlock(&mu), "unlock");
		rc = fsync(fd);
		e = errno;
		must(pthread_mutex_lock(&mu), "lock");
		job_rc = rc;
		job_errno = e;
		state = DONE;
		must(pthread_cond_signal(&done), "signal");
		must(pthread_mutex_unlock(&mu), "unlock");
	}
	return NULL;
}

/* stop - at exit: the worker ends and is joined, so that the process
 * exits with one thread (the leak check of a sanitizer build stops every
 * thread with ptrace, which failed on the waiting worker) */
static void
stop(void)
{
	if (pthread_equal(pthread_self(), worker_thread))
		return; /* the worker itself ends the process */
	must(pthread_mutex_lock(&mu), "lock");
	state = QUIT;
	must(pthread_cond_signal(&go), "signal");
	must(pthread_mutex_unlock(&mu), "unlock");
	must(pthread_join(worker_thread, NULL), "join");
}

/* start - the worker, with every signal blocked in it */
static void
start(void)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	if ((rc = pthread_sigmask(SIG_SETMASK, &all, &old)) != 0) {
		log_warn("fsync worker: sigmask: %s", strerror(rc));
		worker = -1;
		return;
	}
	rc = pthread_create(&worker_thread, NULL, run, NULL);
	if (pthread_sigmask(SIG_SETMASK, &old, NULL) != 0)
		log_fatal("fsync worker: cannot restore the signal mask");
	if (rc != 0) {
		log_warn("fsync worker: %s; fsyncs one after the other",
			 strerror(rc));
		worker = -1;
		return;
	}
	worker = 1;
	if (atexit(stop) != 0)
		log_warn("fsync worker: atexit failed; it ends with the "
			 "process");
}

int
fsync_pair(int dir, int fd)
{
	int rc, e, frc, fe;

	if (worker == 0)
		start();
	if (worker < 0)
		return fsync(dir) == 0 && fsync(fd) == 0 ? 0 : -1;
	must(pthread_mutex_lock(&mu), "lock");
	job_fd = fd;
	state = QUEUED;
	must(pthread_cond_signal(&go), "signal");
	must(pthread_mutex_unlock(&mu), "unlock");
	rc = fsync(dir);
	e = errno;
	must(pthread_mutex_lock(&mu), "lock");
	while (state != DONE)
		must(pthread_cond_wait(&done, &mu), "wait");
	state = IDLE;
	frc = job_rc;
	fe = job_errno;
	must(pthread_mutex_unlock(&mu), "unlock");
	if (rc != 0) {
		errno = e;
		return -1;
	}
	if (frc != 0) {
		errno = fe;
		return -1;
	}
	return 0;
}
