/*
 * qmgr_active.c - the active queue: messages taken from the due index,
 * their recipients' results, and what happens when a round ends.
 *
 * A message becomes active when its due time comes (one cursor step in
 * the due table); its due entry is removed and its index entry marked
 * active (next_try 0), so a restart finds it again.  When every recipient
 * is final the file is unlinked after the results are committed, and the
 * index entry only after that (DESIGN.md 3.6).  Otherwise the message is
 * deferred with a doubling back-off and random jitter.
 * A recipient whose last attempt's outcome is unknown (qmgr or the agent
 * was killed while it was out: MF_UNSURE in the index, m->unsure here)
 * keeps that mark until an agent answers for it; a deferred message
 * keeps MF_UNSURE while any of its recipients does.
 * Trusts: its own index and queue files (checked when read).
 * Never: removes a file before its recipients' results are durable.
 */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "qmgr.h"
#include "stats.h"

/* finished messages are removed together: one fsync of each msg/
 * directory covers every unlink of a batch (on ext4 each directory
 * fsync is a journal commit, whatever else is pending: a second's
 * batch, not a tenth's) */
#define REMOVE_DELAY_US 1000000 /* at most this long after finishing */
#define REMOVE_BATCH 1024      /* or as soon as this many wait */

int active_count;
struct qmsg *active_list;
struct qmsg *finished_list;
static long long finished_since; /* us: when the oldest one finished */
static int nfinished;

static void
msg_free(struct qmsg *m)
{
	jobs_drop(m);
	if (m->fd >= 0 && close(m->fd) != 0)
		log_warn("%s: close: %m", m->id);
	for (int i = 0; m->text && m->mta && i < m->env.nrcpt; i++) {
		free(m->text[i]);
		free(m->mta[i]);
	}
	qf_envelope_free(&m->env);
	free(m->status);
	free(m->sent_out);
	free(m->rflags);
	free(m->unsure);
	free(m->text);
	free(m->mta);
	free(m);
}

/* list_remove / list_push - the active and finished lists. */
static void
list_remove(struct qmsg **head, struct qmsg *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		*head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	m->prev = m->next = NULL;
}

static void
list_push(struct qmsg **head, struct qmsg *m)
{
	m->prev = NULL;
	m->next = *head;
	if (*head)
		(*head)->prev = m;
	*head = m;
}

static void
unlink_active(struct qmsg *m)
{
	list_remove(&active_list, m);
	active_count--;
}

/* active_finish - every recipient is final (or the message was deleted):
 * it waits on the finished list for the commit that makes removal safe. */
void
active_finish(struct qmsg *m)
{
	if (m->finished)
		return;
	m->finished = 1;
	jobs_drop(m);
	list_remove(&active_list, m);
	if (finished_list == NULL)
		finished_since = now_us();
	nfinished++;
	list_push(&finished_list, m);
}

/* load_status - each recipient's state from the index. */
static void
load_status(MDB_txn *txn, struct qmsg *m)
{
	unsigned char k[QMGR_RCPT_KEY_LEN];

	for (int i = 0; i < m->env.nrcpt; i++) {
		MDB_val key = {sizeof(k), k}, v;
		struct rcpt_rec r;
		rcpt_key(k, m->id, (unsigned)i);
		m->status[i] = RS_PENDING;
		if (mdb_get(txn, qdb.dbi[T_RCPT], &key, &v) == 0 &&
		    v.mv_size >= sizeof(r)) {
			memcpy(&r, v.mv_data, sizeof(r));
			m->status[i] = (unsigned char)r.status;
			m->rflags[i] = (unsigned char)r.flags;
			if (r.text_len && sizeof(r) + r.addr_len + r.text_len <=
					      v.mv_size)
				m->text[i] = strndup((char *)v.mv_data +
						     sizeof(r) + r.addr_len,
						     r.text_len);
		}
		/* deferred last time: tried again in this round */
		if (m->status[i] == RS_DEFERRED)
			m->status[i] = RS_PENDING;
		if (m->status[i] != RS_SENT && m->status[i] != RS_FAILED)
			m->npending++;
	}
}

/* alloc_state - the per-recipient arrays of a message just read. */
static void
alloc_state(struct qmsg *m)
{
	size_t n = (size_t)m->env.nrcpt;
	m->status = calloc(n, 1);
	m->sent_out = calloc(n, 1);
	m->rflags = calloc(n, 1);
	m->unsure = calloc(n, 1);
	m->text = calloc(n, sizeof(char *));
	m->mta = calloc(n, sizeof(char *));
	if (!m->status || !m->sent_out || !m->rflags || !m->unsure ||
	    !m->text || !m->mta)
		log_fatal("out of memory");
	m->t_active = now_us();
}

/* set_unsure - with unsure: every recipient not yet final is marked
 * (the mark moves from the message's flags to its recipients; defer()
 * puts it back for those that no agent answered) */
static void
set_unsure(struct qmsg *m, int unsure)
{
	m->flags &= ~(uint32_t)MF_UNSURE;
	for (int i = 0; unsure && i < m->env.nrcpt; i++)
		m->unsure[i] = m->status[i] != RS_SENT &&
			       m->status[i] != RS_FAILED;
}

/* activate - open a due message; NULL if its file is unusable. */
static struct qmsg *
activate(MDB_txn *txn, const char *id, const struct msg_rec *r)
{
	char path[64], err[256];
	struct qmsg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		log_fatal("out of memory");
	memcpy(m->id, id, QUEUE_ID_LEN + 1);
	msg_path(path, sizeof(path), id);
	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0 || qf_read_envelope(m->fd, &m->env, err,
					   sizeof(err)) != 0) {
		log_warn("%s: cannot use %s: %s", id, path,
			 m->fd < 0 ? "missing" : err);
		index_drop_message(id, r->nrcpt);
		msg_free(m);
		return NULL;
	}
	alloc_state(m);
	m->attempts = r->attempts;
	m->flags = r->flags;
	load_status(txn, m);
	set_unsure(m, m->flags & MF_UNSURE);
	return m;
}

/*
 * active_adopt - a new message straight from its notification: indexed
 * as active in the same batch, delivered without a trip through the due
 * table.  Takes fd and e.  0, or -1 when there is no room (the caller
 * schedules it through the due table then).  unsure: found at start-up
 * without an index entry (a power cut may have undone the commit of an
 * entry whose message was then handed out).
 */
int
active_adopt(const char *id, int fd, struct qf_envelope *e, int unsure)
{
	if (active_count >= cfg.qmgr_message_active_limit)
		return -1;
	struct qmsg *m = calloc(1, sizeof(*m));
	if (m == NULL)
		log_fatal("out of memory");
	memcpy(m->id, id, QUEUE_ID_LEN + 1);
	m->fd = fd;
	m->env = *e;
	memset(e, 0, sizeof(*e));
	alloc_state(m);
	m->npending = m->env.nrcpt; /* all pending: nothing tried yet */
	set_unsure(m, unsure);
	log_info("%s: from=<%s>, size=%lld, nrcpt=%d (queue active)", id,
		 m->env.sender, m->env.msg_size, m->env.nrcpt);
	list_push(&active_list, m);
	active_count++;
	jobs_build(m);
	return 0;
}

/* taken from the due table, their active marks not yet committed: their
 * jobs are built (and can be dispatched) only after that commit
 * (active_release), so that a qmgr killed meanwhile finds each either
 * still due or marked active, and so MF_UNSURE at its start */
static struct qmsg *activated;

void
active_release(void)
{
	while (activated) {
		struct qmsg *m = activated;
		activated = m->prev;
		list_push(&active_list, m);
		jobs_build(m);
		/* all done before a restart: only notices may be owed */
		if (m->npending == 0)
			m->inflight++, active_request_done(m);
	}
}

/* active_schedule - take due messages while there is room. */
void
active_schedule(long long *next_wake)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	long long now = (long long)time(NULL);
	char id[QUEUE_ID_LEN + 1];
	struct qmsg *fresh = NULL; /* taken in this call, in a chain */
	int rc;

	if (active_count >= cfg.qmgr_message_active_limit)
		return;
	if (db_begin(&qdb, 1, &txn) != 0 ||
	    mdb_cursor_open(txn, qdb.dbi[T_DUE], &cur) != 0)
		log_fatal("queue index: cannot read the due table");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	     rc == 0 && active_count < cfg.qmgr_message_active_limit;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct msg_rec r;
		if (k.mv_size != QMGR_DUE_KEY_LEN)
			continue;
		long long t = (long long)db_get_be64(k.mv_data);
		if (t > now) {
			if (t < *next_wake)
				*next_wake = t;
			break;
		}
		memcpy(id, (char *)k.mv_data + 8, QUEUE_ID_LEN);
		id[QUEUE_ID_LEN] = 0;
		index_del(T_DUE, k.mv_data, k.mv_size);
		if (index_get_msg(txn, id, &r) != 0)
			continue; /* a stale due entry */
		struct qmsg *m = activate(txn, id, &r);
		if (m == NULL)
			continue;
		index_set_next_try(id, &m->env, 0, m->attempts, m->flags);
		log_info("%s: from=<%s>, size=%lld, nrcpt=%d (queue active)",
			 id, m->env.sender, m->env.msg_size, m->env.nrcpt);
		m->prev = fresh; /* a chain of this call's messages */
		fresh = m;
		active_count++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	/* released after the commit (and after the read transaction, as
	 * notices commit) */
	while (fresh) {
		struct qmsg *m = fresh;
		fresh = m->prev;
		m->prev = activated;
		activated = m;
	}
}

/* dsn_valid - RFC 3463 class "." subject "." detail, a success class
 * only for a success (an expired recipient fails with 4.4.7): anything
 * else must not reach a Status: field. */
static int
dsn_valid(const char *dsn, int code)
{
	const char *p = dsn;

	if (p[0] != '2' && p[0] != '4' && p[0] != '5')
		return 0;
	if ((p[0] == '2') != (code == 2) || p[1] != '.')
		return 0;
	p += 2;
	for (int part = 0; part < 2; part++) {
		size_t n = strspn(p, "0123456789");
		if (n < 1 || n > 3)
			return 0;
		p += n;
		if (part == 0 && *p++ != '.')
			return 0;
	}
	return *p == 0;
}

/* one_line - text with each run of control characters as one space: an
 * agent's text (a peer's multi-line reply, say) goes into notices'
 * header fields and into log lines, where a line break would end them. */
static void
one_line(char *out, size_t len, const char *dsn, const char *text)
{
	size_t n = (size_t)snprintf(out, len, "%s ", dsn);

	for (const unsigned char *p = (const unsigned char *)text;
	     *p && n + 1 < len; p++) {
		if (*p < 32 || *p == 127) {
			if (out[n - 1] != ' ')
				out[n++] = ' ';
			continue;
		}
		out[n++] = (char)*p;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = 0;
}

/* host_valid - what a Remote-MTA: dns; field may name. */
static int
host_valid(const char *h)
{
	size_t n = strlen(h);
	return n > 0 && n <= LIM_HOSTNAME &&
	       strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789.-:[]") == n;
}

void
active_result(struct qmsg *m, unsigned idx, int code, const char *dsn,
	      const char *text, const char *mta)
{
	int st = code == 2 ? RS_SENT : code == 5 ? RS_FAILED : RS_DEFERRED;
	char full[LIM_ERRTEXT], fix[8];

	if (idx >= (unsigned)m->env.nrcpt || m->status[idx] == RS_SENT ||
	    m->status[idx] == RS_FAILED)
		return; /* a duplicate or bogus answer changes nothing */
	if (code != 2 && code != 5)
		code = 4;
	if (!dsn_valid(dsn, code)) {
		snprintf(fix, sizeof(fix), "%d.0.0", code);
		dsn = fix;
	}
	one_line(full, sizeof(full), dsn, text);
	free(m->text[idx]);
	free(m->mta[idx]);
	m->text[idx] = strdup(full);
	m->mta[idx] = mta && host_valid(mta) ? strdup(mta) : NULL;
	if (m->text[idx] == NULL)
		log_fatal("out of memory");
	m->status[idx] = (unsigned char)st;
	stats_inc(st == RS_SENT ? ST_QMGR_DELIVERED :
		  st == RS_FAILED ? ST_QMGR_BOUNCED : ST_QMGR_DEFERRED);
	log_debug("%s: recipient %u: %s", m->id, idx, full);
	if (st != RS_DEFERRED)
		m->npending--;
	index_set_rcpt(m->id, idx, m->env.rcpt[idx].addr, st, m->attempts + 1,
		       full);
}

/* backoff - seconds until the next try after n attempts, with jitter. */
static long long
backoff(uint32_t n)
{
	long long d = cfg.minimal_backoff_time;

	for (uint32_t i = 1; i < n && d < cfg.maximal_backoff_time; i++)
		d *= 2;
	if (d > cfg.maximal_backoff_time)
		d = cfg.maximal_backoff_time;
	/* +-10% so a backlog does not wake all at once */
	long long span = d / 5 + 1;
	return d - d / 10 + (long long)randombytes_uniform((uint32_t)span);
}

/* active_untried - a recipient still waits for its try this round. */
int
active_untried(const struct qmsg *m)
{
	if (m->finished || m->deleted)
		return 0;
	for (int i = 0; i < m->env.nrcpt; i++)
		if (m->status[i] == RS_PENDING && !m->sent_out[i])
			return 1;
	return 0;
}

/* expire - past maximal_queue_lifetime: what still waits has failed. */
static void
expire(struct qmsg *m)
{
	for (int i = 0; i < m->env.nrcpt; i++) {
		if (m->status[i] == RS_SENT || m->status[i] == RS_FAILED)
			continue;
		char why[LIM_ERRTEXT];
		const char *last = m->text[i] ? strchr(m->text[i], ' ') : NULL;
		snprintf(why, sizeof(why), "message expired after %ld days%s%s",
			 cfg.maximal_queue_lifetime / 86400,
			 last ? "; last error:" : "", last ? last : "");
		m->status[i] = RS_PENDING; /* let the result count it */
		active_result(m, (unsigned)i, 5, "4.4.7", why, NULL);
		log_info("%s: to=<%s>, relay=none, delay=%lld, dsn=4.4.7, "
			 "status=expired (%s)", m->id, m->env.rcpt[i].addr,
			 (long long)time(NULL) - m->env.arrival, why);
		stats_inc(ST_QMGR_EXPIRED);
	}
}

/* defer - the round is over with recipients still waiting. */
static void
defer(struct qmsg *m, long long delay)
{
	m->attempts++;
	for (int i = 0; i < m->env.nrcpt; i++)
		if (m->unsure[i] && m->status[i] != RS_SENT &&
		    m->status[i] != RS_FAILED)
			m->flags |= MF_UNSURE;
	/* held mail gets no due entry until it is released; due times
	 * are whole seconds: rounded up, so the wait is at least delay */
	long long next = (m->flags & MF_HOLD)
				 ? 0
				 : (now_us() + 999999) / 1000000 + delay;
	index_set_next_try(m->id, &m->env, next, m->attempts, m->flags);
	log_debug("%s: deferred until %lld", m->id, next);
	unlink_active(m);
	msg_free(m);
}

/* round_end - every recipient was tried once: tell the sender what the
 * round owes, then finish the message or wait for the next try. */
static void
round_end(struct qmsg *m)
{
	long long age = (long long)time(NULL) - m->env.arrival;

	if (m->deleted) {
		active_finish(m); /* the administrator's word: no notices */
		return;
	}
	if (m->npending > 0 && age >= cfg.maximal_queue_lifetime)
		expire(m);
	if (notify_round(m) != 0) {
		/* the notice is owed still: keep the message, try later */
		defer(m, cfg.minimal_backoff_time);
		return;
	}
	if (m->npending == 0) {
		if (notify_trace(m) != 0) {
			defer(m, cfg.minimal_backoff_time); /* still owed */
			return;
		}
		active_finish(m);
		return;
	}
	if (!(m->flags & MF_WARNED) && cfg.delay_warning_time > 0 &&
	    age >= cfg.delay_warning_time) {
		/* recorded before it is sent: a crash loses the warning
		 * rather than sending it twice */
		m->flags |= MF_WARNED;
		index_set_next_try(m->id, &m->env, 0, m->attempts, m->flags);
		if (index_commit_durable() != 0)
			log_fatal("queue index commit failed");
		if (notify_delay(m) != 0)
			m->flags &= ~(uint32_t)MF_WARNED; /* next round */
	}
	defer(m, backoff(m->attempts + 1));
}

void
active_request_done(struct qmsg *m)
{
	m->inflight--;
	if (m->inflight > 0 || active_untried(m))
		return; /* the round is not over */
	round_end(m);
}

/* active_after_commit - finished messages (their results committed):
 * unlink, then drop entries; each directory is fsynced once for all of
 * its removals.  Waits up to REMOVE_DELAY_US to gather a batch (*due_us
 * says when), then flushes the index first.  A crash in the wait
 * leaves files whose recipients are all final, which the start-up
 * finishes without a delivery (after a power cut some outcomes may be
 * undone: those recipients get the mail again, none loses it). */
void
active_after_commit(long long *due_us)
{
	static const char letters[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	char path[64], dir[16], touched[sizeof(letters)] = {0};

	if (finished_list == NULL)
		return;
	if (nfinished < REMOVE_BATCH &&
	    now_us() - finished_since < REMOVE_DELAY_US) {
		*due_us = finished_since + REMOVE_DELAY_US;
		return;
	}
	nfinished = 0;
	/* their outcomes durable before their files go */
	if (index_flush() != 0)
		log_fatal("queue index sync failed; exiting so master "
			  "restarts qmgr");
	while (finished_list) {
		struct qmsg *m = finished_list;
		msg_path(path, sizeof(path), m->id);
		if (unlink(path) != 0)
			log_warn("%s: unlink %s: %m", m->id, path);
		const char *l = strchr(letters, queue_id_hash(m->id));
		if (l)
			touched[l - letters] = 1;
		index_drop_message(m->id, (unsigned)m->env.nrcpt);
		if (!m->deleted) /* that one was logged when asked */
			log_info("%s: removed", m->id);
		list_remove(&finished_list, m);
		active_count--;
		msg_free(m);
	}
	/* the unlinks durable before the entries go (next commit) */
	for (size_t i = 0; i + 1 < sizeof(letters); i++) {
		if (!touched[i])
			continue;
		snprintf(dir, sizeof(dir), "msg/%c", letters[i]);
		if (fsync_dir(dir) != 0)
			log_warn("fsync %s: %m", dir);
	}
}
