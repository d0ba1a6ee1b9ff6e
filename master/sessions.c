/*
 * sessions.c - master's side of a session service (smtpd and its roles):
 * one listener process, and a process per session that the listener
 * forks without exec (common/service_fork.c).
 *
 * Why this shape: a session costs only the pages it writes (the
 * listener's config, maps, libraries and relocations are shared
 * copy-on-write), yet each session stays a process of its own, as in
 * the qmail and Postfix tradition: a crash ends one session, and nothing
 * of one client's session (AUTH state, buffers) is ever in the memory of
 * the next, which starts from the listener's clean state.  The listener
 * clones each session with CLONE_PARENT, so the session is master's
 * child: master reaps it, logs its crash and throttles the service with
 * the same code as for every other child, stops it with the others, and
 * the session goes on when its listener dies or is replaced (reload).
 *
 * The limit (smtpd_process_limit) bounds the sessions, and master alone
 * decides: it watches the listening socket only while sessions plus the
 * grants not yet used are below the limit, and when a connection waits it
 * grants the listener that many (fd 5 of the listener); the listener
 * reports the spare session process it forks ahead (SERVICE_SPARE: idle,
 * not counted against the limit), each one it gives a client
 * (SERVICE_SESSION: busy from then) and the end of the batch
 * (SERVICE_DONE).  Connections beyond the limit wait in the listen
 * backlog.
 * Trusts: the reports of its own listeners (a report naming a pid that is
 * no listener of ours is ignored), a spare only when it is our child.
 * Never: grants while throttled or stopping, or more than the limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "master.h"

/* a grant that started no session though a connection waited (the
 * listener could not accept or fork: out of descriptors or processes):
 * no new grant for this long, or master and listener would spin on the
 * waiting connection, a warning a turn */
#define GRANT_PAUSE_US 250000

static long
svc_limit(const struct svc_state *s)
{
	return s->def->limit ? *s->def->limit : 1;
}

/* sessions_request_pipe - a listener's request pipe: fds[0] becomes its
 * fd 5; master writes fds[1], never blocking.  Both above the three
 * descriptors a child gets, so arranging them clobbers nothing. */
int
sessions_request_pipe(int fds[2])
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) != 0) {
		log_warn("pipe: %m");
		return -1;
	}
	fds[0] = fcntl(p[0], F_DUPFD_CLOEXEC, SERVICE_REQUEST_FD + 1);
	fds[1] = fcntl(p[1], F_DUPFD_CLOEXEC, SERVICE_REQUEST_FD + 1);
	close(p[0]);
	close(p[1]);
	if (fds[0] < 0 || fds[1] < 0 ||
	    fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0) {
		log_warn("request pipe: %m");
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		fds[0] = fds[1] = -1;
		return -1;
	}
	return 0;
}

/*
 * sessions_tick - keep a listener for a session service that listens.
 * A listener is replaced after max_use sessions (so a fresh one reads the
 * system's users again) or when a session found a map replaced on disk:
 * the successor starts first and takes over once ready, so no client
 * waits for a program to start.
 */
void
sessions_tick(int svc, long long now)
{
	struct svc_state *s = &services[svc];
	struct child *l = s->listener;

	if (l == NULL && s->successor != NULL) {
		s->listener = l = s->successor; /* granted once ready */
		s->successor = NULL;
	}
	if (s->listen_fd < 0 || now < s->throttle_until ||
	    spawn_total() >= MASTER_MAX_CHILDREN)
		return;
	if (l == NULL ||
	    (s->successor == NULL && (l->replace || l->forked >= cfg.max_use)))
		spawn_child(svc);
}

/* sessions_started - a listener was started: the service's, or the
 * successor of the one in place */
void
sessions_started(struct child *c)
{
	struct svc_state *s = &services[c->svc];

	if (s->listener == NULL)
		s->listener = c;
	else
		s->successor = c;
}

/* retire - a listener takes no more grants and exits */
static void
retire(struct child *l)
{
	if (l == NULL)
		return;
	l->retired = 1;
	if (kill(l->pid, SIGHUP) != 0 && errno != ESRCH)
		log_warn("kill %d: %m", (int)l->pid);
}

/* sessions_ready - a listener reported for the first time: a successor
 * takes over from the listener it replaces */
void
sessions_ready(struct child *c)
{
	struct svc_state *s = &services[c->svc];
	struct child *old = s->listener;

	if (c->role != CHILD_LISTENER || s->successor != c)
		return;
	s->successor = NULL;
	s->listener = c;
	retire(old);
}

/* sessions_can_grant - watch the socket: a ready listener, no grant
 * outstanding, room below the limit, not throttled */
int
sessions_can_grant(int svc, long long now)
{
	struct svc_state *s = &services[svc];

	return s->listen_fd >= 0 && s->listener != NULL &&
	       s->listener->reported && s->granted == 0 &&
	       s->sessions < svc_limit(s) && now >= s->throttle_until &&
	       spawn_total() < MASTER_MAX_CHILDREN;
}

/* sessions_grant - a connection waits: let the listener start as many
 * sessions as the limit has room for */
void
sessions_grant(int svc)
{
	struct svc_state *s = &services[svc];
	struct child *l = s->listener;
	long room = svc_limit(s) - s->sessions - s->granted;
	int32_t n;

	if (MASTER_MAX_CHILDREN - spawn_total() < room)
		room = MASTER_MAX_CHILDREN - spawn_total();
	if (l == NULL || room <= 0)
		return;
	n = (int32_t)room;
	if (write(l->req_fd, &n, sizeof(n)) != (ssize_t)sizeof(n)) {
		/* gone or wedged: a new one takes over */
		log_warn("%s: listener pid %d takes no grant: %m", s->def->name,
			 (int)l->pid);
		sessions_retire(s);
		return;
	}
	l->granted = n;
	s->granted += n;
}

/* my_child - pid is a child of ours (alive or not yet reaped) */
static int
my_child(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

/* sessions_report - SERVICE_SESSION or SERVICE_DONE from listener l */
void
sessions_report(struct child *l, const struct service_msg *m)
{
	struct svc_state *s = &services[l->svc];

	if (l->role != CHILD_LISTENER) {
		log_warn("pid %d reported sessions but is no listener",
			 (int)l->pid);
		return;
	}
	if (m->status == SERVICE_DONE) {
		s->granted -= l->granted;
		l->granted = 0;
		if (m->arg == 0 && s->listener == l && !l->retired) {
			long long until = now_us() + GRANT_PAUSE_US;
			if (until > s->throttle_until)
				s->throttle_until = until;
		}
		return;
	}
	struct child *c = m->arg > 0 ? spawn_find((pid_t)m->arg) : NULL;
	if (m->status == SERVICE_SPARE) {
		/* our child, alive or a zombie: one killed before this
		 * report and already reaped must not be counted for ever,
		 * and no other process may be: the status pipe is every
		 * child's, its pid field the writer's word, and what we
		 * track gets our signals (a stop's SIGTERM) */
		if (m->arg <= 0 || c != NULL || !my_child((pid_t)m->arg)) {
			log_warn("%s: listener pid %d reported a bad session "
				 "pid %d", s->def->name, (int)l->pid, m->arg);
			return;
		}
		c = spawn_add((pid_t)m->arg, l->svc, CHILD_SPARE);
		c->reported = c->idle = 1; /* waits for its client */
		c->listener = l->pid;
		s->count++;
		s->idle++;
		return;
	}
	if (c == NULL || c->role != CHILD_SPARE || c->listener != l->pid) {
		/* a spare that died before its client came */
		log_debug("%s: listener pid %d: session pid %d unknown",
			  s->def->name, (int)l->pid, m->arg);
		return;
	}
	c->role = CHILD_SESSION;
	c->idle = 0; /* busy from now: it has its client */
	s->idle--;
	s->sessions++;
	l->forked++;
	if (l->granted > 0) {
		l->granted--;
		s->granted--;
	}
	log_debug("%s: session pid %d from listener %d", s->def->name,
		  m->arg, (int)l->pid);
}

/* sessions_retire - at once, with any successor (a reload: new sessions
 * must have the new settings); a new one starts in its place */
void
sessions_retire(struct svc_state *s)
{
	retire(s->listener);
	retire(s->successor);
	s->listener = s->successor = NULL;
}

/* sessions_gone - account for a reaped listener or session; 1 when its
 * end is no crash even with a non-zero status */
int
sessions_gone(struct child *c, int status)
{
	struct svc_state *s = &services[c->svc];

	if (c->role == CHILD_LISTENER) {
		s->granted -= c->granted;
		if (s->listener == c)
			s->listener = NULL;
		if (s->successor == c)
			s->successor = NULL;
		if (c->req_fd >= 0 && close(c->req_fd) != 0)
			log_warn("close: %m");
		return 0;
	}
	if (c->role != CHILD_SESSION)
		return 0;
	s->sessions--;
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM &&
	    WTERMSIG(status) != SIGKILL && s->listener &&
	    s->listener->pid == c->listener && !s->listener->replace) {
		/* a crash may be a probe: the sessions of one listener share
		 * its address-space layout and stack canary, so a client
		 * that crashes one and tries again would learn them a guess
		 * at a time; a new listener (a new exec) makes them anew */
		log_info("%s: a session crashed; starting a new listener",
			 s->def->name);
		s->listener->replace = 1;
		return 0;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != SERVICE_EXIT_STALE)
		return 0;
	/* the session found a map replaced: its listener opened the old
	 * one; a new listener opens the new one before its chroot */
	if (s->listener && s->listener->pid == c->listener &&
	    !s->listener->replace) {
		log_info("%s: a map was replaced; starting a new listener",
			 s->def->name);
		s->listener->replace = 1;
	}
	return 1;
}
