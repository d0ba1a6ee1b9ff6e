/*
 * service_fork.c - a process per session, forked without exec: the
 * listener of a session service (smtpd and its roles) and the birth of
 * each session (see service.h, master(8) "Session services").
 *
 * The listener is master's ordinary exec'd child: service_init has read
 * the config, opened the log and the maps, chrooted and dropped
 * privileges.  It serves no client.  When master sees a connection
 * waiting and the service below its limit, it writes a grant (how many
 * sessions may start) on the listener's request pipe, fd 5; the listener
 * accepts up to that many connections and clones, for each, a process
 * with CLONE_PARENT: master, not the listener, is the session's parent,
 * so master reaps it, logs its crash and counts it against the limit as
 * it does for every child, and the session lives on when the listener
 * dies.  The session shares the listener's pages copy-on-write (nothing
 * is loaded or relocated again), starts from the listener's clean state,
 * serves one client and exits.
 *
 * The order that keeps master's count exact: the listener reports the
 * new pid (SERVICE_SESSION) before it lets the session run (one byte on
 * a pipe only the two share), master reads the status pipe before it
 * reaps, and a session whose listener died before letting it run exits
 * without a word.  After the batch the listener reports SERVICE_DONE.
 * Trusts: master's grants.  Never: serves a client itself; lets a
 * session keep the listening socket, the status or request pipe, or any
 * other session's socket.
 */
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

/* clone_parent - fork, with master as the new process's parent.  The
 * raw system call: glibc's clone() wants a new stack and a function, and
 * its fork() takes no flags.  The listener has one thread and no lock
 * held here, which is all a plain clone needs (glibc reads the thread id
 * from the kernel where it matters: raise, abort). */
static pid_t
clone_parent(void)
{
	return (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
}

/* refuse - the client cannot get a session now: say so, not a silent
 * close (RFC 5321 3.8: 421 at the greeting) */
static void
refuse(int fd)
{
	char line[300];
	int n = snprintf(line, sizeof(line), "421 4.3.2 %s Service not "
			 "available, try again later\r\n", cfg.myhostname);

	if (n > 0 && write(fd, line, (size_t)n) < 0) {
		/* the client left: nothing to tell it */
	}
}

/* leave - exit.  Exit handlers have nothing to flush here (the log and
 * the client are written unbuffered); a hardened process (not dumpable:
 * root mode) skips them, as LeakSanitizer's would hang trying to trace
 * it (and a stop would wait shutdown_timeout for it). */
static void
leave(int code)
{
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0)
		_exit(code);
	exit(code);
}

/* session_run - in the new process: shed what the listener holds, then
 * serve the one client.  Never returns. */
static void
session_run(int fd, int go, void (*serve)(int fd))
{
	sigset_t none;
	char b;
	ssize_t r;

	while ((r = read(go, &b, 1)) < 0 && errno == EINTR)
		;
	if (r != 1)
		_exit(0); /* the listener died before reporting us */
	if (close(go) != 0 || close(SERVICE_LISTEN_FD) != 0 ||
	    close(SERVICE_STATUS_FD) != 0 || close(SERVICE_REQUEST_FD) != 0)
		log_fatal("session: close: %m");
	/* the parent-death signal is not inherited: die with master, our
	 * parent now, as every child does */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		log_fatal("prctl(PR_SET_PDEATHSIG): %m");
	if (getppid() != service_master)
		log_fatal("master is gone; exiting");
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		log_fatal("sigprocmask: %m");
	serve(fd);
	/* a map replaced on disk (service_stop without a SIGHUP): master
	 * replaces the listener, which opens it before its chroot */
	leave(service_stop && !service_hup ? SERVICE_EXIT_STALE : 0);
}

/* session_start - one process for the client on fd; 0, or -1 when
 * none could be made (the client was told). */
static int
session_start(int fd, void (*serve)(int fd))
{
	int go[2];
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) != 0) {
		log_warn("pipe: %m");
		refuse(fd);
		return -1;
	}
	if ((pid = clone_parent()) < 0) {
		log_warn("fork: %m");
		refuse(fd);
		close(go[0]);
		close(go[1]);
		return -1;
	}
	if (pid == 0) {
		close(go[1]);
		session_run(fd, go[0], serve);
	}
	if (close(go[0]) != 0)
		log_fatal("close: %m");
	service_report_arg(SERVICE_SESSION, (int)pid);
	if (write(go[1], "1", 1) != 1)
		log_fatal("session %d: %m", (int)pid);
	if (close(go[1]) != 0)
		log_fatal("close: %m");
	return 0;
}

/* accept_batch - up to grant sessions from the waiting connections;
 * returns how many started. */
static int
accept_batch(int grant, void (*serve)(int fd))
{
	int started = 0;

	while (started < grant && !service_stop) {
		int fd = accept4(SERVICE_LISTEN_FD, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN)
				break; /* no one (else) waits */
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("accept: %m");
				break;
			}
			log_fatal("accept: %m");
		}
		if (session_start(fd, serve) == 0)
			started++;
		if (close(fd) != 0)
			log_fatal("close: %m");
	}
	return started;
}

/* read_grant - wait for master's next grant; 0 with it, -1 to exit. */
static int
read_grant(const sigset_t *open_mask, int32_t *grant)
{
	struct pollfd p = {.fd = SERVICE_REQUEST_FD, .events = POLLIN};
	ssize_t r;

	/* SIGHUP is blocked but while waiting: one that came before the
	 * wait ends it at once instead of being lost until the next grant */
	if (service_stop)
		return -1;
	if (ppoll(&p, 1, NULL, open_mask) < 0) {
		if (errno == EINTR)
			return service_stop ? -1 : 1;
		log_fatal("poll: %m");
	}
	r = read(SERVICE_REQUEST_FD, grant, sizeof(*grant));
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (r == 0)
		return -1; /* master closed it */
	if (r != (ssize_t)sizeof(*grant) || *grant < 0)
		log_fatal("request pipe: %s", r < 0 ? "read error" :
			  "bad grant");
	return 0;
}

void
service_fork_loop(void (*serve)(int fd))
{
	sigset_t hup, open_mask;
	int32_t grant;
	int rc;

	if (fcntl(SERVICE_LISTEN_FD, F_SETFL, O_NONBLOCK) != 0)
		log_fatal("listening socket: %m");
	if (sigemptyset(&hup) != 0 || sigaddset(&hup, SIGHUP) != 0 ||
	    sigprocmask(SIG_BLOCK, &hup, &open_mask) != 0)
		log_fatal("sigprocmask: %m");
	service_report(SERVICE_IDLE);
	/* no max_idle: master keeps one listener per session service, and
	 * replaces it after max_use sessions (sessions.c) */
	for (;;) {
		if ((rc = read_grant(&open_mask, &grant)) < 0)
			break;
		if (rc > 0)
			continue;
		service_report_arg(SERVICE_DONE, accept_batch(grant, serve));
	}
	leave(0);
}
