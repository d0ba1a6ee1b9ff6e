/*
 * control.c - master's control socket (public/master) for mtactl(8).
 *
 * Requests are IPC records: {req=status} answers one record per service;
 * {req=stop} and {req=reload} act as SIGTERM and SIGHUP; {req=log-level}
 * shows or sets the level of every process (log_level.h).  The socket's
 * mode admits the owner (and group mta in root mode); peer credentials
 * are checked again here.
 * Trusts: nothing in the request beyond its framing.  Never: blocks the
 * master for longer than the client timeout.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "ipc.h"
#include "log.h"
#include "log_level.h"
#include "master.h"

#define CONTROL_TIMEOUT_MS 2000
#define NGROUPS_MAX_PEER 1024 /* supplementary groups read per peer */

int
control_open(void)
{
	return listen_unix("public/master", 0660);
}

/* peer_in_group - the peer process holds gid as its primary or one of
 * its supplementary groups (SO_PEERGROUPS: the kernel's answer, not the
 * group file's). */
static int
peer_in_group(int fd, const struct ucred *cr, gid_t gid)
{
	gid_t groups[NGROUPS_MAX_PEER];
	socklen_t len = sizeof(groups);

	if (cr->gid == gid)
		return 1;
#ifdef SO_PEERGROUPS
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		for (size_t i = 0; i < len / sizeof(gid_t); i++)
			if (groups[i] == gid)
				return 1;
		return 0;
	}
#else
	(void)fd, (void)groups, (void)len;
#endif
	return 0; /* unknown is no */
}

/* peer_allowed - root, our own uid, or (root mode) a member of the mail
 * owner's group (mta): checked from the kernel's peer credentials, so a
 * loosened socket mode alone admits nobody. */
static int
peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct passwd *pw;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return 0;
	if (cr.uid == 0 || cr.uid == geteuid())
		return 1;
	if (strcmp(cfg.run_mode, "root") != 0)
		return 0;
	/* the daemons' own users share the group to reach cleanup; smtpd
	 * talks to strangers, so it must never control the system */
	if (((pw = getpwnam(cfg.smtpd_user)) && pw->pw_uid == cr.uid) ||
	    ((pw = getpwnam(cfg.local_user)) && pw->pw_uid == cr.uid) ||
	    (pw = getpwnam(cfg.mail_owner)) == NULL)
		return 0;
	return peer_in_group(fd, &cr, pw->pw_gid);
}

static void
reply_status(struct ipc *c)
{
	for (int i = 0; i < nservices; i++) {
		struct svc_state *s = &services[i];
		ipc_put_str(c, "service", s->def->name);
		/* an inet service with an empty listen key: off */
		ipc_put_str(c, "listen",
			    s->listen_addr[0] ? s->listen_addr : "off");
		ipc_put_long(c, "processes", s->count);
		ipc_put_long(c, "idle", s->idle);
		ipc_put_long(c, "busy", s->count - s->idle - s->starting);
		ipc_put_long(c, "starting", s->starting);
		ipc_put_long(c, "restarts", s->restarts);
		ipc_put_long(c, "limit", s->def->limit ? *s->def->limit : 1);
		if (ipc_end(c) != IPC_OK)
			return;
	}
	ipc_put_str(c, "end", "1");
	ipc_put_long(c, "pid", (long)getpid());
	ipc_put_str(c, "run_mode", cfg.run_mode);
	if (ipc_end(c) != IPC_OK)
		log_warn("control: reply not sent");
}

/* control_log_level - "verbose" or "normal" for every process at once:
 * master writes the shared byte (log_level.h) that each daemon's
 * log_debug() reads, so the long-lived ones (qmgr, anvil, pickup) change
 * too, without a signal or a restart.  No level: just report. */
static void
control_log_level(struct ipc *c, const char *level)
{
	if (level && strcmp(level, "verbose") != 0 &&
	    strcmp(level, "normal") != 0) {
		ipc_put_str(c, "error", "level must be normal or verbose");
	} else if (level && log_level_set(strcmp(level, "verbose") == 0) != 0) {
		ipc_put_str(c, "error", "the level could not be changed (see "
			    "the log)");
	} else {
		if (level)
			log_info("log level set to %s", level);
		ipc_put_str(c, "level", log_level_get() ? "verbose" : "normal");
	}
	if (ipc_end(c) != IPC_OK)
		log_warn("control: reply not sent");
}

void
control_serve(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	struct attrs a;
	struct ipc *c;

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("control accept: %m");
		return;
	}
	c = ipc_new(fd, CONTROL_TIMEOUT_MS);
	attrs_init(&a);
	if (!peer_allowed(fd)) {
		log_warn("control: connection from an unauthorised user "
			 "refused (not root, not in the mail owner's group)");
		ipc_put_str(c, "error", "permission denied: only root and "
			    "the mail owner's group may control the system");
		if (ipc_end(c) != IPC_OK)
			log_warn("control: refusal not sent");
	} else if (ipc_read(c, &a) == IPC_OK) {
		const char *req = attrs_get(&a, "req");
		if (req && strcmp(req, "status") == 0)
			reply_status(c);
		else if (req && strcmp(req, "stop") == 0)
			kill(getpid(), SIGTERM);
		else if (req && strcmp(req, "reload") == 0)
			kill(getpid(), SIGHUP);
		else if (req && strcmp(req, "log-level") == 0)
			control_log_level(c, attrs_get(&a, "level"));
		else
			log_warn("control: unknown request");
	}
	attrs_free(&a);
	ipc_free(c);
}
