/*
 * qmgr_admin.c - the administrator's requests on private/qmgr: flush,
 * hold, release, delete, requeue (mtactl(8) sends them).
 *
 * Each request names one queue ID, or a selection (all, a sender, a
 * recipient, a recipient domain); qmgr applies it to the index in its
 * next group commit and to active messages in memory.  A deleted message
 * loses its file first and its index entry after (DESIGN.md 3.6); a
 * message in delivery is deleted when its deliveries in flight end.
 * Trusts: only peers that are root or qmgr's own user or group
 * (SO_PEERCRED).  Never: sends a notification for a deleted message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "qmgr.h"

#define ADMIN_IDS_MAX 10000000 /* messages one request may select */
#define ADMIN_CHUNK 1000      /* messages changed per index commit */

struct idlist {
	char (*id)[QUEUE_ID_LEN + 1];
	size_t n, cap;
};

/* admin_allowed - the peer is root, or runs as our user or group. */
int
admin_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		log_warn("admin request: SO_PEERCRED: %m");
		return 0;
	}
	return cr.uid == 0 || cr.uid == geteuid() || cr.gid == getegid();
}

static struct qmsg *
find_active(const char *id)
{
	for (struct qmsg *m = active_list; m; m = m->next)
		if (strcmp(m->id, id) == 0)
			return m;
	for (struct qmsg *m = finished_list; m; m = m->next)
		if (strcmp(m->id, id) == 0)
			return m;
	return NULL;
}

/* rewrite_msg - change an index entry's schedule and flags. */
static int
rewrite_msg(MDB_txn *txn, const char *id, long long next_try, uint32_t set,
	    uint32_t clear, int reset_attempts)
{
	MDB_val k = {QUEUE_ID_LEN, (void *)id}, v;
	struct msg_rec r;

	if (mdb_get(txn, qdb.dbi[T_MSG], &k, &v) != 0 || v.mv_size < sizeof(r))
		return -1;
	memcpy(&r, v.mv_data, sizeof(r));
	unsigned char *nv = malloc(v.mv_size);
	if (nv == NULL)
		log_fatal("out of memory");
	memcpy(nv, v.mv_data, v.mv_size);
	if (r.next_try > 0) {
		unsigned char dk[QMGR_DUE_KEY_LEN];
		due_key(dk, r.next_try, id);
		index_del(T_DUE, dk, sizeof(dk));
	}
	r.flags = (r.flags | set) & ~clear;
	r.next_try = (r.flags & MF_HOLD) ? 0 : next_try;
	if (reset_attempts)
		r.attempts = 0;
	memcpy(nv, &r, sizeof(r));
	index_put(T_MSG, id, QUEUE_ID_LEN, nv, v.mv_size);
	free(nv);
	if (r.next_try > 0) {
		unsigned char dk[QMGR_DUE_KEY_LEN];
		due_key(dk, r.next_try, id);
		index_put(T_DUE, dk, sizeof(dk), "", 0);
	}
	return 0;
}

/* the msg/ directories a chunk of deletions changed: fsynced once each,
 * before the chunk's index changes are committed */
static char touched[64][16];
static int ntouched;

static void
dir_touched(const char *dir)
{
	for (int i = 0; i < ntouched; i++)
		if (strcmp(touched[i], dir) == 0)
			return;
	if (ntouched < 64)
		snprintf(touched[ntouched++], sizeof(touched[0]), "%s", dir);
}

static void
sync_touched(void)
{
	for (int i = 0; i < ntouched; i++)
		if (fsync_dir(touched[i]) != 0)
			log_warn("fsync %s: %m", touched[i]);
	ntouched = 0;
}

/* remove_waiting - a waiting message deleted: file first, entry after;
 * 0 when there was no such message. */
static int
remove_waiting(MDB_txn *txn, const char *id)
{
	struct msg_rec r;
	char path[64], dir[16];

	if (index_get_msg(txn, id, &r) != 0)
		return 0;
	msg_path(path, sizeof(path), id);
	if (unlink(path) != 0)
		log_warn("%s: unlink %s: %m", id, path);
	snprintf(dir, sizeof(dir), "msg/%c", queue_id_hash(id));
	dir_touched(dir);
	if (r.next_try > 0) {
		unsigned char dk[QMGR_DUE_KEY_LEN];
		due_key(dk, r.next_try, id);
		index_del(T_DUE, dk, sizeof(dk));
	}
	index_drop_message(id, r.nrcpt);
	return 1;
}

/* apply - one operation on one message; 1 when it applied. */
static int
apply(MDB_txn *txn, const char *op, const char *id)
{
	struct qmsg *m = find_active(id);
	long long now = (long long)time(NULL);

	if (strcmp(op, "delete") == 0) {
		if (m) {
			m->deleted = 1;
			if (m->inflight == 0)
				active_finish(m);
		} else if (!remove_waiting(txn, id))
			return 0;
		log_info("%s: removed (deleted by the administrator)", id);
		return 1;
	}
	if (strcmp(op, "hold") == 0) {
		if (m)
			m->flags |= MF_HOLD; /* kept when the round ends */
		else if (rewrite_msg(txn, id, 0, MF_HOLD, 0, 0) != 0)
			return 0;
		log_info("%s: placed on hold", id);
		return 1;
	}
	if (strcmp(op, "release") == 0) {
		if (m)
			m->flags &= ~(uint32_t)MF_HOLD;
		else if (rewrite_msg(txn, id, now, 0, MF_HOLD, 0) != 0)
			return 0;
		log_info("%s: released from hold", id);
		return 1;
	}
	if (strcmp(op, "flush") == 0 || strcmp(op, "requeue") == 0) {
		int fresh = op[0] == 'r';
		if (m) {
			if (fresh)
				m->attempts = 0, m->flags &= ~(uint32_t)MF_WARNED;
			return 1; /* in delivery now */
		}
		struct msg_rec r;
		if (index_get_msg(txn, id, &r) != 0 || (r.flags & MF_HOLD))
			return 0; /* held mail waits for release */
		if (rewrite_msg(txn, id, now, 0, fresh ? MF_WARNED : 0,
				fresh) != 0)
			return 0;
		if (fresh)
			log_info("%s: requeued: the schedule starts afresh", id);
		return 1;
	}
	return 0;
}

static void
ids_add(struct idlist *l, const char *id)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		if (l->cap > ADMIN_IDS_MAX ||
		    (l->id = realloc(l->id, l->cap * sizeof(*l->id))) == NULL)
			log_fatal("admin request: too many messages");
	}
	memcpy(l->id[l->n++], id, QUEUE_ID_LEN + 1);
}

/* rcpt_matches - a recipient of id equals rcpt, or (domain) ends in
 * "@domain" while it still waits. */
static int
rcpt_matches(MDB_txn *txn, const char *id, unsigned nrcpt, const char *rcpt,
	     const char *domain)
{
	for (unsigned i = 0; i < nrcpt; i++) {
		unsigned char k[QMGR_RCPT_KEY_LEN];
		MDB_val key = {sizeof(k), k}, v;
		struct rcpt_rec r;
		rcpt_key(k, id, i);
		if (mdb_get(txn, qdb.dbi[T_RCPT], &key, &v) != 0 ||
		    v.mv_size < sizeof(r))
			continue;
		memcpy(&r, v.mv_data, sizeof(r));
		if (sizeof(r) + r.addr_len > v.mv_size)
			continue;
		const char *a = (char *)v.mv_data + sizeof(r);
		size_t al = r.addr_len;
		if (rcpt && strlen(rcpt) == al && strncasecmp(a, rcpt, al) == 0)
			return 1;
		size_t dl = domain ? strlen(domain) : 0;
		if (domain && r.status != RS_SENT && r.status != RS_FAILED &&
		    al > dl && a[al - dl - 1] == '@' &&
		    strncasecmp(a + al - dl, domain, dl) == 0)
			return 1;
	}
	return 0;
}

/* select_ids - the messages a request selects. */
static void
select_ids(MDB_txn *txn, const struct attrs *a, struct idlist *l)
{
	const char *id = attrs_get(a, "queue_id");
	const char *sender = attrs_get(a, "sender");
	const char *rcpt = attrs_get(a, "rcpt");
	const char *domain = attrs_get(a, "domain");
	MDB_cursor *cur;
	MDB_val k, v;

	if (id) {
		if (queue_id_valid(id))
			ids_add(l, id);
		return;
	}
	if (attrs_get(a, "all") == NULL && !sender && !rcpt && !domain)
		return;
	if (mdb_cursor_open(txn, qdb.dbi[T_MSG], &cur) != 0)
		log_fatal("queue index: cannot read");
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct msg_rec r;
		char mid[QUEUE_ID_LEN + 1];
		if (k.mv_size != QUEUE_ID_LEN || v.mv_size < sizeof(r))
			continue;
		memcpy(&r, v.mv_data, sizeof(r));
		memcpy(mid, k.mv_data, QUEUE_ID_LEN);
		mid[QUEUE_ID_LEN] = 0;
		const char *s = (char *)v.mv_data + sizeof(r);
		if (sender && !(sizeof(r) + r.sender_len <= v.mv_size &&
				strlen(sender) == r.sender_len &&
				strncasecmp(s, sender, r.sender_len) == 0))
			continue;
		if ((rcpt || domain) &&
		    !rcpt_matches(txn, mid, r.nrcpt, rcpt, domain))
			continue;
		ids_add(l, mid);
	}
	mdb_cursor_close(cur);
}

/*
 * A selection larger than one chunk is worked through a chunk per turn
 * of qmgr's loop (admin_work), so that deliveries, new mail and other
 * requests go on meanwhile (a million messages take half a minute); its
 * answer goes when the last chunk is durable.  One selection at a time:
 * another one meanwhile is answered "busy".
 */
static struct {
	int active;
	struct ipc *c; /* NULL once its client went away */
	char op[16];
	int revive;    /* flush of a selection: every destination too */
	struct idlist l;
	size_t pos;
	long n;
} job;

/* answer - the result of a request: durable before it is given */
static int
answer(struct ipc *c, long n)
{
	if (index_commit_durable() != 0)
		log_fatal("queue index commit failed");
	if (c == NULL)
		return 0;
	ipc_put_str(c, "status", "0");
	ipc_put_long(c, "count", n);
	return ipc_end(c) == IPC_OK ? 0 : -1;
}

/* apply_ids - op on the next ADMIN_CHUNK messages of l from *pos, read
 * in their own transaction and committed: no read transaction stays
 * open while a big batch commits (and may have to grow the map); how
 * many it applied to */
static long
apply_ids(const char *op, const struct idlist *l, size_t *pos)
{
	MDB_txn *txn;
	long n = 0;

	if (db_begin(&qdb, 1, &txn) != 0)
		log_fatal("queue index: cannot begin a read transaction");
	for (size_t k = 0; *pos < l->n && k < ADMIN_CHUNK; k++)
		n += apply(txn, op, l->id[(*pos)++]);
	mdb_txn_abort(txn);
	sync_touched(); /* the unlinks durable before the entries go */
	if (index_commit() != 0)
		log_fatal("queue index commit failed");
	return n;
}

int
admin_pending(void)
{
	return job.active;
}

void
admin_work(void)
{
	if (!job.active)
		return;
	job.n += apply_ids(job.op, &job.l, &job.pos);
	if (job.pos < job.l.n)
		return;
	if (job.revive)
		dest_revive_all();
	if (answer(job.c, job.n) != 0)
		log_debug("client went away before the answer");
	free(job.l.id);
	memset(&job, 0, sizeof(job));
}

void
admin_client_gone(const struct ipc *c)
{
	if (job.active && job.c == c)
		job.c = NULL; /* the work goes on; nobody hears the count */
}

/* admin_request - answers {status, count, text} (a large selection: once
 * admin_work has done it); 0 unless malformed. */
int
admin_request(struct ipc *c, const char *op, const struct attrs *a)
{
	int selection = attrs_get(a, "queue_id") == NULL;
	MDB_txn *txn;

	if (job.active && selection) {
		ipc_put_str(c, "status", "1");
		ipc_put_str(c, "text", "busy with another selection; try "
				       "again when it is done");
		return ipc_end(c) == IPC_OK ? 0 : -1;
	}
	if (index_commit() != 0) /* read what the batch changed */
		log_fatal("queue index commit failed");
	active_release(); /* every active message where find_active looks */
	if (job.active) { /* one message while a selection runs */
		struct idlist one = {0};
		size_t pos = 0;
		long n = 0;
		if (db_begin(&qdb, 1, &txn) != 0)
			log_fatal("queue index: cannot begin a read "
				  "transaction");
		select_ids(txn, a, &one);
		mdb_txn_abort(txn);
		while (pos < one.n)
			n += apply_ids(op, &one, &pos);
		free(one.id);
		return answer(c, n);
	}
	if (db_begin(&qdb, 1, &txn) != 0)
		log_fatal("queue index: cannot begin a read transaction");
	select_ids(txn, a, &job.l);
	mdb_txn_abort(txn);
	snprintf(job.op, sizeof(job.op), "%s", op);
	job.revive = strcmp(op, "flush") == 0 && selection;
	job.c = c;
	job.active = 1;
	job.pos = 0;
	job.n = 0;
	admin_work(); /* a small one is done at once */
	return 0;
}
