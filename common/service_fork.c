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
 * accepts up to that many connections and hands each to a session
 * process it forked before (the spare, which waits for its client's
 * socket on a socket pair; a new spare is forked after the batch, so no
 * fork is on the way to a greeting).  It clones with CLONE_PARENT:
 * master, not the listener, is the session's parent,
 * so master reaps it, logs its crash and counts it against the limit as
 * it does for every child, and the session lives on when the listener
 * dies.  The session shares the listener's pages copy-on-write (nothing
 * is loaded or relocated again), starts from the listener's clean state,
 * serves one client and exits.
 *
 * The order that keeps master's count exact: the listener reports a new
 * spare (SERVICE_SPARE) before it can have a client and the spare as a
 * session (SERVICE_SESSION) before handing it its client, master reads
 * the status pipe before it reaps, and a spare whose listener died
 * exits without a word.  After the batch the listener reports
 * SERVICE_DONE.
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
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
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

/* the spare: a session process forked ahead of its client, so the
 * fork is not on the way to the next client's greeting */
struct spare {
	pid_t pid;
	int sock; /* ours of the pair; the client's socket goes through */
};

/* spare_wait - in the spare: shed what the listener holds, wait for a
 * client, serve it.  Never returns. */
static void
spare_wait(int sock, void (*serve)(int fd))
{
	char b, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = &b, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	sigset_t none;
	ssize_t r;
	int fd;

	/* the parent-death signal is not inherited: die with master, our
	 * parent now, as every child does */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		log_fatal("prctl(PR_SET_PDEATHSIG): %m");
	if (getppid() != service_master)
		_exit(0);
	if (close(SERVICE_LISTEN_FD) != 0 || close(SERVICE_STATUS_FD) != 0 ||
	    close(SERVICE_REQUEST_FD) != 0)
		log_fatal("session: close: %m");
	while ((r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	cm = r == 1 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (cm == NULL || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		_exit(0); /* the listener is gone: no client for us */
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	if (close(sock) != 0)
		log_fatal("session: close: %m");
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		log_fatal("sigprocmask: %m");
	serve(fd);
	/* a map replaced on disk (service_stop without a SIGHUP): master
	 * replaces the listener, which opens it before its chroot */
	leave(service_stop && !service_hup ? SERVICE_EXIT_STALE : 0);
}

/* spare_make - fork the spare and tell master (SERVICE_SPARE) before it
 * can have a client; 0, or -1 when none could be made. */
static int
spare_make(struct spare *sp, void (*serve)(int fd))
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		log_warn("socketpair: %m");
		return -1;
	}
	if ((pid = clone_parent()) < 0) {
		log_warn("fork: %m");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		spare_wait(sv[1], serve);
	}
	if (close(sv[1]) != 0)
		log_fatal("close: %m");
	service_report_arg(SERVICE_SPARE, (int)pid);
	sp->pid = pid;
	sp->sock = sv[0];
	return 0;
}

/* session_start - the spare serves the client on fd; 0, or -1 when it
 * could not take it (the client was told). */
static int
session_start(struct spare *sp, int fd)
{
	char b = 1, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = &b, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	int ok;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	/* reported before it has its client: master counts it busy first */
	service_report_arg(SERVICE_SESSION, (int)sp->pid);
	ok = sendmsg(sp->sock, &mh, MSG_NOSIGNAL) == 1;
	if (!ok) {
		log_warn("session %d: %m", (int)sp->pid);
		refuse(fd);
	}
	if (close(sp->sock) != 0)
		log_fatal("close: %m");
	sp->pid = 0;
	sp->sock = -1;
	return ok ? 0 : -1;
}

/* accept_batch - up to grant sessions from the waiting connections;
 * returns how many started. */
static int
accept_batch(struct spare *sp, int grant, void (*serve)(int fd))
{
	int started = 0;

	while (started < grant && !service_stop) {
		/* forked before the accept: a process forked while we hold
		 * a client's socket would hold it too */
		if (sp->pid == 0 && spare_make(sp, serve) != 0)
			break;
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
		if (session_start(sp, fd) == 0)
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
	struct spare spare = {0, -1};
	int32_t grant;
	int rc;

	if (fcntl(SERVICE_LISTEN_FD, F_SETFL, O_NONBLOCK) != 0)
		log_fatal("listening socket: %m");
	if (sigemptyset(&hup) != 0 || sigaddset(&hup, SIGHUP) != 0 ||
	    sigprocmask(SIG_BLOCK, &hup, &open_mask) != 0)
		log_fatal("sigprocmask: %m");
	if (spare_make(&spare, serve) != 0)
		log_fatal("cannot fork a session process");
	service_report(SERVICE_IDLE);
	/* no max_idle: master keeps one listener per session service, and
	 * replaces it after max_use sessions (sessions.c) */
	for (;;) {
		if ((rc = read_grant(&open_mask, &grant)) < 0)
			break;
		if (rc > 0)
			continue;
		service_report_arg(SERVICE_DONE,
				   accept_batch(&spare, grant, serve));
		if (spare.pid == 0 && spare_make(&spare, serve) != 0)
			log_warn("no spare session process: the next client "
				 "waits for a fork");
	}
	leave(0);
}
