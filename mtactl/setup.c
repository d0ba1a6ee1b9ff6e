/*
 * setup.c - mtactl setup: prepare a host for root mode (make install runs
 * it as root).  Creates the groups and system users of DESIGN.md section 2
 * that are missing (groupadd/useradd) and mtadrop's group (setgid_group),
 * then the queue tree with its owners and modes, maildrop/ 1730 for that
 * group and daemon_directory/mtadrop set-group-ID to it.  Idempotent:
 * what exists is left as it is (mtactl check reports wrong modes), but
 * for maildrop/ and mtadrop, whose owners and modes it sets each time.
 * Trusts: the config file (names of the users).  Never: changes an
 * existing user or group, or runs without root.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mtactl.h"
#include "queue_dirs.h"

/* run - run a tool with argv, 0 when it exited 0. */
static int
run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "mtactl setup: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int
ensure_group(const char *name)
{
	char *argv[] = {"groupadd", "-r", (char *)name, NULL};

	if (getgrnam(name) != NULL)
		return 0;
	printf("creating group %s\n", name);
	return run(argv);
}

/* ensure_user - a system user without login or home, primary group
 * group (created first when missing). */
static int
ensure_user(const char *name, const char *group)
{
	char *argv[] = {"useradd", "-r", "-M", "-d", "/nonexistent", "-s",
			"/usr/sbin/nologin", "-g", (char *)group,
			(char *)name, NULL};

	if (getpwnam(name) != NULL)
		return 0;
	if (ensure_group(group) != 0)
		return -1;
	printf("creating user %s (group %s)\n", name, group);
	return run(argv);
}

/* setup_maildrop - maildrop/ 1730 mail_owner:setgid_group and mtadrop
 * set-group-ID root:setgid_group 2755: only mtadrop writes maildrop/,
 * so pickup may trust the uid it records.  Set every time: this is how
 * an older tree (maildrop 0730, group mta) is brought up to date. */
static int
setup_maildrop(void)
{
	char path[4300];
	struct passwd *owner = getpwnam(cfg.mail_owner);
	struct group *g = getgrnam(cfg.setgid_group);

	if (owner == NULL || g == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/maildrop", cfg.queue_directory);
	if (chown(path, owner->pw_uid, g->gr_gid) != 0 ||
	    chmod(path, 01730) != 0) {
		fprintf(stderr, "mtactl setup: %s: %s\n", path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/mtadrop", cfg.daemon_directory);
	if (access(path, F_OK) != 0) {
		printf("note: %s is not installed yet: run mtactl setup again "
		       "after make install\n", path);
		return 0;
	}
	/* chown clears the set-group-ID bit: the mode comes after it */
	if (chown(path, 0, g->gr_gid) != 0 || chmod(path, 02755) != 0) {
		fprintf(stderr, "mtactl setup: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
cmd_setup(int argc, char **argv)
{
	(void)argc, (void)argv; /* takes no arguments */
	if (geteuid() != 0) {
		fprintf(stderr, "mtactl setup: must be run as root\n");
		return EX_NOPERM_;
	}
	/* the mail owner's group is the administrators' group (mta); the
	 * smtpd user is in it to reach cleanup's socket */
	if (ensure_user(cfg.mail_owner, cfg.mail_owner) != 0 ||
	    ensure_user(cfg.smtpd_user, cfg.mail_owner) != 0 ||
	    ensure_user(cfg.local_user, cfg.local_user) != 0 ||
	    ensure_user(cfg.remote_user, cfg.remote_user) != 0 ||
	    ensure_user(cfg.resolver_user, cfg.resolver_user) != 0 ||
	    ensure_user(cfg.tlsproxy_user, cfg.tlsproxy_user) != 0 ||
	    ensure_group(cfg.setgid_group) != 0) {
		fprintf(stderr, "mtactl setup: could not create the users\n");
		return EX_SOFTWARE_;
	}
	if (strcmp(cfg.run_mode, "root") != 0)
		printf("note: run_mode = %s; users made for root mode\n",
		       cfg.run_mode);
	log_open("mtactl", LOG_DEST_STDERR, NULL);
	if (queue_dirs_create() != 0 ||
	    (strcmp(cfg.run_mode, "root") == 0 && setup_maildrop() != 0))
		return EX_CANTCREAT_;
	printf("%s: queue tree ready\n", cfg.queue_directory);
	return 0;
}
