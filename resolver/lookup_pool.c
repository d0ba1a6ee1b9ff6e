/*
 * lookup_pool.c - the threads of resolver(8) that wait on nameservers.
 *
 * ldns answers one query at a time and blocks until the answer or the
 * timeout (resolver_timeout, resolver_retries times more): one client
 * whose reverse zone never answers would hold every other lookup of the
 * process that long.  So the lookups run in resolver_threads threads,
 * each with its own ldns resolver (an ldns resolver keeps per-server
 * state and is not shared), while the main thread serves the clients
 * and the cache alone.  A job goes in with lookup_pool_submit and comes
 * back, answered, through a pipe the main thread polls.
 * Trusts: the jobs it is given (the main thread checked the names).
 * Never: touches the cache or a client; takes a signal (the main thread
 * does, its poll() must see EINTR).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "resolver.h"

#define POOL_STACK (256 * 1024) /* ldns needs little; many threads */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t more = PTHREAD_COND_INITIALIZER;
/* the queue: a ring of RESOLVER_JOBS_MAX, never fuller than the jobs
 * the main thread has (each client waits on one at most) */
static struct dns_job *queue[RESOLVER_JOBS_MAX];
static int head, queued;
static int done_pipe[2] = {-1, -1};

static void *
worker(void *arg)
{
	ldns_resolver *res = arg;

	for (;;) {
		struct dns_job *j;

		if (pthread_mutex_lock(&lock) != 0)
			log_fatal("lookup pool: mutex lock failed");
		while (queued == 0)
			if (pthread_cond_wait(&more, &lock) != 0)
				log_fatal("lookup pool: condition wait failed");
		j = queue[head];
		head = (head + 1) % RESOLVER_JOBS_MAX;
		queued--;
		if (pthread_mutex_unlock(&lock) != 0)
			log_fatal("lookup pool: mutex unlock failed");
		dns_lookup(res, j->name, j->type, &j->answer);
		/* a pointer is written whole: a pipe write under PIPE_BUF is
		 * atomic, and the pipe never holds more than RESOLVER_JOBS_MAX
		 * of them (far below its 64 KB) */
		if (write(done_pipe[1], &j, sizeof(j)) != (ssize_t)sizeof(j))
			log_fatal("lookup pool: done pipe: %m");
	}
	return NULL;
}

int
lookup_pool_start(int threads, const char *servers, const char *conf_text,
		  char *err, size_t errlen)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int rc = 0;

	if (pipe2(done_pipe, O_CLOEXEC) != 0 ||
	    fcntl(done_pipe[0], F_SETFL, O_NONBLOCK) != 0)
		return snprintf(err, errlen, "pipe: %s", strerror(errno)), -1;
	if (pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setstacksize(&attr, POOL_STACK) != 0 ||
	    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) != 0)
		return snprintf(err, errlen, "thread attributes"), -1;
	/* the threads start with every signal blocked, which they keep */
	if (sigfillset(&all) != 0 ||
	    pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
		return snprintf(err, errlen, "signal mask"), -1;
	for (int i = 0; i < threads && rc == 0; i++) {
		pthread_t t;
		ldns_resolver *res =
		    dns_resolver_new(servers, conf_text, err, errlen);
		if (res == NULL)
			rc = -1;
		else if ((rc = pthread_create(&t, &attr, worker, res)) != 0) {
			snprintf(err, errlen, "pthread_create: %s",
				 strerror(rc));
			ldns_resolver_deep_free(res);
			rc = -1;
		}
	}
	if (pthread_sigmask(SIG_SETMASK, &old, NULL) != 0 && rc == 0) {
		snprintf(err, errlen, "signal mask");
		rc = -1;
	}
	if (pthread_attr_destroy(&attr) != 0 && rc == 0) {
		snprintf(err, errlen, "thread attributes");
		rc = -1;
	}
	return rc;
}

void
lookup_pool_submit(struct dns_job *j)
{
	if (pthread_mutex_lock(&lock) != 0)
		log_fatal("lookup pool: mutex lock failed");
	if (queued == RESOLVER_JOBS_MAX)
		log_fatal("lookup pool: more than %d jobs", RESOLVER_JOBS_MAX);
	queue[(head + queued) % RESOLVER_JOBS_MAX] = j;
	queued++;
	if (pthread_cond_signal(&more) != 0 ||
	    pthread_mutex_unlock(&lock) != 0)
		log_fatal("lookup pool: condition signal failed");
}

int
lookup_pool_fd(void)
{
	return done_pipe[0];
}

struct dns_job *
lookup_pool_done(void)
{
	struct dns_job *j;
	ssize_t n = read(done_pipe[0], &j, sizeof(j));

	if (n == (ssize_t)sizeof(j))
		return j;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return NULL;
	log_fatal("lookup pool: done pipe: %s",
		  n < 0 ? strerror(errno) : "short read");
	return NULL;
}
