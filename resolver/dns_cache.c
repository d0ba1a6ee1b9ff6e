/*
 * dns_cache.c - resolver(8)'s answer cache: a hash table with a least-
 * recently-used list, bounded by resolver_cache_size entries.
 *
 * Positive answers live for their smallest TTL, negative ones (NXDOMAIN,
 * no data) for the SOA-derived TTL of RFC 2308; both are capped by the
 * caller.  Temporary failures are never kept.
 * Trusts: the caller's clock.
 * Never: grows past its bound; returns an expired answer.
 */
#include <stdlib.h>
#include <string.h>

#include "resolver.h"

struct centry {
	char *key;
	struct dns_answer a;
	long expires;
	struct centry *hnext;	    /* hash chain */
	struct centry *prev, *next; /* LRU list, most recent first */
};

struct dns_cache {
	struct centry **tab;
	size_t nbuckets;
	long max, count, hits, misses;
	struct centry *head, *tail;
};

static size_t
hash(const char *s, size_t n)
{
	size_t h = 5381;
	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % n;
}

struct dns_cache *
dns_cache_new(long max_entries)
{
	struct dns_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->max = max_entries;
	c->nbuckets = (size_t)max_entries + 1;
	if ((c->tab = calloc(c->nbuckets, sizeof(*c->tab))) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

static void
lru_unlink(struct dns_cache *c, struct centry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_front(struct dns_cache *c, struct centry *e)
{
	e->next = c->head;
	e->prev = NULL;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static void
entry_remove(struct dns_cache *c, struct centry *e)
{
	struct centry **pp = &c->tab[hash(e->key, c->nbuckets)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	dns_answer_free(&e->a);
	free(e->key);
	free(e);
	c->count--;
}

void
dns_cache_free(struct dns_cache *c)
{
	if (c == NULL)
		return;
	while (c->head)
		entry_remove(c, c->head);
	free(c->tab);
	free(c);
}

static struct centry *
find(struct dns_cache *c, const char *key)
{
	for (struct centry *e = c->tab[hash(key, c->nbuckets)]; e; e = e->hnext)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static void
copy_answer(struct dns_answer *to, const struct dns_answer *from)
{
	*to = *from;
	to->n = 0;
	for (int i = 0; i < from->n; i++)
		if ((to->rr[to->n] = strdup(from->rr[i])) != NULL)
			to->n++;
}

int
dns_cache_get(struct dns_cache *c, const char *key, long now,
	      struct dns_answer *out)
{
	struct centry *e = find(c, key);

	if (e != NULL && e->expires <= now) {
		entry_remove(c, e);
		e = NULL;
	}
	if (e == NULL) {
		c->misses++;
		return 0;
	}
	c->hits++;
	lru_unlink(c, e);
	lru_front(c, e);
	copy_answer(out, &e->a);
	out->ttl = e->expires - now;
	return 1;
}

void
dns_cache_put(struct dns_cache *c, const char *key, long now,
	      const struct dns_answer *a)
{
	struct centry *e;

	if (a->status == DNS_TEMPFAIL || a->ttl <= 0)
		return;
	if ((e = find(c, key)) != NULL)
		entry_remove(c, e);
	while (c->count >= c->max && c->tail)
		entry_remove(c, c->tail);
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->key = strdup(key)) == NULL) {
		free(e);
		return; /* a cache that cannot grow just misses */
	}
	copy_answer(&e->a, a);
	e->expires = now + a->ttl;
	size_t h = hash(key, c->nbuckets);
	e->hnext = c->tab[h];
	c->tab[h] = e;
	lru_front(c, e);
	c->count++;
}

void
dns_cache_stats(const struct dns_cache *c, long *hits, long *misses,
		long *entries)
{
	*hits = c->hits;
	*misses = c->misses;
	*entries = c->count;
}
