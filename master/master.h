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
};

struct svc_state {
	const struct service_def *def;
	int listen_fd;
	char listen_addr[300]; /* what listen_fd is bound to */
	int count, idle, starting;
	long restarts;
	long long throttle_until; /* microseconds */
	long backoff;             /* seconds */
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

/* control.c */
int control_open(void);
void control_serve(int lfd);

/* queue_dirs.c */
int queue_dirs_create(void);

#endif
