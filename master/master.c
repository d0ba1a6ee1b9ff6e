/*
 * master.c - master(8): the supervisor.
 *
 * Reads the config, creates the queue tree, takes the pid lock, opens every
 * listening socket and starts children on demand: when a service's socket
 * has a connection waiting and no child of that service is idle, one more
 * child is started (up to the service's process limit); smtpd's services
 * instead keep one listener that forks a process per session, which master
 * grants up to the limit (sessions.c).  Crashed children
 * are logged and restarted after a back-off; SIGTERM stops everything,
 * SIGHUP re-reads the config.
 * Trusts: the config file and its own children's status reports.
 * Never: parses a byte from the network; passes a child more than its own
 * socket and the status pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "log_level.h"
#include "master.h"
#include "stats.h"

#define MASTER_VERSION "0.1"

struct svc_state *services;
int nservices;
int master_foreground;
int master_log_stderr;

static int sig_pipe[2];
static int status_pipe[2];
static int control_fd = -1;
static int pid_fd = -1;

static void
on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;
	if (write(sig_pipe[1], &b, 1) < 0) {
		/* the pipe is full: a wakeup is already pending */
	}
	errno = saved;
}

static void
setup_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    pipe2(status_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		log_fatal("pipe: %m");
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0)
			log_fatal("sigaction: %m");
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		log_fatal("signal: %m");
	/* children write their status with the O_NONBLOCK flag cleared */
	if (fcntl(status_pipe[1], F_SETFL, 0) != 0)
		log_fatal("fcntl: %m");
	spawn_set_status_fd(status_pipe[1]);
	spawn_set_status_rfd(status_pipe[0]);
}

/* lock_pid_file - one master per queue directory.  The lock is taken
 * before daemonize() so the error reaches the starting command; the
 * daemon inherits it. */
static void
lock_pid_file(void)
{
	pid_fd = open("pid/master.pid", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (pid_fd < 0)
		log_fatal("open %s/pid/master.pid: %m", cfg.queue_directory);
	if (flock(pid_fd, LOCK_EX | LOCK_NB) != 0)
		log_fatal("the mail system is already running (%s/pid/master.pid "
			  "is locked)", cfg.queue_directory);
}

static void
write_pid_file(void)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(pid_fd, 0) != 0 || pwrite(pid_fd, buf, (size_t)n, 0) != n)
		log_fatal("write pid file: %m");
}

/* stats_group - the counter file's group: the mail owner's (whom mtactl
 * admits) in root mode; in user mode the owner alone reads it. */
static long
stats_group(void)
{
	struct passwd *pw;

	if (strcmp(cfg.run_mode, "root") != 0)
		return -1;
	if ((pw = getpwnam(cfg.mail_owner)) == NULL)
		log_fatal("mail_owner %s does not exist", cfg.mail_owner);
	return (long)pw->pw_gid;
}

static void
setup_services(void)
{
	const struct service_def *t = service_table(&nservices);

	services = calloc((size_t)nservices, sizeof(*services));
	if (services == NULL)
		log_fatal("out of memory");
	for (int i = 0; i < nservices; i++) {
		services[i].def = &t[i];
		services[i].listen_fd = -1;
	}
}

/* daemonize - detach; the parent exits once the child says it is ready. */
static int
daemonize(void)
{
	int p[2];
	pid_t pid;
	char ok;

	if (pipe2(p, O_CLOEXEC) != 0)
		log_fatal("pipe: %m");
	if ((pid = fork()) < 0)
		log_fatal("fork: %m");
	if (pid > 0) {
		close(p[1]);
		_exit(read(p[0], &ok, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		log_fatal("setsid: %m");
	log_reopen_pid();
	return p[1];
}

static void
tell_ready(int fd)
{
	int null;

	if (fd < 0)
		return;
	if ((null = open("/dev/null", O_RDWR)) >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		if (!master_log_stderr)
			dup2(null, 2);
		if (null > 2)
			close(null);
	}
	if (write(fd, "1", 1) != 1)
		log_warn("could not tell the starting command we are up: %m");
	close(fd);
}

static int
service_wanted(struct svc_state *s, long long now)
{
	long limit = s->def->limit ? *s->def->limit : 1;

	return s->starting == 0 && s->idle == 0 && s->count < limit &&
	       now >= s->throttle_until;
}

static void
reload(void)
{
	char err[512];

	if (config_load(config_file, err, sizeof(err)) != 0) {
		log_warn("reload failed, keeping the running config: %s", err);
		return;
	}
	if (listen_open_all() != 0)
		log_warn("reload: some sockets could not be reopened");
	log_info("reload -- version %s, configuration %s", MASTER_VERSION,
		 config_file);
	log_level_set((int)cfg.verbose); /* the config's, until log-level */
	spawn_hup_all();
}

/* handle_signals - returns 1 when master should stop. */
static int
handle_signals(void)
{
	unsigned char sig;
	int stop = 0;

	while (read(sig_pipe[0], &sig, 1) == 1) {
		if (sig == SIGCHLD)
			spawn_reap();
		else if (sig == SIGHUP)
			reload();
		else {
			log_info("terminating on signal %d", sig);
			stop = 1;
		}
	}
	return stop;
}

static long long drain_until; /* microseconds; 0 until a stop */

/* drain - a stop begins: the network front (smtpd) takes no new client
 * and its sessions in progress may finish, with the back end still
 * served, until shutdown_timeout.  Returns 1 to stop at once (a second
 * stop signal). */
static int
drain(void)
{
	if (drain_until != 0)
		return 1;
	drain_until = now_us() + cfg.shutdown_timeout * 1000000LL;
	spawn_signal_kind(SERVICE_INET, SIGHUP);
	for (int i = 0; i < nservices; i++)
		if (services[i].def->kind == SERVICE_INET &&
		    services[i].listen_fd >= 0) {
			if (close(services[i].listen_fd) != 0)
				log_warn("close %s: %m", services[i].listen_addr);
			services[i].listen_fd = -1; /* new clients: refused */
		}
	log_info("stopping: sessions in progress may finish within %lds",
		 cfg.shutdown_timeout);
	return 0;
}

/* drained - no session left in progress, or the deadline passed. */
static int
drained(long long now)
{
	if (drain_until == 0)
		return 0;
	if (now >= drain_until)
		return 1;
	for (int i = 0; i < nservices; i++)
		if (services[i].def->kind == SERVICE_INET &&
		    services[i].count > 0)
			return 0;
	return 1;
}

static void
main_loop(void)
{
	struct pollfd p[64];
	int which[64];

	for (;;) {
		long long now = now_us(), wake = now + 1000000;
		int n = 0;

		if (drained(now))
			return;
		if (drain_until != 0 && drain_until < wake)
			wake = drain_until;

		p[n] = (struct pollfd){.fd = sig_pipe[0], .events = POLLIN};
		which[n++] = -1;
		p[n] = (struct pollfd){.fd = status_pipe[0], .events = POLLIN};
		which[n++] = -2;
		p[n] = (struct pollfd){.fd = control_fd, .events = POLLIN};
		which[n++] = -3;
		for (int i = 0; i < nservices; i++) {
			struct svc_state *s = &services[i];
			if (drain_until != 0 && s->def->kind == SERVICE_INET)
				continue; /* no new network client */
			if (service_fork_sessions(s->def)) {
				if (s->throttle_until > now &&
				    s->throttle_until < wake)
					wake = s->throttle_until;
				sessions_tick(i, now);
				if (!sessions_can_grant(i, now))
					continue;
				p[n] = (struct pollfd){.fd = s->listen_fd,
						       .events = POLLIN};
				which[n++] = i;
				continue;
			}
			if (s->def->always && s->count == 0 &&
			    now >= s->throttle_until)
				spawn_child(i);
			if (s->throttle_until > now && s->throttle_until < wake)
				wake = s->throttle_until;
			if (s->def->always || !service_wanted(s, now))
				continue;
			p[n] = (struct pollfd){.fd = s->listen_fd,
					       .events = POLLIN};
			which[n++] = i;
		}
		int rc = poll(p, (nfds_t)n, (int)((wake - now) / 1000) + 1);
		if (rc < 0 && errno != EINTR)
			log_fatal("poll: %m");
		for (int k = 0; rc > 0 && k < n; k++) {
			if (!(p[k].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			if (which[k] == -1 && handle_signals() && drain())
				return;
			if (which[k] == -2)
				spawn_status(status_pipe[0]);
			if (which[k] == -3)
				control_serve(control_fd);
			if (which[k] >= 0 &&
			    service_fork_sessions(services[which[k]].def))
				sessions_grant(which[k]);
			else if (which[k] >= 0)
				spawn_child(which[k]);
		}
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: master [-f] [-c config]\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	const char *conf = CONFIG_DEFAULT_PATH;
	char err[512];
	int opt, ready_fd = -1;

	while ((opt = getopt(argc, argv, "c:f")) != -1) {
		if (opt == 'c')
			conf = optarg;
		else if (opt == 'f')
			master_foreground = 1;
		else
			usage();
	}
	log_open("master", LOG_DEST_STDERR, NULL);
	if (config_load(conf, err, sizeof(err)) != 0)
		log_fatal("%s", err);
	master_log_stderr = master_foreground && cfg.maillog_file[0] == 0;
	if (strcmp(cfg.run_mode, "root") == 0 && geteuid() != 0)
		log_fatal("run_mode = root needs root; start as root or set "
			  "run_mode = user in %s", config_file);
	if (queue_dirs_create() != 0)
		exit(1);
	if (service_open_log("master", master_log_stderr) != 0)
		log_fatal("open %s: %m", cfg.maillog_file);
	log_set_verbose((int)cfg.verbose);
	if (!master_foreground)
		log_also_stderr(1); /* until the starting command is told */
	lock_pid_file();
	if (!master_foreground)
		ready_fd = daemonize();
	write_pid_file();
	if (stats_create(STATS_FILE, stats_group()) != 0 ||
	    log_level_create(LOG_LEVEL_FILE, (int)cfg.verbose) != 0)
		log_fatal("cannot create the files in %s/pid", cfg.queue_directory);
	setup_signals();
	setup_services();
	if (listen_open_all() != 0 || (control_fd = control_open()) < 0)
		log_fatal("cannot open the listening sockets; see above");
	if (strcmp(cfg.run_mode, "user") == 0)
		log_info("daemon started -- version %s, configuration %s, "
			 "run_mode=user: unprivileged, every service runs as "
			 "uid %d without chroot", MASTER_VERSION, config_file,
			 (int)geteuid());
	else
		log_info("daemon started -- version %s, configuration %s, "
			 "run_mode=root", MASTER_VERSION, config_file);
	tell_ready(ready_fd);
	log_also_stderr(0);
	main_loop();
	spawn_stop_all();
	log_info("stopped");
	if (unlink("pid/master.pid") != 0)
		log_warn("unlink pid/master.pid: %m");
	return 0;
}
