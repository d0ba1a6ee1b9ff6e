/*
 * test_qmgr_dest.c - unit tests for qmgr/qmgr_dest.c: which destination
 * a recipient belongs to, the concurrency window of a remote destination
 * (starts at initial_destination_concurrency, grows to
 * default_destination_concurrency_limit while the peer answers, shrinks
 * on connection failures, dead after destination_dead_limit of them,
 * revived by a flush), and the grouping of a message's recipients into
 * one job per destination.
 * Trusts: nothing but cfg, set here.  Never: leaves cfg changed.
 */
#include <CUnit/CUnit.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../qmgr/qmgr.h"
#include "config.h"
#include "suites.h"

static int
init(void)
{
	char err[256];

	config_defaults();
	return config_set("mydestination", "here.example", err,
			  sizeof(err)) == 0 &&
		       config_set("relay_domains", "relay.example", err,
				  sizeof(err)) == 0
		   ? 0
		   : -1;
}

static int
fini(void)
{
	config_defaults();
	return 0;
}

static void
test_dest_of(void)
{
	struct dest *a = dest_of("a@here.example");
	struct dest *b = dest_of("b@HERE.example");
	struct dest *r = dest_of("x@relay.example");
	struct dest *o = dest_of("y@other.example");

	CU_ASSERT_PTR_EQUAL(a, b); /* one destination per domain */
	CU_ASSERT_STRING_EQUAL(a->transport, "local");
	CU_ASSERT(a->local);
	/* requests, several per local connection (group commit) */
	CU_ASSERT_EQUAL(a->window,
			cfg.local_concurrency_limit * QMGR_LOCAL_PIPELINE);
	CU_ASSERT_STRING_EQUAL(r->transport, "remote");
	CU_ASSERT_STRING_EQUAL(o->transport, "remote");
	CU_ASSERT_STRING_EQUAL(o->nexthop, "other.example");
	CU_ASSERT_PTR_NOT_EQUAL(r, o);
}

static void
test_window(void)
{
	struct dest *d = dest_of("z@window.example");

	CU_ASSERT_EQUAL(d->window, 5);
	for (int i = 0; i < 40; i++)
		dest_feedback(d, 1, NULL);
	CU_ASSERT_EQUAL(d->window, 20); /* grows to the limit, no further */
	dest_feedback(d, 0, "connect: Connection refused");
	CU_ASSERT_EQUAL(d->window, 19);
	CU_ASSERT_FALSE(dest_dead(d));
	dest_feedback(d, 1, NULL); /* an answer resets the failure count */
	dest_feedback(d, 0, "timeout");
	dest_feedback(d, 0, "timeout");
	CU_ASSERT_FALSE(dest_dead(d));
	dest_feedback(d, 0, NULL); /* the third in a row: dead */
	CU_ASSERT_TRUE(dest_dead(d));
	CU_ASSERT_STRING_EQUAL(d->last_error, "timeout");
	dest_revive_all();
	CU_ASSERT_FALSE(dest_dead(d));
	CU_ASSERT_EQUAL(d->window, 1); /* one probe first */
	CU_ASSERT_TRUE(dest_has_room(d));
	d->active = 1;
	CU_ASSERT_FALSE(dest_has_room(d));
	d->active = 0;
}

static void
test_local_no_feedback(void)
{
	struct dest *d = dest_of("u@here.example");
	for (int i = 0; i < 10; i++)
		dest_feedback(d, 0, "mailbox full");
	CU_ASSERT_FALSE(dest_dead(d));
	/* requests, several per local connection (group commit) */
	CU_ASSERT_EQUAL(d->window,
			cfg.local_concurrency_limit * QMGR_LOCAL_PIPELINE);
}

static void
test_jobs(void)
{
	static char *addrs[] = {"a@here.example", "b@far.example",
				"c@here.example", "d@far.example",
				"e@near.example"};
	struct qf_rcpt rc[5];
	struct qmsg m;
	unsigned char status[5] = {RS_PENDING, RS_PENDING, RS_SENT,
				   RS_PENDING, RS_PENDING};
	unsigned char sent_out[5] = {0, 0, 0, 0, 1};

	memset(&m, 0, sizeof(m));
	memset(rc, 0, sizeof(rc));
	for (int i = 0; i < 5; i++)
		rc[i].addr = addrs[i];
	m.env.rcpt = rc;
	m.env.nrcpt = 5;
	m.status = status;
	m.sent_out = sent_out;
	jobs_build(&m);
	/* c is sent and e is out already: a@here, and b+d@far */
	CU_ASSERT_EQUAL_FATAL(m.njobs, 2);
	struct job *far = m.jobs[0]->d == dest_of("x@far.example") ?
			  m.jobs[0] : m.jobs[1];
	CU_ASSERT_EQUAL(far->n, 2);
	CU_ASSERT_EQUAL(far->idx[0], 1);
	CU_ASSERT_EQUAL(far->idx[1], 3);
	CU_ASSERT(far->queued);
	CU_ASSERT_PTR_EQUAL(far->d->qhead, far);
	/* the ready list holds both destinations */
	int seen = 0;
	for (struct dest *d = dest_ready_first(); d; d = dest_ready_next(d))
		seen += d == far->d || d == dest_of("a@here.example");
	CU_ASSERT_EQUAL(seen, 2);
	jobs_drop(&m);
	CU_ASSERT_PTR_NULL(dest_of("x@far.example")->qhead);
	dest_ready_prune();
	CU_ASSERT_PTR_NULL(dest_ready_first());
}

/* a message of n recipients, each at a domain of its own */
static struct qmsg *
many_domains(int n, const char *tag)
{
	struct qmsg *m = calloc(1, sizeof(*m));
	struct qf_rcpt *rc = calloc((size_t)n, sizeof(*rc));

	CU_ASSERT_FATAL(m != NULL && rc != NULL);
	for (int i = 0; i < n; i++) {
		char a[64];
		snprintf(a, sizeof(a), "u@%s%d.example", tag, i);
		rc[i].addr = strdup(a);
	}
	m->env.rcpt = rc;
	m->env.nrcpt = n;
	m->status = calloc((size_t)n, 1);
	m->sent_out = calloc((size_t)n, 1);
	return m;
}

static void
many_free(struct qmsg *m)
{
	jobs_drop(m);
	dest_ready_prune();
	for (int i = 0; i < m->env.nrcpt; i++)
		free(m->env.rcpt[i].addr);
	free(m->env.rcpt);
	free(m->status);
	free(m->sent_out);
	free(m);
}

/* 10,000 recipients at 10,000 domains: the jobs cost memory in
 * proportion to the recipients, not recipients times destinations */
static void
test_jobs_memory(void)
{
	struct qmsg *m = many_domains(10000, "wide");
	size_t before = mallinfo2().uordblks;

	jobs_build(m);
	size_t used = mallinfo2().uordblks - before;
	CU_ASSERT_EQUAL(m->njobs, 10000);
	CU_ASSERT(used < 10000u * 1024);
	if (used >= 10000u * 1024)
		fprintf(stderr, "\njobs of 10000 recipients: %zu bytes\n", used);
	many_free(m);
}

/* with QMGR_DEST_MAX destinations known, a new message's destinations
 * must survive the forgetting of idle ones while its jobs are built */
static void
test_jobs_dest_max(void)
{
	char a[64];

	/* one short of the limit: the first fresh destination reaches it,
	 * the second makes qmgr forget idle ones */
	for (int i = 0; dest_count() < QMGR_DEST_MAX - 1; i++) {
		snprintf(a, sizeof(a), "u@idle%d.example", i);
		dest_of(a);
	}
	struct qmsg *m = many_domains(3, "fresh");
	jobs_build(m);
	CU_ASSERT_EQUAL_FATAL(m->njobs, 3);
	for (int k = 0; k < 3; k++) {
		struct job *j = m->jobs[k];
		struct dest *d = dest_of(m->env.rcpt[j->idx[0]].addr);
		CU_ASSERT_PTR_EQUAL(j->d, d); /* not forgotten under it */
		CU_ASSERT_PTR_EQUAL(d->qhead, j);
	}
	many_free(m);
}

CU_ErrorCode
suite_qmgr_dest(void)
{
	CU_pSuite s = CU_add_suite("qmgr_dest", init, fini);

	if (s == NULL ||
	    !CU_add_test(s, "a destination per transport and domain",
			 test_dest_of) ||
	    !CU_add_test(s, "concurrency window and dead destination",
			 test_window) ||
	    !CU_add_test(s, "local destinations take no feedback",
			 test_local_no_feedback) ||
	    !CU_add_test(s, "jobs group recipients by destination", test_jobs) ||
	    !CU_add_test(s, "jobs of 10000 destinations: linear memory",
			 test_jobs_memory) ||
	    !CU_add_test(s, "destinations of jobs survive QMGR_DEST_MAX",
			 test_jobs_dest_max))
		return CU_get_error();
	return CUE_SUCCESS;
}
