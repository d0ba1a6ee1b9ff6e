/*
 * qmgr_deliver.c - hand recipients to the delivery agent and collect its
 * answers.
 *
 * qmgr keeps a pool of connections per transport: up to
 * local_concurrency_limit to private/local and remote_concurrency_limit
 * to private/remote.  A request carries the open, read-only queue file
 * (SCM_RIGHTS), the sender, the next hop and up to qmgr_recipient_limit
 * recipients of one destination; the agent answers one record per
 * recipient (idx, code, dsn, text, and mta for a remote peer) and a final
 * {done}.  A connection that breaks or times out defers every recipient
 * it did not answer.  Each finished request feeds the destination's
 * concurrency window (qmgr_dest.c).
 * master keeps a transport's socket while its program cannot run, so a
 * connection may be taken by nobody: a request still unread (SIOCOUTQ)
 * after qmgr_agent_accept_timeout is given up, not waited on for the
 * hour of DELIVER_TIMEOUT_US.  A pool is never larger than the
 * transport's process limit (each agent serves one connection).
 * To local, up to QMGR_LOCAL_PIPELINE requests wait on a connection
 * whose agent has answered before, and such a connection is taken
 * before an idle or a new one: local takes all that wait as one round
 * and makes their deliveries durable together (local(8), group
 * commit), answering each once the commits of later rounds (or a
 * short wait) made it durable (pipelining); the answers come back in
 * order.  Not behind a request that has waited QMGR_JOIN_US.
 * A recipient whose earlier attempt's outcome is unknown (m->unsure:
 * in delivery when qmgr last stopped, or out on a connection that
 * broke, and not answered since) goes to local with maybe_delivered=1, so
 * that local does not write a Maildir copy it made before; an answer
 * clears the mark, a broken connection sets it (local(8), qmgr(8)).
 * Trusts: the agent's answers only for recipients of its own request.
 * Never: blocks the event loop reading an agent (reads are non-blocking).
 */
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "qmgr.h"

#define DELIVER_TIMEOUT_US (3600LL * 1000000) /* one request, at most */
#define DELIVER_WRITE_MS 10000
#define QMGR_JOIN_US 200000 /* local's answers come within ~30 ms */

/* a request sent, not yet {done} */
struct dreq {
	struct dest *dest;   /* its destination */
	int peer_answered;   /* an answer that was not a 4.4.x failure */
	struct qmsg *m;      /* its message */
	unsigned *idx;       /* its recipients */
	unsigned char *answered;
	int n;
	long long started;
};

struct dconn {
	struct ipc *c;
	char transport[8];
	struct dreq req[QMGR_LOCAL_PIPELINE]; /* oldest at head */
	int head, count, depth;  /* depth: requests allowed at once */
	int taken;           /* the agent has read a request of ours */
	struct dconn *next;
};

/* head - the oldest request in flight on d (count > 0) */
static struct dreq *
head(struct dconn *d)
{
	return &d->req[d->head];
}

static struct dconn *conns;
static int nconns;

/* pool_size - connections open to a transport's service. */
static int
pool_size(const char *transport)
{
	int n = 0;
	for (struct dconn *d = conns; d; d = d->next)
		n += strcmp(d->transport, transport) == 0;
	return n;
}

static struct dconn *
conn_new(const char *transport)
{
	char path[32];
	int fd;
	struct dconn *d;

	snprintf(path, sizeof(path), "private/%s", transport);
	if ((fd = ipc_connect_unix(path)) < 0) {
		log_warn("connect to %s: %m", path);
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		log_fatal("out of memory");
	snprintf(d->transport, sizeof(d->transport), "%s", transport);
	d->c = ipc_new(fd, DELIVER_WRITE_MS);
	d->depth = strcmp(transport, "local") == 0 ? QMGR_LOCAL_PIPELINE : 1;
	for (int i = 0; i < d->depth; i++) {
		struct dreq *r = &d->req[i];
		r->idx = calloc((size_t)cfg.qmgr_recipient_limit,
				sizeof(*r->idx));
		r->answered = calloc((size_t)cfg.qmgr_recipient_limit, 1);
		if (r->idx == NULL || r->answered == NULL)
			log_fatal("out of memory");
	}
	d->next = conns;
	conns = d;
	nconns++;
	return d;
}

/* defer_rcpt - a recipient deferred by qmgr itself, logged as an
 * agent logs its deferrals (the postmaster sees why mail waits). */
static void
defer_rcpt(struct qmsg *m, unsigned i, const char *dsn, const char *why)
{
	active_result(m, i, 4, dsn, why, NULL);
	log_info("%s: to=<%s>, relay=none, delay=%lld, dsn=%s, "
		 "status=deferred (%s)", m->id, m->env.rcpt[i].addr,
		 (long long)time(NULL) - m->env.arrival, dsn, why);
}

/* finish_request - the oldest request on d is over: defer what was
 * not answered. */
static void
finish_request(struct dconn *d, const char *why)
{
	if (d->count == 0)
		return;
	struct dreq *r = head(d);
	struct qmsg *m = r->m;
	int all = 1;
	for (int i = 0; i < r->n; i++)
		if (!r->answered[i]) {
			/* the agent may have delivered it all the same */
			m->unsure[r->idx[i]] = 1;
			defer_rcpt(m, r->idx[i], "4.3.0", why);
			all = 0;
		}
	r->dest->active--;
	dest_feedback(r->dest, r->peer_answered, all ? NULL : why);
	r->dest = NULL;
	r->m = NULL;
	r->n = 0;
	d->head = (d->head + 1) % d->depth;
	d->count--;
	active_request_done(m);
}

static void
conn_close(struct dconn *d, const char *why)
{
	while (d->count > 0)
		finish_request(d, why);
	for (struct dconn **pp = &conns; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	nconns--;
	ipc_free(d->c);
	for (int i = 0; i < d->depth; i++) {
		free(d->req[i].idx);
		free(d->req[i].answered);
	}
	free(d);
}

/* conn_stack - the pool is busy: the served connection with the
 * fewest requests waiting and room for one more, or NULL. */
static struct dconn *
conn_stack(const char *transport)
{
	struct dconn *best = NULL;

	for (struct dconn *d = conns; d; d = d->next)
		if (d->taken && d->count < d->depth &&
		    strcmp(d->transport, transport) == 0 &&
		    (best == NULL || d->count < best->count))
			best = d;
	return best;
}

/* conn_join - a served connection with requests in flight and room
 * for one more, the one with the most: requests gather on as few
 * agents as they can, so each agent's next round comes soon.  Not one
 * whose oldest request has waited QMGR_JOIN_US (a slow mailbox or
 * command): nothing should queue behind that. */
static struct dconn *
conn_join(const char *transport)
{
	struct dconn *best = NULL;
	long long now = now_us();

	for (struct dconn *d = conns; d; d = d->next)
		if (d->taken && d->count > 0 && d->count < d->depth &&
		    now - head(d)->started < QMGR_JOIN_US &&
		    strcmp(d->transport, transport) == 0 &&
		    (best == NULL || d->count > best->count))
			best = d;
	return best;
}

/* conn_idle - a free connection to transport; NULL when the pool is
 * full, or (with *down set) when the service cannot be reached. */
static struct dconn *
conn_idle(const char *transport, int *down)
{
	int local = strcmp(transport, "local") == 0;
	long limit = local ? cfg.local_concurrency_limit
			   : cfg.remote_concurrency_limit;
	long procs = local ? cfg.local_process_limit : cfg.remote_process_limit;

	/* more connections than agents: the rest would wait unserved */
	if (limit > procs)
		limit = procs;

	/* local answers a round when the next one has come (pipelining,
	 * local(8)): the next request joins a served connection first */
	struct dconn *s = local ? conn_join(transport) : NULL;
	if (s != NULL)
		return s;
	for (struct dconn *d = conns; d; d = d->next)
		if (d->count == 0 && strcmp(d->transport, transport) == 0)
			return d;
	if (pool_size(transport) < limit) {
		struct dconn *d = conn_new(transport);
		*down = d == NULL;
		return d;
	}
	return conn_stack(transport);
}

/* send_request - the next recipients of job j on connection d. */
static int
send_request(struct dconn *d, struct job *j)
{
	struct qmsg *m = j->m;
	struct dest *dest = j->d;
	long long now = now_us();
	struct dreq *r = &d->req[(d->head + d->count) % d->depth];

	r->n = 0;
	r->dest = dest;
	r->peer_answered = 0;
	dest->active++;
	ipc_put_str(d->c, "req", "deliver");
	ipc_put_str(d->c, "queue_id", m->id);
	ipc_put_str(d->c, "sender", m->env.sender);
	ipc_put_long(d->c, "arrival", (long)(m->env.arrival_us / 1000));
	ipc_put_long(d->c, "size", (long)m->env.msg_size);
	ipc_put_long(d->c, "t_active", (long)(m->t_active / 1000));
	ipc_put_long(d->c, "t_sent", (long)(now / 1000));
	ipc_put_str(d->c, "nexthop", dest->nexthop);
	for (; j->pos < j->n && r->n < cfg.qmgr_recipient_limit; j->pos++) {
		int i = j->idx[j->pos];
		if (m->status[i] != RS_PENDING || m->sent_out[i])
			continue;
		char num[16];
		snprintf(num, sizeof(num), "%d", i);
		ipc_put_str(d->c, "idx", num);
		ipc_put_str(d->c, "rcpt", m->env.rcpt[i].addr);
		if (m->unsure[i] && dest->local)
			ipc_put_str(d->c, "maybe_delivered", "1");
		r->idx[r->n] = (unsigned)i;
		r->answered[r->n++] = 0;
		m->sent_out[i] = 1;
	}
	if (j->pos >= j->n)
		job_dequeue(j);
	ipc_attach_fd(d->c, m->fd);
	r->m = m;
	r->started = now;
	d->count++;
	m->inflight++;
	return ipc_end(d->c) == IPC_OK ? 0 : -1;
}

/* defer_job - the job's recipients wait without a try (m may go). */
static void
defer_job(struct job *j, const char *dsn, const char *why)
{
	struct qmsg *m = j->m;

	job_dequeue(j);
	m->inflight++; /* the round must not end between recipients */
	for (; j->pos < j->n; j->pos++) {
		int i = j->idx[j->pos];
		if (m->status[i] == RS_PENDING && !m->sent_out[i]) {
			m->sent_out[i] = 1;
			defer_rcpt(m, (unsigned)i, dsn, why);
		}
	}
	active_request_done(m);
}

/* defer_all - every job queued at dest waits without a try. */
static void
defer_all(struct dest *dest, const char *dsn, const char *why)
{
	while (dest->qhead)
		defer_job(dest->qhead, dsn, why);
}

/* dispatch_dest - requests for dest's jobs while it and its transport
 * have room; *full is set when the transport's pool is. */
static void
dispatch_dest(struct dest *dest, int *full)
{
	char why[400];

	if (dest_dead(dest)) {
		snprintf(why, sizeof(why), "delivery temporarily suspended: %s",
			 dest->last_error[0] ? dest->last_error
					     : "destination dead");
		defer_all(dest, "4.4.1", why);
		return;
	}
	while (dest->qhead && dest_has_room(dest) && !*full) {
		struct job *j = dest->qhead;
		if (j->m->deleted || j->m->finished) {
			job_dequeue(j);
			continue;
		}
		int down = 0;
		struct dconn *d = conn_idle(dest->transport, &down);
		if (d == NULL && down) {
			snprintf(why, sizeof(why), "mail transport %s is "
				 "unavailable", dest->transport);
			defer_all(dest, "4.3.0", why);
			return;
		}
		if (d == NULL) {
			*full = 1;
			return;
		}
		if (send_request(d, j) != 0)
			conn_close(d, "cannot send to delivery agent");
	}
}

/* untaken - the first request on d is still unread by the agent after
 * qmgr_agent_accept_timeout (the bytes qmgr sent wait in the socket).
 * Once an agent answered on d, d is its own: later requests wait
 * behind the one it works on (only then are requests stacked). */
static int
untaken(struct dconn *d, long long now)
{
	int queued = 0;

	if (d->taken || d->count == 0 ||
	    now - head(d)->started <= cfg.qmgr_agent_accept_timeout * 1000000LL)
		return 0;
	if (ioctl(d->c->fd, SIOCOUTQ, &queued) != 0) {
		log_warn("ioctl SIOCOUTQ on private/%s: %m", d->transport);
		queued = 0; /* cannot tell: wait for the long timeout */
	}
	d->taken = queued == 0;
	return queued > 0;
}

/* deliver_wake - when untaken() should look at a request again. */
void
deliver_wake(long long *wake)
{
	for (struct dconn *d = conns; d; d = d->next)
		if (d->count > 0 && !d->taken) {
			long long t = head(d)->started / 1000000 +
				      cfg.qmgr_agent_accept_timeout + 1;
			if (t < *wake)
				*wake = t;
		}
}

void
deliver_dispatch(void)
{
	long long now = now_us();
	int full_local = 0, full_remote = 0;
	char why[128];

	for (struct dconn *d = conns, *next; d; d = next) {
		next = d->next;
		if (d->count > 0 &&
		    now - head(d)->started > DELIVER_TIMEOUT_US) {
			conn_close(d, "delivery agent timed out");
		} else if (untaken(d, now)) {
			snprintf(why, sizeof(why), "delivery agent did not take "
				 "the request in %lds: is private/%s served?",
				 cfg.qmgr_agent_accept_timeout, d->transport);
			log_warn("%s", why);
			conn_close(d, why);
		}
	}
	for (struct dest *dest = dest_ready_first(); dest;
	     dest = dest_ready_next(dest)) {
		if (full_local && full_remote)
			break;
		dispatch_dest(dest, dest->local ? &full_local : &full_remote);
	}
	dest_ready_prune();
}

int
deliver_nconns(void)
{
	return nconns;
}

int
deliver_pollfds(struct pollfd *p, int max, void **tag)
{
	int n = 0;

	for (struct dconn *d = conns; d && n < max; d = d->next) {
		p[n] = (struct pollfd){.fd = d->c->fd, .events = POLLIN};
		tag[n++] = d;
	}
	return n;
}

/* one_answer - a per-recipient record of the request on d. */
static int
one_answer(struct dconn *d, const struct attrs *a)
{
	int ok1, ok2;
	long idx = attrs_get_long(a, "idx", &ok1);
	long code = attrs_get_long(a, "code", &ok2);
	const char *dsn = attrs_get(a, "dsn"), *text = attrs_get(a, "text");

	if (!ok1 || !ok2 || dsn == NULL || text == NULL || d->count == 0)
		return -1;
	struct dreq *r = head(d);
	for (int i = 0; i < r->n; i++)
		if (r->idx[i] == (unsigned)idx && !r->answered[i]) {
			r->answered[i] = 1;
			d->taken = 1;
			if (code != 4 || strncmp(dsn, "4.4.", 4) != 0)
				r->peer_answered = 1;
			else
				snprintf(r->dest->last_error,
					 sizeof(r->dest->last_error), "%s",
					 text);
			active_result(r->m, (unsigned)idx, (int)code, dsn, text,
				      attrs_get(a, "mta"));
			r->m->unsure[idx] = 0; /* its outcome is known */
			if (code == 2 && attrs_get(a, "dsn_passed") != NULL)
				notify_passed_on(r->m, (unsigned)idx);
			return 0;
		}
	return -1;
}

void
deliver_event(void *tag, short revents)
{
	struct dconn *d = tag;
	struct attrs a;
	int rc, prc = IPC_AGAIN;

	(void)revents;
	rc = ipc_fill(d->c);
	if (rc == IPC_AGAIN)
		return;
	attrs_init(&a);
	while (rc >= 0 && (prc = ipc_parse(d->c, &a)) == IPC_OK) {
		if (d->count == 0) {
			rc = IPC_BAD;
		} else if (attrs_get(&a, "done") != NULL) {
			d->taken = 1;
			finish_request(d, "delivery agent gave no answer");
		} else if (one_answer(d, &a) != 0) {
			rc = IPC_BAD;
		}
	}
	attrs_free(&a);
	if (rc >= 0 && prc == IPC_BAD)
		rc = IPC_BAD;
	if (rc == IPC_BAD)
		log_warn("malformed answer from the delivery agent");
	if (rc < 0 || d->c->eof)
		conn_close(d, "lost connection with the delivery agent");
}
