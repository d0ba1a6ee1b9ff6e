/*
 * service.c - service table and child process life (see service.h).
 *
 * Trusts: master for the descriptors it passes, the config file.
 * Never: serves a client before privileges are dropped; outlives master
 * (the parent-death signal ends a child whose master is gone).
 */
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr_class.h"
#include "config.h"
#include "harden.h"
#include "log.h"
#include "log_level.h"
#include "map.h"
#include "stats.h"

volatile int service_stop;
volatile int service_hup;
pid_t service_master;
int (*service_keep_root)(void);
void (*service_before_drop)(void);
static long use_count;

/* tlsproxy: one process relays all sessions; a second starts while an
 * old one finishes its sessions after a reload */
static long tlsproxy_limit = 2;

static struct service_def table[] = {
	{"smtpd", SERVICE_INET, NULL, 0, 1, 0, &cfg.smtpd_user,
	 &cfg.smtpd_process_limit, 0},
	{"anvil", SERVICE_UNIX, "private/anvil", 0660, 0, 1, &cfg.mail_owner,
	 NULL, 0},
	{"cleanup", SERVICE_UNIX, "private/cleanup", 0660, 0, 0, &cfg.mail_owner,
	 &cfg.cleanup_process_limit, 0},
	{"qmgr", SERVICE_UNIX, "private/qmgr", 0660, 0, 1, &cfg.mail_owner,
	 NULL, 0},
	{"local", SERVICE_UNIX, "private/local", 0600, 0, 0, &cfg.local_user,
	 &cfg.local_process_limit, 1},
	/* remote: in mail_owner's group to reach private/tlsproxy */
	{"remote", SERVICE_UNIX, "private/remote", 0600, 1, 0, &cfg.remote_user,
	 &cfg.remote_process_limit, 1},
	{"resolver", SERVICE_UNIX, "private/resolver", 0666, 1, 0,
	 &cfg.resolver_user, &cfg.resolver_process_limit, 0},
	{"pickup", SERVICE_UNIX, "public/submit", 0666, 0, 1, &cfg.mail_owner,
	 NULL, 0},
	/* no user here: tlsproxy reads its key, then drops to tlsproxy_user */
	{"tlsproxy", SERVICE_UNIX, "private/tlsproxy", 0660, 0, 0, NULL,
	 &tlsproxy_limit, 0},
	/* smtpd in the roles of smtpd(8) "SUBMISSION": see inet_roles */
	{"submission", SERVICE_INET, NULL, 0, 1, 0, &cfg.smtpd_user,
	 &cfg.smtpd_process_limit, 0},
	{"smtps", SERVICE_INET, NULL, 0, 1, 0, &cfg.smtpd_user,
	 &cfg.smtpd_process_limit, 0},
};

/* the inet services: where each listens ("" = off) and the program
 * that serves it under the service's name (the role) */
static const struct {
	const char *name;
	char **listen;
	const char *program;
} inet_roles[] = {
	{"smtpd", &cfg.smtpd_listen, "smtpd"},
	{"submission", &cfg.submission_listen, "smtpd"},
	{"smtps", &cfg.smtps_listen, "smtpd"},
};

static int
inet_role(const struct service_def *d)
{
	for (size_t i = 0; i < sizeof(inet_roles) / sizeof(inet_roles[0]); i++)
		if (strcmp(inet_roles[i].name, d->name) == 0)
			return (int)i;
	return -1;
}

const char *
service_listen(const struct service_def *d)
{
	int i = d->kind == SERVICE_INET ? inet_role(d) : -1;

	return i >= 0 ? *inet_roles[i].listen : d->path;
}

int
service_fork_sessions(const struct service_def *d)
{
	return d->kind == SERVICE_INET && inet_role(d) >= 0;
}

const char *
service_program(const struct service_def *d)
{
	int i = inet_role(d);

	return i >= 0 ? inet_roles[i].program : d->name;
}

const struct service_def *
service_table(int *n)
{
	*n = (int)(sizeof(table) / sizeof(table[0]));
	return table;
}

const struct service_def *
service_find(const char *name)
{
	int n;
	const struct service_def *t = service_table(&n);
	for (int i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

int
service_open_log(const char *name, int to_stderr)
{
	if (cfg.maillog_file[0] != 0)
		return log_open(name, LOG_DEST_FILE, cfg.maillog_file);
	return log_open(name, to_stderr ? LOG_DEST_STDERR : LOG_DEST_SYSLOG,
			NULL);
}

int
drop_privileges(const char *user, const char *chroot_dir)
{
	return drop_privileges_group(user, chroot_dir, NULL);
}

int
drop_privileges_group(const char *user, const char *chroot_dir,
		      const char *group_of)
{
	struct passwd *owner = group_of ? getpwnam(group_of) : NULL;
	gid_t extra = owner ? owner->pw_gid : 0;

	if (group_of != NULL && owner == NULL) {
		log_error("user \"%s\" does not exist (run mtactl setup)",
			  group_of);
		return -1;
	}
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		log_error("user \"%s\" does not exist (run mtactl setup)", user);
		return -1;
	}
	if (chroot_dir != NULL && (chroot(chroot_dir) != 0 || chdir("/") != 0)) {
		log_error("chroot %s: %m", chroot_dir);
		return -1;
	}
	if (setgroups(owner ? 1 : 0, owner ? &extra : NULL) != 0 ||
	    setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		log_error("cannot become user %s: %m", user);
		return -1;
	}
	if (setuid(0) == 0) {
		log_error("privileges not dropped: could regain root");
		return -1;
	}
	return 0;
}

static void
on_hup(int sig)
{
	(void)sig;
	service_stop = 1;
	service_hup = 1;
}

/* watch_master - die with master so no child holds its sockets. */
static void
watch_master(pid_t master)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		log_fatal("prctl(PR_SET_PDEATHSIG): %m");
	if (getppid() != master)
		log_fatal("master is gone; exiting");
}

void
service_init(const char *name, int argc, char **argv)
{
	const char *conf = CONFIG_DEFAULT_PATH;
	int to_stderr = 0, opt;
	char err[512];
	pid_t master = service_master = getppid();
	const struct service_def *def = service_find(name);
	struct sigaction sa = {.sa_handler = on_hup};
	static char tag[64]; /* "submission/smtpd", as Postfix logs roles */

	if (def != NULL && strcmp(service_program(def), name) != 0) {
		snprintf(tag, sizeof(tag), "%s/%s", name, service_program(def));
		name = tag;
	}

	while ((opt = getopt(argc, argv, "c:l:")) != -1) {
		if (opt == 'c')
			conf = optarg;
		else if (opt == 'l')
			to_stderr = strcmp(optarg, "stderr") == 0;
		else
			exit(2);
	}
	log_open(name, to_stderr ? LOG_DEST_STDERR : LOG_DEST_SYSLOG, NULL);
	if (config_load(conf, err, sizeof(err)) != 0)
		log_fatal("%s", err);
	if (service_open_log(name, to_stderr) != 0)
		log_fatal("open %s: %m", cfg.maillog_file);
	log_set_verbose((int)cfg.verbose);
	if (chdir(cfg.queue_directory) != 0)
		log_fatal("chdir %s: %m", cfg.queue_directory);
	log_level_attach(LOG_LEVEL_FILE); /* mtactl log-level, via master */
	stats_attach(STATS_FILE); /* before the chroot and the drop */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || sigemptyset(&sa.sa_mask) ||
	    sigaction(SIGHUP, &sa, NULL) != 0)
		log_fatal("signal setup: %m");
	addr_maps_open(); /* before any chroot: see addr_class.h */
	if (service_before_drop)
		service_before_drop();
	sigset_t hup; /* master starts us with SIGHUP blocked */
	if (sigemptyset(&hup) != 0 || sigaddset(&hup, SIGHUP) != 0 ||
	    sigprocmask(SIG_UNBLOCK, &hup, NULL) != 0)
		log_fatal("sigprocmask: %m");
	if (strcmp(cfg.run_mode, "root") == 0 && def != NULL &&
	    def->user != NULL && !(service_keep_root && service_keep_root())) {
		if (geteuid() != 0)
			log_fatal("run_mode = root but not started as root");
		if (drop_privileges_group(*def->user, def->chroot ?
					  cfg.queue_directory : NULL,
					  def->owner_group ? cfg.mail_owner
							   : NULL) != 0 ||
		    harden_process() != 0)
			exit(1);
	}
	watch_master(master);
}

void
service_report(int status)
{
	service_report_arg(status, 0);
}

void
service_report_arg(int status, int arg)
{
	struct service_msg m = {.pid = getpid(), .status = status,
				.arg = arg};

	/* A pipe write under PIPE_BUF is atomic; master may be gone. */
	if (write(SERVICE_STATUS_FD, &m, sizeof(m)) != sizeof(m))
		log_fatal("status pipe to master: %m");
}

void
service_loop(void (*serve)(int fd))
{
	/* EPOLLEXCLUSIVE: a connection wakes one idle child, not all of
	 * them (with poll() every idle cleanup woke for every message and
	 * all but one found nothing to accept) */
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (fcntl(SERVICE_LISTEN_FD, F_SETFL, O_NONBLOCK) != 0)
		log_fatal("listening socket: %m");
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, SERVICE_LISTEN_FD, &ev) != 0)
		log_fatal("epoll on the listening socket: %m");
	service_report(SERVICE_IDLE);
	while (!service_stop && use_count < cfg.max_use) {
		int n = epoll_wait(ep, &ev, 1, (int)cfg.max_idle * 1000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			log_fatal("epoll_wait: %m");
		if (n == 0)
			break; /* idle too long */
		int fd = accept4(SERVICE_LISTEN_FD, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				continue; /* another child took it */
			log_fatal("accept: %m");
		}
		service_report(SERVICE_BUSY);
		serve(fd);
		use_count++;
		service_report(SERVICE_IDLE);
	}
	exit(0);
}

void
service_map_check(const struct map *m)
{
	/* a map missing at start may be there for a new process too */
	int missing = m->env == NULL && strcmp(cfg.run_mode, "root") == 0;

	if ((!map_stale(m) && !missing) || service_stop)
		return;
	log_info("map %s was replaced or is missing; restarting after this "
		 "session to open it",
		 m->path);
	service_stop = 1;
}
