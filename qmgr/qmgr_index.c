/*
 * qmgr_index.c - the LMDB queue index and its batched writes.
 *
 * Every change qmgr makes to the index is queued here as a put or a delete
 * and applied in one durable transaction per turn of the event loop (group
 * commit).  When the map is full the transaction is aborted, the map
 * doubled and the batch replayed, so a growing queue never fails a write.
 * Tables: msg (ID -> msg_rec + sender), rcpt (ID/index -> rcpt_rec +
 * address + last text), due (be64 time + ID -> ""), which makes the next
 * message due a single cursor step.
 * Each commit flushes its pages (one fdatasync) and writes its meta
 * page without a flush (MDB_NOMETASYNC): a power cut can undo the last
 * commit but never leave the file inconsistent.  (Commits without any
 * flush, MDB_NOSYNC, let LMDB overwrite pages of the last flushed
 * snapshot and let a meta page reach the disk before the pages it
 * points to: a power cut during or between flushes could corrupt the
 * index for good.)  To keep the flushes few, a change waits up to
 * INDEX_COMMIT_WINDOW_US for its commit, gathering the events of that
 * time into one (index_commit_due; qmgr's loop acts on nothing
 * uncommitted meanwhile).  The meta page is flushed (index_flush)
 * before qmgr acts on what the commits recorded: before a batch of
 * finished messages is removed (qmgr_active.c), with every notice and
 * administrator's answer (index_commit_durable), and at least every
 * INDEX_FLUSH_S.  So every outcome is durable before anything depends
 * on it; what a power cut can undo is at most the last commit, which
 * only means those deliveries are made again (the queue files are
 * still there: their removal waits for the flush).  Entries of new
 * files need no flush at all: the start-up reconciliation rebuilds
 * them from incoming/ and msg/.
 * Trusts: its own files.  Never: acts on a change before it is committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "mta_limits.h"
#include "qmgr.h"

#define INDEX_BATCH_MAX 100000 /* operations before a forced commit */
#define INDEX_FLUSH_S 1 /* commits wait at most this long for a flush */
/* a change waits at most this long for its commit (and its fdatasync):
 * one session's stream makes about one commit per 4 messages instead
 * of three per message */
#define INDEX_COMMIT_WINDOW_US 5000
/* rcpt_key holds a recipient's number in 16 bits */
_Static_assert(LIM_QF_RCPTS <= 65536, "recipient numbers must fit rcpt_key");

struct op {
	int table;
	size_t kl, vl;
	int del;
	unsigned char *kv; /* key then value */
};

struct db qdb;
static struct op *ops;
static size_t nops, capops;
static long long unflushed_since; /* us; 0 when all is flushed */
static long long pending_since; /* us: the oldest change not committed */

int
index_open(void)
{
	static const char *const tables[T_COUNT] = QINDEX_TABLES;
	char err[512];

	/* lazy meta flush: a power cut may undo the last commit, which the
	 * start-up reconciliation repairs like any crash before a commit;
	 * what was promised to someone goes through index_commit_durable */
	if (db_open(&qdb, "db", tables, T_COUNT, (size_t)cfg.lmdb_map_size,
		    DB_LAZY_META, err, sizeof(err)) != 0) {
		log_error("open queue index: %s", err);
		return -1;
	}
	return 0;
}

static void
op_add(int table, const void *k, size_t kl, const void *v, size_t vl,
       int del)
{
	if (nops == capops) {
		capops = capops ? capops * 2 : 256;
		ops = realloc(ops, capops * sizeof(*ops));
		if (ops == NULL)
			log_fatal("out of memory");
	}
	if (nops == 0)
		pending_since = now_us();
	struct op *o = &ops[nops++];
	o->table = table;
	o->kl = kl;
	o->vl = vl;
	o->del = del;
	if ((o->kv = malloc(kl + vl + 1)) == NULL)
		log_fatal("out of memory");
	memcpy(o->kv, k, kl);
	if (vl)
		memcpy(o->kv + kl, v, vl);
	if (nops >= INDEX_BATCH_MAX && index_commit() != 0)
		log_fatal("queue index commit failed");
}

void
index_put(int table, const void *k, size_t kl, const void *v, size_t vl)
{
	op_add(table, k, kl, v, vl, 0);
}

void
index_del(int table, const void *k, size_t kl)
{
	op_add(table, k, kl, NULL, 0, 1);
}

int
index_pending(void)
{
	return nops > 0;
}

long long
index_commit_due(void)
{
	return nops > 0 ? pending_since + INDEX_COMMIT_WINDOW_US : 0;
}

/* apply - all queued operations in one transaction. */
static int
apply(void)
{
	MDB_txn *txn;
	int rc = db_begin(&qdb, 0, &txn);

	if (rc != 0)
		return rc;
	for (size_t i = 0; i < nops && rc == 0; i++) {
		struct op *o = &ops[i];
		MDB_val k = {o->kl, o->kv}, v = {o->vl, o->kv + o->kl};
		if (o->del) {
			rc = mdb_del(txn, qdb.dbi[o->table], &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		} else
			rc = mdb_put(txn, qdb.dbi[o->table], &k, &v, 0);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

int
index_commit(void)
{
	int rc;

	if (nops == 0)
		return 0;
	while ((rc = apply()) == MDB_MAP_FULL)
		if (db_grow(&qdb) != 0)
			break;
	if (rc == 0 && unflushed_since == 0)
		unflushed_since = now_us();
	if (rc != 0) {
		log_error("queue index commit: %s", mdb_strerror(rc));
		return -1;
	}
	for (size_t i = 0; i < nops; i++)
		free(ops[i].kv);
	nops = 0;
	return 0;
}

/* index_flush - make every commit so far durable (one fdatasync). */
int
index_flush(void)
{
	int rc;

	if (unflushed_since == 0)
		return 0;
	if ((rc = db_sync(&qdb)) != 0) {
		log_error("queue index sync: %s", mdb_strerror(rc));
		return rc;
	}
	unflushed_since = 0;
	return 0;
}

/* index_flush_due - the time (us) by which index_flush must run, or 0 */
long long
index_flush_due(void)
{
	return unflushed_since ? unflushed_since + INDEX_FLUSH_S * 1000000LL
			       : 0;
}

/* index_commit_durable - commit, and make every commit so far durable:
 * for what was promised (an administrator's answer, a notice sent). */
int
index_commit_durable(void)
{
	int rc = index_commit();
	return rc == 0 ? index_flush() : rc;
}

void
rcpt_key(unsigned char *k, const char *id, unsigned idx)
{
	memcpy(k, id, QUEUE_ID_LEN);
	k[QUEUE_ID_LEN] = '/';
	k[QUEUE_ID_LEN + 1] = (unsigned char)(idx >> 8);
	k[QUEUE_ID_LEN + 2] = (unsigned char)idx;
}

void
due_key(unsigned char *k, long long t, const char *id)
{
	db_put_be64(k, (unsigned long long)t);
	memcpy(k + 8, id, QUEUE_ID_LEN);
}

static void
put_msg(const struct qf_envelope *e, long long next_try, uint32_t attempts,
	uint32_t flags)
{
	struct msg_rec r = {.arrival = e->arrival, .next_try = next_try,
			    .size = e->msg_size, .nrcpt = (uint32_t)e->nrcpt,
			    .attempts = attempts, .flags = flags,
			    .sender_len = (uint32_t)strlen(e->sender)};
	size_t n = sizeof(r) + r.sender_len;
	unsigned char *v = malloc(n);

	if (v == NULL)
		log_fatal("out of memory");
	memcpy(v, &r, sizeof(r));
	memcpy(v + sizeof(r), e->sender, r.sender_len);
	index_put(T_MSG, e->id, QUEUE_ID_LEN, v, n);
	free(v);
}

void
index_set_rcpt(const char *id, unsigned idx, const char *addr, int status,
	       uint32_t attempts, const char *text)
{
	index_set_rcpt_flags(id, idx, addr, status, attempts, 0, text);
}

void
index_set_rcpt_flags(const char *id, unsigned idx, const char *addr,
		     int status, uint32_t attempts, uint32_t flags,
		     const char *text)
{
	struct rcpt_rec r = {.status = (uint32_t)status, .attempts = attempts,
			     .flags = flags,
			     .addr_len = (uint32_t)strlen(addr),
			     .text_len = (uint32_t)strlen(text)};
	unsigned char k[QMGR_RCPT_KEY_LEN];
	size_t n = sizeof(r) + r.addr_len + r.text_len;
	unsigned char *v = malloc(n);

	if (v == NULL)
		log_fatal("out of memory");
	memcpy(v, &r, sizeof(r));
	memcpy(v + sizeof(r), addr, r.addr_len);
	memcpy(v + sizeof(r) + r.addr_len, text, r.text_len);
	rcpt_key(k, id, idx);
	index_put(T_RCPT, k, sizeof(k), v, n);
	free(v);
}

void
index_add_message(const struct qf_envelope *e, long long next_try)
{
	unsigned char k[QMGR_DUE_KEY_LEN];

	put_msg(e, next_try, 0, 0);
	for (int i = 0; i < e->nrcpt; i++)
		index_set_rcpt(e->id, (unsigned)i, e->rcpt[i].addr, RS_PENDING,
			       0, "");
	if (next_try > 0) { /* 0: active at once, no place in the schedule */
		due_key(k, next_try, e->id);
		index_put(T_DUE, k, sizeof(k), "", 0);
	}
}

/* index_set_next_try - 0 marks the message active (no due entry). */
void
index_set_next_try(const char *id, const struct qf_envelope *e,
		   long long next_try, uint32_t attempts, uint32_t flags)
{
	unsigned char k[QMGR_DUE_KEY_LEN];

	put_msg(e, next_try, attempts, flags);
	if (next_try > 0) {
		due_key(k, next_try, id);
		index_put(T_DUE, k, sizeof(k), "", 0);
	}
}

void
index_drop_message(const char *id, unsigned nrcpt)
{
	unsigned char k[QMGR_RCPT_KEY_LEN];

	index_del(T_MSG, id, QUEUE_ID_LEN);
	for (unsigned i = 0; i < nrcpt; i++) {
		rcpt_key(k, id, i);
		index_del(T_RCPT, k, sizeof(k));
	}
}

int
index_get_msg(MDB_txn *txn, const char *id, struct msg_rec *r)
{
	MDB_val k = {QUEUE_ID_LEN, (void *)id}, v;
	int rc = mdb_get(txn, qdb.dbi[T_MSG], &k, &v);

	if (rc != 0)
		return rc;
	if (v.mv_size < sizeof(*r))
		return MDB_CORRUPTED;
	memcpy(r, v.mv_data, sizeof(*r));
	return 0;
}
