/*
 * resolver.h - the parts of resolver(8): the answer cache, the ldns
 * lookups and the threads that run them.
 */
#ifndef MTA_RESOLVER_H
#define MTA_RESOLVER_H

#include <ldns/ldns.h>

#include "mta_limits.h"
#include "resolver_client.h"

#define DNS_NEG_TTL_DEFAULT 300	      /* negative answer without an SOA */
#define DNS_KEY_MAX (LIM_DOMAIN + 16) /* "TYPE name" */

/* dns_cache.c: answers by "TYPE name", TTL in seconds of a clock the
 * caller passes (so tests can move time). */
struct dns_cache;
struct dns_cache *dns_cache_new(long max_entries);
void dns_cache_free(struct dns_cache *c);
/* dns_cache_get - 1 and a copy (ttl = time left) on a hit, else 0 */
int dns_cache_get(struct dns_cache *c, const char *key, long now,
		  struct dns_answer *out);
/* dns_cache_put - keep a copy of a until now + ttl; evicts the least
 * recently used entry when full.  Temporary failures are not kept. */
void dns_cache_put(struct dns_cache *c, const char *key, long now,
		   const struct dns_answer *a);
void dns_cache_stats(const struct dns_cache *c, long *hits, long *misses,
		     long *entries);

/* dns_lookup.c */
/* dns_type_parse - LDNS_RR_TYPE_* for the names we serve, or 0. */
ldns_rr_type dns_type_parse(const char *s);
/* dns_resolver_new - from the list "addr[:port] ..." or, when empty, from
 * resolv.conf text read before chroot; NULL with the reason in err. */
ldns_resolver *dns_resolver_new(const char *servers, const char *resolv_conf,
				char *err, size_t errlen);
/* dns_lookup - one query through res, answer filled in. */
void dns_lookup(ldns_resolver *res, const char *name, ldns_rr_type t,
		struct dns_answer *a);
/* dns_answer_from_pkt - what a reply packet says about name/type t
 * (rcode, records of type t in the answer, TTLs, AD bit). */
void dns_answer_from_pkt(const ldns_pkt *p, ldns_rr_type t,
			 struct dns_answer *a);

/* lookup_pool.c: the threads that run dns_lookup (see there).  A job
 * stays the caller's; it comes back from lookup_pool_done answered. */
#define RESOLVER_JOBS_MAX 1024 /* clients served at once by a process */
struct dns_job {
	char name[LIM_DOMAIN + 1];
	ldns_rr_type type;
	struct dns_answer answer;
};
/* lookup_pool_start - threads, each with its own ldns resolver made from
 * servers/conf_text (dns_resolver_new); -1 with the reason in err */
int lookup_pool_start(int threads, const char *servers, const char *conf_text,
		      char *err, size_t errlen);
void lookup_pool_submit(struct dns_job *j);
/* lookup_pool_fd - readable when a job is done */
int lookup_pool_fd(void);
/* lookup_pool_done - a job that is done, or NULL when none is */
struct dns_job *lookup_pool_done(void);

#endif
