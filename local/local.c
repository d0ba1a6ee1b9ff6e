/*
 * local.c - local(8): the delivery agent for our own domains.
 *
 * qmgr sends a request (queue ID, sender, recipients) with the queue file
 * as an open read-only descriptor; local resolves each recipient (loop
 * check, aliases, virtual mailbox map, system users and their .forward,
 * mailbox_template; resolve.c), delivers into each mailbox, file or
 * command and answers one record per recipient, then {done}.  It takes
 * every request already waiting on the connection as one round: their
 * Maildir files are made durable together (maildir.c, group commit,
 * pipelined: a round's steps wait for commits that later rounds bring)
 * and a request is answered, in order, once all its deliveries are.
 * It logs one delivery line per final destination in the Postfix
 * format (orig_to= when an alias or .forward led there).
 * A recipient qmgr marks maybe_delivered=1 (an earlier attempt's
 * outcome is unknown) is not written again into a Maildir that holds
 * its copy already (maildir.c: each file's name carries a tag of queue
 * ID and recipient number).
 * Trusts: qmgr for the request's framing; nothing in the addresses.
 * Never: opens a queue file by path; writes outside mailbox_base except
 * where a system account, an alias or a .forward names the path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "agent.h"
#include "config.h"
#include "fsutil.h"
#include "ipc.h"
#include "local.h"
#include "log.h"
#include "service.h"

#define LOCAL_IDLE_MS 600000 /* qmgr keeps connections; drop idle ones */

#define LOCAL_BATCH_REQS 16 /* requests delivered, then committed together */
#define LOCAL_QUEUE_REQS (2 * LOCAL_BATCH_REQS) /* started, not answered */

struct rcpt_job;

/* a request from qmgr: a message and some of its recipients */
struct request {
	struct attrs a;     /* as read; the strings below point into it */
	const char *id, *sender;
	long arrival, t_active, t_sent; /* milliseconds */
	long long t_start;              /* us */
	int fd;                         /* the queue file, read-only */
	int good;                       /* e was read */
	struct qf_envelope e;
	struct rcpt_job *rj;
	int n;
};

static void
log_delivery(const struct request *q, const char *rcpt, const char *orig,
	     const struct result *r)
{
	long long now = now_us();
	double a = (q->t_active - q->arrival) / 1000.0;
	double b = (q->t_sent - q->t_active) / 1000.0;
	double c = (q->t_start / 1000 - q->t_sent) / 1000.0;
	double d = (now - q->t_start) / 1e6;
	double total = now / 1e6 - q->arrival / 1000.0;
	const char *status = r->code == 2 ? "sent" :
			     r->code == 4 ? "deferred" : "bounced";
	char t0[32], t1[32], t2[32], t3[32], t4[32], o[LIM_PATH + 16] = "";

	if (orig && strcasecmp(orig, rcpt) != 0)
		snprintf(o, sizeof(o), ", orig_to=<%s>", orig);
	log_info("%s: to=<%s>%s, relay=local, delay=%s, delays=%s/%s/%s/%s, "
		 "dsn=%s, status=%s (%s)", q->id, rcpt, o,
		 log_delay(t0, sizeof(t0), total), log_delay(t1, sizeof(t1), a),
		 log_delay(t2, sizeof(t2), b), log_delay(t3, sizeof(t3), c),
		 log_delay(t4, sizeof(t4), d), r->dsn, status, r->text);
}

/* worse - keep the result qmgr must act on: any 4xx retries the
 * recipient, else any 5xx bounces it */
static void
worse(struct result *agg, const struct result *r)
{
	int rank_a = agg->code == 4 ? 3 : agg->code == 5 ? 2 : 1;
	int rank_r = r->code == 4 ? 3 : r->code == 5 ? 2 : 1;

	if (rank_r > rank_a)
		*agg = *r;
}

/* a recipient of a request: its mailboxes until their commit */
struct rcpt_job {
	const char *idx, *rcpt; /* in the request's attrs */
	int maybe;              /* maybe_delivered: look for a copy first */
	struct dests ds;
	struct result r;
	int logged; /* r is final and logged */
};

/* deliver_start - a recipient: loop check, aliases and maps, then each
 * mailbox (a Maildir's result waits for maildir_commit) */
static void
deliver_start(const struct request *q, struct rcpt_job *j)
{
	int seen = local_seen_before(q->fd, &q->e, j->rcpt);

	if (seen != 0) {
		if (seen > 0)
			result_set(&j->r, 5, "5.4.6",
				   "mail forwarding loop for %s", j->rcpt);
		else
			result_set(&j->r, 4, "4.3.0", "out of memory");
		log_delivery(q, j->rcpt, NULL, &j->r);
		j->logged = 1;
		return;
	}
	if (local_resolve(j->rcpt, &j->ds, &j->r) != 0) {
		log_delivery(q, j->rcpt, NULL, &j->r);
		j->logged = 1;
		return;
	}
	forward_submit(q->id, q->sender, j->rcpt, &j->ds, q->fd, &q->e);
	maildir_tag(q->e.id, j->idx, j->maybe);
	for (int i = 0; i < j->ds.n; i++) {
		struct dest *d = &j->ds.d[i];
		if (d->code == 0 && !d->forward)
			deliver_as(d, q->fd, &q->e, q->sender, j->rcpt, &d->r);
	}
}

/* deliver_finish - after the commit: every final destination gets its
 * own log line; the recipient's result is the one qmgr must act on */
static void
deliver_finish(const struct request *q, struct rcpt_job *j)
{
	int n = 0;

	if (j->logged)
		return;
	result_set(&j->r, 5, "5.3.0", "alias expands to no address");
	if (j->ds.n == 0)
		log_delivery(q, j->rcpt, NULL, &j->r);
	for (int i = 0; i < j->ds.n; i++) {
		struct dest *d = &j->ds.d[i];
		n += d->code == 0 && !d->forward && d->r.code == 2;
		log_delivery(q, d->addr, j->rcpt, &d->r);
		if (i == 0)
			j->r = d->r;
		else
			worse(&j->r, &d->r);
	}
	if (j->r.code == 2 && n > 1)
		result_set(&j->r, 2, "2.0.0", "delivered to %d mailboxes", n);
	free(j->ds.d);
	j->ds.d = NULL;
}

/* answer - one recipient's result to qmgr. */
static int
answer(struct ipc *c, const char *idx, const struct result *r)
{
	ipc_put_str(c, "idx", idx);
	ipc_put_long(c, "code", r->code);
	ipc_put_str(c, "dsn", r->dsn);
	ipc_put_str(c, "text", r->text);
	return ipc_end(c);
}

/* count_rcpts - the idx/rcpt pairs at the head of a request's attrs */
static int
count_rcpts(const struct attrs *a)
{
	int n = 0;

	for (int i = 0; i < a->n; i++) {
		if (strcmp(a->a[i].name, "idx") != 0)
			continue;
		/* each "idx" is followed by its "rcpt" */
		if (i + 1 >= a->n || strcmp(a->a[i + 1].name, "rcpt") != 0)
			break;
		n++;
	}
	return n;
}

/* request_start - a request's fields and envelope, then each recipient
 * started; IPC_BAD for a request qmgr could not have sent */
static int
request_start(struct request *q)
{
	const struct attrs *a = &q->a;
	const char *req = attrs_get(a, "req");
	char err[256];
	int ok, k = 0;

	q->id = attrs_get(a, "queue_id");
	q->sender = attrs_get(a, "sender");
	q->arrival = attrs_get_long(a, "arrival", &ok);
	q->t_active = attrs_get_long(a, "t_active", &ok);
	q->t_sent = attrs_get_long(a, "t_sent", &ok);
	q->t_start = now_us();
	if (req == NULL || strcmp(req, "deliver") != 0 || q->fd < 0 ||
	    q->id == NULL || q->sender == NULL) {
		log_warn("malformed request from qmgr");
		return IPC_BAD;
	}
	q->n = count_rcpts(a);
	if ((q->rj = calloc((size_t)q->n + 1, sizeof(*q->rj))) == NULL)
		log_fatal("out of memory");
	q->good = qf_read_envelope(q->fd, &q->e, err, sizeof(err)) == 0;
	if (!q->good)
		log_warn("%s: queue file unreadable: %s", q->id, err);
	for (int i = 0; i < a->n && k < q->n; i++) {
		if (strcmp(a->a[i].name, "idx") != 0)
			continue;
		struct rcpt_job *j = &q->rj[k++];
		j->idx = a->a[i].value;
		j->rcpt = a->a[i + 1].value;
		/* an optional mark right after its recipient */
		j->maybe = i + 2 < a->n &&
			   strcmp(a->a[i + 2].name, "maybe_delivered") == 0 &&
			   strcmp(a->a[i + 2].value, "1") == 0;
		if (q->good) {
			deliver_start(q, j);
			continue;
		}
		result_set(&j->r, 4, "4.3.0", "queue file unreadable: %s",
			   err);
		log_delivery(q, j->rcpt, NULL, &j->r);
		j->logged = 1;
	}
	return IPC_OK;
}

/* request_finish - after the commit: results and {done} to qmgr */
static int
request_finish(struct ipc *c, struct request *q)
{
	int rc = IPC_OK;

	for (int k = 0; k < q->n; k++) {
		deliver_finish(q, &q->rj[k]);
		if (rc == IPC_OK)
			rc = answer(c, q->rj[k].idx, &q->rj[k].r);
	}
	return rc == IPC_OK ? agent_done(c) : rc;
}

/* request_free - what a request held, its descriptor too */
static void
request_free(struct request *q)
{
	qf_envelope_free(&q->e); /* zeroed, read, or partly read */
	free(q->rj);
	if (q->fd >= 0)
		close(q->fd);
	attrs_free(&q->a);
	memset(q, 0, sizeof(*q));
	q->fd = -1;
}

/* the requests started and not yet answered: a ring, oldest at head */
struct pipe_reqs {
	struct request q[LOCAL_QUEUE_REQS];
	int head, held;
};

static struct request *
slot(struct pipe_reqs *p, int k)
{
	return &p->q[(p->head + k) % LOCAL_QUEUE_REQS];
}

/* gather - the next request (waiting for it), then those that already
 * arrived whole, up to max; each takes its descriptor at once (they
 * come in order, one with each request's first bytes) */
static int
gather(struct ipc *c, struct pipe_reqs *p, int max, int *n)
{
	int rc = ipc_read(c, &slot(p, p->held)->a);

	*n = 0;
	if (rc != IPC_OK)
		return rc;
	slot(p, p->held + (*n)++)->fd = ipc_take_fd(c);
	while (*n < max) {
		struct request *q = slot(p, p->held + *n);
		rc = ipc_parse(c, &q->a);
		if (rc == IPC_AGAIN && !c->eof && ipc_fill(c) > 0)
			continue;
		if (rc != IPC_OK)
			break; /* the rest waits for the next round */
		q->fd = ipc_take_fd(c);
		(*n)++;
	}
	return IPC_OK;
}

/* answer_ready - answer, oldest first, each held request whose
 * deliveries are all durable (after rc != IPC_OK: qmgr is gone, the log
 * still says what happened) */
static int
answer_ready(struct ipc *c, struct pipe_reqs *p, int rc)
{
	while (p->held > 0 && !maildir_waits_for(slot(p, 0))) {
		struct request *q = slot(p, 0);
		if (rc == IPC_OK)
			rc = request_finish(c, q);
		else
			for (int k = 0; k < q->n; k++)
				deliver_finish(q, &q->rj[k]);
		request_free(q);
		p->head = (p->head + 1) % LOCAL_QUEUE_REQS;
		p->held--;
	}
	return rc;
}

/* flush - everything pending made durable and answered */
static int
flush(struct ipc *c, struct pipe_reqs *p, int rc)
{
	maildir_commit();
	return answer_ready(c, p, rc);
}

/* run_round - start n gathered requests, move every pending delivery one
 * step (maildir_advance) and answer those that became durable */
static int
run_round(struct ipc *c, struct pipe_reqs *p, int n)
{
	long long before = 0; /* cleanup's fsyncs began after this */
	int good;

	maildir_batch_begin();
	for (good = 0; good < n; good++) {
		struct request *q = slot(p, p->held);
		maildir_owner(q);
		if (request_start(q) != IPC_OK)
			break;
		if (q->good && q->e.arrival_us > before)
			before = q->e.arrival_us;
		p->held++;
	}
	if (good < n) { /* answer those before it, then hang up */
		for (int k = good; k < n; k++)
			request_free(slot(p, p->held + k - good));
		int rc = flush(c, p, IPC_OK);
		return rc == IPC_OK ? IPC_BAD : rc;
	}
	maildir_advance(before);
	return answer_ready(c, p, IPC_OK);
}

/* serve - rounds of requests, pipelined: each round's deliveries are
 * written, and earlier rounds' moved on as far as commits made by
 * others allow (maildir_advance, maildir.c says why); a request is
 * answered once all its deliveries are durable.  When no round comes
 * before maildir_wait_ms(), what is due is done at its own cost. */
static void
serve(int fd)
{
	struct ipc *c = ipc_new(fd, LOCAL_IDLE_MS);
	static struct pipe_reqs p;
	int n, rc = IPC_OK;

	for (int i = 0; i < LOCAL_QUEUE_REQS; i++) {
		memset(&p.q[i], 0, sizeof(p.q[i]));
		p.q[i].fd = -1;
	}
	p.head = p.held = 0;
	while (rc == IPC_OK && !service_stop) {
		/* room for a whole round */
		if (LOCAL_QUEUE_REQS - p.held < LOCAL_BATCH_REQS &&
		    (rc = flush(c, &p, rc)) != IPC_OK)
			break;
		int wait = maildir_wait_ms();
		c->timeout_ms = wait >= 0 ? wait : LOCAL_IDLE_MS;
		rc = gather(c, &p, LOCAL_BATCH_REQS, &n);
		c->timeout_ms = LOCAL_IDLE_MS;
		if (rc == IPC_TIMEOUT && wait >= 0) {
			/* no round came: what is due, at its own cost */
			maildir_advance(0);
			rc = answer_ready(c, &p, IPC_OK);
			continue;
		}
		if (rc == IPC_OK)
			rc = run_round(c, &p, n);
	}
	if (rc != IPC_OK && rc != IPC_BAD && p.held > 0) {
		/* qmgr is gone: what is not yet in new/ would only be
		 * delivered twice (qmgr never hears of it) */
		maildir_abandon();
		answer_ready(c, &p, rc);
		log_warn("answers lost: qmgr went away");
	} else if (flush(c, &p, rc) != IPC_OK && p.held > 0)
		log_warn("answers lost: qmgr went away");
	ipc_free(c);
}

/* keep_root - system users need root to take their uid per delivery */
static int
keep_root(void)
{
	return strcmp(cfg.local_users, "system") == 0;
}

int
main(int argc, char **argv)
{
	service_keep_root = keep_root;
	service_before_drop = forward_load_key;
	service_init("local", argc, argv);
	service_loop(serve);
	return 0;
}
