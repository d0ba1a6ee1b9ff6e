/*
 * service.h - the service table and the life of a child process.
 *
 * master(8) reads the table to open sockets and start children; each child
 * calls service_init() to read its config, open the log, drop privileges
 * as the table says, and then either runs service_loop() (accept, serve,
 * report idle/busy to master) or an event loop of its own (qmgr).
 * Children get their listening socket as fd 3 and the status pipe as fd 4.
 */
#ifndef MTA_SERVICE_H
#define MTA_SERVICE_H

#include <sys/types.h>

#define SERVICE_LISTEN_FD 3
#define SERVICE_STATUS_FD 4

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

enum service_status { SERVICE_IDLE = 1, SERVICE_BUSY = 2 };

struct service_msg {
	pid_t pid;
	int status;
};

/* service_table - the services; n gets their count. */
const struct service_def *service_table(int *n);
const struct service_def *service_find(const char *name);
/* service_listen - where a service listens: a UNIX socket path, or an
 * inet service's host:port from its key ("" = the service is off) */
const char *service_listen(const struct service_def *d);
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
