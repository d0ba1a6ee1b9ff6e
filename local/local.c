/*
 * local.c - local(8): the delivery agent for our own domains.
 *
 * qmgr sends a request (queue ID, sender, recipients) with the queue file
 * as an open read-only descriptor; local resolves each recipient (loop
 * check, aliases, virtual mailbox map, system users and their .forward,
 * mailbox_template; resolve.c), delivers into each mailbox, file or
 * command and answers one record per recipient, then {done}.  It logs
 * one delivery line per final destination in the Postfix format
 * (orig_to= when an alias or .forward led there).
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

struct request {
	const char *id, *sender;
	long arrival, t_active, t_sent; /* milliseconds */
	long long t_start;              /* us */
};

/* fmt_delay - seconds as Postfix writes them: "0.04", "0", "12". */
static const char *
fmt_delay(char *buf, size_t len, double s)
{
	if (s < 0)
		s = 0;
	snprintf(buf, len, s >= 10 ? "%.0f" : "%.2f", s);
	if (strchr(buf, '.')) {
		char *e = buf + strlen(buf) - 1;
		while (*e == '0')
			*e-- = 0;
		if (*e == '.')
			*e = 0;
	}
	return buf;
}

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
		 fmt_delay(t0, sizeof(t0), total), fmt_delay(t1, sizeof(t1), a),
		 fmt_delay(t2, sizeof(t2), b), fmt_delay(t3, sizeof(t3), c),
		 fmt_delay(t4, sizeof(t4), d), r->dsn, status, r->text);
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

/* deliver_one - a recipient: loop check, aliases and maps, then each
 * mailbox; every final destination gets its own log line */
static void
deliver_one(const struct request *q, int qfd, const struct qf_envelope *e,
	    const char *rcpt, struct result *r)
{
	struct dests ds;
	int seen = local_seen_before(qfd, e, rcpt), n = 0;

	if (seen != 0) {
		if (seen > 0)
			result_set(r, 5, "5.4.6", "mail forwarding loop for %s",
				   rcpt);
		else
			result_set(r, 4, "4.3.0", "out of memory");
		log_delivery(q, rcpt, NULL, r);
		return;
	}
	if (local_resolve(rcpt, &ds, r) != 0) {
		log_delivery(q, rcpt, NULL, r);
		return;
	}
	result_set(r, 5, "5.3.0", "alias expands to no address");
	if (ds.n == 0)
		log_delivery(q, rcpt, NULL, r);
	forward_submit(q->id, q->sender, rcpt, &ds, qfd, e);
	for (int i = 0; i < ds.n; i++) {
		struct dest *d = &ds.d[i];
		if (d->code == 0 && !d->forward) {
			deliver_as(d, qfd, e, q->sender, rcpt, &d->r);
			n += d->r.code == 2;
		}
		log_delivery(q, d->addr, rcpt, &d->r);
		if (i == 0)
			*r = d->r;
		else
			worse(r, &d->r);
	}
	if (r->code == 2 && n > 1)
		result_set(r, 2, "2.0.0", "delivered to %d mailboxes", n);
	free(ds.d);
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

static int
serve_request(struct ipc *c, const struct attrs *a)
{
	struct request q = {0};
	struct qf_envelope e;
	struct result r;
	char err[256];
	int ok, good, fd = ipc_take_fd(c), rc = IPC_OK;

	q.id = attrs_get(a, "queue_id");
	q.sender = attrs_get(a, "sender");
	q.arrival = attrs_get_long(a, "arrival", &ok);
	q.t_active = attrs_get_long(a, "t_active", &ok);
	q.t_sent = attrs_get_long(a, "t_sent", &ok);
	q.t_start = now_us();
	if (fd < 0 || q.id == NULL || q.sender == NULL) {
		log_warn("malformed request from qmgr");
		if (fd >= 0)
			close(fd);
		return IPC_BAD;
	}
	good = qf_read_envelope(fd, &e, err, sizeof(err)) == 0;
	if (!good) {
		result_set(&r, 4, "4.3.0", "queue file unreadable: %s", err);
		log_warn("%s: queue file unreadable: %s", q.id, err);
	}
	for (int i = 0; i < a->n && rc == IPC_OK; i++) {
		if (strcmp(a->a[i].name, "idx") != 0)
			continue;
		const char *idx = a->a[i].value;
		/* each "idx" is followed by its "rcpt" */
		if (i + 1 >= a->n || strcmp(a->a[i + 1].name, "rcpt") != 0)
			break;
		const char *rcpt = a->a[i + 1].value;
		if (good)
			deliver_one(&q, fd, &e, rcpt, &r);
		else
			log_delivery(&q, rcpt, NULL, &r);
		rc = answer(c, idx, &r);
	}
	qf_envelope_free(&e);
	close(fd);
	return rc == IPC_OK ? agent_done(c) : rc;
}

static void
serve(int fd)
{
	agent_serve(fd, LOCAL_IDLE_MS, serve_request);
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
