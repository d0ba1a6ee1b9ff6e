/*
 * qmgr.h - state shared by the files of qmgr(8).
 */
#ifndef QMGR_H
#define QMGR_H

#include <poll.h>
#include <stdint.h>

#include "db.h"
#include "ipc.h"
#include "queue_file.h"
#include "queue_id.h"
#include "queue_index.h"

#define QMGR_RCPT_KEY_LEN QINDEX_RCPT_KEY_LEN
#define QMGR_DUE_KEY_LEN QINDEX_DUE_KEY_LEN

#define QMGR_DEST_MAX 100000 /* destinations remembered at once */
/* requests at once on one connection to local (its group commit) */
#define QMGR_LOCAL_PIPELINE 8

struct qmsg;
struct dest;

/* a message's recipients for one destination, queued at it (qmgr_dest.c) */
struct job {
	struct qmsg *m;
	struct dest *d;
	int *idx, n;  /* recipient numbers */
	int cap;      /* idx allocated */
	int pos;      /* the first not yet handed out */
	int queued;   /* in d's queue */
	struct job *dprev, *dnext;
};

/* a transport and next hop: the unit of concurrency (qmgr_dest.c) */
struct dest {
	char transport[8];
	char nexthop[256];
	int local;         /* the local transport: no feedback */
	int window;        /* deliveries allowed at once now */
	int active;        /* requests in flight */
	int failures;      /* failed requests in a row */
	long long dead_until; /* seconds; 0 when alive */
	char last_error[256];
	struct job *qhead, *qtail; /* jobs waiting, oldest first */
	int ready;                 /* on the ready list */
	struct dest *rnext;        /* ready list */
	struct dest *next;         /* hash chain */
};

struct qmsg {
	char id[QUEUE_ID_LEN + 1];
	struct qf_envelope env;
	int fd;
	uint32_t flags;          /* MF_* of its index entry */
	unsigned char *status;   /* per recipient: enum rcpt_status */
	unsigned char *sent_out; /* per recipient: in a request now */
	unsigned char *rflags;   /* per recipient: RF_* */
	unsigned char *unsure;   /* per recipient: an attempt's outcome is
				  * unknown (MF_UNSURE; qmgr_deliver.c) */
	char **text;             /* per recipient: last result, or NULL */
	char **mta;              /* per recipient: the remote MTA, or NULL */
	int deleted;             /* by the administrator: no notices */
	int inflight;            /* requests outstanding */
	int npending;            /* recipients not yet final */
	uint32_t attempts;
	long long t_active;      /* microseconds */
	int finished;            /* waiting for its results to commit */
	struct job **jobs;       /* one per destination of this round */
	int njobs;
	struct qmsg *prev, *next;
};

/* qmgr_index.c: the batch of index writes, committed once per loop */
extern struct db qdb;
int index_open(void);
void index_put(int table, const void *k, size_t kl, const void *v, size_t vl);
void index_del(int table, const void *k, size_t kl);
/* index_commit - one durable transaction for everything batched */
int index_commit(void);
int index_commit_durable(void);
/* index_flush - make every commit so far durable; index_flush_due:
 * when it must run at the latest (us), 0 when nothing waits */
int index_flush(void);
long long index_flush_due(void);
int index_pending(void);
/* index_commit_due - when (us) the changes batched so far must be
 * committed at the latest, 0 when none waits */
long long index_commit_due(void);
void rcpt_key(unsigned char *k, const char *id, unsigned idx);
void due_key(unsigned char *k, long long t, const char *id);
void index_add_message(const struct qf_envelope *e, long long next_try);
void index_set_rcpt(const char *id, unsigned idx, const char *addr,
		    int status, uint32_t attempts, const char *text);
void index_set_next_try(const char *id, const struct qf_envelope *e,
			long long next_try, uint32_t attempts, uint32_t flags);
void index_set_rcpt_flags(const char *id, unsigned idx, const char *addr,
			  int status, uint32_t attempts, uint32_t flags,
			  const char *text);
void index_drop_message(const char *id, unsigned nrcpt);
int index_get_msg(MDB_txn *txn, const char *id, struct msg_rec *r);

/* qmgr_scan.c */
void scan_startup(void);
void scan_incoming(void);
void scan_moves(void);
int queue_new_file(const char *id);
void msg_path(char *out, size_t len, const char *id);

/* qmgr_active.c */
extern int active_count;              /* active and finished */
extern struct qmsg *active_list;      /* in delivery */
extern struct qmsg *finished_list;    /* waiting for the commit */
void active_finish(struct qmsg *m);
int active_adopt(const char *id, int fd, struct qf_envelope *e, int unsure);
/* active_release - what active_schedule took, once its active marks are
 * committed: jobs built, ready to dispatch */
void active_release(void);
void active_schedule(long long *next_wake);
void active_after_commit(long long *due_us);
void active_result(struct qmsg *m, unsigned idx, int code, const char *dsn,
		   const char *text, const char *mta);
void active_request_done(struct qmsg *m);
int active_untried(const struct qmsg *m);

/* qmgr_dest.c */
struct dest *dest_of(const char *rcpt);
int dest_count(void);
int dest_dead(struct dest *d);
int dest_has_room(const struct dest *d);
void dest_feedback(struct dest *d, int answered, const char *why);
void dest_revive_all(void);
void jobs_build(struct qmsg *m);
void jobs_drop(struct qmsg *m);
void job_dequeue(struct job *j);
struct dest *dest_ready_first(void);
struct dest *dest_ready_next(struct dest *d);
void dest_ready_prune(void);

/* qmgr_submit.c: a message of our own through cleanup */
struct submit; /* opaque: a cleanup_client conversation */
struct submit *submit_open(const char *sender, const char *rcpt, char *id,
			   size_t idlen);
void submit_write(struct submit *s, const char *p, size_t n);
void submit_printf(struct submit *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int submit_close(struct submit *s, const char *id);
void submit_abort(struct submit *s);

/* qmgr_bounce.c: what the sender is told */
int notify_round(struct qmsg *m);
int notify_delay(struct qmsg *m);
void notify_passed_on(struct qmsg *m, unsigned idx);
int notify_trace(struct qmsg *m);

/* qmgr_admin.c */
int admin_allowed(int fd);
int admin_request(struct ipc *c, const char *op, const struct attrs *a);
/* admin_work - the next chunk of a large selection (every turn);
 * admin_pending - one is under way; admin_client_gone - its client's
 * connection is about to be freed */
void admin_work(void);
int admin_pending(void);
void admin_client_gone(const struct ipc *c);

/* qmgr_deliver.c */
void deliver_dispatch(void);
int deliver_pollfds(struct pollfd *p, int max, void **tag);
int deliver_nconns(void);
void deliver_wake(long long *wake);
void deliver_event(void *tag, short revents);

#endif
