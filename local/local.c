/*
 * local.c - local(8): the delivery agent for our own domains.
 *
 * qmgr sends a request (queue ID, sender, recipients) with the queue file
 * as an open read-only descriptor; local delivers each recipient into its
 * Maildir and answers one record per recipient, then {done}.  It logs the
 * delivery line in the Postfix format.
 * Trusts: qmgr for the request's framing; nothing in the addresses.
 * Never: opens a queue file by path; writes outside mailbox_base.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
log_delivery(const struct request *q, const char *rcpt,
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

	char t0[32], t1[32], t2[32], t3[32], t4[32];

	log_info("%s: to=<%s>, relay=local, delay=%s, delays=%s/%s/%s/%s, "
		 "dsn=%s, status=%s (%s)", q->id, rcpt,
		 fmt_delay(t0, sizeof(t0), total), fmt_delay(t1, sizeof(t1), a),
		 fmt_delay(t2, sizeof(t2), b), fmt_delay(t3, sizeof(t3), c),
		 fmt_delay(t4, sizeof(t4), d), r->dsn, status, r->text);
}

static void
deliver_one(const struct request *q, int qfd, const struct qf_envelope *e,
	    const char *rcpt, struct result *r)
{
	char dir[4096];

	if (mailbox_path(rcpt, dir, sizeof(dir), r) != 0)
		return;
	maildir_deliver(dir, qfd, e, q->sender, rcpt, r);
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
		log_delivery(&q, rcpt, &r);
		rc = answer(c, idx, &r);
	}
	qf_envelope_free(&e);
	close(fd);
	if (rc == IPC_OK) {
		ipc_put_str(c, "done", "1");
		rc = ipc_end(c);
	}
	return rc;
}

static void
serve(int fd)
{
	struct ipc *c = ipc_new(fd, LOCAL_IDLE_MS);
	struct attrs a;

	attrs_init(&a);
	while (!service_stop && ipc_read(c, &a) == IPC_OK) {
		const char *req = attrs_get(&a, "req");
		if (req == NULL || strcmp(req, "deliver") != 0 ||
		    serve_request(c, &a) != IPC_OK)
			break;
	}
	attrs_free(&a);
	ipc_free(c);
}

int
main(int argc, char **argv)
{
	service_init("local", argc, argv);
	service_loop(serve);
	return 0;
}
