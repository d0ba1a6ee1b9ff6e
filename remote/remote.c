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
 * line in the Postfix format is logged per recipient.
 * Trusts: qmgr for the request's framing; nothing from DNS or peers.
 * Never: opens a queue file by path; reports a recipient twice.
 */
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
	char t0[32], t1[32], t2[32], t3[32], t4[32];

	log_info("%s: to=<%s>, relay=%s, delay=%s, delays=%s/%s/%s/%s, "
		 "dsn=%s, status=%s (%s)",
		 q->id, d->rcpt[i], q->relay, fmt_delay(t0, sizeof(t0), total),
		 fmt_delay(t1, sizeof(t1), a), fmt_delay(t2, sizeof(t2), b),
		 fmt_delay(t3, sizeof(t3), c), fmt_delay(t4, sizeof(t4), dd),
		 r->dsn, status, r->text);
}

/* fail_rest - every unfinished recipient gets r */
static void
fail_rest(struct delivery *d, const struct result *r)
{
	for (int i = 0; i < d->n; i++)
		if (!d->done[i]) {
			d->res[i] = *r;
			d->done[i] = 1;
		}
}

/* try_addr - one address, again without TLS when the handshake failed
 * under may (Postfix does the same); 0 once a session took place */
static int
try_addr(struct request *q, struct delivery *d, struct smtp_conn *c,
	 const char *host, const char *addr, int port,
	 const struct tls_plan *tp, struct result *last)
{
	struct tls_plan plain = {.level = TLS_NONE};
	int rc = -2;

	for (int round = 0; rc == -2 && round < 2; round++) {
		const struct tls_plan *p = round == 0 ? tp : &plain;
		if (smtp_connect(c, host, addr, port,
				 cfg.smtp_connect_timeout) != 0) {
			remote_result(last, 4, "4.4.1", "%s", c->err);
			log_info("%s: %s", q->id, c->err);
			return -1;
		}
		snprintf(q->relay, sizeof(q->relay), "%s[%s]:%d", host, addr,
			 port);
		rc = smtp_session(c, d, p, last);
		if (rc == -2)
			log_info("%s: %s; trying again without TLS", q->id,
				 last->text);
		else if (rc != 0)
			log_info("%s: %s", q->id, last->text);
		if (rc == 0) {
			struct result lostr;
			remote_result(&lostr, 4, "4.4.2",
				      "lost connection with %s[%s]: %s", host,
				      addr, c->err[0] ? c->err : "gone");
			fail_rest(d, &lostr);
		}
		smtp_close(c);
	}
	return rc == 0 ? 0 : -1;
}

/* try_host - each address of one host; 0 once a session took place */
static int
try_host(struct request *q, struct delivery *d, const struct route *rt,
	 int h, int level, struct result *last)
{
	const char *host = rt->hosts[h].name;
	char addrs[REMOTE_MAX_ADDRS][64];
	struct smtp_conn *c;
	struct tls_plan tp;
	int n, secure, rc = -1;

	if (route_addrs(host, rt->literal, addrs, REMOTE_MAX_ADDRS, &n,
			&secure, last) != 0)
		return -1;
	if (tls_plan_host(level, rt->secure, secure, host, rt->port, &tp,
			  last) != 0) {
		log_info("%s: %s", q->id, last->text);
		return -1;
	}
	if ((c = malloc(sizeof(*c))) == NULL)
		log_fatal("out of memory");
	for (int i = 0; i < n && rc != 0; i++)
		rc = try_addr(q, d, c, host, addrs[i], rt->port, &tp, last);
	free(c);
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
	for (int h = 0; h < rt.n; h++)
		if (try_host(q, d, &rt, h, level, &last) == 0)
			return;
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
	return rc == IPC_OK ? agent_done(c) : rc;
}

static void
serve(int fd)
{
	agent_serve(fd, REMOTE_IDLE_MS, serve_request);
}

int
main(int argc, char **argv)
{
	/* MX shuffling draws from libsodium: set it up before the chroot */
	if (sodium_init() < 0) {
		fprintf(stderr, "remote: sodium_init failed\n");
		return 1;
	}
	service_init("remote", argc, argv);
	service_loop(serve);
	return 0;
}
