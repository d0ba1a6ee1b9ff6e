/*
 * qmgr_dest.c - destinations: where recipients go, and how many
 * deliveries each may have at once.
 *
 * A destination is a transport (local or remote, from addr_class) and a
 * next hop (the recipient's domain).  Remote destinations start with
 * initial_destination_concurrency deliveries at once, grow by one per
 * request the peer answered, up to default_destination_concurrency_limit,
 * and shrink by one per request that only met connection or routing
 * failures (4.4.x); after destination_dead_limit such requests in a row
 * the destination is dead for minimal_backoff_time: its mail is deferred
 * without a try, then one probe delivery decides.
 *
 * Each destination keeps a queue of jobs (a message's recipients for
 * it, oldest first); destinations with jobs are on the ready list, so
 * handing out deliveries costs a step per destination that can take one,
 * not a walk over every active message.
 * Trusts: addresses as cleanup wrote them.  Never: keeps more than
 * QMGR_DEST_MAX destinations (idle ones are forgotten first).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr_class.h"
#include "config.h"
#include "log.h"
#include "qmgr.h"

#define DEST_BUCKETS 4096

static struct dest *buckets[DEST_BUCKETS];
static int ndest;
static struct dest *ready_head;

static unsigned
hash(const char *transport, const char *nexthop)
{
	unsigned h = 5381;
	for (const char *p = transport; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (const char *p = nexthop; *p; p++) /* domains: any case */
		h = h * 33 + (unsigned char)tolower((unsigned char)*p);
	return h % DEST_BUCKETS;
}

/* forget_idle - drop destinations with nothing in flight and not dead. */
static void
forget_idle(void)
{
	long long now = (long long)time(NULL);

	for (int b = 0; b < DEST_BUCKETS; b++)
		for (struct dest **pp = &buckets[b]; *pp;) {
			struct dest *d = *pp;
			if (d->active == 0 && d->dead_until <= now &&
			    d->qhead == NULL && !d->ready) {
				*pp = d->next;
				free(d);
				ndest--;
			} else
				pp = &d->next;
		}
}

static int
dest_limit(const struct dest *d)
{
	/* local: each of its connections may carry several requests */
	return d->local ? (int)cfg.local_concurrency_limit * QMGR_LOCAL_PIPELINE
			: (int)cfg.default_destination_concurrency_limit;
}

/* dest_of - the destination of a recipient address. */
struct dest *
dest_of(const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	const char *domain = at ? at + 1 : "";
	enum addr_class c = addr_domain_class(domain);
	const char *transport = addr_class_transport(c);
	unsigned h = hash(transport, domain);

	for (struct dest *d = buckets[h]; d; d = d->next)
		if (strcmp(d->transport, transport) == 0 &&
		    strcasecmp(d->nexthop, domain) == 0)
			return d;
	if (ndest >= QMGR_DEST_MAX)
		forget_idle();
	struct dest *d = calloc(1, sizeof(*d));
	if (d == NULL)
		log_fatal("out of memory");
	snprintf(d->transport, sizeof(d->transport), "%s", transport);
	snprintf(d->nexthop, sizeof(d->nexthop), "%s", domain);
	d->local = strcmp(transport, "local") == 0;
	d->window = d->local ? dest_limit(d)
			     : (int)cfg.initial_destination_concurrency;
	d->next = buckets[h];
	buckets[h] = d;
	ndest++;
	return d;
}

/* dest_count - destinations remembered now. */
int
dest_count(void)
{
	return ndest;
}

/* dest_dead - whether mail for d waits without a try; logs the change. */
int
dest_dead(struct dest *d)
{
	if (d->dead_until == 0)
		return 0;
	if ((long long)time(NULL) < d->dead_until)
		return 1;
	/* time is up: one probe delivery decides */
	d->dead_until = 0;
	d->window = 1;
	return 0;
}

int
dest_has_room(const struct dest *d)
{
	return d->active < d->window;
}

/*
 * dest_feedback - a request to d ended.  answered: the peer gave at
 * least one reply of its own (2xx/5xx, or a 4xx that is not about
 * reaching it).
 */
void
dest_feedback(struct dest *d, int answered, const char *why)
{
	if (d->local)
		return; /* a mailbox's trouble is not the destination's */
	if (answered) {
		d->failures = 0;
		if (d->window < dest_limit(d))
			d->window++;
		return;
	}
	if (why != NULL)
		snprintf(d->last_error, sizeof(d->last_error), "%s", why);
	if (d->window > 1)
		d->window--;
	if (++d->failures >= cfg.destination_dead_limit && d->dead_until == 0) {
		d->dead_until = (long long)time(NULL) + cfg.minimal_backoff_time;
		log_warn("%s: destination %s marked dead for %lds after %d "
			 "failed deliveries: %s", d->transport, d->nexthop,
			 cfg.minimal_backoff_time, d->failures, d->last_error);
	}
}

/* dest_revive_all - "mtactl flush": every destination may be tried now. */
void
dest_revive_all(void)
{
	for (int b = 0; b < DEST_BUCKETS; b++)
		for (struct dest *d = buckets[b]; d; d = d->next)
			if (d->dead_until) {
				d->dead_until = 0;
				d->failures = 0;
				d->window = 1;
			}
}

/* job_enqueue - at the tail of its destination's queue. */
static void
job_enqueue(struct job *j)
{
	struct dest *d = j->d;

	j->dnext = NULL;
	j->dprev = d->qtail;
	if (d->qtail)
		d->qtail->dnext = j;
	else
		d->qhead = j;
	d->qtail = j;
	j->queued = 1;
	if (!d->ready) {
		d->ready = 1;
		d->rnext = ready_head;
		ready_head = d;
	}
}

void
job_dequeue(struct job *j)
{
	struct dest *d = j->d;

	if (!j->queued)
		return;
	if (j->dprev)
		j->dprev->dnext = j->dnext;
	else
		d->qhead = j->dnext;
	if (j->dnext)
		j->dnext->dprev = j->dprev;
	else
		d->qtail = j->dprev;
	j->queued = 0;
	j->dprev = j->dnext = NULL;
}

/* job_new - m's job for d, queued at once: a queued job keeps d on
 * the ready list, so forget_idle cannot free d while the rest of m's
 * jobs are built. */
static struct job *
job_new(struct qmsg *m, struct dest *d)
{
	struct job **grown = realloc(m->jobs, (size_t)(m->njobs + 1) *
				     sizeof(*grown));
	struct job *j = calloc(1, sizeof(*j));

	if (grown == NULL || j == NULL)
		log_fatal("out of memory");
	m->jobs = grown;
	m->jobs[m->njobs++] = j;
	j->m = m;
	j->d = d;
	job_enqueue(j);
	return j;
}

/* job_add - recipient i into j; idx grows by doubling, so the jobs of
 * a message cost memory in proportion to its recipients. */
static void
job_add(struct job *j, int i)
{
	if (j->n == j->cap) {
		int cap = j->cap ? j->cap * 2 : 4;
		int *grown = realloc(j->idx, (size_t)cap * sizeof(*grown));
		if (grown == NULL)
			log_fatal("out of memory");
		j->idx = grown;
		j->cap = cap;
	}
	j->idx[j->n++] = i;
}

/* jobs_build - group m's untried recipients by destination and queue
 * them; called once per delivery round. */
void
jobs_build(struct qmsg *m)
{
	for (int i = 0; i < m->env.nrcpt; i++) {
		if (m->status[i] != RS_PENDING || m->sent_out[i])
			continue;
		struct dest *d = dest_of(m->env.rcpt[i].addr);
		/* m's jobs are the last ones queued anywhere while they are
		 * built: d's tail is m's job for d, if m has one */
		struct job *j = d->qtail && d->qtail->m == m ? d->qtail
							     : job_new(m, d);
		job_add(j, i);
	}
}

void
jobs_drop(struct qmsg *m)
{
	for (int k = 0; k < m->njobs; k++) {
		job_dequeue(m->jobs[k]);
		free(m->jobs[k]->idx);
		free(m->jobs[k]);
	}
	free(m->jobs);
	m->jobs = NULL;
	m->njobs = 0;
}

struct dest *
dest_ready_first(void)
{
	return ready_head;
}

struct dest *
dest_ready_next(struct dest *d)
{
	return d->rnext;
}

/* dest_ready_prune - drop destinations whose queues ran empty (only
 * here, so that a walk of the ready list is never cut short). */
void
dest_ready_prune(void)
{
	for (struct dest **pp = &ready_head; *pp;) {
		struct dest *d = *pp;
		if (d->qhead == NULL) {
			*pp = d->rnext;
			d->ready = 0;
			d->rnext = NULL;
		} else
			pp = &d->rnext;
	}
}
