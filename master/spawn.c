/*
 * spawn.c - start, track and reap the children of master(8).
 *
 * A child gets its service's listening socket as fd 3 and the status pipe
 * as fd 4 and reports idle/busy through it; a session service's listener
 * also gets its request pipe as fd 5 (sessions.c).  The sessions it forks
 * are master's children too and are tracked here (a pid hash: thousands
 * of them).  A child that dies of a signal
 * or with a non-zero status throttles its service: no new child for a
 * back-off that doubles up to MASTER_BACKOFF_MAX seconds.
 * Trusts: the status messages only as hints (a pid it does not know is
 * ignored).  Never: passes any other descriptor to a child; reaps a child
 * before reading the reports already on the status pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "master.h"

static struct child *children;
static int stopping; /* SIGTERM from us is not a crash */
static int status_wfd = -1;
static int status_rfd = -1;
static int nchildren;

struct child *
spawn_children(void)
{
	return children;
}

void
spawn_set_status_fd(int fd)
{
	status_wfd = fd;
}

void
spawn_set_status_rfd(int fd)
{
	status_rfd = fd;
}

#define CHILD_HASH 4096 /* buckets: thousands of sessions are children */
static struct child *child_hash[CHILD_HASH];

static struct child **
bucket(pid_t pid)
{
	return &child_hash[(unsigned)pid % CHILD_HASH];
}

struct child *
spawn_find(pid_t pid)
{
	struct child *c = *bucket(pid);

	while (c && c->pid != pid)
		c = c->hnext;
	return c;
}

int
spawn_total(void)
{
	return nchildren;
}

/* child_link - into the list and the hash; nchildren counts it */
static void
child_link(struct child *c)
{
	struct child **b = bucket(c->pid);

	c->prev = NULL;
	c->next = children;
	if (children)
		children->prev = c;
	children = c;
	c->hnext = *b;
	*b = c;
	nchildren++;
}

static void
child_unlink(struct child *c)
{
	struct child **pp = bucket(c->pid);

	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
	if (c->prev)
		c->prev->next = c->next;
	else
		children = c->next;
	if (c->next)
		c->next->prev = c->prev;
	nchildren--;
}

/* spawn_add - a child master did not fork itself: a session, which its
 * listener cloned with master as its parent */
struct child *
spawn_add(pid_t pid, int svc, int role)
{
	struct child *c = calloc(1, sizeof(*c));

	if (c == NULL)
		log_fatal("out of memory tracking pid %d", (int)pid);
	c->pid = pid;
	c->svc = svc;
	c->role = role;
	c->req_fd = -1;
	child_link(c);
	return c;
}

/* exec_child - in the child: arrange fds 3 and 4 (and a listener's
 * request pipe, 5) and exec the program. */
static void
exec_child(struct svc_state *s, int req_fd)
{
	char path[4096];
	char *argv[8];
	int i = 0;

	/* own process group: a terminal's Ctrl-C reaches master alone,
	 * which then stops the children in order */
	if (setpgid(0, 0) != 0 || dup2(s->listen_fd, SERVICE_LISTEN_FD) < 0 ||
	    dup2(status_wfd, SERVICE_STATUS_FD) < 0 ||
	    (req_fd >= 0 && dup2(req_fd, SERVICE_REQUEST_FD) < 0))
		_exit(127);
	for (int fd = req_fd >= 0 ? SERVICE_REQUEST_FD + 1
				  : SERVICE_STATUS_FD + 1; fd < 1024; fd++)
		close(fd); /* nothing else of master's reaches a child */
	/* SIGHUP stays blocked until service_init() has its handler: a
	 * stop or reload must not kill a child that is still starting */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	/* handlers reset first, then the mask opened (but for SIGHUP):
	 * a SIGTERM that came in the meantime now ends this child */
	sigset_t hup;
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	sigprocmask(SIG_SETMASK, &hup, NULL);
	/* a role runs its program under the service's name (argv[0]) */
	snprintf(path, sizeof(path), "%s/%s", cfg.daemon_directory,
		 service_program(s->def));
	argv[i++] = (char *)s->def->name;
	argv[i++] = "-c";
	argv[i++] = config_file;
	if (master_log_stderr) {
		argv[i++] = "-l";
		argv[i++] = "stderr";
	}
	argv[i] = NULL;
	execv(path, argv);
	log_error("exec %s: %m", path);
	_exit(127);
}

void
spawn_child(int svc)
{
	struct svc_state *s = &services[svc];
	struct child *c;
	pid_t pid;
	int req[2] = {-1, -1}; /* a listener's request pipe */

	if (nchildren >= MASTER_MAX_CHILDREN) {
		log_warn("%s: total process ceiling %d reached", s->def->name,
			 MASTER_MAX_CHILDREN);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("out of memory starting %s", s->def->name);
		return;
	}
	if (service_fork_sessions(s->def) && sessions_request_pipe(req) != 0) {
		free(c);
		s->throttle_until = now_us() + 1000000;
		return;
	}
	/* signals blocked across fork: one that arrives before the child
	 * has reset its handlers stays pending instead of running master's
	 * handler in the child (where a stop would be lost) */
	sigset_t all, old;
	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, &old) != 0)
		log_fatal("sigprocmask: %m");
	if ((pid = fork()) < 0) {
		log_warn("fork for %s: %m", s->def->name);
		free(c);
		if (req[0] >= 0) {
			close(req[0]);
			close(req[1]);
		}
		s->throttle_until = now_us() + 1000000;
		if (sigprocmask(SIG_SETMASK, &old, NULL) != 0)
			log_fatal("sigprocmask: %m");
		return;
	}
	if (pid == 0)
		exec_child(s, req[0]);
	if (sigprocmask(SIG_SETMASK, &old, NULL) != 0)
		log_fatal("sigprocmask: %m");
	c->pid = pid;
	c->svc = svc;
	c->req_fd = -1;
	if (req[0] >= 0) {
		if (close(req[0]) != 0)
			log_fatal("close: %m");
		c->role = CHILD_LISTENER;
		c->req_fd = req[1];
		sessions_started(c);
	}
	child_link(c);
	s->count++;
	s->starting++;
	log_debug("started %s pid %d", s->def->name, (int)pid);
}

/* child_gone - account for a reaped child and throttle on a crash. */
static void
child_gone(struct child *c, int status)
{
	struct svc_state *s = &services[c->svc];
	int crashed = 1, benign = sessions_gone(c, status);

	s->count--;
	if (!c->reported)
		s->starting--;
	else if (c->idle)
		s->idle--;
	if (stopping || benign)
		crashed = 0;
	else if (WIFSIGNALED(status))
		log_warn("process %s/%s pid %d killed by signal %d",
			 cfg.daemon_directory, service_program(s->def), (int)c->pid,
			 WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		log_warn("process %s/%s pid %d exit status %d",
			 cfg.daemon_directory, service_program(s->def), (int)c->pid,
			 WEXITSTATUS(status));
	else
		crashed = 0;
	if (crashed) {
		s->restarts++;
		s->backoff = s->backoff ? s->backoff * 2
					: cfg.service_restart_delay;
		if (s->backoff > MASTER_BACKOFF_MAX)
			s->backoff = MASTER_BACKOFF_MAX;
		s->throttle_until = now_us() + (long long)s->backoff * 1000000;
		log_warn("%s: service throttled for %lds after a crash",
			 s->def->name, s->backoff);
	} else
		s->backoff = 0;
}

static void
reap_one(pid_t pid, int status)
{
	struct child *c = spawn_find(pid);

	if (c == NULL)
		return; /* a session whose listener died before reporting it:
			   it exited without serving anyone */
	child_unlink(c);
	child_gone(c, status);
	free(c);
}

void
spawn_reap(void)
{
	int status;
	pid_t pid;

	/* a listener reports each session before the session may run, so
	 * reading the reports first means no session is reaped unknown */
	if (status_rfd >= 0)
		spawn_status(status_rfd);

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		reap_one(pid, status);
}

/* spawn_status - read idle/busy reports from the status pipe. */
void
spawn_status(int fd)
{
	struct service_msg m;
	ssize_t n;

	while ((n = read(fd, &m, sizeof(m))) == sizeof(m)) {
		struct child *c = spawn_find(m.pid);
		if (c == NULL)
			continue;
		if (m.status == SERVICE_SESSION || m.status == SERVICE_DONE ||
		    m.status == SERVICE_SPARE) {
			sessions_report(c, &m);
			continue;
		}
		struct svc_state *s = &services[c->svc];
		if (!c->reported) {
			c->reported = 1;
			s->starting--;
			sessions_ready(c);
		} else if (c->idle)
			s->idle--;
		c->idle = m.status == SERVICE_IDLE;
		if (c->idle)
			s->idle++;
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_fatal("status pipe: %m");
}

static void
signal_all(int sig)
{
	for (struct child *c = children; c; c = c->next)
		if (kill(c->pid, sig) != 0 && errno != ESRCH)
			log_warn("kill %d: %m", (int)c->pid);
}

void
spawn_hup_all(void)
{
	for (int i = 0; i < nservices; i++)
		sessions_retire(&services[i]); /* a new one reads the config */
	signal_all(SIGHUP);
}

int
spawn_signal_kind(enum service_kind kind, int sig)
{
	int n = 0;

	for (struct child *c = children; c; c = c->next) {
		if (services[c->svc].def->kind != kind)
			continue;
		if (kill(c->pid, sig) != 0 && errno != ESRCH)
			log_warn("kill %d: %m", (int)c->pid);
		n++;
	}
	return n;
}

/* spawn_stop_all - after the drain (master.c): the network sessions
 * still open are past shutdown_timeout and killed; the back end gets
 * SIGTERM (what it acknowledged is on disk), SIGKILL after 10 s. */
void
spawn_stop_all(void)
{
	int late;

	stopping = 1;
	if ((late = spawn_signal_kind(SERVICE_INET, SIGKILL)) > 0)
		log_warn("%d session(s) still busy after shutdown_timeout "
			 "%lds: killed", late, cfg.shutdown_timeout);
	signal_all(SIGTERM); /* the back end: its work is durable */
	for (int i = 0; i < 1000 && children; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		spawn_reap();
		if (children)
			nanosleep(&ts, NULL);
	}
	if (children) {
		int status;
		pid_t pid;
		log_warn("%d process(es) did not stop in 10s: killed",
			 nchildren);
		signal_all(SIGKILL);
		while (children && (pid = waitpid(-1, &status, 0)) > 0)
			reap_one(pid, status);
	}
}
