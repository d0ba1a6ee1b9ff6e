/*
 * service.h - the service table and the life of a child process.
 *
 * master(8) reads the table to open sockets and start children; each child
 * calls service_init() to read its config, open the log, drop privileges
 * as the table says, and then either runs service_loop() (accept, serve,
 * report idle/busy to master) or an event loop of its own (qmgr).
 * Children get their listening socket as fd 3 and the status pipe as fd 4.
 * smtpd runs service_fork_loop() instead: a listener that forks a process
 * per session on master's grants (fd 5), see service_fork.c.
 */
#ifndef MTA_SERVICE_H
#define MTA_SERVICE_H

#include <sys/types.h>

#define SERVICE_LISTEN_FD 3
#define SERVICE_STATUS_FD 4
/* a session service's listener only: master's grants (service_fork.c) */
#define SERVICE_REQUEST_FD 5
/* a forked session's exit status when a map it read was replaced on
 * disk: master then replaces the listener (not a crash) */
#define SERVICE_EXIT_STALE 75

enum service_kind { SERVICE_INET, SERVICE_UNIX };

struct service_def {
	const char *name;    /* also the program name */
	enum service_kind kind;
	const char *path;    /* UNIX socket, relative to queue_directory */
	mode_t mode;         /* UNIX socket mode */
	int chroot;          /* chroot into queue_directory (root mode) */
	int always;          /* keep one running even without clients */
	char **user;         /* config field naming the user (root mode) */
	long *limit;         /* config field: process limit */
	int owner_group;     /* also in mail_owner's group (root mode), to
				reach cleanup's socket: local's forwards */
};

/* SERVICE_SPARE, SERVICE_SESSION and SERVICE_DONE come from a listener:
 * arg is the pid of a session process forked ahead (waiting for a
 * client), of the one that now has its client, or how many sessions the
 * grant started */
enum service_status { SERVICE_IDLE = 1, SERVICE_BUSY = 2,
		      SERVICE_SESSION = 3, SERVICE_DONE = 4,
		      SERVICE_SPARE = 5 };

struct service_msg {
	pid_t pid;
	int status;
	int arg;
};

/* service_table - the services; n gets their count. */
const struct service_def *service_table(int *n);
const struct service_def *service_find(const char *name);
/* service_listen - where a service listens: a UNIX socket path, or an
 * inet service's host:port from its key ("" = the service is off) */
const char *service_listen(const struct service_def *d);
/* service_fork_sessions - a session service: one listener that forks a
 * process per session, and the limit bounds the sessions
 * (service_fork.c): smtpd in each of its roles */
int service_fork_sessions(const struct service_def *d);
/* service_program - the program run for a service (under the service's
 * name as argv[0]: submission and smtps run smtpd in a role) */
const char *service_program(const struct service_def *d);

/* service_init - config, log, chdir, privileges; exits with a log line
 * on any failure.  argv: PROG -c CONFIG [-l stderr] */
void service_init(const char *name, int argc, char **argv);
/* service_map_check - a map replaced on disk (or missing in root mode)
 * that this process cannot reopen inside its chroot: finish the current
 * session, then exit (service_stop), so that master starts a process
 * that opens the new file before its chroot (mta-maps(5), "Replacing a
 * map"). */
struct map;
void service_map_check(const struct map *m);
/* service_loop - accept connections on fd 3 and call serve() for each. */
void service_loop(void (*serve)(int fd));
/* service_report - tell master this process is idle or busy. */
void service_report(int status);
/* service_report_arg - the same with an argument (service_msg). */
void service_report_arg(int status, int arg);
/*
 * service_fork_loop - the listener of a session service (service_fork.c):
 * on each grant of master (fd 5) accept up to that many connections and
 * run serve() for each in a process of its own, forked without exec and
 * made master's child; never returns.
 */
void service_fork_loop(void (*serve)(int fd));
/* service_master - master's pid, as service_init found it. */
extern pid_t service_master;
/* service_hup - SIGHUP came (reload or stop), as opposed to service_stop
 * set by the process itself (a replaced map) */
extern volatile int service_hup;
/* service_stopping - SIGHUP asked us to exit after the current session. */
extern volatile int service_stop;
/* service_keep_root - set by a program that must stay root after
 * service_init (local(8) with local_users = system: it takes each
 * recipient's uid in a child per delivery); asked after the config is read */
extern int (*service_keep_root)(void);
/* service_before_drop - set by a program that reads something as root
 * (a TLS key) before service_init chroots and drops privileges */
extern void (*service_before_drop)(void);
/* service_log_dest - log destination from the -l flag and config. */
int service_open_log(const char *name, int to_stderr);
/* drop_privileges - become user (and chroot into dir when set). */
int drop_privileges(const char *user, const char *chroot_dir);
/* drop_privileges_group - the same, with one supplementary group (the
 * gid of user "group_of"), or none when group_of is NULL. */
int drop_privileges_group(const char *user, const char *chroot_dir,
			  const char *group_of);

#endif
