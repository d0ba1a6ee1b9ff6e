/*
 * remote.c - remote(8): the SMTP client that relays mail to other
 * domains.
 *
 * qmgr sends {req=deliver, queue_id, sender, arrival, size, t_active,
 * t_sent, nexthop, (idx, rcpt)...} with the queue file as an open
 * read-only descriptor; every recipient is for that one nexthop.  remote
 * finds the hosts (remote_route.c), tries each address of each host in
 * order until one takes part in a session (remote_smtp.c), and answers
 * {idx, code, dsn, text[, mta]} per recipient, then {done=1}.  A delivery
 * line in the Postfix format is logged per recipient.  A connection
 * whose session ended healthy is kept for the next request to the same
 * host (remote_cache.c); the wait for that request is cut short when a
 * kept connection's idle time runs out, and all are closed when qmgr
 * hangs up or remote stops.
 * Trusts: qmgr for the request's framing; nothing from DNS or peers.
 * Never: opens a queue file by path; reports a recipient twice.
 */
#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "config.h"
#include "fsutil.h"
#include "ipc.h"
#include "log.h"
#include "remote.h"
#include "service.h"

#define REMOTE_IDLE_MS 600000 /* qmgr keeps connections; drop idle ones */

struct request {
	const char *id, *sender, *nexthop;
	long arrival, t_active, t_sent; /* milliseconds */
	long long t_start;		/* us */
	char relay[LIM_HOSTNAME + 80];	/* host[addr]:port, or "none" */
	int conn_use; /* messages over that connection, this one included */
	int sessions; /* that took place for this request */
};

static void
log_delivery(const struct request *q, const struct delivery *d, int i)
{
	const struct result *r = &d->res[i];
	long long now = now_us(), conn = d->t_conn ? d->t_conn : now;
	double a = (q->t_active - q->arrival) / 1000.0;
	double b = (q->t_sent - q->t_active) / 1000.0;
	double c = (conn - q->t_start) / 1e6;
	double dd = (now - conn) / 1e6;
	double total = now / 1e6 - q->arrival / 1000.0;
	const char *status = r->code == 2   ? "sent"
			     : r->code == 4 ? "deferred"
					    : "bounced";
	char t0[32], t1[32], t2[32], t3[32], t4[32], use[32] = "";

	/* as Postfix: conn_use=N only on a reused connection */
	int conn_use = r->relay[0] ? r->conn_use : q->conn_use;
	if (conn_use > 1)
		snprintf(use, sizeof(use), ", conn_use=%d", conn_use);
	log_info("%s: to=<%s>, relay=%s%s, delay=%s, delays=%s/%s/%s/%s, "
		 "dsn=%s, status=%s (%s)",
		 q->id, d->rcpt[i], r->relay[0] ? r->relay : q->relay, use,
		 log_delay(t0, sizeof(t0), total),
		 log_delay(t1, sizeof(t1), a), log_delay(t2, sizeof(t2), b),
		 log_delay(t3, sizeof(t3), c), log_delay(t4, sizeof(t4), dd),
		 r->dsn, status, r->text);
}

/* fail_rest - every unfinished recipient gets r, but one that a server
 * deferred keeps that server's answer */
static void
fail_rest(struct delivery *d, const struct result *r)
{
	for (int i = 0; i < d->n; i++) {
		if (d->done[i] == RCPT_OPEN)
			d->res[i] = *r;
		d->done[i] = RCPT_FINAL;
	}
}

/* open_count - recipients still without a final answer */
static int
open_count(const struct delivery *d)
{
	int n = 0;

	for (int i = 0; i < d->n; i++)
		n += rcpt_open(d, i);
	return n;
}

/* session_over - a session took place over c: recipients it left
 * unfinished (the connection was lost) are deferred, and c is kept for
 * reuse or closed.  While fewer than smtp_mx_session_limit sessions
 * took place, every deferral of this session is opened again for the
 * next MX host or address (deliver() makes what is left final). */
static void
session_over(struct request *q, struct delivery *d, struct smtp_conn *c,
	     int keep)
{
	struct result lostr;

	remote_result(&lostr, 4, "4.4.2", "lost connection with %s[%s]: %s",
		      c->host, c->addr, c->err[0] ? c->err : "gone");
	snprintf(lostr.relay, sizeof(lostr.relay), "%s", q->relay);
	lostr.conn_use = c->uses + 1;
	for (int i = 0; i < d->n; i++)
		if (d->done[i] == RCPT_OPEN) {
			d->res[i] = lostr;
			d->done[i] = RCPT_FINAL;
		}
	q->sessions++;
	for (int i = 0; i < d->n && q->sessions < cfg.smtp_mx_session_limit;
	     i++)
		if (d->done[i] == RCPT_FINAL && d->res[i].code == 4 &&
		    d->res[i].relay[0])
			d->done[i] = RCPT_SOFT;
	q->conn_use = c->uses;
	if (keep)
		conn_cache_put(c);
	else {
		smtp_close(c);
		free(c);
	}
}

/* cred_id - what tells the credentials of a hop apart (all zero: none),
 * part of the key of a kept connection */
static const unsigned char *
cred_id(const struct smtp_cred *cr)
{
	static const unsigned char none[SMTP_CRED_ID];

	return cr != NULL && cr->set ? cr->id : none;
}

/* try_cached - a kept connection to this address: 0 once a session took
 * place, -1 when there is none or it was dead before MAIL's reply
 * (closed; the caller connects afresh, nothing counted as failed) */
static int
try_cached(struct request *q, struct delivery *d, const char *host,
	   const char *addr, int port, int level)
{
	struct smtp_conn *c =
	    conn_cache_take(host, addr, port, level, cred_id(d->cred));
	int keep, rc;

	if (c == NULL)
		return -1;
	snprintf(q->relay, sizeof(q->relay), "%.253s[%.63s]:%d", host, addr,
		 port);
	rc = smtp_session_reuse(c, d, &keep);
	if (rc == -3) {
		log_info("%s: cached connection to %s[%s]:%d was closed "
			 "(%s); connecting again",
			 q->id, host, addr, port, c->err[0] ? c->err : "gone");
		smtp_close(c);
		free(c);
		return -1;
	}
	session_over(q, d, c, keep);
	return 0;
}

/* try_addr - one address, again without TLS when the handshake failed
 * under may (Postfix does the same); 0 once a session took place */
static int
try_addr(struct request *q, struct delivery *d, const char *host,
	 const char *addr, int port, const struct tls_plan *tp,
	 struct result *last)
{
	struct tls_plan plain = {.level = TLS_NONE};
	struct smtp_conn *c;
	int rc = -2, keep = 0;

	if (try_cached(q, d, host, addr, port, tp->level) == 0)
		return 0;
	for (int round = 0; rc == -2 && round < 2; round++) {
		const struct tls_plan *p = round == 0 ? tp : &plain;
		if ((c = malloc(sizeof(*c))) == NULL)
			log_fatal("out of memory");
		if (smtp_connect(c, host, addr, port,
				 cfg.smtp_connect_timeout) != 0) {
			remote_result(last, 4, "4.4.1", "%s", c->err);
			log_info("%s: %s", q->id, c->err);
			smtp_close(c);
			free(c);
			return -1;
		}
		/* the key is the level asked for, whatever came of it, and
		 * the credentials looked up, whether used or not */
		c->level = tp->level;
		memcpy(c->cred_id, cred_id(d->cred), sizeof(c->cred_id));
		snprintf(q->relay, sizeof(q->relay), "%.253s[%.63s]:%d", host,
			 addr, port);
		rc = smtp_session(c, d, p, last, &keep);
		if (rc == -2)
			log_info("%s: %s; trying again without TLS", q->id,
				 last->text);
		else if (rc != 0)
			log_info("%s: %s", q->id, last->text);
		if (rc == 0)
			return session_over(q, d, c, keep), 0;
		smtp_close(c);
		free(c);
	}
	return -1;
}

/* more_sessions - recipients a server deferred may go to the next one */
static int
more_sessions(const struct request *q, const struct delivery *d)
{
	return q->sessions < cfg.smtp_mx_session_limit && open_count(d) > 0;
}

/* try_host - each address of one host; 0 once a session took place
 * (and went on to the next address while more_sessions()) */
static int
try_host(struct request *q, struct delivery *d, const struct route *rt,
	 int h, int level, struct result *last)
{
	const char *host = rt->hosts[h].name;
	char addrs[REMOTE_MAX_ADDRS][64];
	struct tls_plan tp;
	struct smtp_cred cred;
	int n, secure, rc = -1;

	if (route_addrs(host, rt->literal, addrs, REMOTE_MAX_ADDRS, &n,
			&secure, last) != 0)
		return -1;
	if (smtp_cred_lookup(rt->via, host, rt->port, q->nexthop, &cred,
			     last) != 0) {
		log_warn("%s: %s", q->id, last->text);
		return -1;
	}
	if (tls_plan_host(level, rt->secure, secure, host, rt->port, &tp,
			  last) != 0) {
		log_info("%s: %s", q->id, last->text);
		smtp_cred_clear(&cred);
		return -1;
	}
	d->cred = &cred;
	for (int i = 0; i < n && (rc != 0 || more_sessions(q, d)); i++)
		if (try_addr(q, d, host, addrs[i], rt->port, &tp, last) == 0)
			rc = 0;
	d->cred = NULL;
	smtp_cred_clear(&cred);
	tls_plan_free(&tp);
	return rc;
}

static void
deliver(struct request *q, struct delivery *d)
{
	struct route rt;
	struct result last;
	int level;

	snprintf(q->relay, sizeof(q->relay), "none");
	if (tls_policy_for(q->nexthop, &level, &last) != 0 ||
	    route_lookup(q->nexthop, &rt, &last) != 0) {
		fail_rest(d, &last);
		return;
	}
	int took_part = 0;
	for (int h = 0; h < rt.n && (!took_part || more_sessions(q, d)); h++)
		if (try_host(q, d, &rt, h, level, &last) == 0)
			took_part = 1;
	if (took_part) {
		/* recipients deferred by one server and not reached by a
		 * later one keep that server's answer; none is left open
		 * otherwise */
		fail_rest(d, &last);
		return;
	}
	/* no host took part: the last reason, made temporary (an MX host
	 * without an address may be a passing mistake of the domain's
	 * admin) unless the domain itself, as implicit MX, has none */
	if (last.code == 5 && !rt.implicit) {
		last.code = 4;
		snprintf(last.dsn, sizeof(last.dsn), "4.4.3");
	}
	fail_rest(d, &last);
}

static int
answer(struct ipc *c, const char *idx, const struct result *r)
{
	ipc_put_str(c, "idx", idx);
	ipc_put_long(c, "code", r->code);
	ipc_put_str(c, "dsn", r->dsn);
	ipc_put_str(c, "text", r->text);
	if (r->mta[0])
		ipc_put_str(c, "mta", r->mta);
	if (r->code == 2 && r->dsn_passed)
		ipc_put_str(c, "dsn_passed", "1");
	return ipc_end(c);
}

/* collect - the request's (idx, rcpt) pairs into d */
static int
collect(const struct attrs *a, const struct qf_envelope *e, struct delivery *d,
	const char **idxs)
{
	int *qidx = (int *)d->qidx;

	d->n = 0;
	for (int i = 0; i + 1 < a->n && d->n < LIM_QF_RCPTS; i++) {
		if (strcmp(a->a[i].name, "idx") != 0 ||
		    strcmp(a->a[i + 1].name, "rcpt") != 0)
			continue;
		char *end;
		long k = strtol(a->a[i].value, &end, 10);
		idxs[d->n] = a->a[i].value;
		d->rcpt[d->n] = a->a[i + 1].value;
		qidx[d->n] = *end == 0 && k >= 0 && k < e->nrcpt ? (int)k : -1;
		d->n++;
	}
	return d->n;
}

static int
serve_request(struct ipc *c, const struct attrs *a)
{
	struct request q = {0};
	struct qf_envelope e;
	struct delivery d = {0};
	char err[256];
	int ok, fd = ipc_take_fd(c), rc = IPC_OK;
	size_t cap = (size_t)a->n / 2 + 1;
	const char **idxs = calloc(cap, sizeof(*idxs));

	d.rcpt = calloc(cap, sizeof(*d.rcpt));
	d.qidx = calloc(cap, sizeof(int));
	d.res = calloc(cap, sizeof(*d.res));
	d.done = calloc(cap, sizeof(int));
	if (!idxs || !d.rcpt || !d.qidx || !d.res || !d.done)
		log_fatal("out of memory");
	q.id = attrs_get(a, "queue_id");
	q.sender = attrs_get(a, "sender");
	q.nexthop = attrs_get(a, "nexthop");
	q.arrival = attrs_get_long(a, "arrival", &ok);
	q.t_active = attrs_get_long(a, "t_active", &ok);
	q.t_sent = attrs_get_long(a, "t_sent", &ok);
	q.t_start = now_us();
	memset(&e, 0, sizeof(e));
	if (fd < 0 || q.id == NULL || q.sender == NULL || q.nexthop == NULL ||
	    qf_read_envelope(fd, &e, err, sizeof(err)) != 0) {
		log_warn("%s: malformed request from qmgr", q.id ? q.id : "?");
		rc = IPC_BAD;
	} else if (collect(a, &e, &d, idxs) > 0) {
		d.id = q.id;
		d.qfd = fd;
		d.e = &e;
		deliver(&q, &d);
		for (int i = 0; i < d.n && rc == IPC_OK; i++) {
			log_delivery(&q, &d, i);
			rc = answer(c, idxs[i], &d.res[i]);
		}
	}
	qf_envelope_free(&e);
	if (fd >= 0)
		close(fd);
	free(idxs);
	free(d.rcpt);
	free((void *)d.qidx);
	free(d.res);
	free(d.done);
	free(d.dg_plan);
	return rc == IPC_OK ? agent_done(c) : rc;
}

/* wait_request - like ipc_read, but while connections are kept the
 * wait ends when the first one's idle time is up, to close it (QUIT)
 * before waiting on: qmgr's next request is never held up by it */
static int
wait_request(struct ipc *c, struct attrs *a)
{
	int rc, ms;

	while ((rc = ipc_parse(c, a)) == IPC_AGAIN && !c->eof &&
	       (ms = conn_cache_wait_ms()) >= 0 && !service_stop) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int n = poll(&p, 1, ms);
		if (n < 0 && errno != EINTR)
			log_fatal("poll: %m");
		if (n > 0)
			break;
		conn_cache_expire(0);
	}
	if (service_stop)
		return IPC_EOF;
	return rc == IPC_AGAIN ? ipc_read(c, a) : rc;
}

/* serve - requests until EOF, an error, a request that is not
 * "deliver", or service_stop, with the idle timer of the kept
 * connections between them */
static void
serve(int fd)
{
	struct ipc *c = ipc_new(fd, REMOTE_IDLE_MS);
	struct attrs a;

	attrs_init(&a);
	while (!service_stop && wait_request(c, &a) == IPC_OK) {
		const char *req = attrs_get(&a, "req");
		if (req == NULL || strcmp(req, "deliver") != 0 ||
		    serve_request(c, &a) != IPC_OK)
			break;
		smtp_auth_check(); /* a replaced map: exit when this ends */
	}
	conn_cache_expire(1);
	attrs_free(&a);
	ipc_free(c);
}

int
main(int argc, char **argv)
{
	/* MX shuffling draws from libsodium: set it up before the chroot */
	if (sodium_init() < 0) {
		fprintf(stderr, "remote: sodium_init failed\n");
		return 1;
	}
	service_before_drop = smtp_auth_open; /* the map may be root's */
	service_init("remote", argc, argv);
	service_loop(serve);
	return 0;
}
