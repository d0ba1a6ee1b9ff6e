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

struct qmsg {
	char id[QUEUE_ID_LEN + 1];
	struct qf_envelope env;
	int fd;
	unsigned char *status;   /* per recipient: enum rcpt_status */
	unsigned char *sent_out; /* per recipient: in a request now */
	int inflight;            /* requests outstanding */
	int npending;            /* recipients not yet final */
	uint32_t attempts;
	long long t_active;      /* microseconds */
	int finished;            /* waiting for its results to commit */
	struct qmsg *next;
};

/* qmgr_index.c: the batch of index writes, committed once per loop */
extern struct db qdb;
int index_open(void);
void index_put(int table, const void *k, size_t kl, const void *v, size_t vl);
void index_del(int table, const void *k, size_t kl);
/* index_commit - one durable transaction for everything batched */
int index_commit(void);
int index_pending(void);
void rcpt_key(unsigned char *k, const char *id, unsigned idx);
void due_key(unsigned char *k, long long t, const char *id);
void index_add_message(const struct qf_envelope *e, long long next_try);
void index_set_rcpt(const char *id, unsigned idx, const char *addr,
		    int status, uint32_t attempts, const char *text);
void index_set_next_try(const char *id, const struct qf_envelope *e,
			long long next_try, uint32_t attempts);
void index_drop_message(const char *id, unsigned nrcpt);
int index_get_msg(MDB_txn *txn, const char *id, struct msg_rec *r);

/* qmgr_scan.c */
void scan_startup(void);
void scan_incoming(void);
void scan_moves(void);
int queue_new_file(const char *id);
void msg_path(char *out, size_t len, const char *id);

/* qmgr_active.c */
extern int active_count;
extern struct qmsg *active_list;
void active_schedule(long long *next_wake);
void active_after_commit(void);
void active_result(struct qmsg *m, unsigned idx, int code, const char *dsn,
		   const char *text);
void active_request_done(struct qmsg *m);
int active_untried(const struct qmsg *m);

/* qmgr_deliver.c */
void deliver_dispatch(void);
int deliver_pollfds(struct pollfd *p, int max, void **tag);
void deliver_event(void *tag, short revents);

#endif
