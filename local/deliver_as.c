/*
 * deliver_as.c - write one mailbox with the right identity.
 *
 * In root mode with local_users = system, local(8) stays root only to
 * fork one child per mailbox: the child drops every group, takes the
 * system user's uid/gid (or local_user's for virtual and template
 * mailboxes; for a /file target, the identity resolve.c chose) with
 * setresgid/setresuid (identity.c), checks it cannot regain root,
 * writes the mailbox and sends its result back through a pipe.
 * Otherwise (user mode, or local already running as local_user) the
 * delivery runs in this process.  A |command always gets a process of
 * its own; as root it runs as the user whose .forward named it, else as
 * command_user.
 * Trusts: the destination resolve.c built.
 * Never: writes a mailbox as root; in user mode writes as another user.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "local.h"
#include "log.h"

static void
deliver_here(const struct dest *d, int qfd, const struct qf_envelope *e,
	     const char *sender, const char *rcpt, struct result *r)
{
	if (d->pipe)
		pipe_deliver(d->path, d->as_user, qfd, e, sender, rcpt, r);
	else if (d->mbox)
		mbox_deliver(d->path, d->file, qfd, e, sender, rcpt, r);
	else
		maildir_deliver(d->path, qfd, e, sender, rcpt, r);
}

/* in_child - fork, deliver as uid/gid in the child, read its result */
static void
in_child(const struct dest *d, uid_t uid, gid_t gid, int qfd,
	 const struct qf_envelope *e, const char *sender, const char *rcpt,
	 struct result *r)
{
	int p[2], status;
	ssize_t n = 0, got;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		result_set(r, 4, "4.3.0",
			   "cannot start a delivery process: "
			   "%s",
			   strerror(errno));
		return;
	}
	if (pid == 0) {
		close(p[0]);
		signal(SIGPIPE, SIG_IGN);
		maildir_child();
		if (uid == (uid_t)-1 || local_become(uid, gid, r) == 0)
			deliver_here(d, qfd, e, sender, rcpt, r);
		_exit(write(p[1], r, sizeof(*r)) == (ssize_t)sizeof(*r) ? 0
									: 1);
	}
	close(p[1]);
	while (n < (ssize_t)sizeof(*r) &&
	       ((got = read(p[0], (char *)r + n, sizeof(*r) - (size_t)n)) > 0 ||
		(got < 0 && errno == EINTR)))
		n += got > 0 ? got : 0;
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(*r)) {
		result_set(r, 4, "4.3.0", "delivery process for %s failed",
			   d->path);
		log_warn("delivery process %ld for %s: no result", (long)pid,
			 d->path);
	}
}

/*
 * spool_create - a missing mbox in mail_spool_directory, made by root
 * for the user (0600, theirs) before the delivery process becomes the
 * user: Debian's /var/mail (2775 root:mail) lets users write their own
 * file but not make it, as Postfix's local makes it as root.  Only
 * there: that directory is root's, so no component of the path can be
 * the user's symbolic link; O_EXCL|O_NOFOLLOW never opens what exists.
 * The delivery that follows reports any other failure.
 */
static void
spool_create(const struct dest *d)
{
	int fd = open(d->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				   O_CLOEXEC,
		      0600);

	if (fd < 0) {
		if (errno != EEXIST && errno != EACCES && errno != ENOENT)
			log_warn("create mailbox %s: %m", d->path);
		return;
	}
	if (fchown(fd, d->uid, d->gid) != 0) {
		log_warn("chown mailbox %s to %ld: %m", d->path, (long)d->uid);
		if (unlink(d->path) != 0)
			log_warn("unlink %s: %m", d->path);
	} else
		log_info("created mailbox %s for uid %ld", d->path,
			 (long)d->uid);
	if (close(fd) != 0)
		log_warn("close %s: %m", d->path);
}

void
deliver_as(const struct dest *d, int qfd, const struct qf_envelope *e,
	   const char *sender, const char *rcpt, struct result *r)
{
	struct passwd *pw;

	if (d->pipe) {
		/* always a process of its own (time limit, process group);
		 * as root: as the user of a .forward, else command_user */
		if (geteuid() != 0) {
			in_child(d, (uid_t)-1, (gid_t)-1, qfd, e, sender, rcpt,
				 r);
			return;
		}
		if (d->as_user) {
			in_child(d, d->uid, d->gid, qfd, e, sender, rcpt, r);
			return;
		}
		if ((pw = getpwnam(cfg.command_user)) == NULL ||
		    pw->pw_uid == 0) {
			result_set(r, 4, "4.3.0",
				   "command_user %s does not "
				   "exist or is root",
				   cfg.command_user);
			return;
		}
		in_child(d, pw->pw_uid, pw->pw_gid, qfd, e, sender, rcpt, r);
		return;
	}
	if (geteuid() != 0 || strcmp(cfg.run_mode, "root") != 0) {
		if (d->as_user && d->uid != geteuid()) {
			result_set(r, 4, "4.3.0",
				   "run_mode = user cannot "
				   "deliver as uid %ld",
				   (long)d->uid);
			return;
		}
		deliver_here(d, qfd, e, sender, rcpt, r);
		return;
	}
	if (d->as_user) {
		if (d->mbox && d->spool)
			spool_create(d);
		in_child(d, d->uid, d->gid, qfd, e, sender, rcpt, r);
		return;
	}
	if ((pw = getpwnam(cfg.local_user)) == NULL || pw->pw_uid == 0) {
		result_set(r, 4, "4.3.0",
			   "local_user %s does not exist or is "
			   "root",
			   cfg.local_user);
		return;
	}
	in_child(d, pw->pw_uid, pw->pw_gid, qfd, e, sender, rcpt, r);
}
