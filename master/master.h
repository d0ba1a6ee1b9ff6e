/*
 * master.h - state shared by the files of master(8).
 */
#ifndef MASTER_H
#define MASTER_H

#include <sys/types.h>

#include "service.h"

#define MASTER_MAX_CHILDREN 20000  /* hard ceiling over all process limits */
#define MASTER_BACKOFF_MAX 60      /* seconds between restarts at most */

struct child {
	pid_t pid;
	int svc;        /* index into the service table */
	int idle;       /* last status it reported */
	int reported;   /* has reported at least once */
	struct child *next;
	/* session services (sessions.c) */
	struct child *prev, *hnext; /* the list; the pid hash */
	int role;       /* CHILD_WORKER, CHILD_LISTENER, CHILD_SESSION, or
			   CHILD_SPARE (a session waiting for its client) */
	int req_fd;     /* listener: master's end of its request pipe */
	long granted;   /* listener: sessions granted, not yet started */
	int retired;    /* listener: told to exit (reload, replaced map) */
	pid_t listener; /* session: the listener that started it */
	long forked;    /* listener: sessions it started */
	int replace;    /* listener: to be replaced by a fresh one */
};

enum child_role { CHILD_WORKER, CHILD_LISTENER, CHILD_SESSION,
		  CHILD_SPARE };

struct svc_state {
	const struct service_def *def;
	int listen_fd;
	char listen_addr[300]; /* what listen_fd is bound to */
	int count, idle, starting;
	long restarts;
	long long throttle_until; /* microseconds */
	long backoff;             /* seconds */
	/* session services (sessions.c) */
	int sessions;             /* session processes alive */
	long granted;             /* granted to listeners, not yet started */
	struct child *listener;   /* the one that takes grants, or NULL */
	struct child *successor;  /* a fresh listener starting to replace it */
};

extern struct svc_state *services;
extern int nservices;
extern int master_foreground;
extern int master_log_stderr;

/* listen.c */
int listen_open_all(void);
int listen_inet(const char *key, const char *spec);
int listen_unix(const char *path, mode_t mode);

/* spawn.c */
void spawn_child(int svc);
void spawn_reap(void);
void spawn_status(int fd);
void spawn_stop_all(void);
/* spawn_signal_kind - signal the children of inet or unix services;
 * returns how many. */
int spawn_signal_kind(enum service_kind kind, int sig);
void spawn_hup_all(void);
struct child *spawn_children(void);
void spawn_set_status_fd(int fd);
/* spawn_set_status_rfd - master's end: read before each reap */
void spawn_set_status_rfd(int fd);
/* spawn_add - track a process started by a listener (sessions.c) */
struct child *spawn_add(pid_t pid, int svc, int role);
struct child *spawn_find(pid_t pid);
int spawn_total(void);

/* sessions.c: session services (service_fork.c) */
void sessions_tick(int svc, long long now);
int sessions_can_grant(int svc, long long now);
void sessions_grant(int svc);
void sessions_report(struct child *c, const struct service_msg *m);
int sessions_gone(struct child *c, int status);
void sessions_retire(struct svc_state *s);
void sessions_started(struct child *c);
void sessions_ready(struct child *c);
int sessions_request_pipe(int fds[2]);

/* control.c */
int control_open(void);
void control_serve(int lfd);

/* queue_dirs.c */
int queue_dirs_create(void);

#endif
