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
 * Trusts: addresses as cleanup wrote them.  Never: keeps more than
 * QMGR_DEST_MAX destinations (idle ones are forgotten first).
 */
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

static unsigned
hash(const char *transport, const char *nexthop)
{
	unsigned h = 5381;
	for (const char *p = transport; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (const char *p = nexthop; *p; p++)
		h = h * 33 + (unsigned char)*p;
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
			if (d->active == 0 && d->dead_until <= now) {
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
	return d->local ? (int)cfg.local_concurrency_limit
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
